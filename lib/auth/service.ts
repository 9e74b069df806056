import { randomBytes } from "node:crypto";
import { type AuditActor, actorOf, newAuditEvent } from "../audit/events.ts";
import type { CallContext } from "../context.ts";
import { isId, newId } from "../ids.ts";
import type { AccountView } from "../ledger/accounts.ts";
import {
  countMetric,
  METRIC_ACCOUNT_LOCKED,
  METRIC_LOGIN_FAILED,
  METRIC_REFRESH_REUSE,
} from "../observability.ts";
import { badRequest, notFound, Refusal, serviceUnavailable } from "../problems.ts";
import type { Principal, Role } from "../routes/types.ts";
import type { ApprovalDecision } from "./approvals.ts";
import { passwordWeakness } from "./password-strength.ts";
import type {
  FamilyRecord,
  IdentityDeps,
  RefreshTokenRecord,
  SessionAuth,
  UserRecord,
} from "./port.ts";
import { isPrivileged } from "./privilege.ts";
import { hashRefreshToken, isRefreshTokenShape, newRefreshToken } from "./refresh-token.ts";

/**
 * Identity operations: registration, login (with lockout), refresh-token rotation with
 * reuse detection, logout, the caller's profile, the admin user routes and the
 * first-admin bootstrap. Each is `(ctx, input, deps)`: who calls (lib/context.ts),
 * what they asked, and the store, hasher, token issuer, cursors, clock and settings
 * (lib/auth/port.ts). Each returns a view or throws a `Refusal` (lib/problems.ts).
 * Nothing here knows HTTP or DynamoDB: the Lambda handlers wire the DynamoDB store
 * (lib/aws/identity.ts), unit tests an in-memory one.
 */
type AnyContext = CallContext<Principal | null>;

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

/** The answer of a right password for a user with MFA: the second step's ticket. */
export interface MfaChallenge {
  readonly mfaRequired: true;
  readonly mfaToken: string;
  readonly methods: readonly ["totp", "recovery_code"];
}

/**
 * Refuses a weak new password (lib/auth/password-strength.ts) with a field error on
 * body.password, beside the schema's 12..72-byte rule.
 */
export function refuseWeakPassword(password: string, email: string): void {
  const weakness = passwordWeakness(password, [email]);
  if (weakness) throw badRequest(weakness, [{ path: "body.password", message: weakness }]);
}

/** Emails are compared case-insensitively: stored lower-cased and trimmed. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();

/** Roles in a stable order (the order of ROLES), without duplicates. */
const ROLE_ORDER: readonly Role[] = ["customer", "merchant", "admin", "auditor"];
export const canonicalRoles = (roles: readonly Role[]): Role[] =>
  ROLE_ORDER.filter((r) => roles.includes(r));

export const publicUser = (u: UserRecord): PublicUser => ({
  id: u.id,
  email: u.email,
  roles: u.roles,
  createdAt: u.createdAt,
});

const adminView = (u: UserRecord): AdminUserView => ({
  ...publicUser(u),
  updatedAt: u.updatedAt,
});

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

const iso = (ms: number) => new Date(ms).toISOString();

/** A new user record: no failures, role generation 0. */
async function newUser(
  email: string,
  password: string,
  roles: Role[],
  deps: IdentityDeps,
): Promise<UserRecord> {
  const now = iso(deps.now());
  return {
    id: newId("usr"),
    email: normalizeEmail(email),
    roles,
    passwordHash: await deps.passwords.hash(password),
    createdAt: now,
    updatedAt: now,
    generation: 0,
    failedCount: 0,
  };
}

// --------------------------------------------------------------------- registration

