import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import bcrypt from "bcryptjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userKey } from "../../lib/store/keys.ts";
import {
  adminToken,
  adminTotpCode,
  createAdminOutOfBand,
  loginWithCode,
  registerUser,
  stackTable,
  uniqueEmail,
  uniquePassword,
} from "../support/auth.ts";
import { type ApiResponse, call } from "../support/http.ts";
import { type SpawnedStack, spawnStack, TEST_ADMIN } from "../support/spawn-stack.ts";

/**
 * Suites that need a stack of their own: the last-admin guard (the shared stack's
 * admin count changes under other files), the bcrypt cost upgrade (cost 11 here), and
 * the secret scan of every response, the stack's own output at DEBUG level, the
 * audit log and the audit outbox items.
 */
let stack: SpawnedStack;
let base: string;
let table: ReturnType<typeof stackTable>;

/** Every response this file sees, and whether it legitimately carries tokens. */
const responses: { res: ApiResponse; issuesTokens: boolean }[] = [];
const secrets = {
  passwords: new Set<string>([TEST_ADMIN.password, TEST_ADMIN.totpSecret]),
  tokens: new Set<string>(),
};

async function api<T = unknown>(
  method: string,
  path: string,
  init: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const res = await call<T>(method, path, { ...init, base });
  const issuesTokens =
    path === "/v1/auth/login" || path === "/v1/auth/refresh" || path === "/v1/auth/mfa";
  responses.push({ res, issuesTokens });
  const j = res.json as { accessToken?: string; refreshToken?: string } | undefined;
  if (issuesTokens && j?.accessToken) secrets.tokens.add(j.accessToken);
  if (issuesTokens && j?.refreshToken) secrets.tokens.add(j.refreshToken);
  if (init.token) secrets.tokens.add(init.token);
  return res;
}

beforeAll(async () => {
  stack = await spawnStack({ MICROPAY_BCRYPT_COST: "11", MICROPAY_LOG_LEVEL: "DEBUG" });
  base = stack.info.apiUrl;
  table = stackTable(stack.info);
}, 120_000);

afterAll(async () => {
  table?.destroy();
  await stack?.stop();
});

describe("last-admin protection", () => {
  it("the only admin cannot drop its own admin role (409); with a second admin it can", async () => {
    const token = await adminToken(base);
    const me = await api<{ id: string }>("GET", "/v1/me", { token });
    const firstAdmin = me.json.id;
    const blocked = await api("PUT", `/v1/admin/users/${firstAdmin}/roles`, {
      token,
      body: { roles: ["customer"] },
    });
    expect(blocked.status).toBe(409);
    expect(blocked.json).toMatchObject({ code: "last_admin" });
    // Keeping admin while adding a role that is not privileged is fine (no approval).
    const keep = await api("PUT", `/v1/admin/users/${firstAdmin}/roles`, {
      token,
      body: { roles: ["customer", "admin"] },
    });
    expect(keep.status).toBe(200);

    // A second admin cannot come from the only admin through the API (dual control:
    // the grant waits for an approver that does not exist); `npm run admin:create` is
    // the out-of-band way.
    const token2 = await adminTokenAfterChange();
    const hopeful = await registerUser({ base });
    secrets.passwords.add(hopeful.password);
    const grant = await setRolesWith(token2, hopeful.user.id, ["admin"]);
    expect(grant.status).toBe(202);
    const second = await createAdminOutOfBand(base, "second");
    secrets.passwords.add(second.password);
    secrets.passwords.add(second.totpSecret);
    const secondAdmin = await loginWithCode(
      second.email,
      second.password,
      second.recoveryCodes[0] ?? "",
      base,
    );
    secrets.tokens.add(secondAdmin.accessToken);
    secrets.tokens.add(secondAdmin.refreshToken);

    // Two admins demoting themselves at once: exactly one may succeed.
    const results = await Promise.all([
      setRolesWith(token2, firstAdmin, ["customer"]),
      setRolesWith(secondAdmin.accessToken, second.userId, ["customer"]),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const adminCount = await table.get({ pk: "META#ADMINS", sk: "COUNTER" });
    expect(adminCount?.count).toBe(1);
  });
});

/** The role change above revoked the first admin's sessions: log in again. */
async function adminTokenAfterChange(): Promise<string> {
  return (await adminLogin()).json.accessToken;
}

/** The seeded admin's two-step login (password, then a TOTP code), recorded like the rest. */
async function adminLogin() {
  const first = await api<{ mfaToken: string }>("POST", "/v1/auth/login", {
    body: { email: TEST_ADMIN.email, password: TEST_ADMIN.password },
  });
  secrets.tokens.add(first.json.mfaToken);
  return api<{ accessToken: string }>("POST", "/v1/auth/mfa", {
    body: { mfaToken: first.json.mfaToken, code: await adminTotpCode(base) },
  });
}

function setRolesWith(token: string, userId: string, roles: string[]) {
  return api("PUT", `/v1/admin/users/${userId}/roles`, { token, body: { roles } });
}

describe("bcrypt cost upgrade", () => {
  it("a hash weaker than the configured cost is upgraded at the next successful login", async () => {
    const u = await registerUser({ base });
    secrets.passwords.add(u.password);
    const stored = await table.get(userKey(u.user.id));
    expect(bcrypt.getRounds(String(stored?.passwordHash))).toBe(11);
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: userKey(u.user.id),
        UpdateExpression: "SET passwordHash = :h",
        ExpressionAttributeValues: { ":h": bcrypt.hashSync(u.password, 10) },
      }),
    );
    expect(
      (await api("POST", "/v1/auth/login", { body: { email: u.email, password: "x".repeat(12) } }))
        .status,
    ).toBe(401);
    expect(bcrypt.getRounds(String((await table.get(userKey(u.user.id)))?.passwordHash))).toBe(10);
    const ok = await api("POST", "/v1/auth/login", {
      body: { email: u.email, password: u.password },
    });
    expect(ok.status).toBe(200);
    const upgraded = String((await table.get(userKey(u.user.id)))?.passwordHash);
    expect(bcrypt.getRounds(upgraded)).toBe(11);
    expect(await bcrypt.compare(u.password, upgraded)).toBe(true);
    expect(
      (await api("POST", "/v1/auth/login", { body: { email: u.email, password: u.password } }))
        .status,
    ).toBe(200);
  });
});

