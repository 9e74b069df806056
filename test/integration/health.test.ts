import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { describe, expect, inject, it } from "vitest";
import { TABLE } from "../../lib/store/table.ts";
import { localClient } from "../../local/dynamodb.ts";
import { call, missingSecurityHeaders, rawCall } from "../support/http.ts";

describe("GET /v1/health through the local gateway", () => {
  it("answers 200 {status:ok} with every security header", async () => {
    const res = await call("GET", "/v1/health");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: "ok" });
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(missingSecurityHeaders(res.headers)).toEqual([]);
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("echoes a well-formed X-Request-Id", async () => {
    const res = await call("GET", "/v1/health", { headers: { "X-Request-Id": "trace-abc-123" } });
    expect(res.headers.get("x-request-id")).toBe("trace-abc-123");
  });

  it("is backed by a real DynamoDB Local table built from the shared definition", async () => {
    const stack = inject("stack");
    const client = localClient(stack.dynamodbEndpoint);
    const d = await client.send(new DescribeTableCommand({ TableName: stack.tableName }));
    client.destroy();
    expect(d.Table?.TableStatus).toBe("ACTIVE");
    expect(d.Table?.StreamSpecification).toMatchObject({
      StreamEnabled: true,
      StreamViewType: "NEW_AND_OLD_IMAGES",
    });
    expect(d.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(
      TABLE.indexes.map((i) => i.name).sort(),
    );
  });
});

describe("the gateway's own answers", () => {
  it("answers an unknown route with a problem+json 404 and security headers", async () => {
    const res = await call("GET", "/v1/nowhere");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.json).toMatchObject({ status: 404, code: "not_found" });
    expect(missingSecurityHeaders(res.headers)).toEqual([]);
  });

  it("answers a wrong method with 405 and Allow", async () => {
    const res = await call("DELETE", "/v1/health");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
    expect(res.json).toMatchObject({ status: 405, code: "method_not_allowed" });
    expect(missingSecurityHeaders(res.headers)).toEqual([]);
  });

  it("answers 413 for a body over the gateway's read limit without buffering it", async () => {
    const res = await rawCall("GET", "/v1/health", Buffer.alloc(2 * 1024 * 1024, 97));
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ code: "payload_too_large" });
  });

  it("answers a body on a GET route with a 400 problem", async () => {
    const res = await rawCall("GET", "/v1/health", '{"x":1}', {
      "Content-Type": "application/json",
    });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: "validation_failed" });
  });

  it("sends no CORS headers when no origin is configured, and never echoes a stranger", async () => {
    const res = await call("GET", "/v1/health", { headers: { Origin: "https://evil.example" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});
