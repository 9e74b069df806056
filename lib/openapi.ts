import * as z from "zod";
import { MAX_BODY_BYTES } from "./http/body.ts";
import { type ProblemCode, STATUS_TITLES, statusOf } from "./problems.ts";
import { routes as routeTable } from "./routes/index.ts";
import type { HttpMethod, RouteDef } from "./routes/types.ts";

/**
 * The OpenAPI 3.1 document, generated from the route table and the very zod schemas
 * the Middy chain validates requests with (io "input") and that shape responses
 * (io "output"). Nothing here is written by hand per route: a new row in
 * lib/routes/index.ts appears in the document, the docs page and the typed client
 * (after `npm run openapi`) without touching this file, unless it answers a problem
 * `code` this file has never heard of (then generation fails and says which).
 */

export const OPENAPI_VERSION = "3.1.1";
export const API_TITLE = "MicroPay API";
export const API_VERSION = "1.0.0";

/** Problem body (RFC 9457), as lib/http/problem.ts writes it. */
export const problemSchema = z
  .object({
    type: z
      .string()
      .meta({ description: "A URN naming the problem type, urn:micropay:problem:<code>." }),
    title: z.string().meta({ description: "Short human summary of the status." }),
    status: z.number().int().meta({ description: "The HTTP status code." }),
    code: z.string().meta({ description: "Stable machine-readable problem code." }),
    detail: z.string().meta({ description: "Human explanation of this occurrence." }),
    requestId: z.string().meta({ description: "Same as the X-Request-Id response header." }),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .meta({ description: "Field-level validation failures (400 only)." }),
  })
  .meta({ description: "An RFC 9457 problem document (application/problem+json)." });

