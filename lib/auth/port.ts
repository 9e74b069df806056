import type { AuditEvent } from "../audit/events.ts";
import type { Config } from "../config.ts";
import type { SecretBox } from "../crypto/secret-box.ts";
import type { AccountView } from "../ledger/accounts.ts";
import type { Role } from "../routes/types.ts";
import type { ApprovalDecision } from "./approvals.ts";

/**
 * What the identity operations (lib/auth/service.ts) need from the world, as one
 * `IdentityDeps` argument: the store port this module owns, the password hasher, the
 * access-token issuer, the cursor codec, the clock and the settings. The DynamoDB
 * store (lib/store/identity.ts over users.ts, sessions.ts, security-events.ts) and
 * the Lambda wiring (lib/aws/identity.ts) implement it; tests use an in-memory store
 * (test/support/memory-identity-store.ts). Nothing here names DynamoDB or HTTP.
 */

/** A user as stored: profile, roles, role generation and lockout state. */
export interface UserRecord {
  readonly id: string;
  readonly email: string;
  readonly roles: Role[];
  readonly passwordHash: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Counts role changes; a refresh family made under an older one is dead. */
  readonly generation: number;
  readonly failedCount?: number;
  readonly failedWindowStart?: number;
  readonly lockedUntil?: number;
  /** Attempt slots used in the window: judged failures plus attempts still running. */
  readonly attemptCount?: number;
  /** Attempts reserved and not yet judged (or abandoned, see pendingSince). */
  readonly pendingCount?: number;
  /** When the latest attempt was reserved (ms). */
  readonly pendingSince?: number;
  /** The enabled TOTP secret, sealed (lib/crypto/secret-box.ts); present = MFA is on. */
  readonly totpSecret?: string;
  /** A TOTP secret enrolled but not yet verified, sealed. */
  readonly totpPending?: string;
  /** The time step of the last TOTP code accepted (replay rule: a later step only). */
  readonly totpLastStep?: number;
  /** SHA-256 hashes of the unused recovery codes. */
  readonly recoveryCodes?: readonly string[];
}

/** Methods a session was authenticated with (RFC 8176 `amr` values). */
export type AuthMethod = "pwd" | "otp";

/** How a session was authenticated: what its access tokens carry as `amr` and `auth_time`. */
export interface SessionAuth {
  readonly amr: readonly AuthMethod[];
  /** Epoch seconds of the login. */
  readonly authTime: number;
}

