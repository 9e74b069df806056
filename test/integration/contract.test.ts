import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  buildOpenApiDocument,
  operationIdOf,
  problemSchema,
  renderOpenApiJson,
} from "../../lib/openapi.ts";
import { routes } from "../../lib/routes/index.ts";
import type { RouteDef } from "../../lib/routes/types.ts";
import { adminToken as seededAdminToken } from "../support/auth.ts";
import { call } from "../support/http.ts";

/**
 * The contract test: every documented example request (and every GET that needs no
 * parameters) is sent to the running local stack, and the answer must be one the
 * document lists for that operation, with the documented media type and headers, and
 * a body that the schema for that status accepts. Success bodies are checked with the
 * route row's own response schema (the document's schema is generated from it);
 * problems with the Problem schema and the `code`s the document lists for the status.
 */

type Obj = Record<string, unknown>;
const doc = buildOpenApiDocument();
const byOperationId = new Map<string, RouteDef>(routes.map((r) => [operationIdOf(r), r]));

function deref(node: unknown): Obj {
  let current = node as Obj;
  while (typeof current.$ref === "string") {
    const parts = current.$ref.slice(2).split("/");
    let target: unknown = doc;
    for (const part of parts) target = (target as Obj)[part];
    current = target as Obj;
  }
  return current;
}

interface Case {
  readonly route: RouteDef;
  readonly op: Obj;
  readonly url: string;
  readonly body: unknown;
}

/** Example value of a parameter: its example, its schema's first example, or a placeholder. */
function parameterValue(p: Obj): string | undefined {
  if (p.example !== undefined) return String(p.example);
  const schema = (p.schema ?? {}) as Obj;
  if (Array.isArray(schema.examples) && schema.examples.length > 0)
    return String(schema.examples[0]);
  if (schema.example !== undefined) return String(schema.example);
  if (p.in === "path") return "x_contract_placeholder";
  return undefined;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [verb, rawOp] of Object.entries(item)) {
      const op = rawOp as Obj;
      const route = byOperationId.get(String(op.operationId));
      if (!route) throw new Error(`${verb} ${path}: no route row for ${String(op.operationId)}`);
      const params = ((op.parameters ?? []) as unknown[]).map(deref);
      const media = (deref(op.requestBody ?? {}).content as Obj | undefined)?.[
        "application/json"
      ] as Obj | undefined;
      const hasExample =
        media?.example !== undefined ||
        params.some((p) => (p.in === "query" || p.in === "path") && p.example !== undefined);
      const needsParams = params.some(
        (p) => p.required === true && p.in !== "header" && parameterValue(p) === undefined,
      );
      const plainGet =
        verb === "get" && !params.some((p) => p.required === true && p.in === "path");
      if (!(hasExample || plainGet) || needsParams) continue;
      let url = path;
      const query = new URLSearchParams();
      for (const p of params) {
        const value = parameterValue(p);
        if (value === undefined) continue;
        if (p.in === "path") url = url.replace(`{${String(p.name)}}`, encodeURIComponent(value));
        if (p.in === "query") query.set(String(p.name), value);
      }
      const qs = query.toString();
      out.push({ route, op, url: qs ? `${url}?${qs}` : url, body: media?.example });
    }
  }
  return out;
}

/** A bearer token for authenticated examples: the local stack's seeded admin (with MFA). */
async function adminToken(): Promise<string | undefined> {
  if (!routes.some((r) => r.path === "/v1/auth/login")) return undefined;
  return seededAdminToken();
}

function documentedCodes(response: Obj): string[] {
  const schema = ((response.content as Obj)["application/problem+json"] as Obj).schema as Obj;
  const narrowing = (schema.allOf as Obj[])[1] ?? {};
  const narrowed = ((narrowing.properties ?? {}) as Obj).code as Obj;
  return narrowed.const !== undefined ? [String(narrowed.const)] : (narrowed.enum as string[]);
}

describe("the contract: documented examples against the local stack", () => {
  it("serves at GET /openapi.json exactly the document the route table generates", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.text).toBe(renderOpenApiJson(doc));
  });

  it("answers every documented example as the document says", async () => {
    const all = cases();
    // At least the public GETs (health, the document, the docs page) are exercised.
    expect(all.length).toBeGreaterThanOrEqual(4);
    const token = await adminToken();
    const failures: string[] = [];
    for (const { route, op, url, body } of all) {
      const where = `${route.method} ${url}`;
      const headers: Record<string, string> = {};
      if (route.idempotent) headers["Idempotency-Key"] = randomUUID();
      const secured = Array.isArray(op.security) && op.security.length > 0;
      const res = await call(route.method, url, {
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(secured && token ? { token } : {}),
      });
      if (process.env.CONTRACT_VERBOSE) console.log(`${where} -> ${res.status}`);
      const responses = op.responses as Obj;
      const documented = responses[String(res.status)];
      if (documented === undefined) {
        failures.push(
          `${where}: status ${res.status} is not documented (${res.text.slice(0, 200)})`,
        );
        continue;
      }
      const response = deref(documented);
      if (!res.headers.get("x-request-id")) failures.push(`${where}: no X-Request-Id`);
      const content = (response.content ?? {}) as Obj;
      const mediaTypes = Object.keys(content);
      const got = (res.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
      if (mediaTypes.length === 0) {
        if (res.text.length > 0) failures.push(`${where}: documented no body, got one`);
        continue;
      }
      if (!mediaTypes.includes(got)) {
        failures.push(`${where}: content-type ${got}, documented ${mediaTypes.join(", ")}`);
        continue;
      }
      if (res.status === route.successStatus) {
        if (got === "application/json") {
          const parsed = route.response?.safeParse(res.json);
          if (parsed && !parsed.success) {
            failures.push(`${where}: ${res.status} body does not match: ${parsed.error.message}`);
          }
        } else if (res.text.length === 0) {
          failures.push(`${where}: empty ${got} body`);
        }
        continue;
      }
      const problem = problemSchema.strict().safeParse(res.json);
      if (!problem.success) {
        failures.push(`${where}: ${res.status} is not a Problem: ${problem.error.message}`);
        continue;
      }
      if (problem.data.status !== res.status) failures.push(`${where}: problem status differs`);
      const codes = documentedCodes(response);
      if (!codes.includes(problem.data.code)) {
        failures.push(`${where}: code ${problem.data.code} not documented for ${res.status}`);
      }
    }
    expect(failures).toEqual([]);
    // Every plain GET was among them.
    const exercised = new Set(all.map((c) => c.route.id));
    for (const r of routes.filter((r) => r.method === "GET" && !r.path.includes("{"))) {
      expect(exercised, r.id).toContain(r.id);
    }
  });

  it("serves the docs page and its renderer from this API, not a CDN", async () => {
    const page = await call("GET", "/docs");
    expect(page.status).toBe(200);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toMatch(/connect-src 'self'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(page.text).not.toMatch(/https?:\/\//);
    const asset = await call("GET", "/docs/scalar.js");
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(asset.text.length).toBeGreaterThan(100_000);
  });
});
