import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { EVENT_ITEM_TYPE } from "../lib/events/model.ts";
import { logger } from "../lib/observability.ts";
import { toEventRecord } from "../lib/store/events.ts";
import { batchScoped, dispatchEvent } from "../lib/webhooks/dispatcher.ts";
import { dispatchDeps } from "../lib/webhooks/wiring.ts";

/**
 * Webhook dispatcher: the table stream (event source mapping filtered by
 * WEBHOOK_STREAM_FILTER to event-item INSERTs) -> lib/webhooks/dispatcher.ts. A record
 * whose fan-out fails is reported as a batch item failure, so the mapping retries from
 * it; anything already recorded (deliveries) is idempotent. Locally the stream poller
 * calls this same handler.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const deps = batchScoped(dispatchDeps());
  // The records of a batch are fanned out side by side (each attempt may take up to the
  // 10 s timeout); the first failed record in stream order is reported, so the mapping
  // retries from there (what succeeded after it is idempotent: its deliveries exist).
  const outcomes = await Promise.all(
    event.Records.map(async (record) => {
      const image = record.dynamodb?.NewImage;
      if (record.eventName !== "INSERT" || !image) return true;
      try {
        const item = unmarshall(image as Parameters<typeof unmarshall>[0]);
        if (item.type === EVENT_ITEM_TYPE) await dispatchEvent(toEventRecord(item), deps);
        return true;
      } catch (error) {
        logger.error("webhook dispatch failed", {
          errorName: error instanceof Error ? error.name : typeof error,
        });
        return false;
      }
    }),
  );
  const failedAt = outcomes.indexOf(false);
  const seq = failedAt === -1 ? undefined : event.Records[failedAt]?.dynamodb?.SequenceNumber;
  if (failedAt !== -1 && !seq) throw new Error("webhook dispatch failed");
  return { batchItemFailures: seq ? [{ itemIdentifier: seq }] : [] };
};
