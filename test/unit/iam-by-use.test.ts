import { describe, expect, it } from "vitest";
import type { Assembly, FunctionArtifact } from "../../local/artifacts.ts";
import type { RecordedCall } from "../../local/artifacts-protocol.ts";
import { compareWithPolicy, resourceKey } from "../../local/iam-by-use.ts";

/**
 * The IAM-by-use comparison (local/iam-by-use.ts) on a small template: one function
 * with a table read grant, an audit-only PutItem, and a log group of its own.
 */

const table = { "Fn::GetAtt": ["Table", "Arn"] };
const gsi1 = { "Fn::Join": ["", [table, "/index/gsi1"]] };

const template = {
  Resources: {
    Table: {
      Type: "AWS::DynamoDB::Table",
      Properties: { SSESpecification: { KMSMasterKeyId: { "Fn::GetAtt": ["TableKey", "Arn"] } } },
    },
    TableKey: { Type: "AWS::KMS::Key" },
    Logs: { Type: "AWS::Logs::LogGroup" },
    Role: { Type: "AWS::IAM::Role", Properties: { ManagedPolicyArns: [{ Ref: "Policy" }] } },
    Policy: {
      Type: "AWS::IAM::ManagedPolicy",
      Properties: {
        PolicyDocument: {
          Statement: [
            {
              Sid: "OwnLogGroup",
              Effect: "Allow",
              Action: ["logs:PutLogEvents"],
              Resource: { "Fn::GetAtt": ["Logs", "Arn"] },
            },
            {
              Sid: "TableRead",
              Effect: "Allow",
              Action: ["dynamodb:GetItem", "dynamodb:Query"],
              Resource: [table, gsi1],
            },
            {
              Sid: "TableKey",
              Effect: "Allow",
              Action: "kms:Decrypt",
              Resource: { "Fn::GetAtt": ["TableKey", "Arn"] },
            },
            {
              Sid: "AuditEventWrite",
              Effect: "Allow",
              Action: "dynamodb:PutItem",
              Resource: table,
              Condition: {
                "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["AUDIT#*"] },
              },
            },
          ],
        },
      },
    },
  },
};

const fn: FunctionArtifact = {
  name: "accounts-get",
  logicalId: "Fn",
  path: "Api/Fn-accounts-get/Fn",
  assetDir: "/cdk.out/asset.x",
  handler: "index.handler",
  runtime: "nodejs24.x",
  timeoutSeconds: 10,
  memorySize: 1024,
  variables: {},
  logFormat: "JSON",
  roleId: "Role",
  logGroupId: "Logs",
};

const assembly: Assembly = {
  dir: "/cdk.out",
  stackName: "S",
  template,
  functions: [fn],
  pathOf: (id) => ({ Table: "Data/Table", TableKey: "Keys/Table", Logs: "Api/Logs" })[id],
};

const localNames = new Map([["micropay", "Table"]]);
const get: RecordedCall = {
  service: "dynamodb",
  action: "GetItem",
  table: "micropay",
  leadingKey: "ACC#",
};
const query: RecordedCall = {
  service: "dynamodb",
  action: "Query",
  table: "micropay",
  index: "gsi1",
};
const auditPut: RecordedCall = {
  service: "dynamodb",
  action: "PutItem",
  table: "micropay",
  leadingKey: "AUDIT#",
};

describe("IAM by use: the comparison", () => {
  it("reads policy resources as template resources, indexes included", () => {
    expect(resourceKey(table)).toBe("Table");
    expect(resourceKey(gsi1)).toBe("Table/index/gsi1");
    expect(resourceKey({ "Fn::GetAtt": ["Table", "StreamArn"] })).toBe("Table/stream");
    expect(resourceKey("*")).toBe("*");
  });

  it("finds nothing denied or unused when the calls match the grants, KMS used through the table", () => {
    const c = compareWithPolicy(assembly, { "accounts-get": [get, query, auditPut] }, localNames);
    expect(c.denied).toEqual([]);
    // Only the runtime's own log writes are left, and the Query on the table itself.
    expect(c.unused.map((u) => `${u.action} ${u.resource}`)).toEqual([
      "logs:PutLogEvents own log group",
      "dynamodb:Query Data/Table",
    ]);
  });

  it("reports a write outside the audit leading keys as denied", () => {
    const c = compareWithPolicy(
      assembly,
      { "accounts-get": [get, { ...auditPut, leadingKey: "ACC#" }] },
      localNames,
    );
    expect(c.denied).toEqual(["accounts-get: dynamodb:PutItem on Data/Table (leading key ACC#)"]);
  });

  it("reports a call on an index, another table or another service as denied", () => {
    const c = compareWithPolicy(
      assembly,
      {
        "accounts-get": [
          { ...query, index: "gsi2" },
          { ...get, table: "elsewhere" },
          { service: "secretsmanager", action: "GetSecretValue", resource: "some-secret" },
        ],
      },
      localNames,
    );
    expect(c.denied).toEqual([
      "accounts-get: dynamodb:GetItem on table elsewhere (leading key ACC#)",
      "accounts-get: dynamodb:Query on Data/Table/index/gsi2",
      "accounts-get: secretsmanager:GetSecretValue on some-secret",
    ]);
  });

  it("reports every grant as unused when nothing was called, and skips item actions on indexes", () => {
    const c = compareWithPolicy(assembly, {}, localNames);
    expect(c.unused.map((u) => `${u.sid} ${u.action} ${u.resource}`)).toEqual([
      "OwnLogGroup logs:PutLogEvents own log group",
      "TableRead dynamodb:GetItem Data/Table",
      "TableRead dynamodb:Query Data/Table",
      "TableRead dynamodb:Query Data/Table/index/gsi1",
      "TableKey kms:Decrypt Keys/Table",
      "AuditEventWrite dynamodb:PutItem Data/Table",
    ]);
  });
});
