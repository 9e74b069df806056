/**
 * The retry queue port: where a failed delivery's next attempt waits. In AWS an SQS
 * queue (lib/aws/sqs-retry-queue.ts) with per-message delay, consumed by the retry
 * Lambda (functions/webhook-retries.ts) and backed by a KMS-encrypted dead-letter queue;
 * locally an in-process queue driven by a timer (local/retry-queue.ts) feeding the same
 * handler.
 *
 * A message only names a delivery and when its attempt is due: the delivery record in
 * DynamoDB stays the source of truth (lib/webhooks/dispatcher.ts). A message that
 * arrives for a delivery no longer due at that time (attempted meanwhile, ended) is
 * dropped; one that arrives before its due time (a queue's delay is bounded: SQS's at
 * 15 minutes) is sent again with the remaining delay, so long waits chain delays.
 */
export interface RetryMessage {
  readonly endpointId: string;
  readonly eventId: string;
  /** When the attempt is due (ISO 8601): the delivery's nextAttemptAt when it was sent. */
  readonly dueAt: string;
}

export interface RetryQueue {
  /** Makes `message` visible after `delaySeconds` (an implementation may cap the delay). */
  send(message: RetryMessage, delaySeconds: number): Promise<void>;
}

/** SQS's longest per-message delay: longer waits are chained by the consumer. */
export const MAX_QUEUE_DELAY_SECONDS = 900;

/** The delay to ask a queue for: whole seconds, 0..MAX_QUEUE_DELAY_SECONDS. */
export function queueDelay(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.min(MAX_QUEUE_DELAY_SECONDS, Math.ceil(seconds));
}

export function encodeRetryMessage(m: RetryMessage): string {
  return JSON.stringify({ v: 1, endpointId: m.endpointId, eventId: m.eventId, dueAt: m.dueAt });
}

/** A queue message body back to a RetryMessage; undefined for anything else (dropped). */
export function decodeRetryMessage(body: string): RetryMessage | undefined {
  try {
    const o = JSON.parse(body) as Record<string, unknown>;
    if (
      o.v === 1 &&
      typeof o.endpointId === "string" &&
      typeof o.eventId === "string" &&
      typeof o.dueAt === "string" &&
      !Number.isNaN(Date.parse(o.dueAt))
    ) {
      return { endpointId: o.endpointId, eventId: o.eventId, dueAt: o.dueAt };
    }
  } catch {
    // not JSON: not ours
  }
  return undefined;
}

/**
 * No queue: a retry waits in its delivery record only, and the safety-net sweep attempts
 * it once it is overdue. Used where no queue exists (a bundle run by the artifacts mode
 * of the local stack, in its own process, cannot reach the stack's in-process queue).
 */
export const sweepOnlyQueue: RetryQueue = {
  async send() {
    // The delivery record is due; the sweep finds it.
  },
};
