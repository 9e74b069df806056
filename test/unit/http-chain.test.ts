import { describe, expect, it } from "vitest";
import * as z from "zod";
import { MAX_BODY_BYTES } from "../../lib/http/body.ts";
import { ApiError } from "../../lib/http/errors.ts";
import { httpHandler } from "../../lib/http/handler.ts";
import { defineRoute } from "../../lib/routes/types.ts";
import { apiEvent, lambdaContext } from "../support/events.ts";

const echoRoute = defineRoute({
  id: "test-echo",
  method: "POST",
  path: "/v1/echo",
  summary: "test",
  tags: ["Test"],
  auth: "none",
  body: z.strictObject({
    amount: z.number().int().positive(),
    note: z.string().max(10).optional(),
  }),
  successStatus: 200,
  tableAccess: "none",
  usesSigningKey: false,
});

const protectedRoute = defineRoute({
  ...echoRoute,
  id: "test-protected",
  auth: { roles: ["admin"] },
});
const idempotentRoute = defineRoute({ ...echoRoute, id: "test-idem", idempotent: true });

const echo = httpHandler(echoRoute, async (req) => ({ status: 200, body: { got: req.body } }));
const boom = httpHandler(echoRoute, async () => {
  const e = new Error(
    "ConditionalCheckFailed on table micropay-prod-Table at arn:aws:dynamodb:...",
  );
  throw e;
});
const outage = httpHandler(echoRoute, async () => {
  throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8000"), { code: "ECONNREFUSED" });
});
const guarded = httpHandler(protectedRoute, async () => ({ status: 200, body: {} }));
const idem = httpHandler(idempotentRoute, async (req) => ({
  status: 201,
  body: { key: req.idempotencyKey },
}));

const json = { "Content-Type": "application/json" };
const post = (body: string | null, headers: Record<string, string> = json) =>
  apiEvent({ method: "POST", path: "/v1/echo", headers, body });

const REQUIRED_HEADERS = [
  "Strict-Transport-Security",
  "X-Content-Type-Options",
  "X-Frame-Options",
  "Content-Security-Policy",
  "Cache-Control",
  "Referrer-Policy",
  "X-Request-Id",
];

function problem(res: { statusCode: number; headers?: Record<string, unknown>; body: string }) {
  expect(res.headers?.["Content-Type"]).toBe("application/problem+json");
  return JSON.parse(res.body) as Record<string, unknown>;
}

