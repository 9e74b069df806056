import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import { logger } from "../lib/observability.ts";
import { handleRetryMessage } from "../lib/webhooks/dispatcher.ts";
import { decodeRetryMessage } from "../lib/webhooks/retry-queue.ts";
import { dispatchDeps } from "../lib/webhooks/wiring.ts";

/**
 * Webhook retry consumer: the SQS retry queue (event source mapping with
 * reportBatchItemFailures) -> lib/webhooks/dispatcher.ts handleRetryMessage, the same
 * attempt code as the stream dispatcher. A message received before its due time is sent
 * again with the remaining delay (SQS delays stop at 15 minutes); one whose handling
 * fails (DynamoDB, the re-send) is reported, so SQS delivers it again and, after
 * maxReceiveCount, moves it to the KMS-encrypted dead-letter queue (alarmed). A failed
 * delivery attempt is not a failure here: it is recorded and queued again. Locally the
 * in-process queue (local/retry-queue.ts) calls this same handler.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const deps = dispatchDeps();
  const failures = await Promise.all(
    event.Records.map(async (record) => {
      const message = decodeRetryMessage(record.body);
      if (!message) {
        logger.warn("webhook retry message dropped: not a retry message", {
          messageId: record.messageId,
        });
        return undefined;
      }
      try {
        await handleRetryMessage(message, deps);
        return undefined;
      } catch (error) {
        logger.error("webhook retry failed", {
          messageId: record.messageId,
          errorName: error instanceof Error ? error.name : typeof error,
        });
        return record.messageId;
      }
    }),
  );
  return {
    batchItemFailures: failures.flatMap((id) => (id ? [{ itemIdentifier: id }] : [])),
  };
};