/** The pending second step of a login (the `mfaToken`, stored by its SHA-256). */
export interface MfaChallengeRecord {
  readonly hash: string;
  readonly userId: string;
  /** The role generation at the password step: a role change meanwhile voids it. */
  readonly generation: number;
  /** Epoch seconds of the password step. */
  readonly authTime: number;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** A login session: the refresh-token family and the role generation it was made under. */
export interface FamilyRecord {
  readonly familyId: string;
  readonly userId: string;
  readonly generation: number;
  readonly revoked: boolean;
  readonly createdAt: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
  /** How the login that started it was authenticated (refresh keeps it). */
  readonly amr?: readonly AuthMethod[];
  readonly authTime?: number;
  /** Made for a user holding admin or auditor: 12 h absolute, idle limit. */
  readonly privileged?: boolean;
  /** Epoch seconds after which no refresh succeeds, whatever the token says. */
  readonly absoluteExpiresAt?: number;
  /** Epoch ms of the login or the last refresh (the idle limit of privileged families). */
  readonly lastUsedMs?: number;
}

/** One refresh token, by the SHA-256 of its text (the text is never stored). */
export interface RefreshTokenRecord {
  readonly hash: string;
  readonly familyId: string;
  readonly userId: string;
  readonly status: "active" | "rotated";
  readonly createdAt: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** The lockout rule an attempt reservation applies (times in ms). */
export interface LoginAttemptLimits {
  readonly nowMs: number;
  readonly windowMs: number;
  readonly attemptTtlMs: number;
  readonly threshold: number;
}

export type RotateOutcome = "rotated" | "token_reused" | "family_revoked" | "user_changed";

export type CreateUserOutcome =
  | { readonly created: true; readonly account: AccountView | undefined }
  | { readonly created: false; readonly reason: "email_taken" };

/**
 * The identity store. Every method that changes state writes the audit events it is
 * given in the same atomic write as the change (the outbox), or not at all.
 */
export interface IdentityStore {
  // ---------------------------------------------------------------------- users
  /**
   * Creates the user and its email claim (and, with `firstAccount`, the user's first
   * ledger account), plus the events `events(accountId)` gives, atomically. A user
   * holding `admin` counts towards the admin counter. "email_taken": nothing written.
   */
  createUser(input: {
    readonly user: UserRecord;
    readonly firstAccount?: { readonly currency: string; readonly now: string } | undefined;
    readonly events: (accountId: string | undefined) => AuditEvent[];
  }): Promise<CreateUserOutcome>;
  getUser(id: string): Promise<UserRecord | null>;
  getUserIdByEmail(email: string): Promise<string | null>;
  /**
   * The login lookup: costs the same round trips whether or not the email is known
   * (enumeration timing).
   */
  getUserForLogin(email: string): Promise<UserRecord | null>;
  /** Costs what one lockout write costs and changes nothing (enumeration timing). */
  loginRoundTripForNobody(): Promise<void>;
  /** Newest first; `after` is the id of the last user of the previous page. */
  listUsers(
    limit: number,
    after: string | undefined,
  ): Promise<{ users: UserRecord[]; hasMore: boolean }>;
  /**
   * Replaces the roles and bumps the generation (revoking every family of the user)
   * with the events, atomically, if the generation is still `expectedGeneration`.
   * `adminDelta` keeps the admin counter; "last_admin": it would drop to zero.
   */
  replaceRoles(input: {
    readonly userId: string;
    readonly roles: Role[];
    readonly expectedGeneration: number;
    readonly adminDelta: -1 | 0 | 1;
    readonly now: string;
    readonly events: AuditEvent[];
    /**
     * Dual control: the approval this change carries out, moved to approved in the same
     * write only if still pending ("approval_changed" otherwise, nothing written).
     */
    readonly approval?: ApprovalDecision | undefined;
  }): Promise<"replaced" | "user_changed" | "last_admin" | "approval_changed">;

  // -------------------------------------------------------------------- lockout
  /**
   * Atomically reserves one of the account's attempt slots before the password is
   * judged, so parallel guesses are never judged more often than the threshold.
   * "refused": locked or every slot taken (a refusal still costs one write).
   */
  reserveLoginAttempt(
    user: UserRecord,
    limits: LoginAttemptLimits,
  ): Promise<"reserved" | "refused">;
  /** A wrong password: the reserved slot becomes a failure; returns the failures in the window. */
  recordLoginFailure(userId: string): Promise<number>;
  /** Gives a reserved slot back unjudged (best effort, never throws). */
  releaseLoginAttempt(userId: string): Promise<void>;
  /** Locks until `untilMs` with its event unless already locked; true when this call locked. */
  lockAccount(userId: string, nowMs: number, untilMs: number, event: AuditEvent): Promise<boolean>;

  // ------------------------------------------------------------------- sessions
  /**
   * Starts a session (family, first token, events) and frees the caller's attempt slot
   * and clears the failures (storing `upgradedHash` if given), atomically, only if the
   * account is not locked, the reservation stands and the generation is still
   * `expectedGeneration`; "user_changed" otherwise.
   */
  startLoginSession(input: {
    readonly family: FamilyRecord;
    readonly token: RefreshTokenRecord;
    readonly expectedGeneration: number;
    readonly nowMs: number;
    readonly upgradedHash?: string | undefined;
    readonly events: AuditEvent[];
  }): Promise<"started" | "user_changed">;
  getRefreshToken(hash: string): Promise<RefreshTokenRecord | null>;
  getFamily(familyId: string): Promise<FamilyRecord | null>;
  /**
   * Rotates atomically: the old token becomes rotated only if still active (of two
   * parallel uses exactly one wins), the new one is stored, the family must not be
   * revoked and the user's generation must still be the family's.
   */
  rotateRefreshToken(input: {
    readonly oldHash: string;
    readonly next: RefreshTokenRecord;
    readonly family: FamilyRecord;
    readonly now: string;
    /** Epoch ms: the family's new `lastUsedMs`. */
    readonly nowMs: number;
  }): Promise<RotateOutcome>;
  /** Revokes a family with its events; false if it was already revoked. */
  revokeFamily(
    familyId: string,
    reason: string,
    now: string,
    events: AuditEvent[],
  ): Promise<boolean>;

