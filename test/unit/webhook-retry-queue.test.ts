import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SQSEvent } from "aws-lambda";
import { afterEach, describe, expect, it } from "vitest";
import {
  decodeRetryMessage,
  queueDelay,
  type RetryMessage,
} from "../../lib/webhooks/retry-queue.ts";
import { type LocalRetryQueue, startLocalRetryQueue } from "../../local/retry-queue.ts";

/**
 * The local stand-in for the SQS retry queue (local/retry-queue.ts): a message is handed
 * to the consumer in an SQS-shaped batch once its delay has passed (capped at SQS's 900
 * s), a reported failure is received again after the visibility timeout, and after
 * maxReceiveCount receives it goes to the dead-letter file.
 */
let queue: LocalRetryQueue | undefined;
afterEach(async () => {
  await queue?.stop();
});

const message: RetryMessage = {
  endpointId: "we_1",
  eventId: "evt_1",
  dueAt: "2026-11-26T12:00:00.000Z",
};

const waitFor = async (what: string, probe: () => boolean) => {
  for (const end = Date.now() + 5_000; !probe(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("local webhook retry queue", () => {
  it("caps a delay at 900 s like SQS; whole seconds, never negative", () => {
    expect(queueDelay(3 * 3600)).toBe(900);
    expect(queueDelay(1.2)).toBe(2);
    expect(queueDelay(-5)).toBe(0);
  });

  it("hands a due message to the consumer as an SQS batch, once", async () => {
    const batches: SQSEvent[] = [];
    queue = startLocalRetryQueue({
      handler: async (event) => {
        batches.push(event);
        return { batchItemFailures: [] };
      },
      deadLetterFile: join(mkdtempSync(join(tmpdir(), "retryq-")), "dlq.jsonl"),
      intervalMs: 10,
    });
    await queue.send(message, 0);
    await waitFor("a batch", () => batches.length > 0);
    expect(batches[0]?.Records.map((r) => decodeRetryMessage(r.body))).toEqual([message]);
    await waitFor("the message deleted", () => queue?.size() === 0);
    expect(batches).toHaveLength(1);
  });

  it("a reported failure is received again, then dead-lettered after maxReceiveCount", async () => {
    const dlq = join(mkdtempSync(join(tmpdir(), "retryq-")), "dlq.jsonl");
    let receives = 0;
    queue = startLocalRetryQueue({
      handler: async (event) => {
        receives += 1;
        return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
      },
      deadLetterFile: dlq,
      maxReceiveCount: 3,
      visibilityTimeoutMs: 20,
      intervalMs: 10,
    });
    await queue.send(message, 0);
    await waitFor("dead-lettered", () => queue?.size() === 0);
    expect(receives).toBe(3);
    const parked = JSON.parse(readFileSync(dlq, "utf8").trim()) as {
      body: string;
      receives: number;
    };
    expect(decodeRetryMessage(parked.body)).toEqual(message);
    expect(parked.receives).toBe(3);
  });
});
