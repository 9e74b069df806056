import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMicroPayClient } from "../../client/index.ts";
import { generateApiKey } from "../../lib/auth/api-keys.ts";
import { readAuditLog, runAuditCli, waitForAuditLog } from "../support/audit.ts";
import { adminToken, type RegisteredUser, registerUser, tokenWithRoles } from "../support/auth.ts";
import { call } from "../support/http.ts";
import { deposit, expectOk, pay } from "../support/ledger.ts";
import { type SpawnedStack, spawnStack } from "../support/spawn-stack.ts";

/**
 * API keys end to end (issue 15, API.md "API keys for merchants' servers") on a stack
 * of their own, with DEBUG logs so the test can read every log line the functions
 * wrote, and lastUsedAt written at most once a second.
 */
let stack: SpawnedStack;
let base: string;
let merchant: RegisteredUser;
let other: RegisteredUser;
const secrets: string[] = [];

interface CreatedKey {
  id: string;
  name: string;
  scopes: string[];
  prefix: string;
  key: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}

async function createKey(token: string, body: Record<string, unknown>): Promise<CreatedKey> {
  const res = await call<CreatedKey>("POST", "/v1/api-keys", { base, token, body });
  expectOk("create key", res, 201);
  secrets.push(res.json.key);
  return res.json;
}

const get = (path: string, token: string) => call("GET", path, { base, token });

