import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { toProblemResult } from "../../lib/http/problem.ts";
import {
  buildOpenApiDocument,
  maxLengthOfPattern,
  type OpenApiDocument,
  operationIdOf,
  problemCodesOf,
  problemSchema,
  TAG_DESCRIPTIONS,
} from "../../lib/openapi.ts";
import { isProblemCode, PROBLEMS, type ProblemCode, Refusal } from "../../lib/problems.ts";
import { routes } from "../../lib/routes/index.ts";
import { defineRoute, type RouteDef } from "../../lib/routes/types.ts";
import { ARTIFACTS, generateArtifacts, idempotentOperations } from "../../scripts/openapi.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const HTTP_VERBS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const PATH_ITEM_KEYS = new Set([
  ...HTTP_VERBS,
  "$ref",
  "summary",
  "description",
  "servers",
  "parameters",
]);

/** Resolves a local JSON pointer (`#/a/b~1c`) in `doc`, or undefined. */
function resolvePointer(doc: unknown, pointer: string): unknown {
  if (!pointer.startsWith("#")) return undefined;
  const parts = pointer
    .slice(1)
    .split("/")
    .slice(1)
    .map((p) => decodeURIComponent(p).replace(/~1/g, "/").replace(/~0/g, "~"));
  let node: unknown = doc;
  for (const part of parts) {
    if (!isObj(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[part];
    if (node === undefined) return undefined;
  }
  return node;
}

/**
 * Structural checks of an OpenAPI 3.1 document (no validator package needed): the
 * required fields of each object this generator emits, unique operationIds, path
 * parameters matching the template, declared tags and security schemes, and every
 * $ref resolving inside the document. Returns the problems found.
 */
function structuralProblems(doc: unknown): string[] {
  const problems: string[] = [];
  const fail = (where: string, what: string) => problems.push(`${where}: ${what}`);
  if (!isObj(doc)) return ["document is not an object"];
  if (typeof doc.openapi !== "string" || !/^3\.1\.\d+$/.test(doc.openapi)) {
    fail("openapi", "must be 3.1.x");
  }
  const info = doc.info;
  if (!isObj(info) || typeof info.title !== "string" || typeof info.version !== "string") {
    fail("info", "needs title and version strings");
  }
  if (!isObj(doc.paths)) fail("paths", "must be an object");
  const components = isObj(doc.components) ? doc.components : {};
  const schemes = isObj(components.securitySchemes) ? components.securitySchemes : {};
  for (const [name, scheme] of Object.entries(schemes)) {
    if (!isObj(scheme) || typeof scheme.type !== "string") fail(`securitySchemes.${name}`, "type");
  }
  const tags = new Set(
    (Array.isArray(doc.tags) ? doc.tags : []).map((t) => (isObj(t) ? t.name : undefined)),
  );
  const operationIds = new Set<string>();

  const checkParameter = (where: string, raw: unknown): Obj | undefined => {
    const p = isObj(raw) && typeof raw.$ref === "string" ? resolvePointer(doc, raw.$ref) : raw;
    if (!isObj(p)) {
      fail(where, "parameter is not an object");
      return undefined;
    }
    if (typeof p.name !== "string") fail(where, "parameter needs a name");
    if (!["query", "header", "path", "cookie"].includes(String(p.in))) fail(where, "bad `in`");
    if (p.in === "path" && p.required !== true)
      fail(where, `path parameter ${p.name} not required`);
    if ((p.schema === undefined) === (p.content === undefined)) {
      fail(where, "parameter needs exactly one of schema/content");
    }
    return p;
  };

  for (const [path, item] of Object.entries(isObj(doc.paths) ? doc.paths : {})) {
    if (!path.startsWith("/")) fail(path, "path must start with /");
    if (!isObj(item)) {
      fail(path, "path item is not an object");
      continue;
    }
    for (const key of Object.keys(item)) {
      if (!PATH_ITEM_KEYS.has(key) && !key.startsWith("x-")) fail(path, `unknown key ${key}`);
    }
    const templateParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    for (const verb of HTTP_VERBS) {
      const op = item[verb];
      if (op === undefined) continue;
      const where = `${verb.toUpperCase()} ${path}`;
      if (!isObj(op)) {
        fail(where, "operation is not an object");
        continue;
      }
      if (typeof op.operationId === "string") {
        if (operationIds.has(op.operationId))
          fail(where, `duplicate operationId ${op.operationId}`);
        operationIds.add(op.operationId);
      }
      for (const tag of Array.isArray(op.tags) ? op.tags : []) {
        if (!tags.has(tag)) fail(where, `tag ${String(tag)} is not declared`);
      }
      for (const requirement of Array.isArray(op.security) ? op.security : []) {
        for (const name of Object.keys(isObj(requirement) ? requirement : {})) {
          if (!(name in schemes)) fail(where, `unknown security scheme ${name}`);
        }
      }
      const params = (Array.isArray(op.parameters) ? op.parameters : []).map((p, i) =>
        checkParameter(`${where} parameters[${i}]`, p),
      );
      const seen = new Set<string>();
      for (const p of params) {
        if (!p) continue;
        const key = `${String(p.in)}:${String(p.name).toLowerCase()}`;
        if (seen.has(key)) fail(where, `duplicate parameter ${key}`);
        seen.add(key);
      }
      const pathParams = params
        .filter((p) => p?.in === "path")
        .map((p) => p?.name)
        .sort();
      if (JSON.stringify(pathParams) !== JSON.stringify(templateParams)) {
        fail(where, `path parameters ${pathParams} do not match the template ${templateParams}`);
      }
      if (op.requestBody !== undefined) {
        const body = op.requestBody;
        if (!isObj(body) || !isObj(body.content)) fail(where, "requestBody needs content");
      }
      if (!isObj(op.responses) || Object.keys(op.responses).length === 0) {
        fail(where, "needs at least one response");
        continue;
      }
      for (const [status, raw] of Object.entries(op.responses)) {
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(status)) fail(where, `bad status key ${status}`);
        const res =
          isObj(raw) && typeof raw.$ref === "string" ? resolvePointer(doc, raw.$ref) : raw;
        if (!isObj(res) || typeof res.description !== "string") {
          fail(`${where} ${status}`, "response needs a description");
        }
      }
    }
  }

  // Every $ref anywhere resolves inside the document.
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) {
      for (const [i, v] of node.entries()) walk(v, `${where}[${i}]`);
      return;
    }
    if (!isObj(node)) return;
    for (const [k, v] of Object.entries(node)) {
      if (k === "$ref" && typeof v === "string" && resolvePointer(doc, v) === undefined) {
        fail(where, `$ref ${v} does not resolve`);
      }
      walk(v, `${where}/${k}`);
    }
  };
  walk(doc, "#");
  return problems;
}