  // ------------------------------------------------------------------------ mfa
  /** Stores a pending (unverified) TOTP secret; "enabled": MFA is already on, nothing written. */
  setPendingTotp(userId: string, sealed: string, events: AuditEvent[]): Promise<"set" | "enabled">;
  /**
   * Turns the pending secret `pending` on, with the recovery code hashes and the accepted
   * step, atomically, only if it is still the pending one, MFA is not on and `step` is
   * later than the last accepted step. false: one of those no longer holds.
   */
  enableTotp(input: {
    readonly userId: string;
    readonly pending: string;
    readonly step: number;
    readonly recoveryCodes: readonly string[];
    readonly events: AuditEvent[];
  }): Promise<boolean>;
  /** Records `step` as accepted only if it is later than the last one (conditional write). */
  acceptTotpStep(userId: string, step: number): Promise<boolean>;
  /** Removes one unused recovery code by hash (conditional: of two uses one wins). */
  useRecoveryCode(userId: string, hash: string): Promise<boolean>;
  /** Turns MFA off (secret and recovery codes gone) while accepting `step`, with the events. */
  disableTotp(input: {
    readonly userId: string;
    readonly step: number;
    readonly events: AuditEvent[];
  }): Promise<boolean>;
  putMfaChallenge(challenge: MfaChallengeRecord): Promise<void>;
  /** Deletes and returns the challenge if it exists and has not expired (single use). */
  takeMfaChallenge(hash: string, nowS: number): Promise<MfaChallengeRecord | null>;

  // ------------------------------------------------------------ security events
  /** A security event with no state change of its own. Best effort: never throws. */
  recordSecurityEvent(event: AuditEvent): Promise<void>;
}

/** Password hashing (bcrypt in lib/auth/passwords.ts). */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Compares against `hash`, or a dummy hash when undefined (then false), in equal time. */
  verify(password: string, hash: string | undefined): Promise<boolean>;
  /** True when `hash` is weaker than the configured cost. */
  needsRehash(hash: string): boolean;
}

/** Signs access tokens (lib/auth/access-token.ts). */
export interface TokenIssuer {
  issue(
    userId: string,
    roles: readonly Role[],
    auth: SessionAuth,
  ): Promise<{ token: string; expiresIn: number }>;
}

/** Tamper-proof list cursors bound to a scope; a bad cursor is a `validation_failed` Refusal. */
export interface CursorCodec {
  encode(scope: string, position: Record<string, string>): Promise<string>;
  decode(scope: string, cursor: string): Promise<Record<string, string>>;
}

/** The settings identity reads (lib/config.ts). */
export type IdentitySettings = Pick<
  Config,
  | "MICROPAY_CURRENCIES"
  | "MICROPAY_DEFAULT_CURRENCY"
  | "MICROPAY_REFRESH_TOKEN_TTL_SECONDS"
  | "MICROPAY_LOCKOUT_THRESHOLD"
  | "MICROPAY_LOCKOUT_WINDOW_SECONDS"
  | "MICROPAY_LOCKOUT_DURATION_SECONDS"
  | "MICROPAY_LOGIN_ATTEMPT_TTL_SECONDS"
  | "MICROPAY_MFA_TOKEN_TTL_SECONDS"
  | "MICROPAY_SESSION_ABSOLUTE_SECONDS"
  | "MICROPAY_PRIVILEGED_SESSION_ABSOLUTE_SECONDS"
  | "MICROPAY_PRIVILEGED_SESSION_IDLE_SECONDS"
>;

export interface IdentityDeps {
  readonly store: IdentityStore;
  readonly passwords: PasswordHasher;
  readonly tokens: TokenIssuer;
  readonly cursors: CursorCodec;
  /** Seals TOTP secrets at rest (context: the user id). */
  readonly secrets: SecretBox;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** Read at each call (tests change the environment and reset the configuration). */
  readonly settings: () => IdentitySettings;
}
