import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { inject } from "vitest";
import { totpCode } from "../../lib/auth/totp.ts";
import type { Role } from "../../lib/routes/types.ts";
import { localClient } from "../../local/dynamodb.ts";
import { apiUrl, call } from "./http.ts";
import { stackDataDirs, TEST_ADMIN } from "./spawn-stack.ts";

/**
 * Identity helpers for the stack-tier suites. Every helper talks to the shared test
 * stack unless `base` (another stack's apiUrl) is given, and throws with the status
 * and problem code when a step fails, so a broken precondition is loud.
 *
 *   registerUser()            a new customer with one USD account (or `currency`)
 *   loginAs(email, password)  a token pair
 *   loginWithCode(...)        the two-step login of a user with MFA
 *   enrolTotp(token)          enrols TOTP for the token's user: secret, recovery codes
 *   adminToken()              an access token of the seeded admin (TEST_ADMIN), with
 *                             its second factor (amr pwd+otp)
 *   approverToken()           a token of a second admin (made with admin:create), the
 *                             approver of dual control; setRoles approves grants with it
 *   tokenWithRoles(roles)     a new user whose roles an admin replaced, with tokens
 *                             that carry those roles (a privileged one enrolled in
 *                             TOTP and logged in with a recovery code)
 */
export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: "Bearer";
  readonly expiresIn: number;
}

export interface TestUser {
  readonly id: string;
  readonly email: string;
  readonly roles: readonly Role[];
  readonly createdAt: string;
}

