import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { completeMfaLogin, disableTotp, enrolTotp, verifyTotp } from "../../lib/auth/mfa.ts";
import { hashPassword, needsRehash, verifyPassword } from "../../lib/auth/passwords.ts";
import type { IdentityDeps, SessionAuth } from "../../lib/auth/port.ts";
import { missingAssurance } from "../../lib/auth/privilege.ts";
import {
  adminSetRoles,
  createAdmin,
  login,
  type MfaChallenge,
  refresh,
  register,
  type TokenPair,
} from "../../lib/auth/service.ts";
import { totpCode } from "../../lib/auth/totp.ts";
import { parseConfig, resetConfigForTests } from "../../lib/config.ts";
import { localSecretBox } from "../../lib/crypto/secret-box.ts";
import { Refusal } from "../../lib/problems.ts";
import type { Principal, Role } from "../../lib/routes/types.ts";
import { decodeCursor, encodeCursor, setCursorKey } from "../../lib/store/cursor.ts";
import { anonymous, as, MemoryIdentityStore } from "../support/memory-identity-store.ts";

/**
 * MFA, sessions and privileged access (issue 16; API.md "Privileged access") on the
 * identity operations with the in-memory store and a controlled clock: enrolment, the
 * two-step login, replay and recovery-code reuse, code guesses counting toward the
 * lockout, amr/auth_time kept by refresh, absolute and idle session limits, the weak
 * password rule, and the route rule of the auth middleware (mfa_required, step-up).
 */
const THRESHOLD = 10;
const PASSWORD = "correct horse battery";
const STEP_MS = 30_000;

let store: MemoryIdentityStore;
let clock: number;
let deps: IdentityDeps;
let issued: { userId: string; roles: Role[]; auth: SessionAuth }[];

beforeAll(() => {
  process.env.MICROPAY_BCRYPT_COST = "10";
  resetConfigForTests();
  setCursorKey("auth-mfa unit test cursor key");
});

beforeEach(() => {
  store = new MemoryIdentityStore();
  clock = Date.parse("2026-03-01T12:00:05Z");
  issued = [];
  const settings = parseConfig({
    MICROPAY_LOCKOUT_THRESHOLD: String(THRESHOLD),
    MICROPAY_MFA_TOKEN_TTL_SECONDS: "60",
    MICROPAY_SESSION_ABSOLUTE_SECONDS: "7200",
    MICROPAY_PRIVILEGED_SESSION_ABSOLUTE_SECONDS: "3600",
    MICROPAY_PRIVILEGED_SESSION_IDLE_SECONDS: "900",
  });
  deps = {
    store,
    passwords: { hash: hashOnce, verify: verifyPassword, needsRehash },
    tokens: {
      issue: async (userId, roles, auth) => {
        issued.push({ userId, roles: [...roles], auth });
        return { token: `at:${issued.length}`, expiresIn: 900 };
      },
    },
    cursors: {
      encode: async (scope, position) => encodeCursor(scope, position),
      decode: async (scope, cursor) => decodeCursor(scope, cursor),
    },
    secrets: localSecretBox(Buffer.alloc(32, 9)),
    now: () => clock,
    settings: () => settings,
  };
});

const hashes = new Map<string, Promise<string>>();
function hashOnce(password: string): Promise<string> {
  let hash = hashes.get(password);
  if (!hash) {
    hash = hashPassword(password);
    hashes.set(password, hash);
  }
  return hash;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Refusal);
  return (error as Refusal).code;
}

let counter = 0;
const email = () => `mfa${++counter}@example.com`;

/** A customer with TOTP enabled: its secret and recovery codes; the clock moved one step on. */
async function enrolled(roles: Role[] = ["customer"]) {
  const address = email();
  const { user } = await register(anonymous, { email: address, password: PASSWORD }, deps);
  const ctx = as(user.id, roles);
  const { secret, otpauthUri } = await enrolTotp(ctx, undefined, deps);
  expect(otpauthUri).toMatch(/^otpauth:\/\/totp\/MicroPay:/);
  const { recoveryCodes } = await verifyTotp(ctx, { code: totpCode(secret, clock) }, deps);
  clock += STEP_MS;
  return { id: user.id, email: address, secret, recoveryCodes, ctx };
}