const BODY_METHODS: ReadonlySet<HttpMethod> = new Set(["POST", "PUT", "PATCH"]);
const METHOD_ORDER: readonly HttpMethod[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

export const TAG_DESCRIPTIONS: Readonly<Record<string, string>> = {
  Authentication:
    "Registration, login, token refresh and logout. Access tokens are ES256 JWTs; refresh tokens rotate on every use.",
  Accounts: "Accounts and their ledger entries. Amounts are integers in minor units.",
  Payments: "Payments between accounts, and refunds. Money-moving calls are idempotent.",
  Transfers:
    "Every movement of money (deposit, withdrawal, payment, refund) is one transfer: one debit and one credit of the same amount, named by its `trf_` id on both entries and in its audit record.",
  Admin:
    "Funding, freezing and roles (admin); read access for auditors. Large deposits and grants of admin or auditor wait for a second admin's approval (dual control).",
  "API keys":
    "Scoped, revocable keys (`mp_live_...`) for merchants' servers: the secret is shown once and only its hash is stored. Managed by people only; a key cannot manage keys.",
  System: "Health, this document and the reference page.",
};

const DESCRIPTION = [
  "MicroPay moves money between accounts with a double-entry ledger.",
  "",
  "- JSON in and out; bodies over 16 KiB are `413`, other media types `415`, unknown fields `400`.",
  "- `amount` is an integer in the currency's minor unit (ISO 4217 exponent); never a float.",
  "- Lists take `limit` (1..100, default 20) and an opaque `cursor`, newest first, and answer",
  "  `{ data, hasMore, nextCursor }`.",
  "- Errors are RFC 9457 `application/problem+json` with a stable `code`.",
  "- Every money-moving `POST` requires an `Idempotency-Key` header; a retry with the same key",
  "  and body replays the first result with `Idempotent-Replayed: true`.",
  "- Every response carries `X-Request-Id`; send your own to correlate logs.",
  "- Bearer access tokens live 15 minutes; refresh tokens rotate on every use.",
  "",
  "## Logging in with a second factor",
  "",
  "1. `POST /v1/auth/login {email, password}`: a user with MFA gets `200 {mfaRequired: true,",
  "   mfaToken, methods}` and no tokens yet.",
  "2. `POST /v1/auth/mfa {mfaToken, code}` with the current TOTP code (or an unused recovery",
  '   code) answers the token pair; its access token carries `amr: ["pwd", "otp"]`.',
  "",
  "Enrol with `POST /v1/me/mfa/totp`, then `POST /v1/me/mfa/totp/verify {code}`. Admin and",
  "auditor routes need a token with `otp` (`403 mfa_required`); role changes, freezes, deposits",
  "and approvals also a login within `MICROPAY_STEP_UP_SECONDS` (`403 reauthentication_required`).",
  "",
  "## Dual control",
  "",
  "A deposit of at least `MICROPAY_DUAL_CONTROL_MINOR` minor units and every grant of `admin` or",
  '`auditor` answer `202 {approvalId, status: "pending_approval"}` and change nothing yet. A',
  "different admin lists them (`GET /v1/admin/approvals?status=pending`) and approves one",
  "(`POST /v1/admin/approvals/{approvalId}/approve`, which carries it out) or rejects it. The",
  "requester cannot approve its own (`403 same_approver`), no admin deposits into an account it",
  "owns (`403 self_dealing`), and a pending approval expires after",
  "`MICROPAY_APPROVAL_TTL_SECONDS` (24 hours; then `409 approval_expired`).",
].join("\n");

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface OpenApiDocument extends JsonObject {
  openapi: string;
  info: JsonObject;
  paths: { [path: string]: JsonObject };
  components: JsonObject & { schemas: { [name: string]: JsonObject } };
}

/** Turns a route id (`payments-create`, `createPayment`) into `PaymentsCreate`. */
export function pascalCase(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter((p) => p.length > 0)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join("");
}

export function operationIdOf(route: RouteDef): string {
  const p = pascalCase(route.id);
  return p.charAt(0).toLowerCase() + p.slice(1);
}

/**
 * Collects zod schemas as JSON Schema (draft 2020-12, what OpenAPI 3.1 uses) into
 * components.schemas. Sub-schemas carrying a zod `id` (`.meta({ id })`) become named
 * components shared by every route that uses them.
 */
class SchemaCollector {
  readonly schemas = new Map<string, JsonObject>();

  /** JSON Schema for `schema`; named objects are stored as components and referenced. */
  convert(schema: z.ZodType, io: "input" | "output", name?: string): JsonObject {
    const raw = annotateBounds(
      z.toJSONSchema(schema, {
        target: "draft-2020-12",
        io,
        unrepresentable: "any",
      }) as JsonObject,
    );
    const { $schema: _ignored, $defs, ...root } = raw;
    const defs = ($defs ?? {}) as { [k: string]: JsonObject };
    const renames = new Map<string, string>();
    for (const defName of Object.keys(defs)) {
      const base = defName.startsWith("__schema")
        ? `${name ?? "Schema"}${defName.replace("__schema", "Def")}`
        : defName;
      renames.set(defName, base);
    }
    // Pick final names: a name already used for a different schema gets an Input suffix
    // (a zod schema with defaults or transforms differs between request and response).
    for (const [defName, base] of renames) {
      const def = defs[defName] as JsonObject;
      const rewritten = rewriteRefs(def, renames);
      const finalName = this.place(base, rewritten, io);
      renames.set(defName, finalName);
    }
    // Second pass: refs to renamed siblings.
    for (const [defName, finalName] of renames) {
      this.schemas.set(finalName, rewriteRefs(defs[defName] as JsonObject, renames));
    }
    const body = rewriteRefs(root, renames);
    if (name === undefined || !isNamable(body)) return body;
    return { $ref: `#/components/schemas/${this.place(name, body, io)}` };
  }

  private place(base: string, schema: JsonObject, io: "input" | "output"): string {
    const candidates = io === "input" ? [base, `${base}Input`] : [base, `${base}Output`];
    for (const candidate of candidates) {
      const existing = this.schemas.get(candidate);
      if (existing === undefined) {
        this.schemas.set(candidate, schema);
        return candidate;
      }
      if (stableStringify(existing) === stableStringify(schema)) return candidate;
    }
    throw new Error(`lib/openapi.ts: two different schemas want the component name "${base}"`);
  }
}

function isNamable(schema: JsonObject): boolean {
  if ("$ref" in schema) return false;
  return (
    schema.type === "object" || schema.type === "array" || "anyOf" in schema || "oneOf" in schema
  );
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * Spells out bounds a schema already has but does not say in the words API linters
 * read (the OWASP API4 rules): an integer's `format` (int32 when its range fits, else
 * int64; zod's `.int()` is always within the safe-integer range), and a string's
 * `maxLength` when its anchored `pattern` allows nothing longer (ids, currency codes).
 * Nothing is added that validation does not already enforce.
 */
export function annotateBounds(schema: JsonObject): JsonObject {
  const walk = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== "object") return value;
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v);
    if (out.type === "integer" && out.format === undefined) {
      const min = typeof out.minimum === "number" ? out.minimum : Number.NEGATIVE_INFINITY;
      const max = typeof out.maximum === "number" ? out.maximum : Number.POSITIVE_INFINITY;
      out.format = min >= INT32_MIN && max <= INT32_MAX ? "int32" : "int64";
    }
    if (
      out.type === "string" &&
      typeof out.pattern === "string" &&
      out.maxLength === undefined &&
      out.enum === undefined &&
      out.const === undefined
    ) {
      const longest = maxLengthOfPattern(out.pattern);
      if (longest !== undefined) out.maxLength = longest;
    }
    return out;
  };
  return walk(schema) as JsonObject;
}