describe("openapi.json and the generated client files", () => {
  it("are up to date with the route table (run `npm run openapi` if this fails)", async () => {
    const fresh = await generateArtifacts();
    for (const name of ARTIFACTS) {
      const committed = readFileSync(join(root, name), "utf8");
      expect(committed, `${name} is stale: run \`npm run openapi\``).toBe(fresh[name]);
    }
  });

  it("has every route of the route table, with its operationId", () => {
    const committed = JSON.parse(
      readFileSync(join(root, "openapi.json"), "utf8"),
    ) as OpenApiDocument;
    const missing = routes.filter((route) => {
      const op = committed.paths[route.path]?.[route.method.toLowerCase()] as
        | { operationId?: string }
        | undefined;
      return op?.operationId !== operationIdOf(route);
    });
    expect(missing.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  it("is a structurally valid OpenAPI 3.1 document whose $refs all resolve", () => {
    const committed = JSON.parse(readFileSync(join(root, "openapi.json"), "utf8")) as unknown;
    expect(structuralProblems(committed)).toEqual([]);
  });

  it("the structural check catches what it claims to", () => {
    const doc = buildOpenApiDocument(routes) as unknown as Obj;
    const broken = structuredClone(doc) as {
      paths: Record<string, Obj>;
      openapi: string;
      info: Obj;
    };
    broken.openapi = "3.0.3";
    delete broken.info.version;
    const taken = operationIdOf(routes[0] as RouteDef);
    broken.paths["/x/{id}"] = {
      get: {
        operationId: taken,
        tags: ["Undeclared"],
        security: [{ nobodyAuth: [] }],
        responses: { "200": { $ref: "#/components/responses/Nope" } },
      },
    };
    const found = structuralProblems(broken);
    expect(found).toContain("openapi: must be 3.1.x");
    expect(found).toContain("info: needs title and version strings");
    expect(found).toContain(`GET /x/{id}: duplicate operationId ${taken}`);
    expect(found).toContain("GET /x/{id}: tag Undeclared is not declared");
    expect(found).toContain("GET /x/{id}: unknown security scheme nobodyAuth");
    expect(found.some((p) => p.includes("do not match the template"))).toBe(true);
    expect(found.some((p) => p.includes("#/components/responses/Nope does not resolve"))).toBe(
      true,
    );
    // And nothing on the document as generated.
    expect(structuralProblems(doc)).toEqual([]);
  });
});

describe("what openapi.json promises about auth, throttling and examples", () => {
  const committed = JSON.parse(readFileSync(join(root, "openapi.json"), "utf8")) as Obj;
  const deref = (v: unknown): Obj => {
    const target = isObj(v) && typeof v.$ref === "string" ? resolvePointer(committed, v.$ref) : v;
    return isObj(target) ? target : {};
  };
  const operations: { where: string; op: Obj }[] = [];
  for (const [path, item] of Object.entries(committed.paths as Record<string, Obj>)) {
    for (const verb of HTTP_VERBS) {
      if (isObj(item[verb]))
        operations.push({ where: `${verb.toUpperCase()} ${path}`, op: item[verb] });
    }
  }
  const responseOf = (op: Obj, status: string): Obj | undefined => {
    const raw = (op.responses as Obj)[status];
    return raw === undefined ? undefined : deref(raw);
  };
  const headersOf = (res: Obj | undefined): string[] =>
    Object.keys(isObj(res?.headers) ? res.headers : {});
  const secured = operations.filter(
    ({ op }) => Array.isArray(op.security) && op.security.length > 0,
  );

  it("every operation with security documents 401 (with WWW-Authenticate) and 429 (with Retry-After)", () => {
    expect(secured.length).toBeGreaterThan(10);
    const missing = secured.flatMap(({ where, op }) => {
      const out: string[] = [];
      const unauthorized = responseOf(op, "401");
      if (!unauthorized?.content) out.push(`${where}: no 401 problem response`);
      if (!headersOf(unauthorized).includes("WWW-Authenticate"))
        out.push(`${where}: 401 without WWW-Authenticate`);
      const limited = responseOf(op, "429");
      if (!limited?.content) out.push(`${where}: no 429 problem response`);
      if (!headersOf(limited).includes("Retry-After"))
        out.push(`${where}: 429 without Retry-After`);
      return out;
    });
    expect(missing).toEqual([]);
  });

  it("public operations document 429 with Retry-After too, and every 503 carries Retry-After", () => {
    const missing = operations.flatMap(({ where, op }) => {
      const out: string[] = [];
      if (!headersOf(responseOf(op, "429")).includes("Retry-After")) out.push(`${where} 429`);
      const unavailable = responseOf(op, "503");
      if (unavailable && !headersOf(unavailable).includes("Retry-After")) out.push(`${where} 503`);
      return out;
    });
    expect(missing).toEqual([]);
    // No rate-limit headers are documented: API Gateway and WAF send none.
    const headerNames = operations.flatMap(({ op }) =>
      Object.values(op.responses as Obj).flatMap((r) => headersOf(deref(r))),
    );
    expect(headerNames).toContain("Retry-After");
    expect(headerNames.filter((h) => /^(x-)?rate-?limit/i.test(h))).toEqual([]);
  });

  it('parameter examples are values of their schema type (limit: 20, not "20")', () => {
    const wrong = operations.flatMap(({ where, op }) =>
      (Array.isArray(op.parameters) ? op.parameters : []).map(deref).flatMap((p) => {
        if (p.example === undefined) return [];
        const type = (p.schema as Obj).type;
        const ok =
          type === "integer"
            ? Number.isInteger(p.example)
            : type === "number"
              ? typeof p.example === "number"
              : type === "boolean"
                ? typeof p.example === "boolean"
                : typeof p.example === "string";
        return ok
          ? []
          : [`${where} ${String(p.name)}: ${JSON.stringify(p.example)} is not ${String(type)}`];
      }),
    );
    expect(wrong).toEqual([]);
    expect(
      operations.some(({ op }) => JSON.stringify(op.parameters ?? []).includes('"example":20')),
    ).toBe(true);
  });

  it("every integer schema says its format", () => {
    const bare: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) {
        for (const [i, v] of node.entries()) walk(v, `${where}/${i}`);
        return;
      }
      if (!isObj(node)) return;
      if (node.type === "integer" && typeof node.format !== "string") bare.push(where);
      for (const [k, v] of Object.entries(node)) walk(v, `${where}/${k}`);
    };
    walk(committed, "#");
    expect(bare).toEqual([]);
  });

  it("reads the longest match of an anchored pattern, and gives up where it should", () => {
    expect(maxLengthOfPattern("^acc_[0-9A-HJKMNP-TV-Z]{26}$")).toBe(30);
    expect(maxLengthOfPattern("^(usr_[0-9A-HJKMNP-TV-Z]{26}|system)$")).toBe(30);
    expect(maxLengthOfPattern("^[A-Z]{3}$")).toBe(3);
    expect(maxLengthOfPattern("^[\\x21-\\x7e]{1,255}$")).toBe(255);
    expect(maxLengthOfPattern("^(?:ab|c)?\\d{2,4}$")).toBe(6);
    expect(maxLengthOfPattern("^3\\.1\\.\\d+$")).toBeUndefined(); // unbounded
    expect(maxLengthOfPattern("^[a-z]{2,}$")).toBeUndefined();
    expect(maxLengthOfPattern("^acc_")).toBeUndefined(); // no end anchor
    expect(maxLengthOfPattern("^a\\$")).toBeUndefined(); // a literal $, not the anchor
    expect(maxLengthOfPattern("^(?=a)a$")).toBeUndefined(); // lookahead
    expect(maxLengthOfPattern("^(a)\\1$")).toBeUndefined(); // backreference
  });
});

describe("the generator, on a route table like the money routes", () => {
  const pay = defineRoute({
    id: "fixture-pay",
    method: "POST",
    path: "/v1/fixture/payments",
    summary: "Pay",
    tags: ["Payments"],
    auth: { roles: ["customer", "merchant"] },
    body: z.strictObject({
      sourceAccountId: z.string(),
      destinationAccountId: z.string(),
      amount: z.number().int().min(1),
      currency: z.string().regex(/^[A-Z]{3}$/),
      description: z.string().max(200).optional(),
    }),
    response: z.object({ id: z.string(), amount: z.number().int() }),
    successStatus: 201,
    idempotent: true,
    errorCodes: ["insufficient_funds", "account_frozen", "currency_mismatch"],
    tableAccess: "write",
    usesSigningKey: true,
    example: {
      body: {
        sourceAccountId: "acc_1",
        destinationAccountId: "acc_2",
        amount: 1250,
        currency: "USD",
      },
    },
  });
  const list = defineRoute({
    id: "fixture-entries",
    method: "GET",
    path: "/v1/fixture/accounts/{accountId}/entries",
    summary: "Entries",
    tags: ["Accounts"],
    auth: { roles: ["customer", "admin", "auditor"] },
    params: z.object({ accountId: z.string().startsWith("acc_") }),
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(20),
      cursor: z.string().optional(),
    }),
    response: z.object({
      data: z.array(z.object({ id: z.string() })),
      hasMore: z.boolean(),
      nextCursor: z.string().nullable(),
    }),
    successStatus: 200,
    tableAccess: "read",
    usesSigningKey: true,
  });
  // Fixture rows on their own paths, beside the real table (whatever it holds by now).
  const rows: RouteDef[] = [...routes, pay, list];
  const doc = buildOpenApiDocument(rows);
  type Op = {
    security: unknown[];
    parameters?: Obj[];
    responses: Record<string, Obj>;
    requestBody?: { content: Record<string, Obj> };
    "x-idempotent"?: boolean;
  };
  const op = (path: string, verb: string) => doc.paths[path]?.[verb] as unknown as Op;
  const statuses = (o: Op) => Object.keys(o.responses).map(Number);
  const codesAt = (o: Op, status: number) => [...(problemCodesOf(routeOf(o)).get(status) ?? [])];
  const routeOf = (o: Op) => (o === op("/v1/fixture/payments", "post") ? pay : list);

  it("stays structurally valid as rows are added", () => {
    expect(structuralProblems(doc)).toEqual([]);
    expect(idempotentOperations(doc)).toContain("POST /v1/fixture/payments");
  });

  it("documents a money-moving POST: bearer, Idempotency-Key, problems by status, example", () => {
    const post = op("/v1/fixture/payments", "post");
    expect(post.security).toEqual([{ bearerAuth: [] }]);
    expect(post["x-idempotent"]).toBe(true);
    expect(post.parameters).toContainEqual({ $ref: "#/components/parameters/IdempotencyKey" });
    expect(statuses(post)).toEqual([201, 400, 401, 402, 403, 409, 413, 415, 422, 429, 500, 503]);
    expect(codesAt(post, 409).sort()).toEqual(["account_frozen", "idempotency_in_progress"]);
    expect(codesAt(post, 422).sort()).toEqual(["currency_mismatch", "idempotency_key_reused"]);
    const created = post.responses["201"] as { headers: Obj };
    expect(Object.keys(created.headers)).toEqual(["X-Request-Id", "Idempotent-Replayed"]);
    const media = post.requestBody?.content["application/json"] as { example: Obj; schema: Obj };
    expect(media.example).toEqual(pay.example.body);
    expect(media.schema).toEqual({ $ref: "#/components/schemas/FixturePayRequest" });
    const body = doc.components.schemas.FixturePayRequest as { additionalProperties: boolean };
    expect(body.additionalProperties).toBe(false);
    const conflict = post.responses["409"] as { content: Record<string, { schema: Obj }> };
    expect(JSON.stringify(conflict.content["application/problem+json"]?.schema)).toContain(
      '"enum":["account_frozen","idempotency_in_progress"]',
    );
    const limited = doc.components.responses as Record<string, { headers: Obj }>;
    expect(Object.keys(limited.RateLimited?.headers ?? {})).toContain("Retry-After");
    expect(Object.keys(limited.ServiceUnavailable?.headers ?? {})).toContain("Retry-After");
  });

  it("documents a paginated GET: path and query parameters from the row's schemas", () => {
    const get = op("/v1/fixture/accounts/{accountId}/entries", "get");
    const params = get.parameters ?? [];
    expect(params.map((p) => [p.name, p.in, p.required])).toEqual([
      ["accountId", "path", true],
      ["limit", "query", false],
      ["cursor", "query", false],
    ]);
    expect(params[1]?.schema).toMatchObject({
      type: "integer",
      minimum: 1,
      maximum: 100,
      default: 20,
    });
    expect(statuses(get)).toEqual([200, 400, 401, 403, 404, 429, 500, 503]);
  });

  it("keeps public, body-less routes free of auth and media-type problems", () => {
    const health = op("/v1/health", "get");
    expect(health.security).toEqual([]);
    expect(statuses(health)).toEqual([200, 400, 429, 500, 503]);
    const docs = op("/docs", "get");
    expect(Object.keys((docs.responses["200"] as { content: Obj }).content)).toEqual(["text/html"]);
  });

  it("documents every problem code with the status the chain answers it with", () => {
    const documented = routes.flatMap((route) =>
      [...problemCodesOf(route)].flatMap(([status, codes]) =>
        [...codes].map((code) => ({ code, status })),
      ),
    );
    expect(documented.length).toBeGreaterThan(routes.length);
    const disagreements = documented.filter(
      ({ code, status }) =>
        toProblemResult(new Refusal(code as ProblemCode), "r").statusCode !== status,
    );
    expect(disagreements).toEqual([]);
  });

  it("knows only problem codes something can answer with, and only tags a route uses", () => {
    const sources = ["lib", "functions", "infra", "local"].flatMap((dir) =>
      readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".ts") && join(dir, f) !== join("lib", "problems.ts"))
        .map((f) => readFileSync(join(root, dir, f), "utf8")),
    );
    expect(sources.length).toBeGreaterThan(50);
    const openapiSource = readFileSync(join(root, "lib", "openapi.ts"), "utf8");
    const unused = Object.keys(PROBLEMS).filter(
      (code) =>
        !sources.some((text) => text.includes(`"${code}"`)) &&
        !openapiSource.includes(`add("${code}")`),
    );
    expect(unused).toEqual([]);
    const used = new Set(routes.flatMap((r) => r.tags));
    expect(Object.keys(TAG_DESCRIPTIONS).filter((t) => !used.has(t))).toEqual([]);
  });

  it("knows a problem code only from the catalogue, never by guessing from its name", () => {
    expect(isProblemCode("account_frozen")).toBe(true);
    expect(isProblemCode("payment_not_found")).toBe(false);
    expect(isProblemCode("toString")).toBe(false);
  });
});

describe("the Problem schema", () => {
  it("describes what the chain actually writes", () => {
    const res = toProblemResult(
      new Refusal("validation_failed", undefined, { errors: [{ path: "body.x", message: "bad" }] }),
      "req-1",
    );
    const body = problemSchema.strict().parse(JSON.parse(res.body));
    expect(body.code).toBe("validation_failed");
  });
});
