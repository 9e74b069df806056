import { type AuditActor, actorOf, newAuditEvent } from "../audit/events.ts";
import { config } from "../config.ts";
import type { HttpRequest } from "../http/types.ts";
import { isId, newId } from "../ids.ts";
import { type AccountView, newAccountTransactItems } from "../ledger/accounts.ts";
import {
  countMetric,
  METRIC_ACCOUNT_LOCKED,
  METRIC_LOGIN_FAILED,
  METRIC_REFRESH_REUSE,
} from "../observability.ts";
import { badRequest, notFound, Refusal, serviceUnavailable } from "../problems.ts";
import type { Principal, Role } from "../routes/types.ts";
import { decodeCursor, encodeCursor } from "../store/cursor.ts";
import { putSecurityEvent } from "../store/security-events.ts";
import {
  type FamilyItem,
  getFamily,
  getRefreshToken,
  type RefreshTokenItem,
  revokeFamily,
  rotateRefreshToken,
  startLoginSession,
} from "../store/sessions.ts";
import {
  ConditionFailed,
  createUser,
  getUser,
  getUserByEmail,
  getUserForLogin,
  getUserIdByEmail,
  type LoginAttemptLimits,
  listUsers,
  lockAccount,
  loginRoundTripForNobody,
  recordLoginFailure,
  releaseLoginAttempt,
  replaceRoles,
  reserveLoginAttempt,
  type UserItem,
} from "../store/users.ts";
import { type IssuedAccessToken, issueAccessToken } from "./access-token.ts";
import { signingKeys } from "./keys.ts";
import { hashPassword, needsRehash, verifyPassword } from "./passwords.ts";
import { hashRefreshToken, isRefreshTokenShape, newRefreshToken } from "./refresh-token.ts";

/**
 * Identity use cases: registration, login (with lockout), refresh-token rotation with
 * reuse detection, logout, the caller's profile, and the admin user routes. Handlers
 * call these; all DynamoDB access is in lib/store (users.ts, sessions.ts,
 * security-events.ts).
 */
type Caller = Pick<HttpRequest, "principal" | "sourceIp" | "userAgent" | "requestId">;

export interface PublicUser {
  readonly id: string;
  readonly email: string;
  readonly roles: readonly Role[];
  readonly createdAt: string;
}

export interface AdminUserView extends PublicUser {
  readonly updatedAt: string;
}

export interface TokenPair {
  readonly accessToken: string;
  readonly tokenType: "Bearer";
  readonly expiresIn: number;
  readonly refreshToken: string;
}

/** Emails are compared case-insensitively: stored lower-cased and trimmed. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** Roles in a stable order (the order of ROLES), without duplicates. */
const ROLE_ORDER: readonly Role[] = ["customer", "merchant", "admin", "auditor"];
export const canonicalRoles = (roles: readonly Role[]): Role[] =>
  ROLE_ORDER.filter((r) => roles.includes(r));

export const publicUser = (u: UserItem): PublicUser => ({
  id: u.id,
  email: u.email,
  roles: u.roles,
  createdAt: u.createdAt,
});

const adminView = (u: UserItem): AdminUserView => ({ ...publicUser(u), updatedAt: u.updatedAt });

/** The single answer of every failed login (unknown email, wrong password, locked). */
export const invalidCredentials = () =>
  new Refusal(
    "invalid_credentials",
    "The email or password is incorrect, or the account is temporarily locked.",
  );

const invalidRefresh = () =>
  new Refusal(
    "invalid_refresh_token",
    "The refresh token is invalid, expired or revoked; log in again.",
  );

// --------------------------------------------------------------------- registration

export async function register(
  caller: Caller,
  input: { email: string; password: string; currency?: string | undefined },
): Promise<{ user: PublicUser; account: AccountView }> {
  const c = config();
  const currency = input.currency ?? c.MICROPAY_DEFAULT_CURRENCY;
  if (!c.MICROPAY_CURRENCIES.includes(currency)) {
    throw badRequest("The currency is not supported.", [
      { path: "body.currency", message: `one of ${c.MICROPAY_CURRENCIES.join(", ")}` },
    ]);
  }
  const now = new Date().toISOString();
  const user: UserItem = {
    id: newId("usr"),
    email: normalizeEmail(input.email),
    roles: ["customer"],
    passwordHash: await hashPassword(input.password),
    createdAt: now,
    updatedAt: now,
    generation: 0,
    failedCount: 0,
  };
  const { account, items } = newAccountTransactItems({ ownerId: user.id, currency, now });
  const event = newAuditEvent(actorOf(caller), "user.registered", {
    targets: { userId: user.id, accountId: account.id },
  });
  try {
    await createUser(user, items, [event]);
  } catch (error) {
    if (error instanceof ConditionFailed && error.failed.has("email")) {
      // API.md makes a used email a 409 (SECURITY.md "Registration and enumeration"):
      // the answer is rate limited at the edge, and every one is a security event
      // (source IP, the account it hit) so probing shows in the audit trail.
      const existing = await getUserIdByEmail(user.email);
      await putSecurityEvent(
        newAuditEvent(actorOf(caller), "user.registration_refused", {
          outcome: "failure",
          reason: "email_taken",
          targets: existing ? { userId: existing } : {},
        }),
      );
      throw new Refusal("email_taken", "An account with this email already exists.");
    }
    throw error;
  }
  return { user: publicUser(user), account };
}

