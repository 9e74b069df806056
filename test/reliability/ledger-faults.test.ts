import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DynamoLocal, startDynamoLocal } from "../../local/dynamodb.ts";
import { parseLocalSettings } from "../../local/settings.ts";
import { type LocalStack, startLocalStack } from "../../local/stack.ts";
import { adminToken, type RegisteredUser, registerUser } from "../support/auth.ts";
import type { ApiResponse } from "../support/http.ts";
import {
  balanceOf,
  deposit,
  expectOk,
  ledgerSnapshot,
  ledgerViolations,
  pay,
} from "../support/ledger.ts";
import { TEST_ADMIN } from "../support/spawn-stack.ts";

/**
 * Faults (issue 4). The stack runs in this test process (persisted DynamoDB Local,
 * the real gateway and handlers), so the test can stop and restart DynamoDB Local on
 * the same port and data folder, and can wrap the handlers' DynamoDB client to inject
 * what DynamoDB Local never produces (TransactionConflict, throttling, a response lost
 * after commit). Afterwards the whole table must satisfy the ledger invariants.
 */
let stack: LocalStack;
let dynamo: DynamoLocal;
let base: string;
let admin: string;
let dbPath: string;
let send: (command: unknown) => Promise<unknown>;
let docClientRef: { send: (command: unknown) => Promise<unknown> };

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "micropay-faults-"));
  process.env.MICROPAY_BCRYPT_COST = "10";
  const settings = parseLocalSettings({
    PORT: "0",
    MICROPAY_IN_MEMORY: "0",
    MICROPAY_DATA_DIR: dataDir,
    MICROPAY_THROTTLE_RATE: "0",
    MICROPAY_THROTTLE_BURST: "0",
    MICROPAY_ADMIN_EMAIL: TEST_ADMIN.email,
    MICROPAY_ADMIN_PASSWORD: TEST_ADMIN.password,
    MICROPAY_ADMIN_TOTP_SECRET: TEST_ADMIN.totpSecret,
  });
  stack = await startLocalStack(settings);
  dynamo = stack.dynamo;
  dbPath = join(dataDir, "dynamodb");
  base = stack.info.apiUrl;
  const { docClient } = await import("../../lib/store/client.ts");
  docClientRef = docClient() as unknown as typeof docClientRef;
  send = docClientRef.send.bind(docClientRef);
  admin = await adminToken(base);
}, 120_000);

afterAll(async () => {
  if (docClientRef && send) docClientRef.send = send;
  await stack?.stop();
  await dynamo?.stop();
});

/** The fault mock: wraps the handlers' DynamoDB client for TransactWriteItems only. */
function mockTransactSend(fault: (attempt: number) => "conflict" | "throttle" | "lost" | null) {
  let attempt = 0;
  docClientRef.send = async (command: unknown) => {
    if (!(command instanceof TransactWriteCommand)) return send(command);
    const kind = fault(attempt++);
    if (kind === "conflict" || kind === "throttle") {
      const items = command.input.TransactItems ?? [];
      throw new TransactionCanceledException({
        message: "Transaction cancelled",
        $metadata: {},
        CancellationReasons: items.map((_, i) => ({
          Code:
            i === 0 ? (kind === "conflict" ? "TransactionConflict" : "ThrottlingError") : "None",
        })),
      });
    }
    const out = await send(command);
    if (kind === "lost") {
      // Committed, then the connection dropped before the answer arrived.
      throw Object.assign(new Error("socket hang up"), { name: "Error", code: "ECONNRESET" });
    }
    return out;
  };
  return {
    attempts: () => attempt,
    restore: () => {
      docClientRef.send = send;
    },
  };
}

async function pair(funding = 10_000): Promise<[RegisteredUser, RegisteredUser]> {
  const [a, b] = await Promise.all([registerUser({ base }), registerUser({ base })]);
  expectOk("fund", await deposit({ base, token: admin }, a.account.id, funding));
  return [a, b];
}

const paymentBody = (a: RegisteredUser, b: RegisteredUser, amount: number) => ({
  sourceAccountId: a.account.id,
  destinationAccountId: b.account.id,
  amount,
  currency: "USD",
});

async function paymentsOf(a: RegisteredUser): Promise<number> {
  const { call } = await import("../support/http.ts");
  const res = await call<{ data: unknown[] }>("GET", `/v1/payments?accountId=${a.account.id}`, {
    base,
    token: a.accessToken,
  });
  return res.json.data.length;
}

