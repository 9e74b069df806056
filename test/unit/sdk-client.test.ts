import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBStreamsClient } from "@aws-sdk/client-dynamodb-streams";
import { KMSClient } from "@aws-sdk/client-kms";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { withoutSdkLogger } from "../../lib/aws/sdk-client.ts";
import { docClient, rawClient } from "../../lib/store/client.ts";

const hasLogger = (c: { middlewareStack: { identify(): string[] } }) =>
  c.middlewareStack.identify().some((name) => name.startsWith("loggerMiddleware"));

describe("withoutSdkLogger", () => {
  const clients = {
    DynamoDB: () => new DynamoDBClient({ region: "us-east-1" }),
    "DynamoDB Streams": () => new DynamoDBStreamsClient({ region: "us-east-1" }),
    "CloudWatch Logs": () => new CloudWatchLogsClient({ region: "us-east-1" }),
    SQS: () => new SQSClient({ region: "us-east-1" }),
    "Secrets Manager": () => new SecretsManagerClient({ region: "us-east-1" }),
    KMS: () => new KMSClient({ region: "us-east-1" }),
  };

  for (const [name, make] of Object.entries(clients)) {
    it(`takes the logger middleware off a ${name} client (which has one by default)`, () => {
      // The name it removes by is the SDK's own: were it renamed, the first line fails.
      expect(hasLogger(make())).toBe(true);
      expect(hasLogger(withoutSdkLogger(make()))).toBe(false);
    });
  }

  it("leaves none on the store's clients, raw or document (they share one stack)", () => {
    expect(hasLogger(rawClient())).toBe(false);
    expect(hasLogger(docClient())).toBe(false);
  });
});