/**
 * Creates a user holding `admin` (the local seed and `npm run admin:create`).
 * Idempotent: an existing user with that email is reported, never changed.
 */
export async function createAdmin(
  email: string,
  password: string,
  actor: AuditActor,
): Promise<{ created: boolean; userId: string; roles: readonly Role[] }> {
  const normalized = normalizeEmail(email);
  const existing = await getUserByEmail(normalized);
  if (existing) return { created: false, userId: existing.id, roles: existing.roles };
  const now = new Date().toISOString();
  const user: UserItem = {
    id: newId("usr"),
    email: normalized,
    roles: ["admin"],
    passwordHash: await hashPassword(password),
    createdAt: now,
    updatedAt: now,
    generation: 0,
    failedCount: 0,
  };
  const event = newAuditEvent(actor, "user.admin_created", { targets: { userId: user.id } });
  try {
    await createUser(user, [], [event]);
  } catch (error) {
    if (error instanceof ConditionFailed && error.failed.has("email")) {
      const raced = await getUserByEmail(normalized);
      if (raced) return { created: false, userId: raced.id, roles: raced.roles };
    }
    throw error;
  }
  return { created: true, userId: user.id, roles: user.roles };
}

// ---------------------------------------------------------------------------- login

/**
 * Login. Every failure (unknown email, wrong password, locked) answers the same 401
 * after one bcrypt compare (against a dummy hash when there is no user) and the same
 * DynamoDB round trips, and records a security event.
 *
 * Lockout (lib/store/users.ts "lockout"): before the compare the attempt reserves one
 * of the account's slots in a conditional write, so parallel guesses are never judged
 * more often than MICROPAY_LOCKOUT_THRESHOLD; an attempt that finds the account locked
 * or every slot taken is refused unjudged. A wrong password becomes a failure; the one
 * that reaches the threshold locks the account. A right password starts its session
 * in a transaction conditioned on the reservation and on the roles being unchanged.
 */
export async function login(
  caller: Caller,
  input: { email: string; password: string },
): Promise<TokenPair> {
  const c = config();
  const actor = actorOf(caller);
  const limits: LoginAttemptLimits = {
    nowMs: Date.now(),
    windowMs: c.MICROPAY_LOCKOUT_WINDOW_SECONDS * 1000,
    attemptTtlMs: c.MICROPAY_LOGIN_ATTEMPT_TTL_SECONDS * 1000,
    threshold: c.MICROPAY_LOCKOUT_THRESHOLD,
  };
  const user = await getUserForLogin(normalizeEmail(input.email));
  let reserved = false;
  if (user) reserved = (await reserveLoginAttempt(user, limits)) === "reserved";
  else await loginRoundTripForNobody();
  const passwordOk = await verifyPassword(input.password, user?.passwordHash);

  if (!user || !reserved || !passwordOk) {
    const reason = !user ? "unknown_email" : !reserved ? "locked" : "wrong_password";
    if (user && reserved) {
      const count = await recordLoginFailure(user.id);
      if (count >= c.MICROPAY_LOCKOUT_THRESHOLD) {
        const nowMs = Date.now();
        const locked = await lockAccount(
          user.id,
          nowMs,
          nowMs + c.MICROPAY_LOCKOUT_DURATION_SECONDS * 1000,
          newAuditEvent(actor, "auth.account_locked", {
            outcome: "failure",
            reason: `${count} failed logins`,
            targets: { userId: user.id },
          }),
        );
        if (locked) countMetric(METRIC_ACCOUNT_LOCKED);
      }
    } else {
      await loginRoundTripForNobody();
    }
    throw await loginFailed(actor, reason, user?.id);
  }

  let outcome: TokenPair | "refused" | "roles_moving";
  try {
    outcome = await startSession(user, input.password, actor);
  } catch (error) {
    await releaseLoginAttempt(user.id);
    throw error;
  }
  if (outcome === "refused" || outcome === "roles_moving") {
    await releaseLoginAttempt(user.id);
    if (outcome === "refused") throw await loginFailed(actor, "locked", user.id);
    // The roles changed twice while this login ran: say "try again", not "wrong password".
    await putSecurityEvent(
      newAuditEvent(actor, "auth.login_failed", {
        outcome: "failure",
        reason: "concurrent_role_change",
        targets: { userId: user.id },
      }),
    );
    throw serviceUnavailable();
  }
  return outcome;
}

