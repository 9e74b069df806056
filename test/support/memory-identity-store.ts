import type { AuditEvent } from "../../lib/audit/events.ts";
import type {
  CreateUserOutcome,
  FamilyRecord,
  IdentityStore,
  MfaChallengeRecord,
  RefreshTokenRecord,
  RotateOutcome,
  UserRecord,
} from "../../lib/auth/port.ts";
import type { CallContext } from "../../lib/context.ts";
import { newId } from "../../lib/ids.ts";
import type { AccountView } from "../../lib/ledger/accounts.ts";
import type { Principal, Role } from "../../lib/routes/types.ts";
import { planReservation } from "../../lib/store/users.ts";
import type { MemoryApprovalStore } from "./memory-approval-store.ts";

/**
 * An in-memory IdentityStore (lib/auth/port.ts) for unit tests of the identity
 * operations. Each method is one atomic step, judged as the DynamoDB store's
 * conditions judge it (lib/store/users.ts, sessions.ts): the lockout reservation uses
 * the same plan (planReservation), the session start and rotation check the role
 * generation, the admin counter guards the last admin. Audit events given with a
 * change land in `audit` only when the change commits; standalone security events
 * land there too. `calls` lists every method called, in order (round-trip counts).
 */
export class MemoryIdentityStore implements IdentityStore {
  readonly users = new Map<string, UserRecord>();
  readonly emails = new Map<string, string>();
  readonly accounts = new Map<string, AccountView>();
  readonly families = new Map<string, FamilyRecord>();
  readonly tokens = new Map<string, RefreshTokenRecord>();
  readonly audit: AuditEvent[] = [];
  readonly calls: string[] = [];
  admins = 0;
  /** Judges and applies the approval a role change carries out (dual control). */
  approvals?: MemoryApprovalStore;

  /** Audit actions recorded so far, in order. */
  actions(): string[] {
    return this.audit.map((e) => e.action);
  }

  private call(name: string): void {
    this.calls.push(name);
  }

  private patch(id: string, change: Partial<UserRecord>, remove: (keyof UserRecord)[] = []) {
    const user = this.users.get(id);
    if (!user) throw new Error(`no user ${id}`);
    const next: Record<string, unknown> = { ...user, ...change };
    for (const key of remove) delete next[key];
    this.users.set(id, next as unknown as UserRecord);
  }

  async createUser(input: Parameters<IdentityStore["createUser"]>[0]): Promise<CreateUserOutcome> {
    this.call("createUser");
    const { user } = input;
    if (this.emails.has(user.email)) return { created: false, reason: "email_taken" };
    if (this.users.has(user.id)) throw new Error("user id collision");
    let account: AccountView | undefined;
    if (input.firstAccount) {
      const { currency, now } = input.firstAccount;
      account = {
        id: newId("acc"),
        ownerId: user.id,
        currency,
        balance: 0,
        held: 0,
        available: 0,
        status: "active",
        kind: "customer",
        createdAt: now,
        updatedAt: now,
      };
      this.accounts.set(account.id, account);
    }
    this.users.set(user.id, { ...user, roles: [...user.roles] });
    this.emails.set(user.email, user.id);
    if (user.roles.includes("admin")) this.admins++;
    this.audit.push(...input.events(account?.id));
    return { created: true, account };
  }

  async getUser(id: string): Promise<UserRecord | null> {
    this.call("getUser");
    const user = this.users.get(id);
    return user ? { ...user, roles: [...user.roles] } : null;
  }

  async getUserIdByEmail(email: string): Promise<string | null> {
    this.call("getUserIdByEmail");
    return this.emails.get(email) ?? null;
  }

  async getUserForLogin(email: string): Promise<UserRecord | null> {
    this.call("getUserForLogin");
    const id = this.emails.get(email);
    const user = id ? this.users.get(id) : undefined;
    return user ? { ...user, roles: [...user.roles] } : null;
  }

  async loginRoundTripForNobody(): Promise<void> {
    this.call("loginRoundTripForNobody");
  }

  async listUsers(limit: number, after: string | undefined) {
    this.call("listUsers");
    const newestFirst = [...this.users.values()]
      .filter((u) => after === undefined || u.id < after)
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    return { users: newestFirst.slice(0, limit), hasMore: newestFirst.length > limit };
  }

