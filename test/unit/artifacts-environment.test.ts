import { describe, expect, it } from "vitest";
import {
  type FunctionArtifact,
  functionEnvironment,
  functionName,
  type LocalEquivalents,
} from "../../local/artifacts.ts";

/**
 * The artifacts mode runs each function with its template's environment, references
 * to other resources replaced by what stands for them locally (local/artifacts.ts).
 */

const locals: LocalEquivalents = {
  region: "us-east-1",
  tableName: "micropay-local",
  dynamodbEndpoint: "http://127.0.0.1:8000",
  signingKeyFile: "/data/keys/signing-key.jwk.json",
  secretBoxKeyFile: "/data/keys/secret-box.key",
  auditLog: "/data/audit.log",
};

const template = {
  Resources: {
    Table: { Type: "AWS::DynamoDB::Table" },
    Secret: { Type: "AWS::SecretsManager::Secret" },
    AuditLog: { Type: "AWS::Logs::LogGroup" },
    Queue: { Type: "AWS::SQS::Queue" },
  },
};

function fn(variables: Record<string, unknown>): FunctionArtifact {
  return {
    name: "payments-create",
    logicalId: "ApiFnpaymentscreateFn1234",
    path: "Api/Fn-payments-create/Fn",
    assetDir: "/cdk.out/asset.abc",
    handler: "index.handler",
    runtime: "nodejs24.x",
    timeoutSeconds: 10,
    memorySize: 1024,
    variables,
    logFormat: "JSON",
    roleId: undefined,
    logGroupId: undefined,
  };
}

describe("a function's local environment", () => {
  it("keeps literals and replaces the table, the signing key secret and the audit log group", () => {
    const env = functionEnvironment(
      fn({
        MICROPAY_STAGE: "dev",
        MICROPAY_TABLE_NAME: { Ref: "Table" },
        MICROPAY_SIGNING_KEY_SECRET_ID: { Ref: "Secret" },
        MICROPAY_AUDIT_LOG_GROUP: { Ref: "AuditLog" },
        MICROPAY_REGION_COPY: { Ref: "AWS::Region" },
      }),
      { template },
      locals,
    );
    expect(env).toMatchObject({
      MICROPAY_STAGE: "dev",
      MICROPAY_TABLE_NAME: "micropay-local",
      MICROPAY_SIGNING_KEY_FILE: "/data/keys/signing-key.jwk.json",
      MICROPAY_AUDIT_LOG: "/data/audit.log",
      MICROPAY_REGION_COPY: "us-east-1",
    });
    // The AWS-only settings are replaced, not passed on beside their stand-ins.
    expect(env).not.toHaveProperty("MICROPAY_SIGNING_KEY_SECRET_ID");
    expect(env).not.toHaveProperty("MICROPAY_AUDIT_LOG_GROUP");
  });

  it("runs the stage's webhook loopback refusal with the local stack's value (loopback receivers allowed)", () => {
    const env = functionEnvironment(
      fn({ MICROPAY_WEBHOOK_ALLOW_LOOPBACK: "0" }),
      { template },
      locals,
    );
    expect(env.MICROPAY_WEBHOOK_ALLOW_LOOPBACK).toBe("1");
    expect(functionEnvironment(fn({}), { template }, locals)).not.toHaveProperty(
      "MICROPAY_WEBHOOK_ALLOW_LOOPBACK",
    );
  });

  it("adds what the Lambda service sets, with DynamoDB on loopback and every other endpoint closed", () => {
    const env = functionEnvironment(fn({}), { template }, locals);
    expect(env).toMatchObject({
      AWS_REGION: "us-east-1",
      AWS_LAMBDA_FUNCTION_NAME: "ApiFnpaymentscreateFn1234",
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "1024",
      AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
      LAMBDA_TASK_ROOT: "/cdk.out/asset.abc",
      AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:8000",
    });
    expect(new URL(env.AWS_ENDPOINT_URL ?? "").hostname).toBe("127.0.0.1");
    // Nothing of the stack process's own environment leaks in.
    expect(env).not.toHaveProperty("HOME");
    expect(env).not.toHaveProperty("MICROPAY_DYNAMODB_ENDPOINT");
  });

  it("names the function and variable of a reference with no local equivalent", () => {
    expect(() =>
      functionEnvironment(fn({ DEAD_LETTERS: { Ref: "Queue" } }), { template }, locals),
    ).toThrow(
      "function payments-create: DEAD_LETTERS refers to AWS::SQS::Queue Queue, which has no local equivalent",
    );
    expect(() =>
      functionEnvironment(
        fn({ MICROPAY_TABLE_NAME: { "Fn::GetAtt": ["Table", "Arn"] } }),
        { template },
        locals,
      ),
    ).toThrow(/function payments-create: MICROPAY_TABLE_NAME is Fn::GetAtt .*no local equivalent/);
    expect(() =>
      functionEnvironment(
        fn({ MICROPAY_TABLE_NAME: { "Fn::Join": ["", ["a", { Ref: "Table" }]] } }),
        { template },
        locals,
      ),
    ).toThrow(/function payments-create: MICROPAY_TABLE_NAME is Fn::Join/);
  });

  it("refuses a template variable the Lambda service reserves", () => {
    expect(() =>
      functionEnvironment(fn({ AWS_REGION: "eu-west-1" }), { template }, locals),
    ).toThrow("function payments-create: AWS_REGION is a name the Lambda service reserves");
  });

  it("names API functions by route id and the audit consumer `audit`", () => {
    expect(functionName("Api/Fn-payments-create/Fn")).toBe("payments-create");
    expect(functionName("Audit/Consumer/Fn")).toBe("audit");
    expect(functionName("SigningKey/Generator/Fn")).toBe("SigningKey/Generator");
  });
});