/**
 * The length of the longest string an anchored pattern (`^...$`) matches, or undefined
 * when that is unbounded (`*`, `+`, `{n,}`) or the pattern uses something this small
 * reader does not follow (lookaround, backreference, an unanchored end). Reads literal
 * characters, escapes, character classes, `.`, groups with `|`, and the quantifiers
 * `?`, `{n}` and `{n,m}`.
 */
export function maxLengthOfPattern(pattern: string): number | undefined {
  if (!pattern.startsWith("^") || !pattern.endsWith("$") || pattern.endsWith("\\$")) {
    return undefined;
  }
  const end = pattern.length - 1;
  let i = 1;
  const classEnd = (from: number): number => {
    let j = from + 1;
    if (pattern[j] === "^") j++;
    while (j < end) {
      if (pattern[j] === "\\") j += 2;
      else if (pattern[j] === "]") return j;
      else j++;
    }
    return -1;
  };
  /** Upper repeat count of the quantifier at i (1 when none), null when unbounded. */
  const quantifier = (): number | null | undefined => {
    const c = pattern[i];
    let max: number | null = 1;
    if (c === "?") {
      i++;
    } else if (c === "*" || c === "+") {
      return null;
    } else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
      if (!m) return undefined;
      i += m[0].length;
      if (m[2] === undefined) max = Number(m[1]);
      else if (m[3] === "") return null;
      else max = Number(m[3]);
    } else {
      return 1;
    }
    if (pattern[i] === "?") i++; // lazy: same bound
    return max;
  };
  const sequence = (): number | undefined => {
    let best = 0;
    let current = 0;
    while (i < end && pattern[i] !== ")") {
      const c = pattern[i] as string;
      if (c === "|") {
        best = Math.max(best, current);
        current = 0;
        i++;
        continue;
      }
      let atom: number;
      if (c === "(") {
        i++;
        if (pattern[i] === "?") {
          if (pattern[i + 1] !== ":") return undefined; // lookaround, named group
          i += 2;
        }
        const inner = sequence();
        if (inner === undefined || pattern[i] !== ")") return undefined;
        i++;
        atom = inner;
      } else if (c === "[") {
        const close = classEnd(i);
        if (close < 0) return undefined;
        i = close + 1;
        atom = 1;
      } else if (c === "\\") {
        const e = pattern[i + 1] ?? "";
        if (/[1-9k]/.test(e)) return undefined; // backreference
        if (e === "b" || e === "B") atom = 0;
        else atom = 1;
        i += e === "x" ? 4 : e === "u" ? 6 : 2;
      } else if ("^$*+?{}]".includes(c)) {
        return undefined;
      } else {
        i++;
        atom = 1;
      }
      const q = quantifier();
      if (q === undefined || q === null) return undefined;
      current += atom * q;
    }
    return Math.max(best, current);
  };
  const longest = sequence();
  return i === end ? longest : undefined;
}

