import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { config } from "../config.ts";
import {
  encodeRetryMessage,
  queueDelay,
  type RetryMessage,
  type RetryQueue,
} from "../webhooks/retry-queue.ts";
import { withoutSdkLogger } from "./sdk-client.ts";

/**
 * The retry queue in AWS: SQS SendMessage (@aws-sdk/client-sqs) with a per-message
 * delay of at most 900 s; the consumer chains longer waits (lib/webhooks/retry-queue.ts).
 */

/**
 * The SQS client, built once per container. Region from config; credentials from the
 * SDK's default chain (the Lambda role's session in AWS); endpoint the regional one, or
 * the SDK's own AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL (tests point it at moto).
 */
let client: SQSClient | undefined;
export function sqsClient(): SQSClient {
  client ??= withoutSdkLogger(
    new SQSClient({
      region: config().AWS_REGION,
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 1_000, requestTimeout: 10_000 },
    }),
  );
  return client;
}

/**
 * The RetryQueue port on one SQS queue (its URL: MICROPAY_WEBHOOK_RETRY_QUEUE_URL), sent
 * through `sqs` (the container's client unless a test passes its own).
 */
export function sqsRetryQueue(queueUrl: string, sqs: SQSClient = sqsClient()): RetryQueue {
  return {
    async send(message: RetryMessage, delaySeconds: number) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: encodeRetryMessage(message),
          DelaySeconds: queueDelay(delaySeconds),
        }),
      );
    },
  };
}