async function challenge(address: string): Promise<MfaChallenge> {
  const out = await login(anonymous, { email: address, password: PASSWORD }, deps);
  if (!("mfaRequired" in out)) throw new Error("expected an MFA challenge");
  return out;
}

describe("TOTP enrolment", () => {
  it("is pending until verified, stores the secret sealed, and gives ten recovery codes", async () => {
    const address = email();
    const { user } = await register(anonymous, { email: address, password: PASSWORD }, deps);
    const ctx = as(user.id, ["customer"]);
    const { secret } = await enrolTotp(ctx, undefined, deps);
    const pending = store.users.get(user.id);
    expect(pending?.totpPending).toBeDefined();
    expect(pending?.totpPending).not.toContain(secret);
    expect(pending?.totpSecret).toBeUndefined();
    // Pending: the password alone still logs in.
    expect(await login(anonymous, { email: address, password: PASSWORD }, deps)).toHaveProperty(
      "refreshToken",
    );
    expect(await refusal(verifyTotp(ctx, { code: "000000" }, deps))).toBe("validation_failed");
    const { recoveryCodes } = await verifyTotp(ctx, { code: totpCode(secret, clock) }, deps);
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    const stored = store.users.get(user.id);
    expect(stored?.totpSecret).toBeDefined();
    expect(stored?.recoveryCodes).toHaveLength(10);
    expect(stored?.recoveryCodes).not.toContain(recoveryCodes[0]);
    expect(await refusal(enrolTotp(ctx, undefined, deps))).toBe("mfa_already_enabled");
    expect(store.actions()).toContain("auth.mfa_enabled");
  });

  it("a sealed secret moved to another user does not open", async () => {
    const a = await enrolled();
    const b = await enrolled();
    const ua = store.users.get(a.id);
    const ub = store.users.get(b.id);
    if (!ua?.totpSecret || !ub) throw new Error("missing users");
    store.users.set(b.id, { ...ub, totpSecret: ua.totpSecret });
    const { mfaToken } = await challenge(b.email);
    await expect(
      completeMfaLogin(anonymous, { mfaToken, code: totpCode(a.secret, clock) }, deps),
    ).rejects.toThrow();
  });

  it("disables with a current code, and not with a replayed one", async () => {
    const u = await enrolled();
    const code = totpCode(u.secret, clock);
    const { mfaToken } = await challenge(u.email);
    await completeMfaLogin(anonymous, { mfaToken, code }, deps);
    expect(await refusal(disableTotp(u.ctx, { code }, deps))).toBe("validation_failed");
    clock += STEP_MS;
    await disableTotp(u.ctx, { code: totpCode(u.secret, clock) }, deps);
    expect(await login(anonymous, { email: u.email, password: PASSWORD }, deps)).toHaveProperty(
      "refreshToken",
    );
  });
});

