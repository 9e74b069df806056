import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/**
 * The one DynamoDB table, described once. The CDK data construct and the local
 * launcher both build the table from this object, so the key schema, the indexes,
 * the TTL attribute and the stream can never differ between AWS and DynamoDB Local.
 *
 * Single-table design: every item has a string `pk` and `sk`; one sparse global
 * secondary index (`gsi1`) serves the list queries; `expiresAt` (epoch seconds) is the
 * TTL attribute for idempotency records and other short-lived items. The key of every
 * item is in lib/store/keys.ts.
 */
export const TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  indexes: [{ name: "gsi1", partitionKey: "gsi1pk", sortKey: "gsi1sk" }],
  ttlAttribute: "expiresAt",
  streamView: "NEW_AND_OLD_IMAGES",
} as const;

export type IndexName = (typeof TABLE.indexes)[number]["name"];

/** The CreateTable request for DynamoDB Local (on-demand, stream on). */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const keyAttributes = [
    TABLE.partitionKey,
    TABLE.sortKey,
    ...TABLE.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: keyAttributes.map((name) => ({
      AttributeName: name,
      AttributeType: "S",
    })),
    KeySchema: [
      { AttributeName: TABLE.partitionKey, KeyType: "HASH" },
      { AttributeName: TABLE.sortKey, KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: TABLE.indexes.map((i) => ({
      IndexName: i.name,
      KeySchema: [
        { AttributeName: i.partitionKey, KeyType: "HASH" },
        { AttributeName: i.sortKey, KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "ALL" },
    })),
    StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE.streamView },
  };
}
