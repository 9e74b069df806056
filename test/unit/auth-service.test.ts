import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { hashPassword, needsRehash, verifyPassword } from "../../lib/auth/passwords.ts";
import type { IdentityDeps, PasswordHasher } from "../../lib/auth/port.ts";
import {
  adminListUsers,
  adminSetRoles,
  createAdmin,
  login,
  logout,
  me,
  refresh,
  register,
  type TokenPair,
} from "../../lib/auth/service.ts";
import { parseConfig, resetConfigForTests } from "../../lib/config.ts";
import { localSecretBox } from "../../lib/crypto/secret-box.ts";
import { Refusal } from "../../lib/problems.ts";
import type { Role } from "../../lib/routes/types.ts";
import { decodeCursor, encodeCursor, setCursorKey } from "../../lib/store/cursor.ts";
import { anonymous, as, MemoryIdentityStore } from "../support/memory-identity-store.ts";

/**
 * The identity operations (lib/auth/service.ts) against the in-memory store: no
 * DynamoDB, no HTTP, no signing key. Passwords are real bcrypt at the lowest cost
 * the configuration allows (10); tokens come from a fake issuer that shows the roles
 * it signed. The DynamoDB store is proven by the stack-tier suites.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const THRESHOLD = 3;
const LOCK_SECONDS = 600;
const PASSWORD = "correct horse battery";

let store: MemoryIdentityStore;
let clock: number;
let deps: IdentityDeps;
let issued: { userId: string; roles: Role[] }[];

beforeAll(() => {
  process.env.MICROPAY_BCRYPT_COST = "10";
  resetConfigForTests();
  setCursorKey("auth-service unit test cursor key");
});

beforeEach(() => {
  store = new MemoryIdentityStore();
  clock = Date.parse("2026-03-01T12:00:00Z");
  issued = [];
  const settings = parseConfig({
    MICROPAY_LOCKOUT_THRESHOLD: String(THRESHOLD),
    MICROPAY_LOCKOUT_DURATION_SECONDS: String(LOCK_SECONDS),
  });
  deps = {
    store,
    passwords: { hash: hashOnce, verify: verifyPassword, needsRehash },
    tokens: {
      issue: async (userId, roles, _auth) => {
        issued.push({ userId, roles: [...roles] });
        return { token: `at:${userId}:${roles.join(",")}:${issued.length}`, expiresIn: 900 };
      },
    },
    cursors: {
      encode: async (scope, position) => encodeCursor(scope, position),
      decode: async (scope, cursor) => decodeCursor(scope, cursor),
    },
    secrets: localSecretBox(Buffer.alloc(32, 7)),
    now: () => clock,
    settings: () => settings,
  };
});

/** A password login of a user without MFA: the token pair. */
async function passwordLogin(input: { email: string; password: string }): Promise<TokenPair> {
  const out = await login(anonymous, input, deps);
  if ("mfaRequired" in out) throw new Error("expected a token pair, got an MFA challenge");
  return out;
}

/** The refusal code `p` rejects with (fails the test if it resolves). */
async function refusal(p: Promise<unknown>): Promise<string> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Refusal);
  return (error as Refusal).code;
}

/** bcrypt per distinct password once per file (each hash is ~50 ms even at cost 10). */
const hashes = new Map<string, Promise<string>>();
function hashOnce(password: string): Promise<string> {
  let hash = hashes.get(password);
  if (!hash) {
    hash = hashPassword(password);
    hashes.set(password, hash);
  }
  return hash;
}

let counter = 0;
const email = () => `user${++counter}@example.com`;

async function newCustomer() {
  const address = email();
  const { user } = await register(anonymous, { email: address, password: PASSWORD }, deps);
  return { id: user.id, email: address };
}

async function newAdmin() {
  const address = email();
  const made = await createAdmin(anonymous, { email: address, password: PASSWORD }, deps);
  return { id: made.userId, email: address, ctx: as(made.userId, ["admin"]) };
}