export interface TestAccount {
  readonly id: string;
  readonly ownerId: string;
  readonly currency: string;
  readonly balance: number;
  readonly status: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface RegisteredUser {
  readonly user: TestUser;
  readonly account: TestAccount;
  readonly email: string;
  readonly password: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Privileged users from tokenWithRoles: their TOTP secret and unused recovery codes. */
  readonly totpSecret?: string;
  readonly recoveryCodes?: readonly string[];
}

function expectStatus(step: string, res: { status: number; text: string }, status: number) {
  if (res.status !== status) {
    throw new Error(`${step}: expected ${status}, got ${res.status} ${res.text.slice(0, 300)}`);
  }
}

/** A fresh, unique email (lower case) for one test user. */
export function uniqueEmail(tag = "user"): string {
  return `${tag}-${Date.now().toString(36)}-${randomBytes(5).toString("hex")}@micropay.test`;
}

/** A fresh password (well inside 12..72 bytes). */
export function uniquePassword(): string {
  return `pw-${randomBytes(12).toString("base64url")}`;
}

export async function loginAs(email: string, password: string, base?: string): Promise<TokenPair> {
  const res = await call<TokenPair & { mfaRequired?: true }>("POST", "/v1/auth/login", {
    body: { email, password },
    ...(base ? { base } : {}),
  });
  expectStatus(`login ${email}`, res, 200);
  if (res.json.mfaRequired) throw new Error(`login ${email}: MFA required (use loginWithCode)`);
  return res.json;
}

/** The two-step login: password, then `code` (a TOTP or recovery code) with the mfaToken. */
export async function loginWithCode(
  email: string,
  password: string,
  code: string | ((mfaToken: string) => string),
  base?: string,
): Promise<TokenPair> {
  const b = base ? { base } : {};
  const first = await call<{ mfaRequired?: true; mfaToken?: string }>("POST", "/v1/auth/login", {
    body: { email, password },
    ...b,
  });
  expectStatus(`login ${email}`, first, 200);
  if (!first.json.mfaRequired || !first.json.mfaToken) {
    throw new Error(`login ${email}: expected an MFA challenge`);
  }
  const mfaToken = first.json.mfaToken;
  const res = await call<TokenPair>("POST", "/v1/auth/mfa", {
    body: { mfaToken, code: typeof code === "string" ? code : code(mfaToken) },
    ...b,
  });
  expectStatus(`mfa login ${email}`, res, 200);
  return res.json;
}

/** Enrols TOTP for the token's user (enrol + verify with the current code). */
export async function enrolTotp(
  accessToken: string,
  base?: string,
): Promise<{ secret: string; recoveryCodes: string[] }> {
  const b = base ? { base } : {};
  const start = await call<{ secret: string }>("POST", "/v1/me/mfa/totp", {
    token: accessToken,
    ...b,
  });
  expectStatus("mfa enrol", start, 201);
  const verify = await call<{ recoveryCodes: string[] }>("POST", "/v1/me/mfa/totp/verify", {
    token: accessToken,
    body: { code: totpCode(start.json.secret, Date.now()) },
    ...b,
  });
  expectStatus("mfa verify", verify, 200);
  return { secret: start.json.secret, recoveryCodes: verify.json.recoveryCodes };
}

export async function registerUser(
  opts: { email?: string; password?: string; currency?: string; base?: string } = {},
): Promise<RegisteredUser> {
  const email = opts.email ?? uniqueEmail();
  const password = opts.password ?? uniquePassword();
  const base = opts.base ? { base: opts.base } : {};
  const res = await call<{ user: TestUser; account: TestAccount }>("POST", "/v1/auth/register", {
    body: { email, password, ...(opts.currency ? { currency: opts.currency } : {}) },
    ...base,
  });
  expectStatus(`register ${email}`, res, 201);
  const tokens = await loginAs(email, password, opts.base);
  return {
    user: res.json.user,
    account: res.json.account,
    email,
    password,
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
  };
}

const adminTokens = new Map<string, Promise<string>>();

/**
 * An access token of the stack's seeded admin (TEST_ADMIN), logged in with its TOTP
 * code (amr pwd+otp). A TOTP code is accepted once per 30-second step per user, and
 * test files run in parallel processes, so one token per stack is shared by every
 * process through a file in the temp folder (written under a lock directory), and
 * renewed by a new login when it is older than TOKEN_REUSE_MS (inside the access
 * token's life and MICROPAY_STEP_UP_SECONDS). Each login uses the next unused step
 * (the server accepts one step ahead); setup waits for a step only when two are spent.
 */
const TOKEN_REUSE_MS = 8 * 60_000;
const STEP_MS = 30_000;

export function adminToken(base?: string): Promise<string> {
  const key = base ?? "shared";
  let token = adminTokens.get(key);
  if (!token) {
    token = sharedAdminToken(base ?? apiUrl(), base);
    token.catch(() => adminTokens.delete(key));
    adminTokens.set(key, token);
    // Renewed before it ages out (a long test file outlives one token's reuse window).
    setTimeout(() => adminTokens.delete(key), TOKEN_REUSE_MS).unref();
  }
  return token;
}

interface AdminTokenFile {
  readonly accessToken?: string;
  readonly at?: number;
  readonly lastStep?: number;
}

function adminFiles(url: string) {
  const id = createHash("sha256").update(url).digest("hex").slice(0, 16);
  const file = join(tmpdir(), `micropay-test-admin-${id}.json`);
  return { file, lock: `${file}.lock` };
}

function readState(file: string): AdminTokenFile {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as AdminTokenFile;
  } catch {
    return {};
  }
}

/**
 * The next TOTP step of the seeded admin no test process has used (recorded in the
 * shared file): the current one, or the next (the server accepts one step ahead);
 * setup waits for a step only when both are spent. Call with the lock held.
 */
async function takeAdminStep(file: string): Promise<number> {
  const state = readState(file);
  const now = Math.floor(Date.now() / STEP_MS);
  const step = Math.max(now, (state.lastStep ?? 0) + 1);
  if (step > now + 1) {
    await new Promise((r) => setTimeout(r, (step - 1) * STEP_MS - Date.now() + 50));
  }
  writeFileSync(file, JSON.stringify({ ...state, lastStep: step }));
  return step;
}

/** A TOTP code of the seeded admin for a login of its own (the walkthrough's), step unshared. */
export async function adminTotpCode(base?: string): Promise<string> {
  const { file, lock } = adminFiles(base ?? apiUrl());
  await acquire(lock);
  try {
    return totpCode(TEST_ADMIN.totpSecret, (await takeAdminStep(file)) * STEP_MS);
  } finally {
    rmdirSync(lock);
  }
}