function rewriteRefs(node: JsonObject, renames: Map<string, string>): JsonObject {
  const walk = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== "object") return value;
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string" && v.startsWith("#/$defs/")) {
        const target = v.slice("#/$defs/".length);
        out[k] = `#/components/schemas/${renames.get(target) ?? target}`;
      } else {
        out[k] = walk(v);
      }
    }
    return out;
  };
  return walk(node) as JsonObject;
}

export function stableStringify(value: unknown, indent?: number): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v === null || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      out[k] = sortKeys((v as Record<string, unknown>)[k]);
    }
    return out;
  };
  return JSON.stringify(sortKeys(value), null, indent);
}

const ref = (kind: string, name: string): JsonObject => ({ $ref: `#/components/${kind}/${name}` });

function pathParamNames(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1] as string);
}

/** Parameters (path or query) from an object schema, one per property. */
function parametersFrom(
  collector: SchemaCollector,
  schema: z.ZodType | undefined,
  where: "path" | "query",
  example: Record<string, string> | undefined,
  path: string,
): JsonObject[] {
  const out: JsonObject[] = [];
  const json = schema ? collector.convert(schema, "input") : undefined;
  const props = (json?.properties ?? {}) as { [k: string]: JsonObject };
  const required = new Set((json?.required ?? []) as string[]);
  const names = Object.keys(props);
  if (where === "path") {
    for (const name of pathParamNames(path)) if (!names.includes(name)) names.push(name);
  }
  for (const name of names) {
    const prop = props[name] ?? { type: "string" };
    const { description, ...propSchema } = prop;
    const param: JsonObject = {
      name,
      in: where,
      required: where === "path" || required.has(name),
    };
    const doc = description ?? PARAM_DESCRIPTIONS[name];
    if (doc !== undefined) param.description = doc;
    param.schema = propSchema;
    const ex = example?.[name];
    if (ex !== undefined) param.example = typedExample(propSchema, ex);
    out.push(param);
  }
  return out;
}

/**
 * A route row gives query examples as they appear in the URL (strings); the document
 * gives each as a value of its parameter's schema type (`limit: 20`, not `"20"`).
 */
function typedExample(schema: JsonObject, raw: string): Json {
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if ((types.includes("integer") || types.includes("number")) && raw.trim() !== "") {
    const n = Number(raw);
    if (Number.isFinite(n)) return n;
  }
  if (types.includes("boolean") && (raw === "true" || raw === "false")) return raw === "true";
  return raw;
}

const PARAM_DESCRIPTIONS: Readonly<Record<string, string>> = {
  limit: "Page size, 1..100 (default 20).",
  cursor: "Opaque cursor from a previous page's `nextCursor`. Tamper-proof; a forged one is 400.",
};

interface ProblemOutcome {
  readonly status: number;
  readonly codes: Set<string>;
}

/** Can the route answer mfa_required (lib/auth/privilege.ts: a role admits the privileged)? */
function needsMfa(route: RouteDef): boolean {
  if (route.auth === "none" || route.mfa === "exempt") return false;
  return route.auth.roles.some((r) => r === "admin" || r === "auditor") || route.stepUp === true;
}

/** Which problem codes (by status) a route can answer: the chain's, then its own. */
export function problemCodesOf(route: RouteDef): Map<number, Set<string>> {
  const byStatus = new Map<number, Set<string>>();
  const add = (code: ProblemCode, status = statusOf(code)) => {
    const set = byStatus.get(status) ?? new Set<string>();
    set.add(code);
    byStatus.set(status, set);
  };
  add("validation_failed"); // query/path/body validation, a body on a GET
  if (route.auth !== "none") {
    add("unauthorized");
    add("forbidden");
    if (route.scope !== undefined) add("insufficient_scope");
    if (needsMfa(route)) add("mfa_required");
    if (route.stepUp) add("reauthentication_required");
  }
  if (pathParamNames(route.path).length > 0) add("not_found");
  if (BODY_METHODS.has(route.method)) {
    add("payload_too_large");
    add("unsupported_media_type");
  }
  if (route.idempotent) {
    add("idempotency_in_progress");
    add("idempotency_key_reused");
  }
  for (const code of route.errorCodes ?? []) add(code);
  add("rate_limited");
  add("internal_error");
  if (route.tableAccess !== "none" || route.usesSigningKey) add("service_unavailable");
  return byStatus;
}