/** Creates a customer and its first account (one atomic write with the audit event). */
export async function register(
  ctx: AnyContext,
  input: { email: string; password: string; currency?: string | undefined },
  deps: IdentityDeps,
): Promise<{ user: PublicUser; account: AccountView }> {
  const s = deps.settings();
  const currency = input.currency ?? s.MICROPAY_DEFAULT_CURRENCY;
  if (!s.MICROPAY_CURRENCIES.includes(currency)) {
    throw badRequest("The currency is not supported.", [
      { path: "body.currency", message: `one of ${s.MICROPAY_CURRENCIES.join(", ")}` },
    ]);
  }
  refuseWeakPassword(input.password, input.email);
  const user = await newUser(input.email, input.password, ["customer"], deps);
  const actor = actorOf(ctx);
  const out = await deps.store.createUser({
    user,
    firstAccount: { currency, now: user.createdAt },
    events: (accountId) => [
      newAuditEvent(actor, "user.registered", {
        targets: { userId: user.id, ...(accountId ? { accountId } : {}) },
      }),
    ],
  });
  if (!out.created) {
    // API.md makes a used email a 409 (SECURITY.md "Registration and enumeration"):
    // the answer is rate limited at the edge, and every one is a security event
    // (source IP, the account it hit) so probing shows in the audit trail.
    const existing = await deps.store.getUserIdByEmail(user.email);
    await deps.store.recordSecurityEvent(
      newAuditEvent(actor, "user.registration_refused", {
        outcome: "failure",
        reason: "email_taken",
        targets: existing ? { userId: existing } : {},
      }),
    );
    throw new Refusal("email_taken", "An account with this email already exists.");
  }
  if (!out.account) throw new Error("the store opened no first account");
  return { user: publicUser(user), account: out.account };
}

/**
 * Creates a user holding `admin` (the local seed and `npm run admin:create`).
 * Idempotent: an existing user with that email is reported, never changed.
 */
export async function createAdmin(
  ctx: CallContext<null>,
  input: { email: string; password: string },
  deps: IdentityDeps,
): Promise<{ created: boolean; userId: string; roles: readonly Role[] }> {
  const existing = await userByEmail(normalizeEmail(input.email), deps);
  if (existing) return { created: false, userId: existing.id, roles: existing.roles };
  refuseWeakPassword(input.password, input.email);
  const user = await newUser(input.email, input.password, ["admin"], deps);
  const event = newAuditEvent(actorOf(ctx), "user.admin_created", {
    targets: { userId: user.id },
  });
  const out = await deps.store.createUser({ user, events: () => [event] });
  if (!out.created) {
    const raced = await userByEmail(user.email, deps);
    if (raced) return { created: false, userId: raced.id, roles: raced.roles };
    throw new Error("the email is claimed by no user");
  }
  return { created: true, userId: user.id, roles: user.roles };
}

async function userByEmail(email: string, deps: IdentityDeps): Promise<UserRecord | null> {
  const id = await deps.store.getUserIdByEmail(email);
  return id ? deps.store.getUser(id) : null;
}

// ---------------------------------------------------------------------------- login

/**
 * Login. Every failure (unknown email, wrong password, locked) answers the same 401
 * after one password compare (against a dummy hash when there is no user) and the same
 * store round trips, and records a security event.
 *
 * Lockout (lib/store/users.ts "lockout"): before the compare the attempt reserves one
 * of the account's slots in a conditional write, so parallel guesses are never judged
 * more often than MICROPAY_LOCKOUT_THRESHOLD; an attempt that finds the account locked
 * or every slot taken is refused unjudged. A wrong password becomes a failure; the one
 * that reaches the threshold locks the account. A right password starts its session
 * in a transaction conditioned on the reservation and on the roles being unchanged.
 */
export async function login(
  ctx: AnyContext,
  input: { email: string; password: string },
  deps: IdentityDeps,
): Promise<TokenPair | MfaChallenge> {
  const s = deps.settings();
  const { store } = deps;
  const actor = actorOf(ctx);
  const user = await store.getUserForLogin(normalizeEmail(input.email));
  let reserved = false;
  if (user) {
    const limits = {
      nowMs: deps.now(),
      windowMs: s.MICROPAY_LOCKOUT_WINDOW_SECONDS * 1000,
      attemptTtlMs: s.MICROPAY_LOGIN_ATTEMPT_TTL_SECONDS * 1000,
      threshold: s.MICROPAY_LOCKOUT_THRESHOLD,
    };
    reserved = (await store.reserveLoginAttempt(user, limits)) === "reserved";
  } else {
    await store.loginRoundTripForNobody();
  }
  const passwordOk = await deps.passwords.verify(input.password, user?.passwordHash);

  if (!user || !reserved || !passwordOk) {
    const reason = !user ? "unknown_email" : !reserved ? "locked" : "wrong_password";
    if (user && reserved) {
      await judgeFailure(actor, user.id, deps);
    } else {
      await store.loginRoundTripForNobody();
    }
    throw await loginFailed(actor, reason, user?.id, deps);
  }

  if (user.totpSecret !== undefined) {
    // MFA: the password alone starts nothing. The slot goes back unjudged and the
    // failures stay (a right password must not reset the count the code guesses add to).
    await store.releaseLoginAttempt(user.id);
    return mfaChallengeFor(actor, user, deps);
  }

  const upgraded = deps.passwords.needsRehash(user.passwordHash)
    ? await deps.passwords.hash(input.password)
    : undefined;
  const auth: SessionAuth = { amr: ["pwd"], authTime: Math.floor(deps.now() / 1000) };
  return finishLogin(user, upgraded, auth, actor, deps);
}

