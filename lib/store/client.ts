import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { withoutSdkLogger } from "../aws/sdk-client.ts";
import { config } from "../config.ts";

/**
 * The DynamoDB clients, built once per container (module scope), never per request.
 * The SDK's own retries are kept small: money-moving code retries transaction
 * conflicts and throttling itself, with a bound and jitter (see lib/store/retry.ts),
 * and answers 503 when they run out.
 */
let raw: DynamoDBClient | undefined;
let doc: DynamoDBDocumentClient | undefined;

export function rawClient(): DynamoDBClient {
  if (!raw) {
    const c = config();
    raw = withoutSdkLogger(
      new DynamoDBClient({
        region: c.AWS_REGION,
        maxAttempts: 2,
        // A dependency that hangs must turn into a 503, not a Lambda timeout.
        requestHandler: { connectionTimeout: 1_000, requestTimeout: 5_000 },
        ...(c.MICROPAY_DYNAMODB_ENDPOINT
          ? {
              endpoint: c.MICROPAY_DYNAMODB_ENDPOINT,
              // DynamoDB Local accepts any credentials; these are not secrets.
              credentials: { accessKeyId: "local", secretAccessKey: "local" },
            }
          : {}),
      }),
    );
  }
  return raw;
}

export function docClient(): DynamoDBDocumentClient {
  doc ??= DynamoDBDocumentClient.from(rawClient(), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return doc;
}

export function tableName(): string {
  return config().MICROPAY_TABLE_NAME;
}