describe("register", () => {
  it("creates a customer with one account in the default currency, audited in the same write", async () => {
    const out = await register(anonymous, { email: " Ada@Example.COM ", password: PASSWORD }, deps);
    expect(out.user).toMatchObject({ email: "ada@example.com", roles: ["customer"] });
    expect(out.account).toMatchObject({ ownerId: out.user.id, currency: "USD", balance: 0 });
    expect(store.audit).toHaveLength(1);
    expect(store.audit[0]).toMatchObject({
      action: "user.registered",
      targets: { userId: out.user.id, accountId: out.account.id },
      actor: { userId: null, sourceIp: "198.51.100.7", requestId: "gw-1" },
    });
    // The stored hash is bcrypt, never the password.
    const stored = store.users.get(out.user.id);
    expect(stored?.passwordHash).toMatch(/^\$2[aby]\$10\$/);
  });

  it("refuses a taken email (any case) as email_taken and audits the probe", async () => {
    const first = await newCustomer();
    const code = await refusal(
      register(anonymous, { email: first.email.toUpperCase(), password: PASSWORD }, deps),
    );
    expect(code).toBe("email_taken");
    expect(store.users.size).toBe(1);
    expect(store.audit.at(-1)).toMatchObject({
      action: "user.registration_refused",
      outcome: "failure",
      reason: "email_taken",
      targets: { userId: first.id },
    });
  });

  it("refuses a currency off the allow-list before writing anything", async () => {
    const code = await refusal(
      register(anonymous, { email: email(), password: PASSWORD, currency: "XXX" }, deps),
    );
    expect(code).toBe("validation_failed");
    expect(store.calls).toEqual([]);
  });
});

describe("login", () => {
  it("answers a Bearer pair whose token carries the user's roles and starts a session", async () => {
    const u = await newCustomer();
    const pair = await passwordLogin({ email: u.email, password: PASSWORD });
    expect(pair).toMatchObject({ tokenType: "Bearer", expiresIn: 900 });
    expect(pair.refreshToken).toMatch(/^rt_/);
    expect(issued).toEqual([{ userId: u.id, roles: ["customer"] }]);
    expect(store.families.size).toBe(1);
    expect(store.actions().at(-1)).toBe("auth.login_succeeded");
    expect(store.users.get(u.id)).toMatchObject({ failedCount: 0, pendingCount: 0 });
  });

  it("answers the same refusal, after the same store round trips, for a wrong password and an unknown email", async () => {
    const u = await newCustomer();
    store.calls.length = 0;
    expect(
      await refusal(login(anonymous, { email: u.email, password: "wrong password!" }, deps)),
    ).toBe("invalid_credentials");
    const wrong = store.calls.splice(0);
    expect(await refusal(login(anonymous, { email: email(), password: PASSWORD }, deps))).toBe(
      "invalid_credentials",
    );
    const unknown = store.calls.splice(0);
    expect(unknown.length).toBe(wrong.length);
    expect(
      store.audit
        .filter((e) => e.action === "auth.login_failed")
        .map((e) => [e.reason, e.targets.userId]),
    ).toEqual([
      ["wrong_password", u.id],
      ["unknown_email", undefined],
    ]);
    expect(issued).toEqual([]);
  });

  it("locks the account at the threshold: then even the right password is refused, until the lock lapses", async () => {
    const u = await newCustomer();
    for (let i = 0; i < THRESHOLD; i++) {
      expect(
        await refusal(login(anonymous, { email: u.email, password: `wrong pass ${i}` }, deps)),
      ).toBe("invalid_credentials");
    }
    expect(store.actions().filter((a) => a === "auth.account_locked")).toHaveLength(1);
    expect(store.users.get(u.id)?.lockedUntil).toBe(clock + LOCK_SECONDS * 1000);

    store.calls.length = 0;
    expect(await refusal(login(anonymous, { email: u.email, password: PASSWORD }, deps))).toBe(
      "invalid_credentials",
    );
    // Refused unjudged, at the cost of an unknown email's round trips.
    expect(store.calls).toEqual([
      "getUserForLogin",
      "reserveLoginAttempt",
      "loginRoundTripForNobody",
      "recordSecurityEvent",
    ]);
    expect(store.audit.at(-1)).toMatchObject({ action: "auth.login_failed", reason: "locked" });
    expect(issued).toEqual([]);

    clock += LOCK_SECONDS * 1000 + 1;
    await login(anonymous, { email: u.email, password: PASSWORD }, deps);
    expect(store.users.get(u.id)).toMatchObject({ failedCount: 0 });
    expect(store.users.get(u.id)?.lockedUntil).toBeUndefined();
  });

  it("never judges more parallel guesses than the threshold", async () => {
    const u = await newCustomer();
    const guesses = Array.from({ length: THRESHOLD * 3 }, (_, i) =>
      refusal(login(anonymous, { email: u.email, password: `parallel guess ${i}` }, deps)),
    );
    expect(new Set(await Promise.all(guesses))).toEqual(new Set(["invalid_credentials"]));
    const reasons = store.audit
      .filter((e) => e.action === "auth.login_failed")
      .map((e) => e.reason);
    expect(reasons.filter((r) => r === "wrong_password")).toHaveLength(THRESHOLD);
    expect(reasons.filter((r) => r === "locked")).toHaveLength(THRESHOLD * 2);
  });

  it("a role change that commits during the password check: the token carries the new roles", async () => {
    const admin = await newAdmin();
    const u = await newCustomer();
    const racing: PasswordHasher = {
      ...deps.passwords,
      verify: async (password, hash) => {
        const ok = await verifyPassword(password, hash);
        await adminSetRoles(admin.ctx, { userId: u.id, roles: ["merchant"] }, deps);
        return ok;
      },
    };
    await login(anonymous, { email: u.email, password: PASSWORD }, { ...deps, passwords: racing });
    // Signed with the roles read first, refused by the generation check, signed again.
    expect(issued.map((t) => t.roles)).toEqual([["customer"], ["merchant"]]);
    expect(store.families.size).toBe(1);
    expect([...store.families.values()][0]?.generation).toBe(1);
  });
});

