import { type AuditActor, newAuditEvent } from "../audit/events.ts";
import { checkAccessToken, invalidToken } from "../auth/access-token.ts";
import { ASSURANCE_DETAIL, missingAssurance } from "../auth/privilege.ts";
import "../aws/signing-key.ts"; // installs the signing key source token checks load from
import {
  authenticateApiKey,
  checkApiKeyFormat,
  hasScope,
  looksLikeApiKey,
} from "../auth/api-keys.ts";
import { config } from "../config.ts";
import { forbidden, Refusal, unauthorized } from "../problems.ts";
import type { Principal, Role, RouteDef } from "../routes/types.ts";
import { dynamoApiKeyStore } from "../store/api-keys.ts";
import { putSecurityEvent } from "../store/security-events.ts";

/** What the chain knows about the request besides its headers (for the audit trail). */
export interface AuthRequestContext {
  /** The gateway's own request id (the audit trail never records the caller's as this). */
  readonly requestId?: string | undefined;
  /** A well-formed X-Request-Id the caller sent (kept apart, redacted by the audit code). */
  readonly clientRequestId?: string | undefined;
  readonly sourceIp?: string | undefined;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;

/**
 * The one place roles are enforced: a route's declared roles (route table) against
 * the roles in the caller's verified access token. Handlers never check roles.
 *
 * Every refusal (401: no, malformed or rejected token; 403: a role the route does not
 * allow) is written to the audit trail as a standalone security event, best effort:
 * a failed audit write never changes the answer.
 */
export async function authenticate(
  route: RouteDef,
  headers: Record<string, string>,
  ctx: AuthRequestContext = {},
): Promise<Principal | null> {
  if (route.auth === "none") return null;
  const header = headers.authorization;
  if (!header) {
    await deny(route, headers, ctx, "auth.access_denied", "missing_token", null);
    throw unauthorized();
  }
  const match = BEARER.exec(header);
  if (!match?.[1]) {
    await deny(route, headers, ctx, "auth.access_denied", "not_bearer", null);
    throw unauthorized("Use the Authorization: Bearer <token> scheme.");
  }
  if (looksLikeApiKey(match[1])) {
    return authenticateKey(route, route.auth.roles, headers, ctx, match[1]);
  }
  const result = await checkAccessToken(match[1]);
  if (!result.ok) {
    await deny(route, headers, ctx, "auth.token_rejected", result.reason, null);
    throw invalidToken();
  }
  const principal = result.principal;
  if (!route.auth.roles.some((r) => principal.roles.includes(r))) {
    await deny(route, headers, ctx, "auth.access_denied", "role_not_allowed", principal);
    throw forbidden();
  }
  // Privileged access: a second factor, and a recent login for step-up routes.
  const missing = missingAssurance(
    route,
    principal,
    Math.floor(Date.now() / 1000),
    config().MICROPAY_STEP_UP_SECONDS,
  );
  if (missing) {
    await deny(route, headers, ctx, "auth.access_denied", missing, principal);
    throw new Refusal(missing, ASSURANCE_DETAIL[missing]);
  }
  return principal;
}

/**
 * A request made with an API key (`Bearer mp_live_...`). In order, each refusal
 * audited like a token's:
 *
 *   1. shape and checksum, no I/O: a mistyped key is the bad-token 401;
 *   2. a route without a `scope` (auth, API-key, admin routes): 403, before any table
 *      read, so those functions need no key grant at all;
 *   3. the key by its hash, its expiry, the owner's current roles (two strongly
 *      consistent GetItems): unknown, revoked, expired, owner gone: the bad-token 401;
 *   4. the owner's current roles (never admin or auditor through a key) against the
 *      route's roles: 403 forbidden; the key's scopes against the route's: 403
 *      insufficient_scope (RFC 6750's error in WWW-Authenticate).
 */
async function authenticateKey(
  route: RouteDef,
  allowed: readonly Role[],
  headers: Record<string, string>,
  ctx: AuthRequestContext,
  key: string,
): Promise<Principal> {
  const scope = route.scope;
  if (scope === undefined) {
    const format = checkApiKeyFormat(key);
    if (format !== "ok") {
      await deny(route, headers, ctx, "auth.token_rejected", `api_key_${format}`, null);
      throw invalidToken();
    }
    await deny(route, headers, ctx, "auth.access_denied", "api_key_not_allowed", null);
    throw forbidden("API keys cannot call this route; sign in as a person.");
  }
  const result = await authenticateApiKey(key, {
    store: dynamoApiKeyStore,
    lastUsedIntervalSeconds: config().MICROPAY_API_KEY_LAST_USED_SECONDS,
  });
  if (!result.ok) {
    const known = result.ownerId
      ? { userId: result.ownerId, roles: [], tokenId: "", apiKeyId: result.keyId }
      : null;
    await deny(route, headers, ctx, "auth.token_rejected", result.reason, known);
    throw invalidToken();
  }
  const principal = result.principal;
  if (!allowed.some((r) => principal.roles.includes(r))) {
    await deny(route, headers, ctx, "auth.access_denied", "role_not_allowed", principal);
    throw forbidden();
  }
  if (!hasScope(principal, scope)) {
    await deny(route, headers, ctx, "auth.access_denied", "insufficient_scope", principal);
    throw new Refusal("insufficient_scope", `This API key lacks the ${scope} scope.`, {
      headers: { "WWW-Authenticate": `Bearer error="insufficient_scope", scope="${scope}"` },
    });
  }
  return principal;
}

async function deny(
  route: RouteDef,
  headers: Record<string, string>,
  ctx: AuthRequestContext,
  action: string,
  reason: string,
  principal: Principal | null,
): Promise<void> {
  const actor: AuditActor = {
    userId: principal?.userId ?? null,
    roles: principal?.roles ?? [],
    sourceIp: (ctx.sourceIp ?? "unknown").slice(0, 64) || "unknown",
    userAgent: headers["user-agent"] ?? "",
    requestId: ctx.requestId ?? "unknown",
    ...(ctx.clientRequestId ? { clientRequestId: ctx.clientRequestId } : {}),
    ...(principal?.apiKeyId ? { apiKeyId: principal.apiKeyId } : {}),
  };
  await putSecurityEvent(
    newAuditEvent(actor, action, {
      outcome: "failure",
      reason,
      targets: { routeId: route.id },
    }),
  );
}