  async replaceRoles(
    input: Parameters<IdentityStore["replaceRoles"]>[0],
  ): ReturnType<IdentityStore["replaceRoles"]> {
    this.call("replaceRoles");
    const user = this.users.get(input.userId);
    const userFails = !user || user.generation !== input.expectedGeneration;
    // The admin counter's condition (more than one admin) only guards a removal.
    if (input.adminDelta < 0 && !(this.admins > 1)) return "last_admin";
    if (input.approval && !this.approvals?.holds(input.approval)) return "approval_changed";
    if (userFails) return "user_changed";
    if (input.approval) this.approvals?.apply(input.approval);
    this.patch(input.userId, {
      roles: [...input.roles],
      generation: input.expectedGeneration + 1,
      updatedAt: input.now,
    });
    this.admins += input.adminDelta;
    this.audit.push(...input.events);
    return "replaced";
  }

  async reserveLoginAttempt(
    user: UserRecord,
    limits: Parameters<IdentityStore["reserveLoginAttempt"]>[1],
  ): Promise<"reserved" | "refused"> {
    this.call("reserveLoginAttempt");
    const u = this.users.get(user.id);
    if (!u) return "refused";
    const now = limits.nowMs;
    switch (planReservation(u, limits)) {
      case "refuse":
        return "refused";
      case "count":
        this.patch(u.id, {
          pendingSince: now,
          attemptCount: (u.attemptCount ?? 0) + 1,
          pendingCount: (u.pendingCount ?? 0) + 1,
        });
        return "reserved";
      case "stale":
        this.patch(u.id, {
          attemptCount: (u.failedCount ?? 0) + 1,
          pendingCount: 1,
          pendingSince: now,
        });
        return "reserved";
      case "reset_carry":
        this.patch(
          u.id,
          {
            failedCount: 0,
            failedWindowStart: now,
            attemptCount: (u.pendingCount ?? 0) + 1,
            pendingCount: (u.pendingCount ?? 0) + 1,
            pendingSince: now,
          },
          ["lockedUntil"],
        );
        return "reserved";
      case "reset_fresh":
        this.patch(
          u.id,
          {
            failedCount: 0,
            failedWindowStart: now,
            attemptCount: 1,
            pendingCount: 1,
            pendingSince: now,
          },
          ["lockedUntil"],
        );
        return "reserved";
    }
  }

  async recordLoginFailure(userId: string): Promise<number> {
    this.call("recordLoginFailure");
    const u = this.users.get(userId);
    if (!u) throw new Error(`no user ${userId}`);
    const failedCount = (u.failedCount ?? 0) + 1;
    if ((u.pendingCount ?? 0) > 0) {
      this.patch(userId, { failedCount, pendingCount: (u.pendingCount ?? 0) - 1 });
    } else {
      this.patch(userId, { failedCount, attemptCount: (u.attemptCount ?? 0) + 1 });
    }
    return failedCount;
  }

  async releaseLoginAttempt(userId: string): Promise<void> {
    this.call("releaseLoginAttempt");
    const u = this.users.get(userId);
    if (!u || !((u.pendingCount ?? 0) > 0)) return;
    this.patch(userId, {
      pendingCount: (u.pendingCount ?? 0) - 1,
      attemptCount: (u.attemptCount ?? 0) - 1,
    });
  }

  async lockAccount(userId: string, nowMs: number, untilMs: number, event: AuditEvent) {
    this.call("lockAccount");
    const u = this.users.get(userId);
    if (!u || (u.lockedUntil !== undefined && u.lockedUntil > nowMs)) return false;
    this.patch(userId, { lockedUntil: untilMs });
    this.audit.push(event);
    return true;
  }

  async startLoginSession(
    input: Parameters<IdentityStore["startLoginSession"]>[0],
  ): ReturnType<IdentityStore["startLoginSession"]> {
    this.call("startLoginSession");
    const u = this.users.get(input.family.userId);
    if (
      !u ||
      u.generation !== input.expectedGeneration ||
      u.lockedUntil !== undefined ||
      !((u.pendingCount ?? 0) > 0)
    ) {
      return "user_changed";
    }
    if (this.families.has(input.family.familyId) || this.tokens.has(input.token.hash)) {
      throw new Error("session id collision");
    }
    const pending = (u.pendingCount ?? 0) - 1;
    this.patch(
      u.id,
      {
        failedCount: 0,
        failedWindowStart: input.nowMs,
        attemptCount: pending,
        pendingCount: pending,
        ...(input.upgradedHash !== undefined
          ? { passwordHash: input.upgradedHash, updatedAt: new Date(input.nowMs).toISOString() }
          : {}),
      },
      ["lockedUntil"],
    );
    this.families.set(input.family.familyId, { ...input.family });
    this.tokens.set(input.token.hash, { ...input.token });
    this.audit.push(...input.events);
    return "started";
  }

  async getRefreshToken(hash: string): Promise<RefreshTokenRecord | null> {
    this.call("getRefreshToken");
    const t = this.tokens.get(hash);
    return t ? { ...t } : null;
  }

