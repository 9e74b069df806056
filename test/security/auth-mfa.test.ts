import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { totpCode } from "../../lib/auth/totp.ts";
import { userKey } from "../../lib/store/keys.ts";
import {
  adminToken,
  adminTotpCode,
  enrolTotp,
  loginAs,
  loginWithCode,
  registerUser,
  setRoles,
  stackTable,
  tokenWithRoles,
} from "../support/auth.ts";
import { call } from "../support/http.ts";
import { type SpawnedStack, spawnStack, TEST_ADMIN } from "../support/spawn-stack.ts";

/**
 * Privileged access over HTTP (issue 16; API.md "Privileged access"; SECURITY.md maps
 * PCI DSS v4 8.2.8, 8.3.4, 8.4.1/8.4.2 and 8.5.1 to these tests): TOTP enrolment and
 * the two-step login, a replayed code, a recovery code used twice, code guesses
 * locking the account, admin and auditor routes refusing a password-only token, and
 * (on a stack of its own with one-second limits) step-up and the session limits.
 */
const stack = inject("stack");
const table = stackTable(stack);
const STEP_MS = 30_000;

afterAll(() => table.destroy());

async function challenge(email: string, password: string, base?: string) {
  const res = await call<{ mfaRequired?: boolean; mfaToken: string; methods: string[] }>(
    "POST",
    "/v1/auth/login",
    { body: { email, password }, ...(base ? { base } : {}) },
  );
  expect(res.status).toBe(200);
  return res.json;
}

const mfa = (mfaToken: string, code: string, base?: string) =>
  call<{ accessToken: string; refreshToken: string; code?: string }>("POST", "/v1/auth/mfa", {
    body: { mfaToken, code },
    ...(base ? { base } : {}),
  });

describe("TOTP enrolment and the two-step login", () => {
  it("enrols, stores the secret sealed, then logs in with password and code (amr pwd+otp)", async () => {
    const u = await registerUser();
    const { secret, recoveryCodes } = await enrolTotp(u.accessToken);
    expect(recoveryCodes).toHaveLength(10);
    const item = await table.get(userKey(u.user.id));
    expect(JSON.stringify(item)).not.toContain(secret);
    expect(JSON.stringify(item)).not.toContain(recoveryCodes[0]);
    const first = await challenge(u.email, u.password);
    expect(first).toEqual({
      mfaRequired: true,
      mfaToken: expect.stringMatching(/^mfa_/),
      methods: ["totp", "recovery_code"],
    });
    expect(first).not.toHaveProperty("accessToken");
    // Enrolment spent this step's code: the next step's is accepted (one step of drift).
    const res = await mfa(first.mfaToken, totpCode(secret, Date.now() + STEP_MS));
    expect(res.status).toBe(200);
    const claims = decodeJwt(res.json.accessToken);
    expect(claims.amr).toEqual(["pwd", "otp"]);
    expect(claims.auth_time).toBeGreaterThan(Date.now() / 1000 - 60);
    // Refresh keeps amr and auth_time.
    const refreshed = await call<{ accessToken: string }>("POST", "/v1/auth/refresh", {
      body: { refreshToken: res.json.refreshToken },
    });
    expect(decodeJwt(refreshed.json.accessToken)).toMatchObject({
      amr: ["pwd", "otp"],
      auth_time: claims.auth_time,
    });
    // The mfaToken was single use.
    const again = await mfa(first.mfaToken, totpCode(secret, Date.now() + STEP_MS));
    expect(again.status).toBe(401);
    expect(again.json.code).toBe("invalid_mfa_token");
  });

  it("refuses a replayed code", async () => {
    const u = await registerUser();
    const { secret } = await enrolTotp(u.accessToken);
    const code = totpCode(secret, Date.now() + STEP_MS);
    expect((await mfa((await challenge(u.email, u.password)).mfaToken, code)).status).toBe(200);
    const replay = await mfa((await challenge(u.email, u.password)).mfaToken, code);
    expect(replay.status).toBe(401);
    expect(replay.json.code).toBe("invalid_credentials");
    const events = await table.auditEvents((e) => e.reason === "mfa_replayed");
    expect(events.length).toBeGreaterThan(0);
  });

  it("accepts a recovery code once", async () => {
    const u = await registerUser();
    const { recoveryCodes } = await enrolTotp(u.accessToken);
    const code = recoveryCodes[3] ?? "";
    expect((await mfa((await challenge(u.email, u.password)).mfaToken, code)).status).toBe(200);
    const twice = await mfa((await challenge(u.email, u.password)).mfaToken, code);
    expect(twice.status).toBe(401);
  });

  it("locks the account after 10 wrong codes: then the right code and the password are refused", async () => {
    const u = await registerUser();
    const { secret } = await enrolTotp(u.accessToken);
    for (let i = 0; i < 10; i++) {
      const wrong = await mfa((await challenge(u.email, u.password)).mfaToken, "000000");
      expect(wrong.status).toBe(401);
    }
    const item = await table.get(userKey(u.user.id));
    // Locked for the configured 30 minutes (PCI DSS v4 8.3.4).
    expect(Number(item?.lockedUntil) - Date.now()).toBeGreaterThan(29 * 60_000);
    const login = await call("POST", "/v1/auth/login", {
      body: { email: u.email, password: u.password },
    });
    expect(login.status).toBe(401);
    expect(totpCode(secret, Date.now())).toMatch(/^\d{6}$/);
  });
});