async function sharedAdminToken(url: string, base: string | undefined): Promise<string> {
  const { file, lock } = adminFiles(url);
  await acquire(lock);
  try {
    const state = readState(file);
    if (state.accessToken && state.at && Date.now() - state.at < TOKEN_REUSE_MS) {
      // Still this stack's (a new stack on the same port has another signing key)?
      const me = await call("GET", "/v1/me", {
        token: state.accessToken,
        ...(base ? { base } : {}),
      });
      if (me.status === 200) return state.accessToken;
    }
    for (let attempt = 0; ; attempt++) {
      const step = await takeAdminStep(file);
      try {
        const pair = await loginWithCode(
          TEST_ADMIN.email,
          TEST_ADMIN.password,
          totpCode(TEST_ADMIN.totpSecret, step * STEP_MS),
          base,
        );
        writeFileSync(
          file,
          JSON.stringify({ accessToken: pair.accessToken, at: Date.now(), lastStep: step }),
        );
        return pair.accessToken;
      } catch (error) {
        // The step was spent outside this bookkeeping: the next one.
        if (attempt >= 3) throw error;
      }
    }
  } finally {
    rmdirSync(lock);
  }
}

/** A lock directory (mkdir is atomic); one older than a minute is a dead holder's. */
async function acquire(lock: string): Promise<void> {
  for (;;) {
    try {
      mkdirSync(lock);
      return;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 60_000) rmdirSync(lock);
      } catch {}
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * PUT /v1/admin/users/{userId}/roles as the seeded admin; returns the response. A grant
 * of admin or auditor is an approval under dual control (202): it is approved at once
 * by a second admin (`approverToken`), and the approval's answer (200, the approval
 * with `result`: the user) is returned. `requestRolesRaw` gives the 202 itself.
 */
export async function setRoles(userId: string, roles: readonly Role[], base?: string) {
  const res = await requestRolesRaw(userId, roles, base);
  if (res.status !== 202) return res;
  return approveAs(await approverToken(base), String(res.json.approvalId), base);
}

/** PUT /v1/admin/users/{userId}/roles as the seeded admin, dual control left to the caller. */
export async function requestRolesRaw(userId: string, roles: readonly Role[], base?: string) {
  return call<{ approvalId?: string; status?: string }>("PUT", `/v1/admin/users/${userId}/roles`, {
    body: { roles },
    token: await adminToken(base),
    ...(base ? { base } : {}),
  });
}

/** POST /v1/admin/approvals/{id}/approve with `token`. */
export function approveAs(token: string, approvalId: string, base?: string) {
  return call<{ status: string; result?: Record<string, unknown>; code?: string }>(
    "POST",
    `/v1/admin/approvals/${approvalId}/approve`,
    { token, ...(base ? { base } : {}) },
  );
}

