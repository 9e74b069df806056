import { randomUUID } from "node:crypto";
import { appendFileSync } from "node:fs";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import {
  encodeRetryMessage,
  queueDelay,
  type RetryMessage,
  type RetryQueue,
} from "../lib/webhooks/retry-queue.ts";

export type RetryHandler = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

export interface LocalRetryQueueOptions {
  /** The retry consumer (functions/webhook-retries.ts), handed SQS-shaped batches. */
  readonly handler: RetryHandler;
  /** Messages still failing after this many receives go here (the dead-letter queue). */
  readonly deadLetterFile: string;
  readonly maxReceiveCount?: number;
  /** How long a failed message stays invisible before it is received again. */
  readonly visibilityTimeoutMs?: number;
  readonly intervalMs?: number;
  readonly batchSize?: number;
}

export interface LocalRetryQueue extends RetryQueue {
  /** Messages waiting (delayed, visible or being handled). */
  size(): number;
  stop(): Promise<void>;
}

interface Held {
  readonly id: string;
  readonly body: string;
  visibleAt: number;
  receives: number;
}

/**
 * The local stand-in for the SQS retry queue and its event source mapping: messages
 * with SQS's per-message delay (capped at 900 s, so long waits chain exactly as in AWS),
 * handed in batches to the same handler as the retry Lambda on a timer; a reported
 * batch item failure is received again after the visibility timeout, and after
 * `maxReceiveCount` receives written to the dead-letter file. It lives in the stack's
 * process: what it holds when the process dies is lost, and the delivery records'
 * safety-net sweep attempts those deliveries once overdue (lib/webhooks/dispatcher.ts).
 * Started and stopped with the local stack; stop() waits for a running batch.
 */
export function startLocalRetryQueue(opts: LocalRetryQueueOptions): LocalRetryQueue {
  const held: Held[] = [];
  const maxReceive = opts.maxReceiveCount ?? 5;
  const visibilityMs = opts.visibilityTimeoutMs ?? 30_000;
  const batchSize = opts.batchSize ?? 10;
  let running: Promise<void> | undefined;
  let stopped = false;

  async function deliver(): Promise<void> {
    const now = Date.now();
    const batch = held.filter((m) => m.visibleAt <= now).slice(0, batchSize);
    if (batch.length === 0) return;
    for (const m of batch) {
      m.receives += 1;
      m.visibleAt = now + visibilityMs; // in flight
    }
    const records = batch.map(
      (m): SQSRecord =>
        ({
          messageId: m.id,
          receiptHandle: m.id,
          body: m.body,
          attributes: { ApproximateReceiveCount: String(m.receives) },
          messageAttributes: {},
          md5OfBody: "",
          eventSource: "aws:sqs",
          eventSourceARN: "arn:aws:sqs:local:000000000000:webhook-retries",
          awsRegion: "local",
        }) as unknown as SQSRecord,
    );
    let failed: Set<string>;
    try {
      const out = await opts.handler({ Records: records });
      failed = new Set((out?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch {
      failed = new Set(batch.map((m) => m.id));
    }
    for (const m of batch) {
      const i = held.indexOf(m);
      if (i === -1) continue;
      if (!failed.has(m.id)) {
        held.splice(i, 1);
      } else if (m.receives >= maxReceive) {
        held.splice(i, 1);
        appendFileSync(
          opts.deadLetterFile,
          `${JSON.stringify({ messageId: m.id, body: m.body, receives: m.receives, at: new Date().toISOString() })}\n`,
        );
      }
    }
  }

  const timer = setInterval(() => {
    if (running || stopped) return;
    running = deliver()
      .catch(() => undefined)
      .finally(() => {
        running = undefined;
      });
  }, opts.intervalMs ?? 250);
  timer.unref();

  return {
    async send(message: RetryMessage, delaySeconds: number) {
      if (stopped) throw new Error("the local retry queue is stopped");
      held.push({
        id: randomUUID(),
        body: encodeRetryMessage(message),
        visibleAt: Date.now() + queueDelay(delaySeconds) * 1000,
        receives: 0,
      });
    },
    size: () => held.length,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
