import type * as z from "zod";
import type { ProblemCode } from "../problems.ts";

export const ROLES = ["customer", "merchant", "admin", "auditor"] as const;
export type Role = (typeof ROLES)[number];

/**
 * What an API key may be granted (API.md "API keys for merchants' servers"). A route
 * row names the one scope an API-key caller needs (`scope`); a row without one is
 * never reachable with a key.
 */
export const SCOPES = [
  "accounts:read",
  "payments:read",
  "payments:write",
  "refunds:write",
  "events:read",
  "webhooks:write",
] as const;
export type Scope = (typeof SCOPES)[number];

export type HttpMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** DynamoDB item actions a route may be granted on the table (never Scan, never BatchWriteItem). */
export type TableItemAction =
  | "GetItem"
  | "BatchGetItem"
  | "PutItem"
  | "UpdateItem"
  | "DeleteItem"
  | "ConditionCheckItem";
/** What a route may Query: the table itself or the gsi1 index. */
export type QueryTarget = "table" | "gsi1";

/**
 * The table actions a function's code calls, and nothing more: item actions on the
 * table, and Query on exactly the listed targets. Derived from the store calls the
 * handler makes (lib/store/*.ts) and proven by the artifacts tier's IAM-by-use test.
 */
export interface TableGrant {
  readonly actions: readonly TableItemAction[];
  readonly query?: readonly QueryTarget[];
}

/**
 * One row of the route table. The local gateway, the CDK stack and the OpenAPI
 * document are all built from these rows, so they cannot disagree.
 */
export interface RouteDef {
  /** Stable id; also the entry file `functions/<id>.ts` and the Lambda's name. */
  readonly id: string;
  readonly method: HttpMethod;
  /** API Gateway style path template, e.g. `/v1/accounts/{accountId}`. */
  readonly path: string;
  readonly summary: string;
  readonly tags: readonly string[];
  /** `none`: public. Otherwise a bearer token with one of these roles is required. */
  readonly auth: "none" | { readonly roles: readonly Role[] };
  /**
   * The scope an API-key caller (`Authorization: Bearer mp_live_...`) needs besides one
   * of `auth.roles`. Absent: API keys are refused with 403 before any table read (auth,
   * API-key and admin routes never carry one). A row with a scope is also granted the
   * key lookup (infra/constructs/data.ts `apiKeyAuthStatements`).
   */
  readonly scope?: Scope;
  readonly body?: z.ZodType;
  readonly query?: z.ZodType;
  readonly params?: z.ZodType;
  /** Response body schema of the success status (for OpenAPI and contract tests). */
  readonly response?: z.ZodType;
  readonly successStatus: number;
  /**
   * Dual control (lib/auth/approvals.ts): the route may instead answer `202` with this
   * body (`{approvalId, status: "pending_approval"}`): nothing changed yet.
   */
  readonly accepted?: z.ZodType;
  /**
   * Privileged access (API.md "Privileged access"): a caller admitted through the admin
   * or auditor role needs a token with `otp` in `amr` (else 403 mfa_required) unless
   * `mfa: "exempt"` (enrolment must work without it); `stepUp`: `auth_time` must also be
   * within MICROPAY_STEP_UP_SECONDS (else 403 reauthentication_required).
   */
  readonly mfa?: "exempt";
  readonly stepUp?: boolean;
  /** Money-moving POST: requires an `Idempotency-Key` header. */
  readonly idempotent?: boolean;
  /** Problem `code`s this route can answer besides the chain's own. */
  readonly errorCodes?: readonly ProblemCode[];
  /** Does the function write to the table? A `read` route's `table` has no write action. */
  readonly tableAccess: "none" | "read" | "write";
  /** The exact table actions the CDK stack grants (required unless `tableAccess` is `none`). */
  readonly table?: TableGrant;
  /**
   * Does the function seal or open secrets at rest (TOTP secrets, webhook signing
   * secrets: lib/crypto/secret-box.ts)? In AWS it
   * gets MICROPAY_SECRET_BOX_KEY_ID, the table's customer-managed key, whose
   * Encrypt/Decrypt its write grant already carries.
   */
  readonly usesSecretBox?: boolean;
  /** Does the function sign or verify tokens (needs the signing key)? */
  readonly usesSigningKey: boolean;
  /** Per-method edge throttle (auth routes): one bucket for all clients, a capacity guard. */
  readonly throttle?: { readonly rate: number; readonly burst: number };
  /**
   * Files a function needs beside its bundle at run time: `module` is resolved from
   * node_modules at synth time and copied into the Lambda asset as `file`.
   */
  readonly assets?: readonly { readonly module: string; readonly file: string }[];
  /** Example request for docs and the contract test (path params: a GET by id is replayed). */
  readonly example?: {
    readonly body?: unknown;
    readonly query?: Record<string, string>;
    readonly params?: Record<string, string>;
  };
}

/** Identity the auth middleware attaches to a request. */
export interface Principal {
  readonly userId: string;
  readonly roles: readonly Role[];
  readonly tokenId: string;
  /** Set when the request carries an API key (`key_...`): the audit actor names it. */
  readonly apiKeyId?: string;
  /** The key's scopes (API-key callers only). */
  readonly scopes?: readonly Scope[];
  /** Authentication methods of the session (`amr`): "pwd", and "otp" after a second factor. */
  readonly amr?: readonly string[];
  /** When the session's login happened (`auth_time`, epoch seconds). */
  readonly authTime?: number;
}

/** Every role: any signed-in caller may ask (the service decides what each one sees). */
export const ANY_ROLE = { roles: ["customer", "merchant", "admin", "auditor"] } as const;

/** A read: 200, 404 for what does not exist or the caller may not see, 503; no writes. */
export const READ = {
  successStatus: 200,
  errorCodes: ["not_found", "service_unavailable"],
  tableAccess: "read",
} as const;

/** A newest-first page under one parent: READ, the parent's Get and a Query of the table. */
export const PAGE = {
  ...READ,
  table: { actions: ["GetItem"], query: ["table"] },
  usesSigningKey: true,
  example: { query: { limit: "20" } },
} as const;

export function defineRoute<const R extends RouteDef>(route: R): R {
  return route;
}
