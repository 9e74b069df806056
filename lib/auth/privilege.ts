import type { ProblemCode } from "../problems.ts";
import type { Principal, Role, RouteDef } from "../routes/types.ts";

/** Roles whose sessions are privileged (MFA, step-up, short and idle-limited sessions). */
export const PRIVILEGED_ROLES: readonly Role[] = ["admin", "auditor"];
export const isPrivileged = (roles: readonly Role[]) =>
  roles.some((r) => PRIVILEGED_ROLES.includes(r));

/**
 * What privileged access demands of a caller the route's roles admitted (API.md
 * "Privileged access"; PCI DSS v4 8.4.1/8.4.2, ASVS step-up). A caller admitted only
 * through `admin` or `auditor` (none of its other roles would do) needs a second factor
 * in its token (`otp` in `amr`), unless the route is `mfa: "exempt"` (enrolment, the
 * caller's own profile, logout). A `stepUp` route also needs the login (`auth_time`) to
 * be at most `stepUpSeconds` old. Undefined: nothing missing.
 */
export function missingAssurance(
  route: Pick<RouteDef, "auth" | "mfa" | "stepUp">,
  principal: Principal,
  nowS: number,
  stepUpSeconds: number,
): Extract<ProblemCode, "mfa_required" | "reauthentication_required"> | undefined {
  if (route.auth === "none" || route.mfa === "exempt") return undefined;
  const admitting = route.auth.roles.filter((r) => principal.roles.includes(r));
  const privileged = admitting.length > 0 && admitting.every((r) => PRIVILEGED_ROLES.includes(r));
  if (!privileged && !route.stepUp) return undefined;
  if (!(principal.amr ?? []).includes("otp")) return "mfa_required";
  if (
    route.stepUp &&
    (principal.authTime === undefined || nowS - principal.authTime > stepUpSeconds)
  ) {
    return "reauthentication_required";
  }
  return undefined;
}

export const ASSURANCE_DETAIL = {
  mfa_required:
    "This action needs a login with a second factor: enrol at /v1/me/mfa/totp, then log in again.",
  reauthentication_required: "This action needs a recent login: log in again with your code.",
} as const;
