import { randomUUID } from "node:crypto";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { type AuditSink, createAuditConsumer } from "../lib/audit/consumer.ts";
import { dynamoDedupeStore } from "../lib/audit/dedupe-dynamodb.ts";
import { cloudWatchSink, fileSink } from "../lib/audit/sinks.ts";
import { withoutSdkLogger } from "../lib/aws/sdk-client.ts";
import { config } from "../lib/config.ts";
import { logger } from "../lib/observability.ts";
import { docClient, tableName } from "../lib/store/client.ts";

/**
 * Audit stream consumer: the table's stream (event source mapping with batching,
 * bisect-on-error, bounded retries, an on-failure queue and partial batch responses)
 * -> one JSON record per audit event in the audit log group, exactly once per event
 * id. In AWS the sink is CloudWatch Logs (`MICROPAY_AUDIT_LOG_GROUP`); locally the
 * stream poller calls this same handler and the sink is the `MICROPAY_AUDIT_LOG`
 * file in the FilteredLogEvent format (lib/audit/log-format.ts). Dedupe markers live
 * in the table. All the logic is in lib/audit/consumer.ts.
 */

/** This container's id: names its log stream and its dedupe claims. */
const containerId = randomUUID().replaceAll("-", "").slice(0, 16);

function buildSink(): AuditSink {
  const group = process.env.MICROPAY_AUDIT_LOG_GROUP;
  if (group) {
    return cloudWatchSink(
      withoutSdkLogger(new CloudWatchLogsClient({ region: config().AWS_REGION, maxAttempts: 3 })),
      group,
      containerId,
    );
  }
  const file = config().MICROPAY_AUDIT_LOG;
  if (file) return fileSink(file, containerId);
  throw new Error("audit consumer needs MICROPAY_AUDIT_LOG_GROUP (AWS) or MICROPAY_AUDIT_LOG");
}

let consume: ReturnType<typeof createAuditConsumer> | undefined;

export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  // Built once per container, on first use (the local stack sets the env first).
  consume ??= createAuditConsumer({
    store: dynamoDedupeStore(docClient(), tableName()),
    sink: buildSink(),
    owner: () => `${containerId}:${randomUUID()}`,
    log: {
      warn: (message, extra) => logger.warn(message, extra ?? {}),
      error: (message, extra) => logger.error(message, extra ?? {}),
    },
  });
  return consume(event);
};
