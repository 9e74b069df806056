import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseLocalSettings } from "../../local/settings.ts";
import { type LocalStack, startLocalStack } from "../../local/stack.ts";
import {
  adminToken,
  loginAs,
  type RegisteredUser,
  registerUser,
  uniqueEmail,
  uniquePassword,
} from "../support/auth.ts";
import { type ApiResponse, call } from "../support/http.ts";
import { balanceOf, deposit, expectOk, pay, refund, withdraw } from "../support/ledger.ts";
import { TEST_ADMIN } from "../support/spawn-stack.ts";

/**
 * Issue 12: a TransactionConflict on any route answers a retried success or a clean
 * 503 with Retry-After, never a 500.
 *
 * The model: DynamoDB cancels a TransactWriteItems that races another transaction on
 * one of its items with reason TransactionConflict (DynamoDB Local runs transactions
 * one at a time and never does). The test wraps the handlers' DynamoDB client, in
 * this process, so that the next `n` TransactWriteItems are cancelled that way before
 * they reach DynamoDB Local (a cancelled transaction writes nothing). "Transient" is
 * two such cancellations, "persistent" is every one. Per route family (auth:
 * register, login, refresh, logout, role change; ledger: account, deposit,
 * withdrawal, payment, refund, freeze): transient gives the route's normal answer,
 * persistent a 503 problem with Retry-After and nothing changed.
 */
let stack: LocalStack;
let base: string;
let admin: string;
let send: (command: unknown) => Promise<unknown>;
let docClientRef: { send: (command: unknown) => Promise<unknown> };

beforeAll(async () => {
  process.env.MICROPAY_BCRYPT_COST = "10";
  const settings = parseLocalSettings({
    PORT: "0",
    MICROPAY_IN_MEMORY: "0",
    MICROPAY_DATA_DIR: mkdtempSync(join(tmpdir(), "micropay-conflicts-")),
    MICROPAY_THROTTLE_RATE: "0",
    MICROPAY_THROTTLE_BURST: "0",
    MICROPAY_ADMIN_EMAIL: TEST_ADMIN.email,
    MICROPAY_ADMIN_PASSWORD: TEST_ADMIN.password,
    MICROPAY_ADMIN_TOTP_SECRET: TEST_ADMIN.totpSecret,
  });
  stack = await startLocalStack(settings);
  base = stack.info.apiUrl;
  const { docClient } = await import("../../lib/store/client.ts");
  docClientRef = docClient() as unknown as typeof docClientRef;
  send = docClientRef.send.bind(docClientRef);
  admin = await adminToken(base);
}, 120_000);

afterEach(() => {
  if (docClientRef && send) docClientRef.send = send;
});

afterAll(async () => {
  await stack?.stop();
  await stack?.dynamo.stop();
});

/** The next `n` TransactWriteItems are cancelled with TransactionConflict. */
function conflicts(n: number) {
  let cancelled = 0;
  docClientRef.send = async (command: unknown) => {
    if (!(command instanceof TransactWriteCommand) || cancelled >= n) return send(command);
    cancelled++;
    const items = command.input.TransactItems ?? [];
    throw new TransactionCanceledException({
      message: "Transaction cancelled, please refer cancellation reasons for specific reasons",
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: items.map((_, i) => ({
        Code: i === 0 ? "TransactionConflict" : "None",
      })),
    });
  };
  return {
    cancelled: () => cancelled,
    restore: () => {
      docClientRef.send = send;
    },
  };
}

const TRANSIENT = 2;
const PERSISTENT = Number.POSITIVE_INFINITY;

/** Runs `act` under `n` conflicts, then lifts them; returns the answer and the count. */
async function under<T>(n: number, act: () => Promise<T>): Promise<{ res: T; cancelled: number }> {
  const mock = conflicts(n);
  try {
    const res = await act();
    return { res, cancelled: mock.cancelled() };
  } finally {
    mock.restore();
  }
}

function expectRetried(r: { res: ApiResponse; cancelled: number }, status: number) {
  expect(r.cancelled).toBe(TRANSIENT);
  expect(r.res.status, r.res.text).toBe(status);
}