/** Records a failed login (security event, metric) and returns the uniform 401. */
async function loginFailed(actor: AuditActor, reason: string, userId: string | undefined) {
  countMetric(METRIC_LOGIN_FAILED);
  await putSecurityEvent(
    newAuditEvent(actor, "auth.login_failed", {
      outcome: "failure",
      reason,
      targets: userId ? { userId } : {},
    }),
  );
  return invalidCredentials();
}

/**
 * Starts the session of a login whose password was right. The access token is signed
 * with the roles read before the compare, then the session-start transaction commits
 * only if the user's role generation is still the one read: a role change that
 * committed meanwhile makes it fail, and the login starts over once with the fresh
 * roles ("roles_moving" if they moved again). So no token signed after a role change
 * committed carries the roles from before it. "refused": the account was locked or the
 * reservation dropped meanwhile.
 */
async function startSession(
  read: UserItem,
  password: string,
  requestActor: AuditActor,
): Promise<TokenPair | "refused" | "roles_moving"> {
  const c = config();
  const upgraded = needsRehash(read.passwordHash) ? await hashPassword(password) : undefined;
  let user = read;
  for (let attempt = 0; attempt < 2; attempt++) {
    const nowMs = Date.now();
    const now = new Date(nowMs).toISOString();
    const expiresAt = Math.floor(nowMs / 1000) + c.MICROPAY_REFRESH_TOKEN_TTL_SECONDS;
    const family: FamilyItem = {
      familyId: newId("fam"),
      userId: user.id,
      generation: user.generation,
      revoked: false,
      createdAt: now,
      expiresAt,
    };
    const refresh = newRefreshToken();
    const token: RefreshTokenItem = {
      hash: refresh.hash,
      familyId: family.familyId,
      userId: user.id,
      status: "active",
      createdAt: now,
      expiresAt,
    };
    const access = await issueAccessToken(user.id, user.roles);
    const actor: AuditActor = { ...requestActor, userId: user.id, roles: user.roles };
    const started = await startLoginSession({
      family,
      token,
      expectedGeneration: user.generation,
      nowMs,
      upgradedHash: upgraded,
      events: [
        newAuditEvent(actor, "auth.login_succeeded", {
          targets: { userId: user.id, familyId: family.familyId },
        }),
      ],
    });
    if (started === "started") return pairOf(access, refresh.token);
    const fresh = await getUser(user.id);
    if (!fresh || fresh.generation === user.generation) return "refused";
    user = fresh; // the roles changed while this login ran: once more, with the new ones
  }
  return "roles_moving";
}

/** The answer of a login or refresh. */
function pairOf(access: IssuedAccessToken, refreshToken: string): TokenPair {
  return {
    accessToken: access.token,
    tokenType: "Bearer",
    expiresIn: access.expiresIn,
    refreshToken,
  };
}

// -------------------------------------------------------------------------- refresh

/**
 * Exchanges a refresh token for a new pair. The presented token is rotated (it can
 * never be used again); presenting a rotated token again, including losing a race
 * against a parallel use of the same token, is reuse: the whole family is revoked.
 * The new access token carries the user's current roles.
 */
export async function refresh(caller: Caller, presented: string): Promise<TokenPair> {
  if (!isRefreshTokenShape(presented)) throw invalidRefresh();
  const c = config();
  const hash = hashRefreshToken(presented);
  const nowMs = Date.now();
  const nowS = Math.floor(nowMs / 1000);
  const now = new Date(nowMs).toISOString();
  const item = await getRefreshToken(hash);
  if (!item || item.expiresAt <= nowS) throw invalidRefresh();
  const family = await getFamily(item.familyId);
  if (!family || family.revoked || family.expiresAt <= nowS) throw invalidRefresh();
  const actor: AuditActor = { ...actorOf(caller), userId: item.userId };

  if (item.status !== "active") {
    await revokeForReuse(actor, family, now);
    throw invalidRefresh();
  }
  const user = await getUser(item.userId);
  if (!user || user.generation !== family.generation) throw invalidRefresh();

  const next = newRefreshToken();
  // Signed before the rotation, which commits only if the generation (the roles) read
  // above is still current: no token signed after a role change carries the old roles.
  const access = await issueAccessToken(user.id, user.roles);
  const outcome = await rotateRefreshToken({
    oldHash: hash,
    next: {
      hash: next.hash,
      familyId: family.familyId,
      userId: user.id,
      status: "active",
      createdAt: now,
      expiresAt: nowS + c.MICROPAY_REFRESH_TOKEN_TTL_SECONDS,
    },
    family,
    now,
  });
  if (outcome === "token_reused") {
    await revokeForReuse(actor, family, now);
    throw invalidRefresh();
  }
  if (outcome !== "rotated") throw invalidRefresh();
  return pairOf(access, next.token);
}

