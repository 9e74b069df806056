import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { logger } from "../lib/observability.ts";

/**
 * Audit stream consumer. Placeholder for the walking skeleton: acknowledges every
 * record and writes nothing. The audit-trail capability replaces it.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  logger.debug("audit batch", { records: event.Records.length });
  return { batchItemFailures: [] };
};
