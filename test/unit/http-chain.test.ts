import { describe, expect, it } from "vitest";
import * as z from "zod";
import { MAX_BODY_BYTES } from "../../lib/http/body.ts";
import { httpHandler } from "../../lib/http/handler.ts";
import { runIdempotent } from "../../lib/http/idempotency.ts";
import type { HttpRequest } from "../../lib/http/types.ts";
import { type IdempotencyClaim, markRecorded } from "../../lib/idempotency.ts";
import { Refusal } from "../../lib/problems.ts";
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
    // A well-formed key passes validation; keys are scoped to the caller, so a row
    // without a caller cannot run under one.
    const anonymous = await idem(
      post('{"amount":1}', { ...json, "Idempotency-Key": "order-42" }),
      lambdaContext(),
    );
    expect(anonymous.statusCode).toBe(401);
  });

  it("hands an idempotent operation its caller-scoped claim and answers what it recorded", async () => {
    const seen: IdempotencyClaim[] = [];
    const req: HttpRequest = {
      route: idempotentRoute,
      body: { amount: 1 },
      query: {},
      params: {},
      principal: { userId: "usr_1", roles: ["customer"] as const, tokenId: "t" },
      requestId: "r",
      gatewayRequestId: "g",
      clientRequestId: undefined,
      sourceIp: "127.0.0.1",
      userAgent: "unit",
      headers: {},
      idempotencyKey: "order-42",
      rawBody: '{"amount":1}',
    };
    const res = await runIdempotent(req, async (r) => {
      if (!r.idempotency) throw new Error("no claim");
      seen.push(r.idempotency);
      // Stands in for an operation whose transaction wrote the record with its effect.
      markRecorded(r.idempotency);
      return { status: 201, body: { key: r.idempotencyKey } };
    });
    expect(res).toEqual({ status: 201, body: { key: "order-42" } });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      scope: "usr_1",
      key: "order-42",
      routeId: "test-idem",
      status: 200,
    });
    expect(seen[0]?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it("maps a thrown Refusal to its status, code and headers", async () => {
    const h = httpHandler(echoRoute, async () => {
      throw new Refusal("insufficient_funds", "Not enough money.");
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

describe("the body's media type and charset", () => {
  const withType = (contentType: string) =>
    echo(post('{"amount":5}', { "Content-Type": contentType }), lambdaContext());

  it.each([
    "application/json; charset=utf-16",
    "application/json; charset=latin1",
    "application/json; charset=ISO-8859-1",
    'application/json; charset="utf-16le"',
    "application/json; charset=us-ascii",
  ])("refuses %s with 415 problem+json and every security header", async (type) => {
    const res = await withType(type);
    expect(res.statusCode).toBe(415);
    expect(problem(res)).toMatchObject({ status: 415, code: "unsupported_media_type" });
    expect(problem(res).detail).toMatch(/UTF-8/);
    for (const h of REQUIRED_HEADERS) expect(res.headers?.[h], h).toBeTruthy();
  });

  it.each([
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=UTF-8",
    'application/json; charset="utf-8"',
    'Application/JSON ; Charset="Utf-8"',
    "application/json;charset=utf8",
    "application/json; charset=utf-8; foo=bar",
  ])("accepts %s", async (type) => {
    const res = await withType(type);
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ got: { amount: 5 } });
  });

  it("refuses a malformed Content-Type with 415 rather than guess", async () => {
    const res = await withType("application/json; charset");
    expect(res.statusCode).toBe(415);
    expect(problem(res)).toMatchObject({ code: "unsupported_media_type" });
  });

  it("refuses bytes that are not UTF-8 with 400 rather than misread them", async () => {
    // 0xE9 is "é" in latin1; in UTF-8 it starts a sequence that never ends.
    const latin1 = Buffer.from('{"amount":5,"note":"caf\xe9"}', "latin1").toString("base64");
    const event = { ...post(null), body: latin1, isBase64Encoded: true };
    const res = await echo(event, lambdaContext());
    expect(res.statusCode).toBe(400);
    expect(problem(res)).toMatchObject({ code: "validation_failed" });
    expect(problem(res).detail).toMatch(/UTF-8/);
  });
});

describe("duplicate JSON keys", () => {
  it.each([
    ['{"amount":1,"amount":500}', "body.amount"],
    ['{"amount":1,"\\u0061mount":500}', "body.amount"],
    ['{"amount":1,"note":"a","note":"b"}', "body.note"],
  ])("refuses %s with 400 naming the key", async (text, path) => {
    const res = await echo(post(text), lambdaContext());
    expect(res.statusCode).toBe(400);
    const body = problem(res);
    expect(body).toMatchObject({ status: 400, code: "validation_failed" });
    expect(body.errors).toEqual([{ path, message: "duplicate key" }]);
    for (const h of REQUIRED_HEADERS) expect(res.headers?.[h], h).toBeTruthy();
  });

  it("refuses a duplicate nested in objects and arrays", async () => {
    const nested = httpHandler(
      defineRoute({ ...echoRoute, id: "test-nested", body: z.unknown() }),
      async () => ({ status: 200, body: {} }),
    );
    const text = '{"a":{"list":[{"x":1},{"x":2,"y":{"k":1,"k":2}}]}}';
    const res = await nested(post(text), lambdaContext());
    expect(res.statusCode).toBe(400);
    expect(problem(res).errors).toEqual([{ path: "body.a.list.1.y.k", message: "duplicate key" }]);
    const fine = await nested(
      post('{"a":{"k":1},"b":{"k":1},"c":[{"k":1},{"k":1}]}'),
      lambdaContext(),
    );
    expect(fine.statusCode).toBe(200);
  });

  it("refuses a document nested too deeply with 400, not a crash", async () => {
    const deep = `{"amount":${"[".repeat(6000)}${"]".repeat(6000)}}`;
    const res = await echo(post(deep), lambdaContext());
    expect(res.statusCode).toBe(400);
    expect(problem(res)).toMatchObject({ code: "validation_failed" });
  });
});

describe("names that are Object.prototype members", () => {
  // In AWS the runtime JSON-parses the event, so `__proto__` arrives as an own key.
  const awsEvent = (headers: string, query: string | null) => ({
    ...post('{"amount":1}'),
    headers: JSON.parse(headers) as Record<string, string>,
    queryStringParameters: query === null ? null : (JSON.parse(query) as Record<string, string>),
  });

  it("answers headers named __proto__, constructor, toString, valueOf like any other", async () => {
    const res = await echo(
      awsEvent(
        '{"Content-Type":"application/json","__proto__":"x","constructor":"x","toString":"x","valueOf":"x"}',
        null,
      ),
      lambdaContext(),
    );
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ got: { amount: 1 } });
  });

  it.each(["__proto__", "constructor", "toString", "valueOf"])(
    "refuses a query parameter named %s with 400, on a route without and with a query schema",
    async (name) => {
      const query = JSON.stringify({ [name]: "1" });
      const without = await echo(
        awsEvent('{"Content-Type":"application/json"}', query),
        lambdaContext(),
      );
      expect(without.statusCode).toBe(400);
      expect(problem(without)).toMatchObject({ code: "validation_failed" });
      const listing = httpHandler(
        defineRoute({
          ...echoRoute,
          id: "test-list",
          method: "GET",
          body: undefined,
          query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
        }),
        async (req) => ({ status: 200, body: req.query }),
      );
      const event = { ...awsEvent("{}", query), httpMethod: "GET", body: null };
      const res = await listing(event, lambdaContext());
      expect(res.statusCode).toBe(400);
      expect(problem(res).errors).toEqual([
        { path: "query", message: `Unrecognized key: "${name}"` },
      ]);
      expect(({} as Record<string, unknown>).limit).toBeUndefined();
    },
  );
});
