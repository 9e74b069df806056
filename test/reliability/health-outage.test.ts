import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, missingSecurityHeaders } from "../support/http.ts";
import { type SpawnedStack, spawnStack } from "../support/spawn-stack.ts";

describe("health when DynamoDB Local is down", () => {
  let stack: SpawnedStack;
  beforeAll(async () => {
    stack = await spawnStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it("answers 503 problem+json with Retry-After, not a stack trace", async () => {
    const base = stack.info.apiUrl;
    expect((await call("GET", "/v1/health", { base })).status).toBe(200);
    const pid = stack.info.dynamodbPid;
    expect(pid).toBeTypeOf("number");
    process.kill(pid as number, "SIGKILL");
    // Wait until the port really refuses (the kill is asynchronous), then ask.
    for (let i = 0; i < 50; i++) {
      try {
        await fetch(stack.info.dynamodbEndpoint);
        await new Promise((r) => setTimeout(r, 100));
      } catch {
        break;
      }
    }
    const res = await call("GET", "/v1/health", { base });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(res.json).toMatchObject({ status: 503, code: "service_unavailable" });
    expect(res.text).not.toMatch(/ECONNREFUSED|at .+\.ts|micropay-|dynamodb/i);
    expect(missingSecurityHeaders(res.headers)).toEqual([]);
  });
});