async function revokeForReuse(actor: AuditActor, family: FamilyItem, now: string): Promise<void> {
  const targets = { userId: family.userId, familyId: family.familyId };
  countMetric(METRIC_REFRESH_REUSE);
  await putSecurityEvent(
    newAuditEvent(actor, "auth.refresh_token_reused", { outcome: "failure", targets }),
  );
  await revokeFamily(family.familyId, "reuse", now, [
    newAuditEvent(actor, "auth.tokens_revoked", { reason: "refresh_token_reuse", targets }),
  ]);
}

// --------------------------------------------------------------------------- logout

/** Revokes the family of `presented` if it belongs to the caller; always 204. */
export async function logout(caller: Caller & { principal: Principal }, presented: string) {
  if (!isRefreshTokenShape(presented)) return;
  const item = await getRefreshToken(hashRefreshToken(presented));
  if (!item) return;
  const actor = actorOf(caller);
  const targets = { userId: item.userId, familyId: item.familyId };
  if (item.userId !== caller.principal.userId) {
    await putSecurityEvent(
      newAuditEvent(actor, "auth.logout_denied", {
        outcome: "failure",
        reason: "refresh token of another user",
        targets,
      }),
    );
    return;
  }
  await revokeFamily(item.familyId, "logout", new Date().toISOString(), [
    newAuditEvent(actor, "auth.tokens_revoked", { reason: "logout", targets }),
  ]);
}

// ------------------------------------------------------------------------------- me

export async function me(principal: Principal): Promise<PublicUser> {
  const user = await getUser(principal.userId);
  if (!user) throw notFound();
  return publicUser(user);
}

// ------------------------------------------------------------------------ admin users

export async function adminListUsers(
  principal: Principal,
  query: { limit: number; cursor?: string | undefined },
): Promise<{ data: AdminUserView[]; hasMore: boolean; nextCursor: string | null }> {
  const scope = `admin-users:${principal.userId}`;
  await signingKeys(); // installs the cursor key (derived from the signing key)
  let after: string | undefined;
  if (query.cursor !== undefined) {
    const id = decodeCursor(scope, query.cursor).after;
    if (id === undefined || !isId(id, "usr")) throw badRequest("The cursor is invalid.");
    after = id;
  }
  const page = await listUsers(query.limit, after);
  const last = page.users.at(-1);
  return {
    data: page.users.map(adminView),
    hasMore: page.hasMore,
    nextCursor: page.hasMore && last ? encodeCursor(scope, { after: last.id }) : null,
  };
}

/**
 * Replaces a user's roles. Revokes all of the user's refresh families in the same
 * write (the new roles reach tokens at the next login or refresh; older access tokens
 * expire within their lifetime). Removing the last admin's admin role is a 409.
 */
export async function adminSetRoles(
  caller: Caller & { principal: Principal },
  userId: string,
  requested: readonly Role[],
): Promise<AdminUserView> {
  const roles = canonicalRoles(requested);
  for (let attempt = 0; attempt < 3; attempt++) {
    const user = await getUser(userId);
    if (!user) throw notFound("No such user.");
    const was = user.roles.includes("admin");
    const will = roles.includes("admin");
    const adminDelta = was === will ? 0 : will ? 1 : -1;
    const now = new Date().toISOString();
    const actor = actorOf(caller);
    const targets = { userId };
    try {
      await replaceRoles({
        userId,
        roles,
        expectedGeneration: user.generation,
        adminDelta,
        now,
        events: [
          newAuditEvent(actor, "user.roles_changed", {
            reason: `${user.roles.join(",")} -> ${roles.join(",")}`,
            targets,
          }),
          newAuditEvent(actor, "auth.tokens_revoked", { reason: "role_change", targets }),
        ],
      });
      return adminView({ ...user, roles, updatedAt: now, generation: user.generation + 1 });
    } catch (error) {
      if (!(error instanceof ConditionFailed)) throw error;
      if (error.failed.has("admin_counter") && adminDelta < 0) {
        throw new Refusal("last_admin", "The last admin cannot give up the admin role.");
      }
      // The user changed meanwhile: read again and retry.
    }
  }
  throw new Refusal("concurrent_update", "The user was changed concurrently; retry.");
}
