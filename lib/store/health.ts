import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { rawClient, tableName } from "./client.ts";

/**
 * True when the table answers a real data-plane call: a GetItem of a key no item uses.
 * It fails (and health answers 503) when DynamoDB is unreachable, the table is missing
 * or the function may not read it. DescribeTable is not used: it is a control-plane call
 * with low rate limits in AWS, and DynamoDB Local answers it by walking the whole table.
 */
export async function tableIsHealthy(): Promise<boolean> {
  await rawClient().send(
    new GetItemCommand({
      TableName: tableName(),
      Key: { pk: { S: "HEALTH" }, sk: { S: "PROBE" } },
      ProjectionExpression: "pk",
    }),
  );
  return true;
}