  async getFamily(familyId: string): Promise<FamilyRecord | null> {
    this.call("getFamily");
    const f = this.families.get(familyId);
    return f ? { ...f } : null;
  }

  async rotateRefreshToken(
    input: Parameters<IdentityStore["rotateRefreshToken"]>[0],
  ): Promise<RotateOutcome> {
    this.call("rotateRefreshToken");
    const old = this.tokens.get(input.oldHash);
    const family = this.families.get(input.family.familyId);
    const user = this.users.get(input.family.userId);
    if (!family || family.revoked) return "family_revoked";
    if (!user || user.generation !== input.family.generation) return "user_changed";
    if (old?.status !== "active") return "token_reused";
    this.tokens.set(input.oldHash, { ...old, status: "rotated" });
    this.tokens.set(input.next.hash, { ...input.next });
    this.families.set(family.familyId, {
      ...family,
      expiresAt: input.next.expiresAt,
      lastUsedMs: input.nowMs,
    });
    return "rotated";
  }

  async revokeFamily(familyId: string, _reason: string, _now: string, events: AuditEvent[]) {
    this.call("revokeFamily");
    const family = this.families.get(familyId);
    if (!family || family.revoked) return false;
    this.families.set(familyId, { ...family, revoked: true });
    this.audit.push(...events);
    return true;
  }

  readonly challenges = new Map<string, MfaChallengeRecord>();

  async setPendingTotp(userId: string, sealed: string, events: AuditEvent[]) {
    this.call("setPendingTotp");
    const u = this.users.get(userId);
    if (!u || u.totpSecret !== undefined) return "enabled" as const;
    this.patch(userId, { totpPending: sealed });
    this.audit.push(...events);
    return "set" as const;
  }

  async enableTotp(input: Parameters<IdentityStore["enableTotp"]>[0]): Promise<boolean> {
    this.call("enableTotp");
    const u = this.users.get(input.userId);
    if (!u || u.totpPending !== input.pending || u.totpSecret !== undefined) return false;
    if (u.totpLastStep !== undefined && u.totpLastStep >= input.step) return false;
    this.patch(
      u.id,
      {
        totpSecret: input.pending,
        totpLastStep: input.step,
        recoveryCodes: [...input.recoveryCodes],
      },
      ["totpPending"],
    );
    this.audit.push(...input.events);
    return true;
  }

  async acceptTotpStep(userId: string, step: number): Promise<boolean> {
    this.call("acceptTotpStep");
    const u = this.users.get(userId);
    if (!u || u.totpSecret === undefined) return false;
    if (u.totpLastStep !== undefined && u.totpLastStep >= step) return false;
    this.patch(userId, { totpLastStep: step });
    return true;
  }

  async useRecoveryCode(userId: string, hash: string): Promise<boolean> {
    this.call("useRecoveryCode");
    const u = this.users.get(userId);
    if (!u?.recoveryCodes?.includes(hash)) return false;
    this.patch(userId, { recoveryCodes: u.recoveryCodes.filter((h) => h !== hash) });
    return true;
  }

  async disableTotp(input: Parameters<IdentityStore["disableTotp"]>[0]): Promise<boolean> {
    this.call("disableTotp");
    const u = this.users.get(input.userId);
    if (!u || u.totpSecret === undefined) return false;
    if (u.totpLastStep !== undefined && u.totpLastStep >= input.step) return false;
    this.patch(u.id, { totpLastStep: input.step }, ["totpSecret", "recoveryCodes", "totpPending"]);
    this.audit.push(...input.events);
    return true;
  }

  async putMfaChallenge(challenge: MfaChallengeRecord): Promise<void> {
    this.call("putMfaChallenge");
    this.challenges.set(challenge.hash, { ...challenge });
  }

  async takeMfaChallenge(hash: string, nowS: number): Promise<MfaChallengeRecord | null> {
    this.call("takeMfaChallenge");
    const c = this.challenges.get(hash);
    if (!c || c.expiresAt <= nowS) return null;
    this.challenges.delete(hash);
    return c;
  }

  async recordSecurityEvent(event: AuditEvent): Promise<void> {
    this.call("recordSecurityEvent");
    this.audit.push(event);
  }
}

/** The call contexts the identity unit tests use: an anonymous caller, and a signed-in one. */
export const anonymous: CallContext<null> = {
  principal: null,
  gatewayRequestId: "gw-1",
  requestId: "gw-1",
  sourceIp: "198.51.100.7",
  userAgent: "unit",
};
export const as = (userId: string, roles: Role[]): CallContext<Principal> => ({
  ...anonymous,
  principal: { userId, roles, tokenId: "jti" },
});