/**
 * Starts the session of an attempt whose credentials were right and whose slot is
 * still reserved; gives the slot back when it cannot.
 */
export async function finishLogin(
  user: UserRecord,
  upgraded: string | undefined,
  auth: SessionAuth,
  actor: AuditActor,
  deps: IdentityDeps,
): Promise<TokenPair> {
  const { store } = deps;
  let outcome: TokenPair | "refused" | "roles_moving";
  try {
    outcome = await startSession(user, upgraded, actor, auth, deps);
  } catch (error) {
    await store.releaseLoginAttempt(user.id);
    throw error;
  }
  if (outcome === "refused" || outcome === "roles_moving") {
    await store.releaseLoginAttempt(user.id);
    if (outcome === "refused") throw await loginFailed(actor, "locked", user.id, deps);
    // The roles changed twice while this login ran: say "try again", not "wrong password".
    await store.recordSecurityEvent(
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

/**
 * A judged wrong credential (password or second-factor code): the reserved slot becomes
 * a failure, and the failure that reaches the threshold locks the account.
 */
export async function judgeFailure(
  actor: AuditActor,
  userId: string,
  deps: IdentityDeps,
): Promise<void> {
  const s = deps.settings();
  const count = await deps.store.recordLoginFailure(userId);
  if (count >= s.MICROPAY_LOCKOUT_THRESHOLD) {
    const nowMs = deps.now();
    const locked = await deps.store.lockAccount(
      userId,
      nowMs,
      nowMs + s.MICROPAY_LOCKOUT_DURATION_SECONDS * 1000,
      newAuditEvent(actor, "auth.account_locked", {
        outcome: "failure",
        reason: `${count} failed logins`,
        targets: { userId },
      }),
    );
    if (locked) countMetric(METRIC_ACCOUNT_LOCKED);
  }
}

/** The single-use ticket of the second step: `mfa_` and 256 random bits; stored hashed. */
const MFA_TOKEN = /^mfa_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
export const isMfaTokenShape = (t: string) => MFA_TOKEN.test(t);

async function mfaChallengeFor(
  actor: AuditActor,
  user: UserRecord,
  deps: IdentityDeps,
): Promise<MfaChallenge> {
  const nowS = Math.floor(deps.now() / 1000);
  const token = `mfa_${randomBytes(32).toString("base64url")}`;
  await deps.store.putMfaChallenge({
    hash: hashRefreshToken(token),
    userId: user.id,
    generation: user.generation,
    authTime: nowS,
    expiresAt: nowS + deps.settings().MICROPAY_MFA_TOKEN_TTL_SECONDS,
  });
  await deps.store.recordSecurityEvent(
    newAuditEvent(actor, "auth.mfa_challenged", { targets: { userId: user.id } }),
  );
  return { mfaRequired: true, mfaToken: token, methods: ["totp", "recovery_code"] };
}

/** Records a failed login (security event, metric) and returns the uniform 401. */
export async function loginFailed(
  actor: AuditActor,
  reason: string,
  userId: string | undefined,
  deps: IdentityDeps,
) {
  countMetric(METRIC_LOGIN_FAILED);
  await deps.store.recordSecurityEvent(
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
  read: UserRecord,
  upgraded: string | undefined,
  requestActor: AuditActor,
  auth: SessionAuth,
  deps: IdentityDeps,
): Promise<TokenPair | "refused" | "roles_moving"> {
  const s = deps.settings();
  let user = read;
  for (let attempt = 0; attempt < 2; attempt++) {
    const nowMs = deps.now();
    const now = iso(nowMs);
    const nowS = Math.floor(nowMs / 1000);
    const privileged = isPrivileged(user.roles);
    const absoluteExpiresAt =
      nowS +
      (privileged
        ? s.MICROPAY_PRIVILEGED_SESSION_ABSOLUTE_SECONDS
        : s.MICROPAY_SESSION_ABSOLUTE_SECONDS);
    const expiresAt = Math.min(nowS + s.MICROPAY_REFRESH_TOKEN_TTL_SECONDS, absoluteExpiresAt);
    const family: FamilyRecord = {
      familyId: newId("fam"),
      userId: user.id,
      generation: user.generation,
      revoked: false,
      createdAt: now,
      expiresAt,
      amr: auth.amr,
      authTime: auth.authTime,
      privileged,
      absoluteExpiresAt,
      lastUsedMs: nowMs,
    };
    const refresh = newRefreshToken();
    const token: RefreshTokenRecord = {
      hash: refresh.hash,
      familyId: family.familyId,
      userId: user.id,
      status: "active",
      createdAt: now,
      expiresAt,
    };
    const access = await deps.tokens.issue(user.id, user.roles, auth);
    const actor: AuditActor = { ...requestActor, userId: user.id, roles: user.roles };
    const started = await deps.store.startLoginSession({
      family,
      token,
      expectedGeneration: user.generation,
      nowMs,
      upgradedHash: upgraded,
      events: [
        newAuditEvent(actor, "auth.login_succeeded", {
          reason: `amr=${auth.amr.join("+")}`,
          targets: { userId: user.id, familyId: family.familyId },
        }),
      ],
    });
    if (started === "started") return pairOf(access, refresh.token);
    const fresh = await deps.store.getUser(user.id);
    if (!fresh || fresh.generation === user.generation) return "refused";
    user = fresh; // the roles changed while this login ran: once more, with the new ones
  }
  return "roles_moving";
}

/** The answer of a login or refresh. */
function pairOf(access: { token: string; expiresIn: number }, refreshToken: string): TokenPair {
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
export async function refresh(
  ctx: AnyContext,
  input: { refreshToken: string },
  deps: IdentityDeps,
): Promise<TokenPair> {
  const presented = input.refreshToken;
  if (!isRefreshTokenShape(presented)) throw invalidRefresh();
  const { store } = deps;
  const hash = hashRefreshToken(presented);
  const nowMs = deps.now();
  const nowS = Math.floor(nowMs / 1000);
  const now = iso(nowMs);
  const item = await store.getRefreshToken(hash);
  if (!item || item.expiresAt <= nowS) throw invalidRefresh();
  const family = await store.getFamily(item.familyId);
  if (!family || family.revoked || family.expiresAt <= nowS) throw invalidRefresh();
  const st = deps.settings();
  if (family.absoluteExpiresAt !== undefined && family.absoluteExpiresAt <= nowS) {
    throw invalidRefresh(); // the absolute lifetime is over (PCI DSS v4 8.2.8 bounds sessions)
  }
  if (
    family.privileged &&
    family.lastUsedMs !== undefined &&
    nowMs - family.lastUsedMs > st.MICROPAY_PRIVILEGED_SESSION_IDLE_SECONDS * 1000
  ) {
    throw invalidRefresh(); // a privileged session idle for longer than the limit is dead
  }
  const actor: AuditActor = { ...actorOf(ctx), userId: item.userId };

  if (item.status !== "active") {
    await revokeForReuse(actor, family, now, deps);
    throw invalidRefresh();
  }
  const user = await store.getUser(item.userId);
  if (!user || user.generation !== family.generation) throw invalidRefresh();

  const next = newRefreshToken();
  // Signed before the rotation, which commits only if the generation (the roles) read
  // above is still current: no token signed after a role change carries the old roles.
  const auth: SessionAuth = {
    amr: family.amr ?? ["pwd"],
    authTime: family.authTime ?? Math.floor(Date.parse(family.createdAt) / 1000),
  };
  const access = await deps.tokens.issue(user.id, user.roles, auth);
  const ttlEnd = nowS + st.MICROPAY_REFRESH_TOKEN_TTL_SECONDS;
  const outcome = await store.rotateRefreshToken({
    oldHash: hash,
    next: {
      hash: next.hash,
      familyId: family.familyId,
      userId: user.id,
      status: "active",
      createdAt: now,
      expiresAt:
        family.absoluteExpiresAt === undefined
          ? ttlEnd
          : Math.min(ttlEnd, family.absoluteExpiresAt),
    },
    family,
    now,
    nowMs,
  });
  if (outcome === "token_reused") {
    await revokeForReuse(actor, family, now, deps);
    throw invalidRefresh();
  }
  if (outcome !== "rotated") throw invalidRefresh();
  return pairOf(access, next.token);
}

async function revokeForReuse(
  actor: AuditActor,
  family: FamilyRecord,
  now: string,
  deps: IdentityDeps,
): Promise<void> {
  const targets = { userId: family.userId, familyId: family.familyId };
  countMetric(METRIC_REFRESH_REUSE);
  await deps.store.recordSecurityEvent(
    newAuditEvent(actor, "auth.refresh_token_reused", { outcome: "failure", targets }),
  );
  await deps.store.revokeFamily(family.familyId, "reuse", now, [
    newAuditEvent(actor, "auth.tokens_revoked", { reason: "refresh_token_reuse", targets }),
  ]);
}

// --------------------------------------------------------------------------- logout

/** Revokes the family of the presented token if it belongs to the caller; never refuses. */
export async function logout(
  ctx: CallContext,
  input: { refreshToken: string },
  deps: IdentityDeps,
): Promise<void> {
  if (!isRefreshTokenShape(input.refreshToken)) return;
  const item = await deps.store.getRefreshToken(hashRefreshToken(input.refreshToken));
  if (!item) return;
  const actor = actorOf(ctx);
  const targets = { userId: item.userId, familyId: item.familyId };
  if (item.userId !== ctx.principal.userId) {
    await deps.store.recordSecurityEvent(
      newAuditEvent(actor, "auth.logout_denied", {
        outcome: "failure",
        reason: "refresh token of another user",
        targets,
      }),
    );
    return;
  }
  await deps.store.revokeFamily(item.familyId, "logout", iso(deps.now()), [
    newAuditEvent(actor, "auth.tokens_revoked", { reason: "logout", targets }),
  ]);
}

// ------------------------------------------------------------------------------- me

/** The caller's own profile. */
export async function me(
  ctx: CallContext,
  _input: unknown,
  deps: IdentityDeps,
): Promise<PublicUser> {
  const user = await deps.store.getUser(ctx.principal.userId);
  if (!user) throw notFound();
  return publicUser(user);
}

// ------------------------------------------------------------------------ admin users

/** Users, newest first, a page at a time; the cursor is bound to the calling admin. */
export async function adminListUsers(
  ctx: CallContext,
  input: { limit: number; cursor?: string | undefined },
  deps: IdentityDeps,
): Promise<{ data: AdminUserView[]; hasMore: boolean; nextCursor: string | null }> {
  const scope = `admin-users:${ctx.principal.userId}`;
  let after: string | undefined;
  if (input.cursor !== undefined) {
    const id = (await deps.cursors.decode(scope, input.cursor)).after;
    if (id === undefined || !isId(id, "usr")) throw badRequest("The cursor is invalid.");
    after = id;
  }
  const page = await deps.store.listUsers(input.limit, after);
  const last = page.users.at(-1);
  return {
    data: page.users.map(adminView),
    hasMore: page.hasMore,
    nextCursor: page.hasMore && last ? await deps.cursors.encode(scope, { after: last.id }) : null,
  };
}

/**
 * Replaces a user's roles. Revokes all of the user's refresh families in the same
 * write (the new roles reach tokens at the next login or refresh; older access tokens
 * expire within their lifetime). Removing the last admin's admin role is refused.
 */
export async function adminSetRoles(
  ctx: CallContext,
  input: {
    userId: string;
    roles: readonly Role[];
    /** A grant an approval carries out (dual control, lib/auth/approvals.ts). */
    approval?: ApprovalDecision | undefined;
  },
  deps: IdentityDeps,
): Promise<AdminUserView> {
  const { userId } = input;
  const roles = canonicalRoles(input.roles);
  for (let attempt = 0; attempt < 3; attempt++) {
    const user = await deps.store.getUser(userId);
    if (!user) throw notFound("No such user.");
    const was = user.roles.includes("admin");
    const will = roles.includes("admin");
    const adminDelta = was === will ? 0 : will ? 1 : -1;
    const now = iso(deps.now());
    const actor = actorOf(ctx);
    const targets = {
      userId,
      ...(input.approval ? { approvalId: input.approval.approvalId } : {}),
    };
    const outcome = await deps.store.replaceRoles({
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
      ...(input.approval ? { approval: input.approval } : {}),
    });
    if (outcome === "replaced") {
      return adminView({ ...user, roles, updatedAt: now, generation: user.generation + 1 });
    }
    if (outcome === "approval_changed") {
      throw new Refusal("approval_not_pending", "The approval is no longer pending.");
    }
    if (outcome === "last_admin") {
      throw new Refusal("last_admin", "The last admin cannot give up the admin role.");
    }
    // The user changed meanwhile: read again and retry.
  }
  throw new Refusal("concurrent_update", "The user was changed concurrently; retry.");
}
