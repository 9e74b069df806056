import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { rawClient, tableName } from "./client.ts";

/** True when the table answers a real DynamoDB call and is ACTIVE. */
export async function tableIsHealthy(): Promise<boolean> {
  const out = await rawClient().send(new DescribeTableCommand({ TableName: tableName() }));
  return out.Table?.TableStatus === "ACTIVE";
}