/** What `npm run admin:create` made: the admin, its TOTP secret and recovery codes, its output. */
export interface OutOfBandAdmin {
  readonly userId: string;
  readonly email: string;
  readonly password: string;
  readonly totpSecret: string;
  readonly recoveryCodes: readonly string[];
  readonly output: string;
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** The data folder of the stack at `base` (the shared one unless given). */
export function dataDirOf(base?: string): string {
  if (!base) return inject("stack").dataDir;
  const dir = stackDataDirs.get(base);
  if (!dir) throw new Error(`no data folder known for ${base} (spawned in this process?)`);
  return dir;
}

/**
 * A new admin made out of band, as an operator would: `npm run admin:create -- --local`
 * (scripts/admin-create.ts) against the stack's data folder, the password on stdin.
 * Dual control needs an approver other than the seeded admin, and the API cannot make one.
 */
export function createAdminOutOfBand(base?: string, tag = "approver"): Promise<OutOfBandAdmin> {
  const email = uniqueEmail(tag);
  const password = uniquePassword();
  return new Promise((done, fail) => {
    const child = spawn(
      join(repoRoot, "node_modules/.bin/tsx"),
      [join(repoRoot, "scripts/admin-create.ts"), "--local", "--email", email],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          MICROPAY_DATA_DIR: dataDirOf(base),
          MICROPAY_BCRYPT_COST: "10",
          MICROPAY_ADMIN_PASSWORD: "",
          MICROPAY_TABLE_NAME: "",
        },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.on("close", (code) => {
      const userId = /created admin (usr_\w+)/.exec(output)?.[1];
      const uri = /otpauth:\/\/totp\/\S+/.exec(output)?.[0];
      const codes = /recovery codes[^:]*: (.+)/.exec(output)?.[1]?.trim().split(/\s+/) ?? [];
      if (code !== 0 || !userId || !uri) {
        fail(new Error(`admin:create failed (${code}): ${output.slice(0, 500)}`));
        return;
      }
      const totpSecret = new URL(uri).searchParams.get("secret") ?? "";
      done({ userId, email, password, totpSecret, recoveryCodes: codes, output });
    });
    child.stdin.end(`${password}\n`);
  });
}

const approvers = new Map<string, Promise<{ admin: OutOfBandAdmin; used: number }>>();
const approverTokens = new Map<string, { token: string; at: number }>();

/**
 * An access token (amr pwd+otp) of a second admin of the stack at `base`, made once per
 * test process with `createAdminOutOfBand`: the approver of dual control. Renewed with
 * one of its recovery codes when older than TOKEN_REUSE_MS (inside step-up).
 */
export async function approverToken(base?: string): Promise<string> {
  const key = base ?? "shared";
  let made = approvers.get(key);
  if (!made) {
    made = createAdminOutOfBand(base).then((admin) => ({ admin, used: 0 }));
    made.catch(() => approvers.delete(key));
    approvers.set(key, made);
  }
  const state = await made;
  const cached = approverTokens.get(key);
  if (cached && Date.now() - cached.at < TOKEN_REUSE_MS) return cached.token;
  const { admin } = state;
  const code =
    state.used === 0
      ? totpCode(admin.totpSecret, Date.now())
      : (admin.recoveryCodes[state.used - 1] ?? "");
  state.used++;
  const pair = await loginWithCode(admin.email, admin.password, code, base);
  approverTokens.set(key, { token: pair.accessToken, at: Date.now() });
  return pair.accessToken;
}

/**
 * A new user holding exactly `roles`: registered (as a customer), roles replaced by
 * the admin, then a fresh login so the tokens carry the new roles.
 */
export async function tokenWithRoles(
  roles: readonly Role[],
  opts: { base?: string; currency?: string } = {},
): Promise<RegisteredUser> {
  const registered = await registerUser(opts);
  const privileged = roles.includes("admin") || roles.includes("auditor");
  const mfa = privileged ? await enrolTotp(registered.accessToken, opts.base) : undefined;
  const res = await setRoles(registered.user.id, roles, opts.base);
  expectStatus(`set roles ${roles.join(",")}`, res, 200);
  const tokens = mfa
    ? await loginWithCode(
        registered.email,
        registered.password,
        mfa.recoveryCodes[0] ?? "",
        opts.base,
      )
    : await loginAs(registered.email, registered.password, opts.base);
  return {
    ...registered,
    ...(mfa ? { totpSecret: mfa.secret, recoveryCodes: mfa.recoveryCodes.slice(1) } : {}),
    user: { ...registered.user, roles: [...roles] },
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
  };
}

/** A DynamoDB document client on a stack's DynamoDB Local (tests read and poke items). */
export function stackTable(info: { dynamodbEndpoint: string; tableName: string }) {
  const doc = DynamoDBDocumentClient.from(localClient(info.dynamodbEndpoint));
  return {
    doc,
    tableName: info.tableName,
    async get(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
      const out = await doc.send(
        new GetCommand({ TableName: info.tableName, Key: key, ConsistentRead: true }),
      );
      return out.Item;
    },
    /** Audit outbox items (standalone and transactional) matching a predicate. */
    async auditEvents(
      match: (e: {
        action: string;
        reason?: string;
        actor: { requestId: string; clientRequestId?: string };
      }) => boolean,
    ) {
      const found: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const out = await doc.send(
          new ScanCommand({
            TableName: info.tableName,
            FilterExpression: "#t = :t",
            ExpressionAttributeNames: { "#t": "type" },
            ExpressionAttributeValues: { ":t": "audit_event" },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const item of out.Items ?? []) {
          const e = item.event as Parameters<typeof match>[0];
          if (e && match(e)) found.push(item.event as Record<string, unknown>);
        }
        start = out.LastEvaluatedKey;
      } while (start);
      return found;
    },
    destroy: () => doc.destroy(),
  };
}