describe("two-step login", () => {
  it("answers a challenge and no tokens, then a pair with amr pwd+otp for the code", async () => {
    const u = await enrolled();
    const first = await challenge(u.email);
    expect(first.methods).toEqual(["totp", "recovery_code"]);
    expect(issued).toHaveLength(0);
    const pair = await completeMfaLogin(
      anonymous,
      { mfaToken: first.mfaToken, code: totpCode(u.secret, clock) },
      deps,
    );
    expect(pair.refreshToken).toMatch(/^rt_/);
    expect(issued.at(-1)?.auth).toEqual({
      amr: ["pwd", "otp"],
      authTime: Math.floor(clock / 1000),
    });
    // The mfaToken is single use.
    expect(
      await refusal(
        completeMfaLogin(anonymous, { mfaToken: first.mfaToken, code: "123456" }, deps),
      ),
    ).toBe("invalid_mfa_token");
  });

  it("refuses a replayed code, even within its own step", async () => {
    const u = await enrolled();
    const code = totpCode(u.secret, clock);
    await completeMfaLogin(
      anonymous,
      { mfaToken: (await challenge(u.email)).mfaToken, code },
      deps,
    );
    const again = await challenge(u.email);
    expect(
      await refusal(completeMfaLogin(anonymous, { mfaToken: again.mfaToken, code }, deps)),
    ).toBe("invalid_credentials");
    expect(store.audit.some((e) => e.reason === "mfa_replayed")).toBe(true);
  });

  it("of two concurrent uses of one code, exactly one wins", async () => {
    const u = await enrolled();
    const code = totpCode(u.secret, clock);
    const [a, b] = [await challenge(u.email), await challenge(u.email)];
    const results = await Promise.allSettled([
      completeMfaLogin(anonymous, { mfaToken: a.mfaToken, code }, deps),
      completeMfaLogin(anonymous, { mfaToken: b.mfaToken, code }, deps),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
  });

  it("accepts each recovery code once", async () => {
    const u = await enrolled();
    const code = u.recoveryCodes[0] ?? "";
    const pair = await completeMfaLogin(
      anonymous,
      { mfaToken: (await challenge(u.email)).mfaToken, code: code.toUpperCase() },
      deps,
    );
    expect(pair.refreshToken).toMatch(/^rt_/);
    const again = await challenge(u.email);
    expect(
      await refusal(completeMfaLogin(anonymous, { mfaToken: again.mfaToken, code }, deps)),
    ).toBe("invalid_credentials");
    expect(store.users.get(u.id)?.recoveryCodes).toHaveLength(9);
  });

  it("an expired mfaToken is refused", async () => {
    const u = await enrolled();
    const { mfaToken } = await challenge(u.email);
    clock += 61_000;
    expect(
      await refusal(
        completeMfaLogin(anonymous, { mfaToken, code: totpCode(u.secret, clock) }, deps),
      ),
    ).toBe("invalid_mfa_token");
  });

  it("wrong codes count toward the lockout: at the threshold even the right code is refused", async () => {
    const u = await enrolled();
    for (let i = 0; i < THRESHOLD; i++) {
      const { mfaToken } = await challenge(u.email);
      expect(await refusal(completeMfaLogin(anonymous, { mfaToken, code: "000000" }, deps))).toBe(
        "invalid_credentials",
      );
    }
    expect(store.users.get(u.id)?.lockedUntil).toBe(clock + 1800 * 1000);
    // Locked: the password step itself is refused now.
    expect(await refusal(login(anonymous, { email: u.email, password: PASSWORD }, deps))).toBe(
      "invalid_credentials",
    );
    expect(store.actions()).toContain("auth.account_locked");
  });

  it("a right password does not reset the failures the code guesses made", async () => {
    const u = await enrolled();
    for (let i = 0; i < 3; i++) {
      const { mfaToken } = await challenge(u.email);
      await refusal(completeMfaLogin(anonymous, { mfaToken, code: "000000" }, deps));
    }
    expect(store.users.get(u.id)?.failedCount).toBe(3);
  });
});

describe("sessions", () => {
  async function mfaPair(u: Awaited<ReturnType<typeof enrolled>>): Promise<TokenPair> {
    const { mfaToken } = await challenge(u.email);
    return completeMfaLogin(anonymous, { mfaToken, code: totpCode(u.secret, clock) }, deps);
  }

  it("refresh keeps amr and auth_time", async () => {
    const u = await enrolled();
    const pair = await mfaPair(u);
    const loginAuth = issued.at(-1)?.auth;
    clock += 60_000;
    await refresh(anonymous, { refreshToken: pair.refreshToken }, deps);
    expect(issued.at(-1)?.auth).toEqual(loginAuth);
  });

  it("a family ends at its absolute lifetime however often it is refreshed", async () => {
    const u = await enrolled();
    let token = (await mfaPair(u)).refreshToken;
    for (let i = 0; i < 5; i++) {
      clock += 1_200_000; // 20 minutes
      token = (await refresh(anonymous, { refreshToken: token }, deps)).refreshToken;
    }
    clock += 1_200_001; // 2 h + 1 ms after login: past the 7200 s absolute limit
    expect(await refusal(refresh(anonymous, { refreshToken: token }, deps))).toBe(
      "invalid_refresh_token",
    );
  });

  it("a privileged family dies after the idle limit, and lives for its shorter absolute one", async () => {
    const admin = await createAdmin(anonymous, { email: email(), password: PASSWORD }, deps);
    const u = await enrolled();
    await adminSetRoles(as(admin.userId, ["admin"]), { userId: u.id, roles: ["auditor"] }, deps);
    const first = await mfaPair(u);
    clock += 900_001;
    expect(await refusal(refresh(anonymous, { refreshToken: first.refreshToken }, deps))).toBe(
      "invalid_refresh_token",
    );
    clock += STEP_MS;
    let token = (await mfaPair(u)).refreshToken;
    for (let i = 0; i < 4; i++) {
      clock += 840_000; // 14 minutes: never idle for 15
      token = (await refresh(anonymous, { refreshToken: token }, deps)).refreshToken;
    }
    clock += 240_000; // 60 min in: the 3600 s privileged absolute limit
    expect(await refusal(refresh(anonymous, { refreshToken: token }, deps))).toBe(
      "invalid_refresh_token",
    );
  });
});

describe("passwords", () => {
  it("registration refuses a common password with a field error", async () => {
    const error = await register(
      anonymous,
      { email: email(), password: "password1234" },
      deps,
    ).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Refusal);
    expect((error as Refusal).code).toBe("validation_failed");
    expect((error as Refusal).errors?.[0]?.path).toBe("body.password");
  });

  it("admin creation refuses one too", async () => {
    expect(
      await refusal(createAdmin(anonymous, { email: email(), password: "qwertyuiop123" }, deps)),
    ).toBe("validation_failed");
  });
});

describe("privileged routes (the auth middleware's rule)", () => {
  const now = 1_800_000_000;
  const p = (roles: Role[], amr: string[], authTime = now): Principal => ({
    userId: "usr_X",
    roles,
    tokenId: "j",
    amr,
    authTime,
  });
  const adminRoute = { auth: { roles: ["admin", "auditor"] as Role[] } };
  const mixed = { auth: { roles: ["customer", "admin"] as Role[] } };
  const stepUp = { auth: { roles: ["admin"] as Role[] }, stepUp: true };

  it("an admin route refuses a password-only token, not one with otp", () => {
    expect(missingAssurance(adminRoute, p(["admin"], ["pwd"]), now, 900)).toBe("mfa_required");
    expect(missingAssurance(adminRoute, p(["auditor"], ["pwd"]), now, 900)).toBe("mfa_required");
    expect(missingAssurance(adminRoute, p(["admin"], ["pwd", "otp"]), now, 900)).toBeUndefined();
  });

  it("a route open to customers needs nothing more of a customer-admin", () => {
    expect(missingAssurance(mixed, p(["customer", "admin"], ["pwd"]), now, 900)).toBeUndefined();
    expect(missingAssurance(mixed, p(["admin"], ["pwd"]), now, 900)).toBe("mfa_required");
  });

  it("enrolment routes are exempt", () => {
    expect(
      missingAssurance({ ...adminRoute, mfa: "exempt" }, p(["admin"], ["pwd"]), now, 900),
    ).toBeUndefined();
  });

  it("step-up routes need a recent auth_time", () => {
    expect(missingAssurance(stepUp, p(["admin"], ["pwd", "otp"], now - 900), now, 900)).toBe(
      undefined,
    );
    expect(missingAssurance(stepUp, p(["admin"], ["pwd", "otp"], now - 901), now, 900)).toBe(
      "reauthentication_required",
    );
  });
});