describe("refresh", () => {
  it("rotates: the new token works, the old one is spent", async () => {
    const u = await newCustomer();
    const first = await passwordLogin({ email: u.email, password: PASSWORD });
    const second = await refresh(anonymous, { refreshToken: first.refreshToken }, deps);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    const third = await refresh(anonymous, { refreshToken: second.refreshToken }, deps);
    expect(third.refreshToken).toMatch(/^rt_/);
    expect(issued.map((t) => t.roles)).toEqual([["customer"], ["customer"], ["customer"]]);
  });

  it("a reused token revokes the whole family, audited", async () => {
    const u = await newCustomer();
    const first = await passwordLogin({ email: u.email, password: PASSWORD });
    const second = await refresh(anonymous, { refreshToken: first.refreshToken }, deps);
    expect(await refusal(refresh(anonymous, { refreshToken: first.refreshToken }, deps))).toBe(
      "invalid_refresh_token",
    );
    expect(store.actions().slice(-2)).toEqual(["auth.refresh_token_reused", "auth.tokens_revoked"]);
    expect(store.audit.at(-1)).toMatchObject({ reason: "refresh_token_reuse" });
    // The legitimate holder's newer token died with the family.
    expect(await refusal(refresh(anonymous, { refreshToken: second.refreshToken }, deps))).toBe(
      "invalid_refresh_token",
    );
  });

  it("refuses a malformed token without touching the store, and an expired one", async () => {
    expect(await refusal(refresh(anonymous, { refreshToken: "rt_nope" }, deps))).toBe(
      "invalid_refresh_token",
    );
    expect(store.calls).toEqual([]);
    const u = await newCustomer();
    const pair = await passwordLogin({ email: u.email, password: PASSWORD });
    clock += 31 * 24 * 3600 * 1000;
    expect(await refusal(refresh(anonymous, { refreshToken: pair.refreshToken }, deps))).toBe(
      "invalid_refresh_token",
    );
  });
});

describe("logout", () => {
  it("revokes the caller's session; another user's token is left alone and audited", async () => {
    const u = await newCustomer();
    const v = await newCustomer();
    const mine = await passwordLogin({ email: u.email, password: PASSWORD });
    const theirs = await passwordLogin({ email: v.email, password: PASSWORD });

    await logout(as(u.id, ["customer"]), { refreshToken: theirs.refreshToken }, deps);
    expect(store.audit.at(-1)).toMatchObject({ action: "auth.logout_denied", outcome: "failure" });
    await refresh(anonymous, { refreshToken: theirs.refreshToken }, deps);

    await logout(as(u.id, ["customer"]), { refreshToken: mine.refreshToken }, deps);
    expect(store.audit.at(-1)).toMatchObject({ action: "auth.tokens_revoked", reason: "logout" });
    expect(await refusal(refresh(anonymous, { refreshToken: mine.refreshToken }, deps))).toBe(
      "invalid_refresh_token",
    );
    // Garbage and unknown tokens: nothing to do, no refusal.
    await logout(as(u.id, ["customer"]), { refreshToken: "not a token" }, deps);
  });
});

