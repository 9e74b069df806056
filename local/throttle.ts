/**
 * A token bucket: the local copy of API Gateway's stage throttling (rate requests
 * per second, with a burst). A rate of 0 disables it.
 */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
  ) {
    this.tokens = Math.max(burst, 1);
  }

  take(): boolean {
    if (this.rate <= 0) return true;
    const now = Date.now();
    this.tokens = Math.min(
      Math.max(this.burst, 1),
      this.tokens + ((now - this.last) / 1000) * this.rate,
    );
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