beforeAll(async () => {
  stack = await spawnStack({
    MICROPAY_LOG_LEVEL: "DEBUG",
    MICROPAY_API_KEY_LAST_USED_SECONDS: "1",
  });
  base = stack.info.apiUrl;
  [merchant, other] = await Promise.all([
    tokenWithRoles(["merchant"], { base }),
    registerUser({ base }),
  ]);
  const admin = await adminToken(base);
  expectOk("fund merchant", await deposit({ base, token: admin }, merchant.account.id, 100_000));
  expectOk("fund other", await deposit({ base, token: admin }, other.account.id, 100_000));
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

/** What a bad access token gets: every refused key must get exactly this. */
async function badTokenAnswer(path: string) {
  const res = await get(path, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln");
  return {
    status: res.status,
    code: (res.json as { code?: string }).code,
    detail: (res.json as { detail?: string }).detail,
    challenge: res.headers.get("www-authenticate"),
  };
}
async function answerOf(path: string, key: string) {
  const res = await get(path, key);
  return {
    status: res.status,
    code: (res.json as { code?: string }).code,
    detail: (res.json as { detail?: string }).detail,
    challenge: res.headers.get("www-authenticate"),
  };
}

describe("creating and listing keys", () => {
  it("answers the secret once (mp_live_, checksummed) and lists keys without it", async () => {
    const created = await createKey(merchant.accessToken, {
      name: "shop backend",
      scopes: ["payments:read", "payments:write"],
    });
    expect(created).toMatchObject({
      id: expect.stringMatching(/^key_[0-9A-HJKMNP-TV-Z]{26}$/),
      name: "shop backend",
      scopes: ["payments:read", "payments:write"],
      expiresAt: null,
      lastUsedAt: null,
    });
    expect(created.key).toMatch(/^mp_live_[0-9A-Za-z]{38}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);

    const list = await get("/v1/api-keys", merchant.accessToken);
    expect(list.status).toBe(200);
    const mine = (list.json as { data: Record<string, unknown>[] }).data;
    expect(mine.map((k) => k.id)).toContain(created.id);
    for (const k of mine) expect(Object.keys(k).sort()).not.toContain("key");
    expect(list.text).not.toContain(created.key);
    expect(list.text).not.toContain(created.key.slice(created.prefix.length));
  });

  it("refuses admins and auditors (403), and unknown scopes (400)", async () => {
    const [auditor, admin] = await Promise.all([
      tokenWithRoles(["auditor"], { base }),
      adminToken(base),
    ]);
    for (const token of [admin, auditor.accessToken]) {
      const res = await call("POST", "/v1/api-keys", {
        base,
        token,
        body: { name: "x", scopes: ["payments:read"] },
      });
      expect(res.status, res.text).toBe(403);
    }
    const bad = await call("POST", "/v1/api-keys", {
      base,
      token: merchant.accessToken,
      body: { name: "x", scopes: ["admin:all"] },
    });
    expect(bad.status).toBe(400);
  });
});

describe("using a key", () => {
  let payKey: CreatedKey;
  let readKey: CreatedKey;

  beforeAll(async () => {
    payKey = await createKey(merchant.accessToken, { name: "pay", scopes: ["payments:write"] });
    readKey = await createKey(merchant.accessToken, { name: "read", scopes: ["accounts:read"] });
  });

  it("pays with payments:write, idempotent per owner (key and owner's token share the key space)", async () => {
    const body = {
      sourceAccountId: merchant.account.id,
      destinationAccountId: other.account.id,
      amount: 1_234,
      currency: "USD",
    };
    const idem = `api-key-${Date.now()}`;
    const first = await pay({ base, token: payKey.key, key: idem }, body);
    expectOk("pay with key", first, 201);
    const paymentId = (first.json as { id: string }).id;
    // The same Idempotency-Key by the owner with a token replays the key's payment...
    const replay = await pay({ base, token: merchant.accessToken, key: idem }, body);
    expect(replay.status).toBe(201);
    expect((replay.json as { id: string }).id).toBe(paymentId);
    // ...while another user's same Idempotency-Key is its own, new payment.
    const theirs = await pay(
      { base, token: other.accessToken, key: idem },
      { ...body, sourceAccountId: other.account.id, destinationAccountId: merchant.account.id },
    );
    expect(theirs.status).toBe(201);
    expect((theirs.json as { id: string }).id).not.toBe(paymentId);

    // The payment's audit record names the key (never its secret).
    const records = await waitForAuditLog(stack.info.auditLog, (rs) =>
      rs.some((r) => r.action === "payment.created" && r.targets.paymentId === paymentId),
    );
    const record = records.find(
      (r) => r.action === "payment.created" && r.targets.paymentId === paymentId,
    );
    expect(record?.actor).toMatchObject({ userId: merchant.user.id, apiKeyId: payKey.id });
  });

  it("the typed client accepts an API key", async () => {
    const server = createMicroPayClient({ baseUrl: base, apiKey: payKey.key });
    const { data, error, response } = await server.POST("/v1/payments", {
      body: {
        sourceAccountId: merchant.account.id,
        destinationAccountId: other.account.id,
        amount: 100,
        currency: "USD",
      },
    });
    expect(error, JSON.stringify(error)).toBeUndefined();
    expect(response.status).toBe(201);
    expect(data?.amount).toBe(100);
  });

  it("is 403 insufficient_scope outside its scopes (payments:write cannot read accounts)", async () => {
    for (const path of [`/v1/accounts/${merchant.account.id}`, "/v1/accounts"]) {
      const res = await get(path, payKey.key);
      expect(res.status, path).toBe(403);
      expect(res.json).toMatchObject({ code: "insufficient_scope" });
      expect(res.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
    }
    const refund = await call("POST", "/v1/payments/pay_01ARZ3NDEKTSV4RRFFQ69G5FAV/refunds", {
      base,
      token: payKey.key,
      body: { amount: 1 },
      headers: { "Idempotency-Key": `r-${Date.now()}` },
    });
    expect(refund.status).toBe(403);
    expect(refund.json).toMatchObject({ code: "insufficient_scope" });
  });

  it("sees only its owner's data: another user's account is 404", async () => {
    expect((await get(`/v1/accounts/${merchant.account.id}`, readKey.key)).status).toBe(200);
    const theirs = await get(`/v1/accounts/${other.account.id}`, readKey.key);
    expect(theirs.status).toBe(404);
  });

  it("never reaches auth, API-key or admin routes (403)", async () => {
    const attempts = [
      call("GET", "/v1/me", { base, token: readKey.key }),
      call("GET", "/v1/api-keys", { base, token: readKey.key }),
      call("POST", "/v1/api-keys", {
        base,
        token: readKey.key,
        body: { name: "child", scopes: ["accounts:read"] },
      }),
      call("DELETE", `/v1/api-keys/${payKey.id}`, { base, token: readKey.key }),
      call("GET", "/v1/admin/users", { base, token: readKey.key }),
      call("POST", "/v1/auth/logout", {
        base,
        token: readKey.key,
        body: { refreshToken: merchant.refreshToken },
      }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res.status, res.text).toBe(403);
      expect(res.json).toMatchObject({ code: "forbidden" });
    }
  });

  it("records lastUsedAt", async () => {
    const list = await get("/v1/api-keys", merchant.accessToken);
    const mine = (list.json as { data: CreatedKey[] }).data;
    expect(mine.find((k) => k.id === readKey.id)?.lastUsedAt).toEqual(expect.any(String));
  });
});

describe("refused keys get the bad-token 401", () => {
  it("a revoked key, from the very next request on; others' keys are 404", async () => {
    const key = await createKey(merchant.accessToken, {
      name: "soon gone",
      scopes: ["accounts:read"],
    });
    const path = `/v1/accounts/${merchant.account.id}`;
    expect((await get(path, key.key)).status).toBe(200);
    const foreign = await call("DELETE", `/v1/api-keys/${key.id}`, {
      base,
      token: other.accessToken,
    });
    expect(foreign.status).toBe(404);
    const revoked = await call("DELETE", `/v1/api-keys/${key.id}`, {
      base,
      token: merchant.accessToken,
    });
    expect(revoked.status).toBe(204);
    expect(await answerOf(path, key.key)).toEqual(await badTokenAnswer(path));
    expect((await answerOf(path, key.key)).status).toBe(401);
    const list = await get("/v1/api-keys", merchant.accessToken);
    expect((list.json as { data: CreatedKey[] }).data.map((k) => k.id)).not.toContain(key.id);
    expect(
      (await call("DELETE", `/v1/api-keys/${key.id}`, { base, token: merchant.accessToken }))
        .status,
    ).toBe(404);
  });

  it("an expired key", async () => {
    const expiresAt = new Date(Date.now() + 3_000).toISOString();
    const key = await createKey(merchant.accessToken, {
      name: "short",
      scopes: ["accounts:read"],
      expiresAt,
    });
    expect(key.expiresAt).toBe(expiresAt);
    const path = `/v1/accounts/${merchant.account.id}`;
    const before = await get(path, key.key);
    // Only meaningful if the request ran before the expiry (a very slow machine skips it).
    if (Date.now() < Date.parse(expiresAt)) expect(before.status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expiresAt) - Date.now() + 50)));
    expect(await answerOf(path, key.key)).toEqual(await badTokenAnswer(path));
  });

  it("a mistyped, a truncated and an unknown key", async () => {
    const key = await createKey(merchant.accessToken, { name: "typo", scopes: ["accounts:read"] });
    const path = `/v1/accounts/${merchant.account.id}`;
    const i = 15;
    const typo = key.key.slice(0, i) + (key.key[i] === "a" ? "b" : "a") + key.key.slice(i + 1);
    const unknown = generateApiKey(); // well-formed, checksum right, never issued
    const expected = await badTokenAnswer(path);
    expect(expected.status).toBe(401);
    expect(await answerOf(path, typo)).toEqual(expected);
    expect(await answerOf(path, key.key.slice(0, -1))).toEqual(expected);
    expect(await answerOf(path, unknown)).toEqual(expected);
    expect((await get(path, key.key)).status).toBe(200);
  });
});

describe("secrets stay out of logs and the audit trail", () => {
  it("audits creation and revocation by key id, and no secret appears in any log", async () => {
    const records = await waitForAuditLog(
      stack.info.auditLog,
      // Every record asserted below: the stream ships them in no fixed order.
      (rs) =>
        rs.filter((r) => r.action === "api_key.created").length >= secrets.length &&
        rs.some((r) => r.action === "api_key.revoked") &&
        rs.some((r) => r.action === "auth.token_rejected" && r.reason === "api_key_unknown") &&
        rs.some((r) => r.action === "payment.created" && r.actor.apiKeyId !== undefined),
    );
    const created = records.filter((r) => r.action === "api_key.created");
    expect(created.length).toBeGreaterThanOrEqual(secrets.length);
    for (const r of created) expect(r.targets.apiKeyId).toMatch(/^key_/);
    // A refused key's denial is audited (the revoked key's 401 names it).
    expect(
      records.some((r) => r.action === "auth.token_rejected" && r.reason === "api_key_unknown"),
    ).toBe(true);

    // The auditor's saved query finds what a key did, and its creation.
    const pay = created.find((r) => r.reason === "scopes payments:write");
    const keyId = pay?.targets.apiKeyId ?? "";
    const out = await runAuditCli(["query", "actions-by-api-key", "--api-key", keyId, "--json"], {
      MICROPAY_DATA_DIR: stack.info.dataDir,
    });
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const rows = (JSON.parse(out.stdout) as { rows: Record<string, unknown>[] }).rows;
    expect(rows.map((r) => r.action)).toEqual(
      expect.arrayContaining(["api_key.created", "payment.created"]),
    );
    expect(
      rows
        .filter((r) => r.action === "payment.created")
        .every((r) => r["actor.apiKeyId"] === keyId),
    ).toBe(true);

    const audit = readFileSync(stack.info.auditLog, "utf8");
    const logs = stack.output();
    expect(logs.length).toBeGreaterThan(0);
    expect(readAuditLog(stack.info.auditLog).records.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      const body = secret.slice("mp_live_".length);
      expect(audit).not.toContain(body);
      expect(logs).not.toContain(body);
    }
  });
});
