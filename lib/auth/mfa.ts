import { type AuditActor, actorOf, newAuditEvent } from "../audit/events.ts";
import type { CallContext } from "../context.ts";
import { notFound, Refusal } from "../problems.ts";
import type { Principal } from "../routes/types.ts";
import type { IdentityDeps, SessionAuth, UserRecord } from "./port.ts";
import { hashRefreshToken } from "./refresh-token.ts";
import {
  finishLogin,
  isMfaTokenShape,
  judgeFailure,
  loginFailed,
  type TokenPair,
} from "./service.ts";
import {
  checkTotp,
  hashRecoveryCode,
  matchRecoveryCode,
  newRecoveryCodes,
  newTotpSecret,
  otpauthUri,
} from "./totp.ts";

/**
 * Multi-factor authentication (API.md "Privileged access"; PCI DSS v4 8.4, 8.5.1):
 * TOTP enrolment and verification, recovery codes, disabling, and the login's second
 * step. The TOTP secret is sealed with `deps.secrets` (KMS in AWS, the local key folder
 * locally) bound to the user id, and opened only to check a code. A code is accepted
 * once: the accepted time step is recorded by a conditional write (`step > last`), so
 * a replay, even a concurrent one, is refused. Recovery codes are stored as hashes and
 * each is removed by a conditional write when used.
 */
type AnyContext = CallContext<Principal | null>;

const invalidMfaToken = () =>
  new Refusal("invalid_mfa_token", "The MFA token is invalid, used or expired; log in again.");

const wrongCode = () =>
  new Refusal(
    "invalid_credentials",
    "The code is wrong or already used, or the account is temporarily locked; log in again.",
  );

/** Starts (or restarts) TOTP enrolment: a new secret, pending until verified. */
export async function enrolTotp(
  ctx: CallContext,
  _input: unknown,
  deps: IdentityDeps,
): Promise<{ secret: string; otpauthUri: string }> {
  const user = await deps.store.getUser(ctx.principal.userId);
  if (!user) throw notFound();
  if (user.totpSecret !== undefined) throw alreadyEnabled();
  const secret = newTotpSecret();
  const sealed = await deps.secrets.seal(secret, user.id);
  const out = await deps.store.setPendingTotp(user.id, sealed, [
    newAuditEvent(actorOf(ctx), "auth.mfa_enrolment_started", { targets: { userId: user.id } }),
  ]);
  if (out === "enabled") throw alreadyEnabled();
  return { secret, otpauthUri: otpauthUri(secret, user.email) };
}

const alreadyEnabled = () =>
  new Refusal("mfa_already_enabled", "Multi-factor authentication is already enabled.");

/** Verifies the pending secret with a current code: MFA is on; the ten recovery codes, once. */
export async function verifyTotp(
  ctx: CallContext,
  input: { code: string },
  deps: IdentityDeps,
): Promise<{ recoveryCodes: string[] }> {
  const user = await deps.store.getUser(ctx.principal.userId);
  if (!user) throw notFound();
  if (user.totpSecret !== undefined) throw alreadyEnabled();
  if (user.totpPending === undefined) {
    throw new Refusal("mfa_not_pending", "Start the enrolment first (POST /v1/me/mfa/totp).");
  }
  const secret = await deps.secrets.open(user.totpPending, user.id);
  const check = checkTotp(secret, input.code, deps.now(), user.totpLastStep);
  const actor = actorOf(ctx);
  if (!check.ok) {
    await codeRefused(actor, user.id, "auth.mfa_enrolment_failed", check.reason, deps);
    throw new Refusal("validation_failed", "The code is wrong or already used.", {
      errors: [{ path: "body.code", message: "wrong or already used" }],
    });
  }
  const codes = newRecoveryCodes();
  const enabled = await deps.store.enableTotp({
    userId: user.id,
    pending: user.totpPending,
    step: check.step,
    recoveryCodes: codes.map(hashRecoveryCode),
    events: [newAuditEvent(actor, "auth.mfa_enabled", { targets: { userId: user.id } })],
  });
  if (!enabled) throw new Refusal("concurrent_update", "The enrolment changed meanwhile; retry.");
  return { recoveryCodes: codes };
}

/** Turns MFA off with a current TOTP code (accepted once, like any other). */
export async function disableTotp(
  ctx: CallContext,
  input: { code: string },
  deps: IdentityDeps,
): Promise<void> {
  const user = await deps.store.getUser(ctx.principal.userId);
  if (!user) throw notFound();
  if (user.totpSecret === undefined) {
    throw new Refusal("mfa_not_pending", "Multi-factor authentication is not enabled.");
  }
  const secret = await deps.secrets.open(user.totpSecret, user.id);
  const check = checkTotp(secret, input.code, deps.now(), user.totpLastStep);
  const actor = actorOf(ctx);
  const disabled =
    check.ok &&
    (await deps.store.disableTotp({
      userId: user.id,
      step: check.step,
      events: [newAuditEvent(actor, "auth.mfa_disabled", { targets: { userId: user.id } })],
    }));
  if (!disabled) {
    const reason = check.ok ? "replayed" : check.reason;
    await codeRefused(actor, user.id, "auth.mfa_disable_failed", reason, deps);
    throw new Refusal("validation_failed", "The code is wrong or already used.", {
      errors: [{ path: "body.code", message: "wrong or already used" }],
    });
  }
}

