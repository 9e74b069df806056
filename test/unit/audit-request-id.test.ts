import { describe, expect, it } from "vitest";
import * as z from "zod";
import { actorOf } from "../../lib/audit/events.ts";
import { httpHandler } from "../../lib/http/handler.ts";
import type { HttpRequest } from "../../lib/http/types.ts";
import { defineRoute } from "../../lib/routes/types.ts";
import { apiEvent, lambdaContext } from "../support/events.ts";

/**
 * Which request id the audit trail records: the gateway's own (requestContext.requestId),
 * never the caller's X-Request-Id, which is kept apart as clientRequestId when well formed.
 * The response keeps echoing a well-formed caller id (API.md).
 */
const route = defineRoute({
  id: "test-request-id",
  method: "GET",
  path: "/v1/request-id",
  summary: "test",
  tags: ["Test"],
  auth: "none",
  body: z.undefined(),
  successStatus: 200,
  tableAccess: "none",
  usesSigningKey: false,
});

let seen: HttpRequest | undefined;
const handler = httpHandler(route, async (req) => {
  seen = req;
  return { status: 200, body: {} };
});

async function send(headers: Record<string, string>) {
  seen = undefined;
  const res = await handler(apiEvent({ path: "/v1/request-id", headers }), lambdaContext());
  if (!seen) throw new Error(`the route did not run: ${res.statusCode} ${res.body}`);
  return { res, req: seen as HttpRequest, actor: actorOf(seen) };
}

// test/support/events.ts gives every event this gateway request id.
const GATEWAY_ID = "test-request-0001";

describe("request ids in the audit actor", () => {
  it("records the gateway's id and keeps a well-formed caller id apart; the response echoes it", async () => {
    const { res, req, actor } = await send({ "X-Request-Id": "client-chosen-id-42" });
    expect(res.headers?.["X-Request-Id"]).toBe("client-chosen-id-42");
    expect(req.gatewayRequestId).toBe(GATEWAY_ID);
    expect(actor.requestId).toBe(GATEWAY_ID);
    expect(actor.clientRequestId).toBe("client-chosen-id-42");
  });

  it("drops a malformed caller id: the actor and the response carry the gateway's id", async () => {
    const { res, actor } = await send({ "X-Request-Id": "Bearer AAAAAAAAAAAAAAAA" });
    expect(res.headers?.["X-Request-Id"]).toBe(GATEWAY_ID);
    expect(actor.requestId).toBe(GATEWAY_ID);
    expect(actor).not.toHaveProperty("clientRequestId");
  });

  it("without any caller id the actor has no clientRequestId", async () => {
    const { res, actor } = await send({});
    expect(res.headers?.["X-Request-Id"]).toBe(GATEWAY_ID);
    expect(actor.requestId).toBe(GATEWAY_ID);
    expect(actor).not.toHaveProperty("clientRequestId");
  });
});
