import { type AuditActor, newAuditEvent } from "../audit/events.ts";
import { checkAccessToken, invalidToken } from "../auth/access-token.ts";
import "../aws/signing-key.ts"; // installs the signing key source token checks load from
import { forbidden, unauthorized } from "../problems.ts";
import type { Principal, RouteDef } from "../routes/types.ts";
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
  };
  await putSecurityEvent(
    newAuditEvent(actor, action, {
      outcome: "failure",
      reason,
      targets: { routeId: route.id },
    }),
  );
}