function problemResponse(outcome: ProblemOutcome): JsonObject {
  const codes = [...outcome.codes].sort();
  const headers: JsonObject = { "X-Request-Id": ref("headers", "XRequestId") };
  // Sent with every 429 (API Gateway throttling, the WAF rate rules, the local gateway),
  // every 503 (a dependency outage) and with idempotency_in_progress (lib/problems.ts).
  if (
    outcome.status === 429 ||
    outcome.status === 503 ||
    outcome.codes.has("idempotency_in_progress")
  ) {
    headers["Retry-After"] = ref("headers", "RetryAfter");
  }
  if (outcome.status === 401) headers["WWW-Authenticate"] = ref("headers", "WWWAuthenticate");
  const first = codes[0] as string;
  return {
    description: `${STATUS_TITLES[outcome.status] ?? "Error"}: ${codes.map((c) => `\`${c}\``).join(", ")}`,
    headers,
    content: {
      "application/problem+json": {
        schema: {
          allOf: [
            ref("schemas", "Problem"),
            {
              type: "object",
              properties: {
                status: { const: outcome.status },
                code: codes.length === 1 ? { const: first } : { enum: codes },
              },
            },
          ],
        },
        example: {
          type: `urn:micropay:problem:${first}`,
          title: STATUS_TITLES[outcome.status] ?? "Error",
          status: outcome.status,
          code: first,
          detail: PROBLEM_EXAMPLE_DETAIL[first] ?? "See the code.",
          requestId: "5f0c6f1e-2b7a-4c1d-9a8e-3d2b1c0a9f8e",
        },
      },
    },
  };
}

const PROBLEM_EXAMPLE_DETAIL: Readonly<Record<string, string>> = {
  validation_failed: "The request is invalid.",
  unauthorized: "Authentication is required.",
  insufficient_funds: "The source account's balance is too low.",
  idempotency_in_progress: "A request with this Idempotency-Key is still running.",
  rate_limited: "Too many requests; slow down.",
  internal_error: "An unexpected error occurred.",
  service_unavailable: "A dependency is unavailable; retry later.",
};

/** The media type a route's success body uses (a string schema may name another). */
function successContent(collector: SchemaCollector, route: RouteDef): JsonObject | undefined {
  if (!route.response) return undefined;
  const json = collector.convert(route.response, "output", `${pascalCase(route.id)}Response`);
  if (json.type === "string" && typeof json.contentMediaType === "string") {
    const { contentMediaType, ...schema } = json;
    return { [contentMediaType]: { schema } };
  }
  return { "application/json": { schema: json } };
}

function operationOf(
  collector: SchemaCollector,
  responseComponents: Map<string, JsonObject>,
  route: RouteDef,
): JsonObject {
  const op: JsonObject = {
    operationId: operationIdOf(route),
    summary: route.summary,
    tags: [...route.tags],
  };
  const notes: string[] = [];
  if (route.auth === "none") {
    op.security = [];
    notes.push("Public: no token needed.");
  } else {
    op["x-roles"] = [...route.auth.roles];
    notes.push(`Bearer token with one of the roles: ${route.auth.roles.join(", ")}.`);
    if (route.scope !== undefined) {
      // OpenAPI 3.1 lets a non-OAuth scheme list what it requires: the key's scope.
      op.security = [{ bearerAuth: [] }, { apiKey: [route.scope] }];
      op["x-api-key-scope"] = route.scope;
      notes.push(
        `Or an API key (\`Bearer mp_live_...\`) with the \`${route.scope}\` scope, acting as its owner (customer or merchant roles only).`,
      );
    } else {
      op.security = [{ bearerAuth: [] }];
      notes.push("API keys are refused here (403).");
    }
    if (needsMfa(route)) {
      op["x-mfa"] = true;
      notes.push(
        "Callers admitted through the admin or auditor role need a token from a login with a second factor (`otp` in `amr`): else 403 `mfa_required`.",
      );
    }
    if (route.stepUp) {
      op["x-step-up"] = true;
      notes.push(
        "Step-up: the token's `auth_time` must be within MICROPAY_STEP_UP_SECONDS (15 minutes by default): else 403 `reauthentication_required`.",
      );
    }
  }
  if (route.idempotent) {
    op["x-idempotent"] = true;
    notes.push(
      "Money-moving: send an `Idempotency-Key`; a retry with the same key and body replays the first result.",
    );
  }
  op.description = notes.join("\n\n");

  const parameters: JsonObject[] = [
    ...parametersFrom(collector, route.params, "path", route.example?.params, route.path),
    ...parametersFrom(collector, route.query, "query", route.example?.query, route.path),
  ];
  if (route.idempotent) parameters.push(ref("parameters", "IdempotencyKey"));
  if (parameters.length > 0) op.parameters = parameters;

  if (route.body) {
    const media: JsonObject = {
      schema: collector.convert(route.body, "input", `${pascalCase(route.id)}Request`),
    };
    if (route.example?.body !== undefined) media.example = route.example.body as Json;
    op.requestBody = { required: true, content: { "application/json": media } };
  }

  const responses: JsonObject = {};
  const successHeaders: JsonObject = { "X-Request-Id": ref("headers", "XRequestId") };
  if (route.idempotent)
    successHeaders["Idempotent-Replayed"] = ref("headers", "IdempotentReplayed");
  const content = successContent(collector, route);
  responses[String(route.successStatus)] = {
    description: STATUS_SUCCESS_TEXT[route.successStatus] ?? "Success",
    headers: successHeaders,
    ...(content ? { content } : {}),
  };
  if (route.accepted) {
    responses["202"] = {
      description:
        "Accepted: dual control made the request an approval; nothing changes until another admin approves it (POST /v1/admin/approvals/{approvalId}/approve).",
      headers: successHeaders,
      content: {
        "application/json": {
          schema: collector.convert(route.accepted, "output", "PendingApproval"),
        },
      },
    };
  }
  const problems = [...problemCodesOf(route)].sort(([a], [b]) => a - b);
  for (const [status, codes] of problems) {
    // A status with one code is shared through components.responses (most chain codes).
    const only = codes.size === 1 ? ([...codes][0] as string) : undefined;
    if (only === undefined) {
      responses[String(status)] = problemResponse({ status, codes });
    } else {
      const name = pascalCase(only);
      responseComponents.set(name, problemResponse({ status, codes }));
      responses[String(status)] = ref("responses", name);
    }
  }
  op.responses = responses;
  return op;
}

