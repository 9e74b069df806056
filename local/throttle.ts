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

/**
 * A rate-based rule as AWS WAF applies one: at most `limit` requests per aggregation
 * key in any trailing window of `windowMs`; past it, requests of that key are refused
 * until enough of them leave the window. The local gateway uses it for the per-API-key
 * rule (infra/constructs/waf.ts `rate-per-api-key`). Keys are hashed by the caller, so
 * no secret is held here.
 */
export class SlidingWindowLimit {
  private readonly seen = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Counts a request of `key`: undefined when allowed, else seconds until one would be. */
  take(key: string, now = Date.now()): number | undefined {
    if (this.limit <= 0) return undefined;
    const times = (this.seen.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (times.length >= this.limit) {
      this.seen.set(key, times);
      return Math.max(1, Math.ceil(((times[0] ?? now) + this.windowMs - now) / 1000));
    }
    times.push(now);
    this.seen.set(key, times);
    return undefined;
  }
}