describe("roles", () => {
  it("a role change revokes every session and reaches tokens at the next login", async () => {
    const admin = await newAdmin();
    const u = await newCustomer();
    const pair = await passwordLogin({ email: u.email, password: PASSWORD });
    const view = await adminSetRoles(
      admin.ctx,
      { userId: u.id, roles: ["merchant", "customer", "merchant"] },
      deps,
    );
    expect(view).toMatchObject({ id: u.id, roles: ["customer", "merchant"] });
    expect(store.actions().slice(-2)).toEqual(["user.roles_changed", "auth.tokens_revoked"]);
    expect(await refusal(refresh(anonymous, { refreshToken: pair.refreshToken }, deps))).toBe(
      "invalid_refresh_token",
    );
    await login(anonymous, { email: u.email, password: PASSWORD }, deps);
    expect(issued.at(-1)?.roles).toEqual(["customer", "merchant"]);
    expect(await me(as(u.id, ["customer", "merchant"]), undefined, deps)).toMatchObject({
      roles: ["customer", "merchant"],
    });
  });

  it("the last admin cannot give up the admin role; with a second admin it can", async () => {
    const first = await newAdmin();
    expect(
      await refusal(adminSetRoles(first.ctx, { userId: first.id, roles: ["customer"] }, deps)),
    ).toBe("last_admin");
    expect(store.users.get(first.id)?.roles).toEqual(["admin"]);
    const u = await newCustomer();
    await adminSetRoles(first.ctx, { userId: u.id, roles: ["admin"] }, deps);
    await adminSetRoles(first.ctx, { userId: first.id, roles: ["customer"] }, deps);
    expect(store.admins).toBe(1);
    expect(
      await refusal(adminSetRoles(first.ctx, { userId: u.id, roles: ["auditor"] }, deps)),
    ).toBe("last_admin");
  });

  it("an unknown user is not_found", async () => {
    const admin = await newAdmin();
    const ghost = "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV";
    expect(
      await refusal(adminSetRoles(admin.ctx, { userId: ghost, roles: ["customer"] }, deps)),
    ).toBe("not_found");
  });

  it("creating an admin is idempotent and never changes an existing user", async () => {
    const admin = await newAdmin();
    const again = await createAdmin(
      anonymous,
      { email: admin.email, password: "other password" },
      deps,
    );
    expect(again).toEqual({ created: false, userId: admin.id, roles: ["admin"] });
    const u = await newCustomer();
    expect(await createAdmin(anonymous, { email: u.email, password: PASSWORD }, deps)).toEqual({
      created: false,
      userId: u.id,
      roles: ["customer"],
    });
    expect(store.actions().filter((a) => a === "user.admin_created")).toHaveLength(1);
  });
});

describe("admin user list", () => {
  it("pages newest first with a cursor bound to the calling admin", async () => {
    const admin = await newAdmin();
    const ids = [admin.id];
    for (let i = 0; i < 4; i++) ids.push((await newCustomer()).id);
    const page1 = await adminListUsers(admin.ctx, { limit: 3 }, deps);
    expect(page1.data.map((u) => u.id)).toEqual(ids.slice().reverse().slice(0, 3));
    expect(page1.hasMore).toBe(true);
    const cursor = page1.nextCursor ?? "";
    const page2 = await adminListUsers(admin.ctx, { limit: 3, cursor }, deps);
    expect(page2).toMatchObject({ hasMore: false, nextCursor: null });
    expect(page2.data.map((u) => u.id)).toEqual(ids.slice(0, 2).reverse());
    const other = await newAdmin();
    expect(await refusal(adminListUsers(other.ctx, { limit: 3, cursor }, deps))).toBe(
      "validation_failed",
    );
  });
});

describe("the identity domain's imports", () => {
  it("lib/auth imports neither lib/http, lib/store nor the AWS SDK", () => {
    const dir = join(root, "lib", "auth");
    const bad: string[] = [];
    for (const file of readdirSync(dir)) {
      const text = readFileSync(join(dir, file), "utf8");
      for (const m of text.matchAll(/\bfrom\s+"([^"]+)"|\bimport\s*\(?\s*"([^"]+)"/g)) {
        const spec = m[1] ?? m[2] ?? "";
        if (/\/(http|store)\/|^@aws-sdk\//.test(spec)) bad.push(`${file}: ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