describe("injected TransactionConflict and throttling (mocked DynamoDB send)", () => {
  it("retries conflicts and succeeds with exactly one effect", async () => {
    const [a, b] = await pair();
    const mock = mockTransactSend((n) => (n < 2 ? "conflict" : null));
    try {
      const res = await pay({ base, token: a.accessToken }, paymentBody(a, b, 250));
      expect(res.status).toBe(201);
      expect(mock.attempts()).toBe(3);
    } finally {
      mock.restore();
    }
    expect(await balanceOf({ base, token: a.accessToken }, a.account.id)).toBe(9_750);
    expect(await paymentsOf(a)).toBe(1);
  });

  it("answers a clean 503 with Retry-After when throttling persists; a retry then succeeds once", async () => {
    const [a, b] = await pair();
    const key = randomUUID();
    const mock = mockTransactSend(() => "throttle");
    let res: ApiResponse;
    try {
      res = await pay({ base, token: a.accessToken, key }, paymentBody(a, b, 400));
    } finally {
      mock.restore();
    }
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(res.json).toMatchObject({ code: "service_unavailable" });
    expect(res.text).not.toMatch(/Throttl|Transaction|dynamodb/i);
    expect(mock.attempts()).toBeGreaterThan(1);
    expect(mock.attempts()).toBeLessThanOrEqual(5);
    expect(await balanceOf({ base, token: a.accessToken }, a.account.id)).toBe(10_000);
    expect(await paymentsOf(a)).toBe(0);

    const retry = await pay({ base, token: a.accessToken, key }, paymentBody(a, b, 400));
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
    expect(await balanceOf({ base, token: a.accessToken }, a.account.id)).toBe(9_600);
    expect(await paymentsOf(a)).toBe(1);
  });

  it("recovers a response lost after commit by replaying the stored result", async () => {
    const [a, b] = await pair();
    const key = randomUUID();
    const mock = mockTransactSend(() => "lost");
    let lost: ApiResponse;
    try {
      lost = await pay({ base, token: a.accessToken, key }, paymentBody(a, b, 700));
    } finally {
      mock.restore();
    }
    // The transaction committed with its idempotency record; the chain, finding the
    // key answered on the error path, replays that answer instead of the outage.
    expect(lost.status).toBe(201);
    expect(lost.headers.get("idempotent-replayed")).toBe("true");
    const retry = await pay({ base, token: a.accessToken, key }, paymentBody(a, b, 700));
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.text).toBe(lost.text);
    const again = await pay({ base, token: a.accessToken, key }, paymentBody(a, b, 700));
    expect(again.text).toBe(retry.text);
    expect(await balanceOf({ base, token: a.accessToken }, a.account.id)).toBe(9_300);
    expect(await paymentsOf(a)).toBe(1);
  });
});

describe("DynamoDB Local stopped and restarted mid-workload (persisted mode)", () => {
  it("leaves no partial movement; retries with the same keys complete exactly once", async () => {
    // Under MICROPAY_DUAL_CONTROL_MINOR (1,000,000): a larger deposit would wait for a second admin.
    const [a, b] = await pair(100_000);
    const jobs = Array.from({ length: 48 }, (_, i) => ({
      key: randomUUID(),
      body: paymentBody(a, b, 100 + i),
    }));
    const finals = new Map<string, ApiResponse>();
    const firstAnswers: number[] = [];
    let done = 0;
    let restarted: Promise<void> | undefined;

    const client = async (mine: typeof jobs) => {
      for (const job of mine) {
        for (let attempt = 0; ; attempt++) {
          let res: ApiResponse | undefined;
          try {
            res = await pay({ base, token: a.accessToken, key: job.key }, job.body);
          } catch {
            res = undefined; // the gateway itself is up; treat as transient
          }
          if (attempt === 0 && res) firstAnswers.push(res.status);
          const transient = !res || res.status >= 500;
          if (!transient && res) {
            finals.set(job.key, res);
            done++;
            break;
          }
          if (attempt > 200) throw new Error(`no answer for ${job.key}`);
          await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
        }
        if (done === 12 && !restarted) {
          restarted = (async () => {
            await dynamo.stop();
            await new Promise((r) => setTimeout(r, 500));
            dynamo = await startDynamoLocal({ dbPath, port: dynamo.port });
          })();
        }
      }
    };
    const width = 6;
    await Promise.all(
      Array.from({ length: width }, (_, c) => client(jobs.filter((_, i) => i % width === c))),
    );
    await restarted;

    expect(restarted).toBeDefined();
    expect(firstAnswers.some((s) => s === 503)).toBe(true);
    expect([...finals.values()].map((r) => r.status)).toEqual(Array(jobs.length).fill(201));
    const total = jobs.reduce((s, j) => s + j.body.amount, 0);
    expect(await balanceOf({ base, token: a.accessToken }, a.account.id)).toBe(100_000 - total);
    expect(await balanceOf({ base, token: b.accessToken }, b.account.id)).toBe(total);

    // Replaying every key now returns the stored result and moves nothing.
    for (const job of jobs.slice(0, 5)) {
      const again = await pay({ base, token: a.accessToken, key: job.key }, job.body);
      expect(again.text).toBe(finals.get(job.key)?.text);
    }
    const snap = await ledgerSnapshot(stack.info);
    expect(ledgerViolations(snap)).toEqual([]);
    expect(snap.payments.filter((p) => p.sourceAccountId === a.account.id)).toHaveLength(
      jobs.length,
    );
  }, 240_000);
});