describe("privileged routes need a second factor", () => {
  it("an admin's or auditor's password-only token gets 403 mfa_required; it can still enrol", async () => {
    for (const role of ["admin", "auditor"] as const) {
      const u = await registerUser();
      expect((await setRoles(u.user.id, [role])).status).toBe(200);
      const pwdOnly = await loginAs(u.email, u.password);
      expect(decodeJwt(pwdOnly.accessToken).amr).toEqual(["pwd"]);
      const denied = await call<{ code: string }>("GET", "/v1/admin/users", {
        token: pwdOnly.accessToken,
      });
      expect(denied.status, role).toBe(403);
      expect(denied.json.code).toBe("mfa_required");
      // Enrolment is open to it, and the login with a code then reaches the route.
      const { recoveryCodes } = await enrolTotp(pwdOnly.accessToken);
      const pair = await loginWithCode(u.email, u.password, recoveryCodes[0] ?? "");
      const ok = await call("GET", "/v1/admin/users", { token: pair.accessToken });
      expect(ok.status, role).toBe(200);
    }
  });

  it("a customer-admin keeps customer routes with a password-only token", async () => {
    const u = await registerUser();
    expect((await setRoles(u.user.id, ["customer", "admin"])).status).toBe(200);
    const pwdOnly = await loginAs(u.email, u.password);
    expect((await call("GET", "/v1/accounts", { token: pwdOnly.accessToken })).status).toBe(200);
    expect((await call("GET", "/v1/admin/users", { token: pwdOnly.accessToken })).status).toBe(403);
  });

  it("the seeded admin's token (from the test helper) carries otp", async () => {
    expect(decodeJwt(await adminToken()).amr).toEqual(["pwd", "otp"]);
  });
});

describe("step-up and session limits (a stack with one-second limits)", () => {
  let own: SpawnedStack;
  let base: string;

  beforeAll(async () => {
    own = await spawnStack({
      MICROPAY_STEP_UP_SECONDS: "1",
      MICROPAY_PRIVILEGED_SESSION_IDLE_SECONDS: "1",
      MICROPAY_SESSION_ABSOLUTE_SECONDS: "2",
    });
    base = own.info.apiUrl;
  }, 120_000);

  afterAll(async () => {
    await own?.stop();
  });

  /** Waits (setup only) until `seconds` have passed since `sinceMs`. */
  const waitPast = (sinceMs: number, seconds: number) =>
    new Promise((r) => setTimeout(r, Math.max(0, sinceMs + seconds * 1000 + 1100 - Date.now())));

  it("a stale auth_time gets 403 reauthentication_required on step-up routes only", async () => {
    const u = await registerUser({ base });
    const admin = await loginWithCode(
      TEST_ADMIN.email,
      TEST_ADMIN.password,
      await adminTotpCode(base),
      base,
    );
    const loggedIn = Number(decodeJwt(admin.accessToken).auth_time) * 1000;
    const put = () =>
      call<{ code: string }>("PUT", `/v1/admin/users/${u.user.id}/roles`, {
        token: admin.accessToken,
        body: { roles: ["customer", "merchant"] },
        base,
      });
    // Refreshed at once (inside the one-second privileged idle limit): it keeps auth_time.
    const refreshed = await call<{ accessToken: string }>("POST", "/v1/auth/refresh", {
      body: { refreshToken: admin.refreshToken },
      base,
    });
    expect(refreshed.status).toBe(200);
    await waitPast(loggedIn, 1);
    const stale = await put();
    expect(stale.status).toBe(403);
    expect(stale.json.code).toBe("reauthentication_required");
    // Not a step-up route: still fine.
    const list = await call("GET", "/v1/admin/users", { token: admin.accessToken, base });
    expect(list.status).toBe(200);
    // The refreshed token is as stale: only a new login steps up.
    const stillStale = await call<{ code: string }>("PUT", `/v1/admin/users/${u.user.id}/roles`, {
      token: refreshed.json.accessToken,
      body: { roles: ["customer"] },
      base,
    });
    expect(stillStale.json.code).toBe("reauthentication_required");
  });

  it("a privileged session idle past its limit is dead; a customer's ends at its absolute limit", async () => {
    const a = await tokenWithRoles(["auditor"], { base });
    const used = Date.now();
    await waitPast(used, 1);
    const idle = await call("POST", "/v1/auth/refresh", {
      body: { refreshToken: a.refreshToken },
      base,
    });
    expect(idle.status).toBe(401);

    const c = await registerUser({ base });
    const started = Date.now();
    const first = await call<{ refreshToken: string }>("POST", "/v1/auth/refresh", {
      body: { refreshToken: c.refreshToken },
      base,
    });
    expect(first.status).toBe(200);
    await waitPast(started, 2);
    const late = await call("POST", "/v1/auth/refresh", {
      body: { refreshToken: first.json.refreshToken },
      base,
    });
    expect(late.status).toBe(401);
  });
});