function expect503(r: { res: ApiResponse; cancelled: number }) {
  expect(r.cancelled).toBeGreaterThan(1); // it was retried before giving up
  expect(r.res.status, r.res.text).toBe(503);
  expect(r.res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(r.res.headers.get("retry-after")).toMatch(/^\d+$/);
  expect((r.res.json as { code?: string }).code).toBe("service_unavailable");
}

const as = (token: string) => ({ base, token });
const refreshWith = (refreshToken: string) =>
  call<{ refreshToken: string }>("POST", "/v1/auth/refresh", { base, body: { refreshToken } });
const logout = (u: { accessToken: string; refreshToken: string }) =>
  call("POST", "/v1/auth/logout", {
    base,
    token: u.accessToken,
    body: { refreshToken: u.refreshToken },
  });
const setRoles = (userId: string, roles: string[]) =>
  call<{ roles: string[] }>("PUT", `/v1/admin/users/${userId}/roles`, {
    base,
    token: admin,
    body: { roles },
  });

describe("auth routes under TransactionConflict", () => {
  it("register: retried to 201; persistent: 503 and no user", async () => {
    const register = (email: string, password: string) =>
      call("POST", "/v1/auth/register", { base, body: { email, password } });
    const [email, password] = [uniqueEmail("conflict"), uniquePassword()];
    expectRetried(await under(TRANSIENT, () => register(email, password)), 201);
    await loginAs(email, password, base);

    const [other, pw] = [uniqueEmail("conflict"), uniquePassword()];
    expect503(await under(PERSISTENT, () => register(other, pw)));
    const login = await call("POST", "/v1/auth/login", {
      base,
      body: { email: other, password: pw },
    });
    expect(login.status).toBe(401);
    expect((await register(other, pw)).status).toBe(201); // the email was never taken
  });

  it("login: retried to 200; persistent: 503 and no session, then a login works", async () => {
    const u = await registerUser({ base });
    const login = () =>
      call<{ refreshToken?: string }>("POST", "/v1/auth/login", {
        base,
        body: { email: u.email, password: u.password },
      });
    const ok = await under(TRANSIENT, login);
    expectRetried(ok, 200);
    expect((await refreshWith(String(ok.res.json.refreshToken))).status).toBe(200);

    const failed = await under(PERSISTENT, login);
    expect503(failed);
    expect(failed.res.json.refreshToken).toBeUndefined();
    expect((await login()).status).toBe(200);
  });

  it("refresh: retried to 200; persistent: 503 and the old token still rotates", async () => {
    const u = await registerUser({ base });
    const ok = await under(TRANSIENT, () => refreshWith(u.refreshToken));
    expectRetried(ok, 200);
    expect((await refreshWith(ok.res.json.refreshToken)).status).toBe(200);

    const v = await registerUser({ base });
    expect503(await under(PERSISTENT, () => refreshWith(v.refreshToken)));
    // Not rotated: using it now is a first use, not a reuse that would revoke the family.
    expect((await refreshWith(v.refreshToken)).status).toBe(200);
  });

  it("logout: retried to 204; persistent: 503 and the session still works", async () => {
    const u = await registerUser({ base });
    expectRetried(await under(TRANSIENT, () => logout(u)), 204);
    expect((await refreshWith(u.refreshToken)).status).toBe(401);

    const v = await registerUser({ base });
    expect503(await under(PERSISTENT, () => logout(v)));
    expect((await refreshWith(v.refreshToken)).status).toBe(200);
  });

  it("role change: retried to 200; persistent: 503, roles and sessions untouched", async () => {
    const u = await registerUser({ base });
    const ok = await under(TRANSIENT, () => setRoles(u.user.id, ["merchant"]));
    expectRetried(ok, 200);
    expect(ok.res.json.roles).toEqual(["merchant"]);

    const v = await registerUser({ base });
    expect503(await under(PERSISTENT, () => setRoles(v.user.id, ["merchant"])));
    // The generation was not bumped: v's session survives, and its token keeps its roles.
    const pair = await refreshWith(v.refreshToken);
    expect(pair.status).toBe(200);
    const me = await call<{ roles: string[] }>("GET", "/v1/me", {
      base,
      token: (pair.json as unknown as { accessToken: string }).accessToken,
    });
    expect(me.json.roles).toEqual(["customer"]);
  });
});

describe("ledger routes under TransactionConflict", () => {
  async function funded(amount = 10_000): Promise<RegisteredUser> {
    const u = await registerUser({ base });
    expectOk("fund", await deposit(as(admin), u.account.id, amount));
    return u;
  }

  it("account: retried to 201; persistent: 503 and no account", async () => {
    const u = await registerUser({ base });
    const open = (currency: string) =>
      call("POST", "/v1/accounts", { base, token: u.accessToken, body: { currency } });
    expectRetried(await under(TRANSIENT, () => open("EUR")), 201);
    expect503(await under(PERSISTENT, () => open("GBP")));
    const list = await call<{ data: { currency: string }[] }>("GET", "/v1/accounts", {
      base,
      token: u.accessToken,
    });
    expect(list.json.data.map((a) => a.currency).sort()).toEqual(["EUR", "USD"]);
  });

  it("deposit: retried to 201 once; persistent: 503, balance unchanged, key reusable", async () => {
    const u = await registerUser({ base });
    expectRetried(await under(TRANSIENT, () => deposit(as(admin), u.account.id, 500)), 201);
    expect(await balanceOf(as(u.accessToken), u.account.id)).toBe(500);

    const key = randomUUID();
    expect503(await under(PERSISTENT, () => deposit({ ...as(admin), key }, u.account.id, 700)));
    expect(await balanceOf(as(u.accessToken), u.account.id)).toBe(500);
    expectOk("same key again", await deposit({ ...as(admin), key }, u.account.id, 700));
    expect(await balanceOf(as(u.accessToken), u.account.id)).toBe(1_200);
  });

  it("withdrawal: retried to 201 once; persistent: 503 and balance unchanged", async () => {
    const u = await funded(1_000);
    const c = as(u.accessToken);
    expectRetried(await under(TRANSIENT, () => withdraw(c, u.account.id, 300)), 201);
    expect(await balanceOf(c, u.account.id)).toBe(700);
    expect503(await under(PERSISTENT, () => withdraw(c, u.account.id, 300)));
    expect(await balanceOf(c, u.account.id)).toBe(700);
  });

  it("payment: retried to 201 once; persistent: 503 and both balances unchanged", async () => {
    const [a, b] = await Promise.all([funded(1_000), registerUser({ base })]);
    const body = {
      sourceAccountId: a.account.id,
      destinationAccountId: b.account.id,
      amount: 250,
      currency: "USD",
    };
    expectRetried(await under(TRANSIENT, () => pay(as(a.accessToken), body)), 201);
    expect503(await under(PERSISTENT, () => pay(as(a.accessToken), body)));
    expect(await balanceOf(as(a.accessToken), a.account.id)).toBe(750);
    expect(await balanceOf(as(b.accessToken), b.account.id)).toBe(250);
  });

  it("refund: retried to 201 once; persistent: 503 and nothing refunded", async () => {
    const [a, b] = await Promise.all([funded(1_000), registerUser({ base })]);
    const paid = expectOk(
      "pay",
      await pay(as(a.accessToken), {
        sourceAccountId: a.account.id,
        destinationAccountId: b.account.id,
        amount: 400,
        currency: "USD",
      }),
    ).json as { id: string };
    const c = as(admin);
    expectRetried(await under(TRANSIENT, () => refund(c, paid.id, { amount: 100 })), 201);
    expect503(await under(PERSISTENT, () => refund(c, paid.id, { amount: 100 })));
    const payment = await call<{ amountRefunded: number }>("GET", `/v1/payments/${paid.id}`, c);
    expect(payment.json.amountRefunded).toBe(100);
    expect(await balanceOf(as(b.accessToken), b.account.id)).toBe(300);
  });

  it("freeze: retried to 200; persistent: 503 and the account stays as it was", async () => {
    const [u, v] = await Promise.all([registerUser({ base }), registerUser({ base })]);
    const freeze = (accountId: string) =>
      call<{ status: string }>("PATCH", `/v1/admin/accounts/${accountId}`, {
        base,
        token: admin,
        body: { status: "frozen" },
      });
    const ok = await under(TRANSIENT, () => freeze(u.account.id));
    expectRetried(ok, 200);
    expect(ok.res.json.status).toBe("frozen");
    expect503(await under(PERSISTENT, () => freeze(v.account.id)));
    const account = await call<{ status: string }>("GET", `/v1/accounts/${v.account.id}`, {
      base,
      token: v.accessToken,
    });
    expect(account.json.status).toBe("active");
  });
});
