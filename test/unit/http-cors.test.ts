import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { resetConfigForTests } from "../../lib/config.ts";
import { fallbackHandler } from "../../lib/http/fallback.ts";
import { httpHandler } from "../../lib/http/handler.ts";
import type { ApiResult } from "../../lib/http/types.ts";
import { Refusal } from "../../lib/problems.ts";
import { defineRoute } from "../../lib/routes/types.ts";
import { apiEvent, lambdaContext } from "../support/events.ts";

const ALLOWED = "https://app.example.com";

const route = defineRoute({
  id: "test-cors",
  method: "POST",
  path: "/v1/echo",
  summary: "test",
  tags: ["Test"],
  auth: "none",
  body: z.strictObject({ amount: z.number().int().positive() }),
  successStatus: 200,
  tableAccess: "none",
  usesSigningKey: false,
});

const post = (headers: Record<string, string>, body = '{"amount":1}') =>
  apiEvent({
    method: "POST",
    path: "/v1/echo",
    headers: { "Content-Type": "application/json", ...headers },
    body,
  });

/** The response's Vary members, lower-cased (header name in any case). */
function varyOf(res: ApiResult): string[] {
  const entry = Object.entries(res.headers ?? {}).find(([k]) => k.toLowerCase() === "vary");
  return String(entry?.[1] ?? "")
    .split(",")
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p.length > 0);
}

function allowOrigin(res: ApiResult): unknown {
  return res.headers?.["Access-Control-Allow-Origin"];
}

describe("CORS with one configured origin", () => {
  const saved = process.env.MICROPAY_CORS_ORIGINS;
  // Built after the environment is set: the chain reads its configuration once.
  let echo: ReturnType<typeof httpHandler>;
  let varied: ReturnType<typeof httpHandler>;
  let fallback: ReturnType<typeof fallbackHandler>;

  beforeAll(() => {
    process.env.MICROPAY_CORS_ORIGINS = ALLOWED;
    resetConfigForTests();
    echo = httpHandler(route, async () => ({ status: 200, body: { ok: true } }));
    varied = httpHandler(route, async () => ({
      status: 200,
      body: {},
      headers: { Vary: "Accept-Encoding" },
    }));
    fallback = fallbackHandler();
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.MICROPAY_CORS_ORIGINS;
    else process.env.MICROPAY_CORS_ORIGINS = saved;
    resetConfigForTests();
  });

  it("echoes the allowed origin and says Vary: Origin", async () => {
    const res = await echo(post({ Origin: ALLOWED }), lambdaContext());
    expect(res.statusCode).toBe(200);
    expect(allowOrigin(res)).toBe(ALLOWED);
    expect(varyOf(res)).toEqual(["origin"]);
  });

  it("says Vary: Origin when the origin is not allowed, and does not echo it", async () => {
    const res = await echo(post({ Origin: "https://evil.example" }), lambdaContext());
    expect(res.statusCode).toBe(200);
    expect(allowOrigin(res)).toBeUndefined();
    expect(varyOf(res)).toEqual(["origin"]);
  });

  it("says Vary: Origin when the request has no Origin", async () => {
    const res = await echo(post({}), lambdaContext());
    expect(allowOrigin(res)).toBeUndefined();
    expect(varyOf(res)).toEqual(["origin"]);
  });

  it("says Vary: Origin on a problem answer", async () => {
    const res = await echo(post({ Origin: ALLOWED }, '{"amount":-1}'), lambdaContext());
    expect(res.statusCode).toBe(400);
    expect(res.headers?.["Content-Type"]).toBe("application/problem+json");
    expect(allowOrigin(res)).toBe(ALLOWED);
    expect(varyOf(res)).toEqual(["origin"]);
  });

  it("adds Origin to a Vary the route set, once", async () => {
    const res = await varied(post({ Origin: ALLOWED }), lambdaContext());
    expect(varyOf(res)).toEqual(["accept-encoding", "origin"]);
  });

  it("says Vary: Origin on the gateway's own answers (preflight, unknown route)", async () => {
    const preflight = await fallback(
      apiEvent({ method: "OPTIONS", path: "/v1/echo", headers: { Origin: ALLOWED } }),
      lambdaContext(),
    );
    expect(preflight.statusCode).toBe(204);
    expect(allowOrigin(preflight)).toBe(ALLOWED);
    expect(varyOf(preflight)).toEqual(["origin"]);

    const context = lambdaContext();
    (context as unknown as { fallbackError: Refusal }).fallbackError = new Refusal("not_found");
    const missing = await fallback(
      apiEvent({ method: "GET", path: "/nope", headers: { Origin: "https://evil.example" } }),
      context,
    );
    expect(missing.statusCode).toBe(404);
    expect(allowOrigin(missing)).toBeUndefined();
    expect(varyOf(missing)).toEqual(["origin"]);
  });

  it.each(["constructor", "toString", "__proto__", "hasOwnProperty"])(
    "never echoes an Origin named %s",
    async (origin) => {
      const res = await echo(post({ Origin: origin }), lambdaContext());
      expect(allowOrigin(res)).toBeUndefined();
      expect(varyOf(res)).toEqual(["origin"]);
    },
  );
});

describe("CORS with no configured origin", () => {
  it("sends neither Access-Control headers nor Vary: Origin", async () => {
    const saved = process.env.MICROPAY_CORS_ORIGINS;
    delete process.env.MICROPAY_CORS_ORIGINS;
    resetConfigForTests();
    try {
      const echo = httpHandler(route, async () => ({ status: 200, body: {} }));
      const res = await echo(post({ Origin: ALLOWED }), lambdaContext());
      expect(res.statusCode).toBe(200);
      expect(allowOrigin(res)).toBeUndefined();
      expect(varyOf(res)).toEqual([]);
    } finally {
      if (saved !== undefined) process.env.MICROPAY_CORS_ORIGINS = saved;
      resetConfigForTests();
    }
  });
});
