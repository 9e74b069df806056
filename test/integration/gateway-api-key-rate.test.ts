import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../../lib/auth/api-keys.ts";
import type { ApiEvent, ApiResult } from "../../lib/http/types.ts";
import { defineRoute } from "../../lib/routes/types.ts";
import { type Gateway, startGateway } from "../../local/gateway.ts";

/**
 * The local gateway's mirror of the WAF rule `rate-per-api-key` (infra/constructs/waf.ts):
 * at most N requests per API key per window, counted per key, beside (not instead of)
 * the stage throttle; requests with an access token are not counted. The handler is a
 * stub: what is under test is the gateway in front of it.
 */
const route = defineRoute({
  id: "ping",
  method: "GET",
  path: "/v1/ping",
  summary: "ping",
  tags: ["System"],
  auth: "none",
  successStatus: 200,
  tableAccess: "none",
  usesSigningKey: false,
});

let gateway: Gateway;
let reached = 0;

beforeAll(async () => {
  const handler = async (_event: ApiEvent): Promise<ApiResult> => {
    reached += 1;
    return { statusCode: 200, headers: {}, body: "" };
  };
  gateway = await startGateway({
    routes: [route],
    functionsDir: "/nonexistent",
    handlers: new Map([["ping", handler as never]]),
    host: "127.0.0.1",
    port: 0,
    throttleRate: 0,
    throttleBurst: 0,
    apiKeyRateLimit: 3,
    apiKeyWindowSeconds: 60,
  });
});

afterAll(async () => {
  await gateway?.close();
});

const ping = (authorization: string) =>
  fetch(`${gateway.url}/v1/ping`, { headers: { Authorization: authorization } });

describe("the local gateway's per-API-key rate rule", () => {
  it("refuses a key's requests past the limit with 429 problem+json, other keys and tokens unaffected", async () => {
    const first = `Bearer ${generateApiKey()}`;
    const second = `Bearer ${generateApiKey()}`;
    const before = reached;
    const statuses = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await ping(first)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(reached - before).toBe(3); // the refused request never reached the function

    const refused = await ping(first);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await refused.json()).toMatchObject({ status: 429, code: "rate_limited" });

    expect((await ping(second)).status).toBe(200);
    for (let i = 0; i < 5; i += 1) {
      expect((await ping("Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln")).status).toBe(200);
    }
  });
});
