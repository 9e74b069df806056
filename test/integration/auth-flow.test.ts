import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { describe, expect, inject, it } from "vitest";
import { totpCode } from "../../lib/auth/totp.ts";
import {
  loginAs,
  loginWithCode,
  registerUser,
  stackTable,
  uniqueEmail,
  uniquePassword,
} from "../support/auth.ts";
import { call, missingSecurityHeaders } from "../support/http.ts";

/** The identity flow through the local gateway: register, login, me, jwks, admin:create. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

const register = (body: unknown) => call("POST", "/v1/auth/register", { body });

describe("POST /v1/auth/register", () => {
  it("creates a customer and one account in the default currency (201)", async () => {
    const email = uniqueEmail("Mixed.Case");
    const res = await register({ email: email.toUpperCase(), password: uniquePassword() });
    expect(res.status).toBe(201);
    expect(missingSecurityHeaders(res.headers)).toEqual([]);
    const body = res.json as { user: Record<string, unknown>; account: Record<string, unknown> };
    expect(body.user).toMatchObject({ email: email.toLowerCase(), roles: ["customer"] });
    expect(Object.keys(body.user).sort()).toEqual(["createdAt", "email", "id", "roles"]);
    expect(body.user.id).toMatch(/^usr_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(body.account).toMatchObject({
      ownerId: body.user.id,
      currency: "USD",
      balance: 0,
      status: "active",
    });
    expect(body.account.id).toMatch(/^acc_/);
  });

  it("opens the account in a requested currency, and refuses one off the allow-list", async () => {
    const ok = await register({
      email: uniqueEmail(),
      password: uniquePassword(),
      currency: "JPY",
    });
    expect(ok.status).toBe(201);
    expect((ok.json as { account: { currency: string } }).account.currency).toBe("JPY");
    const bad = await register({
      email: uniqueEmail(),
      password: uniquePassword(),
      currency: "XXX",
    });
    expect(bad.status).toBe(400);
    const lower = await register({
      email: uniqueEmail(),
      password: uniquePassword(),
      currency: "usd",
    });
    expect(lower.status).toBe(400);
  });

  it("answers 409 for an email already used, whatever its case, and audits each one", async () => {
    const u = await registerUser();
    const password = uniquePassword();
    const requestId = `register-taken-${u.user.id}`;
    const again = await call("POST", "/v1/auth/register", {
      body: { email: u.email.toUpperCase(), password },
      headers: { "X-Request-Id": requestId },
    });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: "email_taken" });
    // The enumeration answer API.md requires is visible to operators (SECURITY.md).
    const table = stackTable(inject("stack"));
    try {
      const events = await table.auditEvents((e) => e.actor.clientRequestId === requestId);
      expect(events).toEqual([
        expect.objectContaining({
          action: "user.registration_refused",
          outcome: "failure",
          reason: "email_taken",
          targets: { userId: u.user.id },
        }),
      ]);
      expect(JSON.stringify(events)).not.toContain(password);
    } finally {
      table.destroy();
    }
  });

  it("never accepts roles or any other extra member (mass assignment is a 400)", async () => {
    for (const extra of [
      { roles: ["admin"] },
      { role: "admin" },
      { id: "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV" },
      { passwordHash: "$2b$04$abcdefghijklmnopqrstuu" },
      { generation: 5 },
    ]) {
      const email = uniqueEmail();
      const res = await register({ email, password: uniquePassword(), ...extra });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ code: "validation_failed" });
      // Nothing was created.
      const login = await call("POST", "/v1/auth/login", {
        body: { email, password: "irrelevant password" },
      });
      expect(login.status).toBe(401);
    }
  });

  it("takes passwords of 12..72 UTF-8 bytes only", async () => {
    // Random-looking text, so the strength rule (zxcvbn) does not decide these cases.
    const strong = "Kq7vT2mZ9pL4xW8bR3nY6cH1jF5gD0sAuE".repeat(3);
    const accents = "éàüöñçøåßþðæìíîïòóôõùúûýÿ".repeat(2);
    const cases: [string, number][] = [
      [strong.slice(0, 11), 400],
      [strong.slice(0, 12), 201],
      [strong.slice(0, 72), 201],
      [strong.slice(0, 73), 400],
      [accents.slice(0, 36), 201], // 72 bytes, 36 characters
      [accents.slice(0, 37), 400], // 74 bytes, 37 characters: under 72 characters, still refused
      ["€".repeat(4), 400], // 12 bytes, but four characters are too easy to guess
      ["€".repeat(3) + "a".repeat(2), 400], // 11 bytes
    ];
    for (const [password, status] of cases) {
      const res = await register({ email: uniqueEmail(), password });
      expect(res.status, `${Buffer.byteLength(password)} bytes`).toBe(status);
    }
  });

  it("refuses a common password with a field error on body.password (offline check)", async () => {
    for (const password of ["password1234", "qwertyuiop123", "iloveyou2026!"]) {
      const res = await register({ email: uniqueEmail(), password });
      expect(res.status, password).toBe(400);
      expect(res.json).toMatchObject({
        code: "validation_failed",
        errors: [{ path: "body.password" }],
      });
    }
  });

  it("answers a 1 MB password with a fast 413/400, never a bcrypt run", async () => {
    const started = performance.now();
    const res = await register({ email: uniqueEmail(), password: "a".repeat(1024 * 1024) });
    expect([400, 413]).toContain(res.status);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("refuses a malformed email and a non-JSON body", async () => {
    expect((await register({ email: "not-an-email", password: uniquePassword() })).status).toBe(
      400,
    );
    const form = await call("POST", "/v1/auth/register", {
      rawBody: "email=a@b.c&password=123456789012",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(415);
  });
});

describe("login, me and the JWKS", () => {
  it("logs in and returns a Bearer pair whose access token matches API.md", async () => {
    const u = await registerUser();
    const pair = await loginAs(u.email.toUpperCase(), u.password);
    expect(pair).toMatchObject({ tokenType: "Bearer", expiresIn: 900 });
    expect(pair.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    expect(decodeProtectedHeader(pair.accessToken)).toMatchObject({ alg: "ES256", typ: "at+jwt" });
    const claims = decodeJwt(pair.accessToken);
    expect(claims).toMatchObject({
      iss: "https://micropay.local",
      aud: "micropay-api",
      sub: u.user.id,
      roles: ["customer"],
    });
    expect(typeof claims.jti).toBe("string");
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(900);
  });

  it("GET /v1/me shows id, email, roles, createdAt and nothing else", async () => {
    const u = await registerUser();
    const res = await call("GET", "/v1/me", { token: u.accessToken });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      id: u.user.id,
      email: u.email,
      roles: ["customer"],
      createdAt: u.user.createdAt,
    });
  });

  it("GET /.well-known/jwks.json serves the public key that verifies tokens", async () => {
    const res = await call<{ keys: Record<string, string>[] }>("GET", "/.well-known/jwks.json");
    expect(res.status).toBe(200);
    expect(res.json.keys).toHaveLength(1);
    const key = res.json.keys[0];
    expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(key).not.toHaveProperty("d");
    const u = await registerUser();
    expect(decodeProtectedHeader(u.accessToken).kid).toBe(key?.kid);
  });
});

describe("npm run admin:create against the local stack", () => {
  function adminCreate(args: string[], stdin: string, env: Record<string, string> = {}) {
    return new Promise<{ code: number | null; out: string }>((done) => {
      const child = spawn(
        join(root, "node_modules/.bin/tsx"),
        [join(root, "scripts/admin-create.ts"), ...args],
        {
          cwd: root,
          env: {
            ...process.env,
            MICROPAY_DATA_DIR: inject("stack").dataDir,
            MICROPAY_BCRYPT_COST: "10",
            MICROPAY_ADMIN_PASSWORD: "",
            MICROPAY_TABLE_NAME: "",
            ...env,
          },
          stdio: ["pipe", "pipe", "pipe"],
        },
      );
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on("data", (d: Buffer) => {
        out += d.toString();
      });
      child.on("close", (code) => done({ code, out }));
      child.stdin.end(stdin);
    });
  }

  it("creates an admin from a password on stdin (never argv), idempotently", async () => {
    const email = uniqueEmail("ops");
    const password = uniquePassword();
    const first = await adminCreate(["--local", "--email", email], `${password}\n`);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/created admin usr_/);
    expect(first.out).not.toContain(password);
    // Enrolled in TOTP at once: the URI is printed once, and the login needs the code.
    const uri = /otpauth:\/\/totp\/\S+/.exec(first.out)?.[0] ?? "";
    const secret = new URL(uri).searchParams.get("secret") ?? "";
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const pair = await loginWithCode(email, password, totpCode(secret, Date.now()));
    expect(decodeJwt(pair.accessToken)).toMatchObject({ roles: ["admin"], amr: ["pwd", "otp"] });
    const again = await adminCreate(["--local", "--email", email], `${password}\n`);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/already an admin/);
    expect(again.out).not.toMatch(/otpauth:/);
  }, 60_000);

  it("refuses a password flag, a short password, and a registered non-admin email", async () => {
    const flag = await adminCreate(["--local", "--email", uniqueEmail(), "--password", "x"], "");
    expect(flag.code).toBe(2);
    const short = await adminCreate(["--local", "--email", uniqueEmail()], "short\n");
    expect(short.code).toBe(2);
    const weak = await adminCreate(["--local", "--email", uniqueEmail()], "password1234\n");
    expect(weak.code, weak.out).toBe(2);
    expect(weak.out).toMatch(/too common/);
    const u = await registerUser();
    const taken = await adminCreate(["--local", "--email", u.email], `${uniquePassword()}\n`);
    expect(taken.code).toBe(1);
    expect((await call("GET", "/v1/me", { token: u.accessToken })).json).toMatchObject({
      roles: ["customer"],
    });
  }, 60_000);
});