describe("the shared Middy chain", () => {
  it("passes validated JSON to the implementation with every security header", async () => {
    const res = await echo(post('{"amount":5}'), lambdaContext());
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ got: { amount: 5 } });
    for (const h of REQUIRED_HEADERS) expect(res.headers?.[h], h).toBeTruthy();
    expect(res.headers?.["Strict-Transport-Security"]).toContain("max-age=31536000");
    expect(res.headers?.["Content-Security-Policy"]).toContain("frame-ancestors 'none'");
    expect(res.headers?.["Cache-Control"]).toBe("no-store");
  });

  it("answers 415 problem+json for a non-JSON body, with security headers", async () => {
    const res = await echo(
      post("amount=5", { "Content-Type": "application/x-www-form-urlencoded" }),
      lambdaContext(),
    );
    expect(res.statusCode).toBe(415);
    expect(problem(res)).toMatchObject({ status: 415, code: "unsupported_media_type" });
    for (const h of REQUIRED_HEADERS) expect(res.headers?.[h], h).toBeTruthy();
  });

  it("answers 413 for a body over 16 KiB", async () => {
    const big = JSON.stringify({ amount: 1, note: "x".repeat(MAX_BODY_BYTES) });
    const res = await echo(post(big), lambdaContext());
    expect(res.statusCode).toBe(413);
    expect(problem(res)).toMatchObject({ status: 413, code: "payload_too_large" });
  });

  it("answers 400 for malformed JSON", async () => {
    const res = await echo(post('{"amount":'), lambdaContext());
    expect(res.statusCode).toBe(400);
    expect(problem(res)).toMatchObject({ code: "validation_failed" });
  });

  it("rejects unknown fields (no mass assignment) and names each bad field", async () => {
    const res = await echo(post('{"amount":1.5,"role":"admin"}'), lambdaContext());
    expect(res.statusCode).toBe(400);
    const body = problem(res);
    const paths = (body.errors as { path: string }[]).map((e) => e.path);
    expect(paths).toContain("body.amount");
    expect(paths.some((p) => p === "body" || p.startsWith("body"))).toBe(true);
    expect(res.body).toContain("role");
  });

  it("never leaks internals in a 500", async () => {
    const res = await boom(post('{"amount":1}'), lambdaContext());
    expect(res.statusCode).toBe(500);
    const body = problem(res);
    expect(body).toMatchObject({ status: 500, code: "internal_error" });
    expect(res.body).not.toMatch(/micropay-prod|arn:aws|ConditionalCheck|at .*\.ts/);
    for (const h of REQUIRED_HEADERS) expect(res.headers?.[h], h).toBeTruthy();
  });

  it("answers a dependency outage with 503 and Retry-After", async () => {
    const res = await outage(post('{"amount":1}'), lambdaContext());
    expect(res.statusCode).toBe(503);
    expect(res.headers?.["Retry-After"]).toBe("1");
    expect(problem(res)).toMatchObject({ code: "service_unavailable" });
    expect(res.body).not.toContain("ECONNREFUSED");
  });

  it("echoes a well-formed X-Request-Id and replaces a malformed one", async () => {
    const good = await echo(
      post('{"amount":1}', { ...json, "X-Request-Id": "client-req-12345" }),
      lambdaContext(),
    );
    expect(good.headers?.["X-Request-Id"]).toBe("client-req-12345");
    const bad = await echo(
      post('{"amount":1}', { ...json, "X-Request-Id": "<script>alert(1)</script>" }),
      lambdaContext(),
    );
    expect(bad.headers?.["X-Request-Id"]).not.toContain("<");
    expect(String(bad.headers?.["X-Request-Id"]).length).toBeGreaterThan(7);
  });

  it("requires a bearer token on a protected route (401 problem+json)", async () => {
    const res = await guarded(post('{"amount":1}'), lambdaContext());
    expect(res.statusCode).toBe(401);
    expect(problem(res)).toMatchObject({ code: "unauthorized" });
    expect(res.headers?.["WWW-Authenticate"]).toBe("Bearer");
  });

  it("requires a well-formed Idempotency-Key on a money-moving route", async () => {
    const missing = await idem(post('{"amount":1}'), lambdaContext());
    expect(missing.statusCode).toBe(400);
    const tooLong = await idem(
      post('{"amount":1}', { ...json, "Idempotency-Key": "k".repeat(256) }),
      lambdaContext(),
    );
    expect(tooLong.statusCode).toBe(400);
    const ok = await idem(
      post('{"amount":1}', { ...json, "Idempotency-Key": "order-42" }),
      lambdaContext(),
    );
    expect(ok.statusCode).toBe(201);
    expect(JSON.parse(ok.body)).toEqual({ key: "order-42" });
  });

  it("maps a thrown ApiError to its status, code and headers", async () => {
    const h = httpHandler(echoRoute, async () => {
      throw new ApiError(402, "insufficient_funds", { detail: "Not enough money." });
    });
    const res = await h(post('{"amount":1}'), lambdaContext());
    expect(res.statusCode).toBe(402);
    expect(problem(res)).toMatchObject({
      type: "urn:micropay:problem:insufficient_funds",
      title: "Payment Required",
      status: 402,
      code: "insufficient_funds",
      detail: "Not enough money.",
      requestId: "test-request-0001",
    });
  });
});