describe("no response, log line or audit record holds a password, hash, token or key", () => {
  it("after every identity flow, scanning all of them finds nothing", async () => {
    // Exercise every flow, success and failure, through `api` (which records answers).
    const email = uniqueEmail("scan");
    const password = uniquePassword();
    secrets.passwords.add(password);
    expect((await api("POST", "/v1/auth/register", { body: { email, password } })).status).toBe(
      201,
    );
    await api("POST", "/v1/auth/register", { body: { email, password } }); // 409
    await api("POST", "/v1/auth/register", { body: { email: uniqueEmail(), password: "short" } });
    const login = await api<{ accessToken: string; refreshToken: string }>(
      "POST",
      "/v1/auth/login",
      { body: { email, password } },
    );
    const { accessToken, refreshToken } = login.json;
    for (let i = 0; i < 6; i++) {
      const wrong = `${password}-wrong-${i}`;
      secrets.passwords.add(wrong);
      await api("POST", "/v1/auth/login", { body: { email, password: wrong } });
    }
    await api("POST", "/v1/auth/login", { body: { email: uniqueEmail(), password } });
    await api("GET", "/v1/me", { token: accessToken });
    const rotated = await api<{ refreshToken: string; accessToken: string }>(
      "POST",
      "/v1/auth/refresh",
      { body: { refreshToken } },
    );
    await api("POST", "/v1/auth/refresh", { body: { refreshToken } }); // reuse
    await api("POST", "/v1/auth/logout", {
      token: rotated.json.accessToken,
      body: { refreshToken: rotated.json.refreshToken },
    });
    await api("GET", "/v1/admin/users", { token: accessToken }); // 403
    await api("GET", "/v1/me", { token: `${accessToken.slice(0, -4)}AAAA` }); // forged
    await api("GET", "/v1/me", {
      headers: { Authorization: `Basic ${btoa(`${email}:${password}`)}` },
    });
    const admin = await adminLogin();
    await api("GET", "/v1/admin/users?limit=100", { token: admin.json.accessToken });
    await api("GET", "/.well-known/jwks.json");

    // What must never appear.
    const keyJwk = JSON.parse(
      readFileSync(join(stack.info.dataDir, "keys", "signing-key.jwk.json"), "utf8"),
    ) as { d: string };
    const items = await scanAll();
    const hashes = items
      .map((i) => i.passwordHash)
      .filter((h): h is string => typeof h === "string");
    const refreshHashes = items
      .filter((i) => i.type === "refresh_token")
      .map((i) => String(i.hash));
    expect(hashes.length).toBeGreaterThan(2);
    expect(refreshHashes.length).toBeGreaterThan(2);
    const never = [...secrets.passwords, ...hashes, ...refreshHashes, keyJwk.d];
    const bcryptShape = /\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}/;

    for (const { res, issuesTokens } of responses) {
      for (const s of never) expect(res.text).not.toContain(s);
      expect(res.text).not.toMatch(bcryptShape);
      expect(res.text).not.toMatch(/passwordHash|failedCount|lockedUntil/);
      if (!issuesTokens) for (const t of secrets.tokens) expect(res.text).not.toContain(t);
    }

    const logs = stack.output();
    expect(logs.length).toBeGreaterThan(0);
    const auditLog = existsSync(stack.info.auditLog)
      ? readFileSync(stack.info.auditLog, "utf8")
      : "";
    const auditItems = JSON.stringify(items.filter((i) => i.type === "audit_event"));
    expect(auditItems).toContain("auth.login_failed");
    for (const [name, text] of [
      ["stack output", logs],
      ["audit log", auditLog],
      ["audit outbox", auditItems],
    ] as const) {
      for (const s of [...never, ...secrets.tokens]) {
        expect(text.includes(s), `${name} contains a secret`).toBe(false);
      }
      expect(text, name).not.toMatch(bcryptShape);
    }
  }, 120_000);
});

async function scanAll(): Promise<Record<string, unknown>[]> {
  const all: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await table.doc.send(
      new ScanCommand({
        TableName: table.tableName,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    all.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return all;
}
