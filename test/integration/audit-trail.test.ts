import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRecordSchema, isMovementAction } from "../../lib/audit/schema.ts";
import {
  movementIdsOf,
  readAuditLog,
  runAuditCli,
  SECRET_PATTERNS,
  waitForAuditLog,
} from "../support/audit.ts";
import { call } from "../support/http.ts";
import { type SpawnedStack, spawnStack } from "../support/spawn-stack.ts";
import { runWorkload, type WorkloadReport } from "../support/workload.ts";

/**
 * The audit trail end to end on its own local stack: the seeded money workload, then
 * the audit log (written by the stream poller through the real audit handler) against
 * what the API committed, and `npm run audit -- verify` / `query` on it.
 */

let stack: SpawnedStack;
let report: WorkloadReport;
let auditLog: string;

const committed = () => report.requests.filter((r) => r.status === 201 && !r.replayed);

beforeAll(async () => {
  stack = await spawnStack();
  auditLog = stack.info.auditLog;
  report = await runWorkload({
    base: stack.info.apiUrl,
    seed: 20250301,
    operations: 160,
    clients: 6,
    accounts: 10,
    log: () => undefined,
  });
  const expected = committed().length;
  await waitForAuditLog(
    auditLog,
    (rs) =>
      rs.filter((r) => r.outcome === "success" && isMovementAction(r.action)).length >= expected,
    45_000,
  );
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

describe("the audit trail after a seeded workload", () => {
  it("the workload itself behaved, with both committed and refused movements", () => {
    expect(report.problems).toEqual([]);
    expect(committed().length).toBeGreaterThan(20);
    expect(report.requests.some((r) => r.code === "insufficient_funds")).toBe(true);
  });

  it("holds exactly one success record per committed movement and none for refused ones", () => {
    const { records } = readAuditLog(auditLog);
    const moves = records.filter((r) => r.outcome === "success" && isMovementAction(r.action));
    for (const req of committed()) {
      const ids = movementIdsOf(req.path, req.text);
      expect(ids.length, req.path).toBeGreaterThan(0);
      const action = req.path.includes("/refunds")
        ? "refund.created"
        : req.path.includes("/deposits")
          ? "deposit.created"
          : req.path.includes("/withdrawals")
            ? "withdrawal.created"
            : "payment.created";
      const hits = moves.filter(
        (r) => r.action === action && Object.values(r.targets).some((v) => ids.includes(v)),
      );
      expect(hits.length, `${req.type} ${req.path} ${ids.join(",")}`).toBe(1);
    }
    // Nothing more: every refused request (insufficient funds, frozen, over-refund,
    // reused key...) left no success record behind.
    expect(moves).toHaveLength(committed().length);
  });

  it("holds one record per registration and per account created", () => {
    const { records } = readAuditLog(auditLog);
    const owners = new Set(report.accounts.map((a) => a.ownerId));
    for (const owner of owners) {
      const regs = records.filter(
        (r) => r.action === "user.registered" && r.targets.userId === owner,
      );
      expect(regs, owner).toHaveLength(1);
    }
    for (const a of report.accounts.filter((x) => x.currency === "EUR")) {
      const created = records.filter(
        (r) => r.action === "account.created" && r.targets.accountId === a.id,
      );
      expect(created, a.id).toHaveLength(1);
    }
  });

  it("every record passes the schema, every event id appears once, no secret appears", () => {
    const text = readFileSync(auditLog, "utf8");
    const { events, records } = readAuditLog(auditLog);
    expect(records.length).toBeGreaterThan(committed().length);
    for (const r of records) {
      const parsed = auditRecordSchema.safeParse(r);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    }
    expect(new Set(records.map((r) => r.eventId)).size).toBe(records.length);
    for (const e of events) expect(e.timestamp).toBe(Date.parse(JSON.parse(e.message).at));
    for (const p of SECRET_PATTERNS) expect(text, String(p)).not.toMatch(p);
    for (const a of report.accounts) expect(text).not.toContain(a.token.slice(-24));
  });

  it("records the gateway's request id in every record and redacts nothing in a clean workload", () => {
    const { records } = readAuditLog(auditLog);
    // The out-of-band steps of the local stack's admin seed (creation, TOTP enrolment)
    // carry the seed's own id; every other record comes from an HTTP request.
    const outOfBand = (r: (typeof records)[number]) =>
      r.action === "user.admin_created" ||
      (r.action === "auth.mfa_enabled" && r.reason === "out_of_band");
    const http = records.filter((r) => !outOfBand(r));
    expect(http.length).toBeGreaterThan(committed().length);
    for (const r of http) {
      expect(r.v, r.eventId).toBe(2);
      // The local gateway, like API Gateway, names each request with a UUID.
      expect(r.actor.requestId, r.eventId).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
    }
    expect(records.filter((r) => r.redacted !== undefined).map((r) => r.eventId)).toEqual([]);
  });

  it("npm run audit -- verify finds the running stack by itself and passes", async () => {
    const out = await runAuditCli(["verify"], { MICROPAY_DATA_DIR: stack.info.dataDir });
    expect(out.stderr).toBe("");
    expect(out.stdout).toContain("verify: OK");
    expect(out.code).toBe(0);
    const json = await runAuditCli([
      "verify",
      "--json",
      "--audit-log",
      auditLog,
      "--endpoint",
      stack.info.dynamodbEndpoint,
      "--table",
      stack.info.tableName,
    ]);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as {
      ok: boolean;
      stats: { movements: number; redacted: number };
    };
    expect(parsed.ok).toBe(true);
    expect(parsed.stats.movements).toBe(committed().length);
    expect(parsed.stats.redacted).toBe(0);
  });

  it("npm run audit -- query answers with the saved Logs Insights queries", async () => {
    const env = { MICROPAY_DATA_DIR: stack.info.dataDir };
    const account = report.accounts[1];
    if (!account) throw new Error("workload made no accounts");
    const q = async (...args: string[]) => {
      const out = await runAuditCli(["query", ...args, "--json"], env);
      expect(out.stderr).toBe("");
      expect(out.code).toBe(0);
      return JSON.parse(out.stdout) as { query: string; rows: Record<string, unknown>[] };
    };
    const byUser = await q("actions-by-user", "--user", account.ownerId);
    expect(byUser.query).toContain(`actor.userId == "${account.ownerId}"`);
    expect(byUser.rows.length).toBeGreaterThan(0);
    expect(byUser.rows.every((r) => r["actor.userId"] === account.ownerId)).toBe(true);

    const touching = await q("account-activity", "--account", account.id);
    const expected = readAuditLog(auditLog).records.filter(
      (r) =>
        r.targets.accountId === account.id ||
        r.money?.debitAccountId === account.id ||
        r.money?.creditAccountId === account.id,
    );
    expect(touching.rows.length).toBeGreaterThan(0);
    expect(touching.rows).toHaveLength(expected.length);

    const big = await q("movements-over-amount", "--min-amount", "5000");
    expect(big.query).toContain("money.amount >= 5000");
    expect(big.rows.every((r) => Number(r["money.amount"]) >= 5000)).toBe(true);

    const admin = await q("admin-actions");
    expect(admin.rows.length).toBeGreaterThan(0);

    const all = readAuditLog(auditLog)
      .records.map((r) => r.at)
      .sort();
    const mid = all[Math.floor(all.length / 2)] ?? "";
    const window = await q("time-window", "--since", all[0] ?? "", "--until", mid);
    expect(window.rows.length).toBeGreaterThan(0);
    expect(window.rows.every((r) => String(r.at) <= mid)).toBe(true);

    // A failed login shows up in failed-logins.
    const bad = await call("POST", "/v1/auth/login", {
      base: stack.info.apiUrl,
      body: { email: "nobody@micropay.test", password: "not the password at all" },
    });
    expect(bad.status).toBe(401);
    await waitForAuditLog(auditLog, (rs) => rs.some((r) => r.action === "auth.login_failed"));
    const failed = await q("failed-logins");
    expect(failed.rows.some((r) => r.action === "auth.login_failed")).toBe(true);
  });

  it("keeps the dead-letter file empty: no record of the workload was poison", () => {
    let dead = "";
    try {
      dead = readFileSync(join(stack.info.dataDir, "audit-dead-letter.jsonl"), "utf8");
    } catch {
      dead = "";
    }
    expect(dead).toBe("");
  });
});