async function codeRefused(
  actor: AuditActor,
  userId: string,
  action: string,
  reason: string,
  deps: IdentityDeps,
): Promise<void> {
  await deps.store.recordSecurityEvent(
    newAuditEvent(actor, action, { outcome: "failure", reason, targets: { userId } }),
  );
}

/**
 * The second step of a login with MFA: the single-use `mfaToken` from the password
 * step and a TOTP or recovery code. The token is consumed whatever the outcome (a
 * wrong code means logging in again). The attempt reserves a lockout slot like a
 * password attempt, and a wrong or replayed code is a judged failure, so code guesses
 * count toward the lockout (PCI DSS v4 8.3.4) together with password guesses.
 */
export async function completeMfaLogin(
  ctx: AnyContext,
  input: { mfaToken: string; code: string },
  deps: IdentityDeps,
): Promise<TokenPair> {
  const s = deps.settings();
  const { store } = deps;
  const actor = actorOf(ctx);
  if (!isMfaTokenShape(input.mfaToken)) throw invalidMfaToken();
  const nowMs = deps.now();
  const challenge = await store.takeMfaChallenge(
    hashRefreshToken(input.mfaToken),
    Math.floor(nowMs / 1000),
  );
  if (!challenge) throw invalidMfaToken();
  const user = await store.getUser(challenge.userId);
  if (!user || user.generation !== challenge.generation || user.totpSecret === undefined) {
    throw invalidMfaToken();
  }
  const reserved = await store.reserveLoginAttempt(user, {
    nowMs,
    windowMs: s.MICROPAY_LOCKOUT_WINDOW_SECONDS * 1000,
    attemptTtlMs: s.MICROPAY_LOGIN_ATTEMPT_TTL_SECONDS * 1000,
    threshold: s.MICROPAY_LOCKOUT_THRESHOLD,
  });
  if (reserved !== "reserved") {
    await loginFailed(actor, "locked", user.id, deps);
    throw wrongCode();
  }
  const verdict = await judgeCode(user, input.code, nowMs, deps);
  if (verdict !== "ok") {
    await judgeFailure(actor, user.id, deps);
    await loginFailed(actor, `mfa_${verdict}`, user.id, deps);
    throw wrongCode();
  }
  const auth: SessionAuth = { amr: ["pwd", "otp"], authTime: challenge.authTime };
  return finishLogin(user, undefined, auth, actor, deps);
}

/** Checks a TOTP code (6 digits) or a recovery code, and spends it if right. */
async function judgeCode(
  user: UserRecord,
  code: string,
  nowMs: number,
  deps: IdentityDeps,
): Promise<"ok" | "wrong" | "replayed"> {
  if (/^\d{6}$/.test(code)) {
    if (user.totpSecret === undefined) return "wrong";
    const secret = await deps.secrets.open(user.totpSecret, user.id);
    const check = checkTotp(secret, code, nowMs, user.totpLastStep);
    if (!check.ok) return check.reason;
    return (await deps.store.acceptTotpStep(user.id, check.step)) ? "ok" : "replayed";
  }
  const unused = user.recoveryCodes ?? [];
  const index = matchRecoveryCode(code, unused);
  const hash = unused[index];
  if (hash === undefined) return "wrong";
  return (await deps.store.useRecoveryCode(user.id, hash)) ? "ok" : "replayed";
}

/**
 * Enables TOTP for a user out of band, with a secret the operator holds (the local
 * stack's seeded admin, `npm run admin:create`): sealed and stored as if verified, with
 * fresh recovery codes, audited. `enrolled: false`: the user already has MFA (nothing
 * changed).
 */
export async function enrolTotpOutOfBand(
  ctx: CallContext<null>,
  input: { userId: string; secret: string },
  deps: IdentityDeps,
): Promise<{ enrolled: boolean; recoveryCodes: string[] }> {
  const user = await deps.store.getUser(input.userId);
  if (!user) throw notFound("No such user.");
  if (user.totpSecret !== undefined) return { enrolled: false, recoveryCodes: [] };
  const sealed = await deps.secrets.seal(input.secret, user.id);
  const actor = actorOf(ctx);
  const targets = { userId: user.id };
  if ((await deps.store.setPendingTotp(user.id, sealed, [])) === "enabled") {
    return { enrolled: false, recoveryCodes: [] };
  }
  const codes = newRecoveryCodes();
  const enabled = await deps.store.enableTotp({
    userId: user.id,
    pending: sealed,
    // No code has been accepted yet: any current step is later than this one.
    step: 0,
    recoveryCodes: codes.map(hashRecoveryCode),
    events: [newAuditEvent(actor, "auth.mfa_enabled", { reason: "out_of_band", targets })],
  });
  return { enrolled: enabled, recoveryCodes: enabled ? codes : [] };
}
