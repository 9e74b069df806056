import { verifyAccessToken } from "../auth/access-token.ts";
import type { Principal, RouteDef } from "../routes/types.ts";
import { forbidden, unauthorized } from "./errors.ts";

/**
 * The one place roles are enforced: a route's declared roles (route table) against
 * the roles in the caller's verified access token. Handlers never check roles.
 */
export async function authenticate(
  route: RouteDef,
  headers: Record<string, string>,
): Promise<Principal | null> {
  if (route.auth === "none") return null;
  const header = headers.authorization;
  if (!header) throw unauthorized();
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
  if (!match?.[1]) throw unauthorized("Use the Authorization: Bearer <token> scheme.");
  const principal = await verifyAccessToken(match[1]);
  if (!route.auth.roles.some((r) => principal.roles.includes(r))) throw forbidden();
  return principal;
}