const STATUS_SUCCESS_TEXT: Readonly<Record<number, string>> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
};

function componentsBase(collector: SchemaCollector): JsonObject {
  collector.schemas.set("Problem", collector.convert(problemSchema, "output"));
  return {
    securitySchemes: {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "JWT",
        description:
          "ES256 access token (`typ: at+jwt`) from POST /v1/auth/login or /v1/auth/refresh; 15 minutes. Verified as RFC8725 (JWT Best Current Practices) advises: the algorithm pinned to ES256, `typ`, issuer, audience, the required claims and the maximum age all checked.",
      },
      apiKey: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "mp_live_ API key",
        description:
          "An API key from POST /v1/api-keys, sent as `Authorization: Bearer mp_live_...`, for merchants' servers. It acts as its owner, limited to the owner's current customer/merchant roles and the key's scopes (`403 insufficient_scope` otherwise). Scopes: accounts:read, payments:read, payments:write, refunds:write, events:read, webhooks:write; each operation lists the one it needs. Unknown, revoked, expired or mistyped keys get the bad-token 401. Never accepted on the auth, API-key or admin routes.",
      },
    },
    parameters: {
      IdempotencyKey: {
        name: "Idempotency-Key",
        in: "header",
        required: true,
        description:
          "1..255 printable ASCII characters, unique per money movement (a UUID is ideal). Scoped to the caller; kept at least 24 hours.",
        schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7e]{1,255}$" },
        example: "9b2f6a52-6a4e-4c53-9c43-1f1d1e0c8b7a",
      },
    },
    headers: {
      XRequestId: {
        description:
          "The request's id: a well-formed incoming X-Request-Id is echoed, else a new one.",
        schema: { type: "string" },
      },
      IdempotentReplayed: {
        description: "`true` when this is a stored result replayed for a retried Idempotency-Key.",
        schema: { type: "string", enum: ["true"] },
      },
      RetryAfter: {
        description:
          "Seconds to wait before retrying: 1 after stage throttling, a dependency outage or an idempotent request still in progress; 300 after the WAF rate rules.",
        schema: { type: "integer", format: "int32", minimum: 0, maximum: 3600 },
      },
      WWWAuthenticate: { description: "The auth scheme: Bearer.", schema: { type: "string" } },
    },
  };
}

