import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { EVENT_ITEM_TYPE } from "../lib/events/model.ts";
import { logger } from "../lib/observability.ts";
import { toEventRecord } from "../lib/store/events.ts";
import { dispatchEvent } from "../lib/webhooks/dispatcher.ts";
import { dispatchDeps } from "../lib/webhooks/wiring.ts";

/**
 * Webhook dispatcher: the table stream (event source mapping filtered by
 * WEBHOOK_STREAM_FILTER to event-item INSERTs) -> lib/webhooks/dispatcher.ts. A record
 * whose fan-out fails is reported as a batch item failure, so the mapping retries from
 * it; anything already recorded (deliveries) is idempotent. Locally the stream poller
 * calls this same handler.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const deps = dispatchDeps();
  for (const record of event.Records) {
    const image = record.dynamodb?.NewImage;
    if (record.eventName !== "INSERT" || !image) continue;
    try {
      const item = unmarshall(image as Parameters<typeof unmarshall>[0]);
      if (item.type !== EVENT_ITEM_TYPE) continue;
      await dispatchEvent(toEventRecord(item), deps);
    } catch (error) {
      logger.error("webhook dispatch failed", {
        errorName: error instanceof Error ? error.name : typeof error,
      });
      const seq = record.dynamodb?.SequenceNumber;
      if (seq) return { batchItemFailures: [{ itemIdentifier: seq }] };
      throw error;
    }
  }
  return { batchItemFailures: [] };
};