/** Builds the document from a route table (the real one by default). */
export function buildOpenApiDocument(routes: readonly RouteDef[] = routeTable): OpenApiDocument {
  const collector = new SchemaCollector();
  const responseComponents = new Map<string, JsonObject>();
  const components = componentsBase(collector);
  const paths: { [path: string]: JsonObject } = {};
  const seenIds = new Set<string>();
  const sorted = [...routes].sort(
    (a, b) =>
      a.path.localeCompare(b.path) ||
      METHOD_ORDER.indexOf(a.method) - METHOD_ORDER.indexOf(b.method),
  );
  for (const route of sorted) {
    const operationId = operationIdOf(route);
    if (seenIds.has(operationId)) throw new Error(`duplicate operationId ${operationId}`);
    seenIds.add(operationId);
    const item = paths[route.path] ?? {};
    const verb = route.method.toLowerCase();
    if (item[verb] !== undefined) throw new Error(`duplicate route ${route.method} ${route.path}`);
    item[verb] = operationOf(collector, responseComponents, route);
    paths[route.path] = item;
  }
  const tagNames = [...new Set(routes.flatMap((r) => r.tags))];
  const known = Object.keys(TAG_DESCRIPTIONS);
  tagNames.sort((a, b) => rank(known, a) - rank(known, b) || a.localeCompare(b));
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: API_TITLE,
      version: API_VERSION,
      summary: "A serverless payment backend: accounts, double-entry ledger, payments, refunds.",
      description: DESCRIPTION,
    },
    jsonSchemaDialect: "https://spec.openapis.org/oas/3.1/dialect/base",
    servers: [
      {
        url: "/",
        description:
          "This deployment, relative to the document: each stage (dev, prod) serves its own copy.",
        "x-internal": false,
      },
    ],
    tags: tagNames.map((name): JsonObject => {
      const description = TAG_DESCRIPTIONS[name];
      return description === undefined ? { name } : { name, description };
    }),
    paths,
    components: {
      ...components,
      responses: sortedObject(responseComponents),
      schemas: sortedObject(collector.schemas),
    } as OpenApiDocument["components"],
    "x-max-body-bytes": MAX_BODY_BYTES,
  };
}

function sortedObject(map: Map<string, JsonObject>): { [name: string]: JsonObject } {
  const out: { [name: string]: JsonObject } = {};
  for (const name of [...map.keys()].sort()) out[name] = map.get(name) as JsonObject;
  return out;
}

function rank(known: readonly string[], tag: string): number {
  const i = known.indexOf(tag);
  return i < 0 ? known.length : i;
}

/** The document as `npm run openapi` writes it and GET /openapi.json serves it. */
export function renderOpenApiJson(doc: OpenApiDocument = buildOpenApiDocument()): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
