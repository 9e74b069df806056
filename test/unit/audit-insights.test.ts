import { describe, expect, it } from "vitest";
import { type AuditLogEvent, toLogEvent } from "../../lib/audit/log-format.ts";
import { AUDIT_QUERIES } from "../../lib/audit/queries.ts";
import { recordFromEvent } from "../../lib/audit/record.ts";
import { parseQuery, QuerySyntaxError, runQuery } from "../../tools/audit/insights.ts";
import { sampleEvent } from "../support/audit.ts";

const ADMIN = "usr_01JN00000000000000000ADM1N";
const ALICE = "usr_01JN000000000000000000A11C";
const ACC_A = "acc_01JN00000000000000000000AA";
const ACC_B = "acc_01JN00000000000000000000BB";

function ev(over: Parameters<typeof sampleEvent>[0]): AuditLogEvent {
  return toLogEvent(recordFromEvent(sampleEvent(over)), "2025/03/01/audit-unit", 0);
}

const actor = (userId: string | null, roles: ("customer" | "admin")[] = ["customer"]) => ({
  userId,
  roles,
  sourceIp: "203.0.113.7",
  userAgent: "curl",
  requestId: "r",
});

const events: AuditLogEvent[] = [
  ev({
    action: "auth.login_failed",
    outcome: "failure",
    reason: "invalid_credentials",
    at: "2025-03-01T08:00:00.000Z",
    actor: actor(null, []),
    targets: {},
    money: undefined,
  }),
  ev({
    action: "auth.login_succeeded",
    at: "2025-03-01T08:01:00.000Z",
    actor: actor(ALICE),
    targets: {},
    money: undefined,
  }),
  ev({
    action: "payment.created",
    at: "2025-03-01T09:00:00.000Z",
    actor: actor(ALICE),
    targets: { paymentId: "pay_1", accountId: ACC_A },
    money: { amount: 250_000, currency: "USD", debitAccountId: ACC_A, creditAccountId: ACC_B },
  }),
  ev({
    action: "payment.created",
    at: "2025-03-01T10:00:00.000Z",
    actor: actor(ALICE),
    targets: { paymentId: "pay_2", accountId: ACC_A },
    money: { amount: 500, currency: "USD", debitAccountId: ACC_A, creditAccountId: ACC_B },
  }),
  ev({
    action: "account.frozen",
    at: "2025-03-01T11:00:00.000Z",
    actor: actor(ADMIN, ["customer", "admin"]),
    targets: { accountId: ACC_B },
    money: undefined,
  }),
  ev({
    action: "deposit.created",
    at: "2025-03-01T12:00:00.000Z",
    actor: actor(ADMIN, ["admin"]),
    targets: { accountId: ACC_A },
    money: { amount: 1_000_000, currency: "EUR", creditAccountId: ACC_A },
  }),
];

const saved = (name: string) => {
  const q = AUDIT_QUERIES.find((x) => x.name === name);
  if (!q) throw new Error(`no saved query ${name}`);
  return q.query;
};

describe("the Logs Insights subset interpreter", () => {
  it("parses every saved query the CDK stack installs", () => {
    expect(AUDIT_QUERIES.length).toBeGreaterThanOrEqual(6);
    for (const q of AUDIT_QUERIES) {
      const text = q.query
        .replaceAll("<userId>", ALICE)
        .replaceAll("<accountId>", ACC_A)
        .replaceAll("<from>", "2025-01-01T00:00:00Z")
        .replaceAll("<to>", "2026-01-01T00:00:00Z");
      expect(() => parseQuery(text), q.name).not.toThrow();
    }
  });

  it("answers the standard auditor questions with the saved query text", () => {
    const ids = (rows: Record<string, unknown>[]) => rows.map((r) => r.at);
    expect(ids(runQuery(saved("actions-by-user").replace("<userId>", ALICE), events))).toEqual([
      "2025-03-01T10:00:00.000Z",
      "2025-03-01T09:00:00.000Z",
      "2025-03-01T08:01:00.000Z",
    ]);
    const failed = runQuery(saved("failed-logins"), events);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ action: "auth.login_failed", outcome: "failure" });
    expect(runQuery(saved("admin-actions"), events).map((r) => r.action)).toEqual([
      "deposit.created",
      "account.frozen",
    ]);
    expect(runQuery(saved("movements-over-amount"), events).map((r) => r["money.amount"])).toEqual([
      1_000_000, 250_000,
    ]);
    expect(
      runQuery(saved("account-activity").replaceAll("<accountId>", ACC_B), events),
    ).toHaveLength(3);
    const window = saved("time-window")
      .replace("<from>", "2025-03-01T08:30:00Z")
      .replace("<to>", "2025-03-01T11:30:00Z");
    expect(ids(runQuery(window, events))).toEqual([
      "2025-03-01T09:00:00.000Z",
      "2025-03-01T10:00:00.000Z",
      "2025-03-01T11:00:00.000Z",
    ]);
  });

  it("returns only the listed fields, as Insights discovers them (dots, array indexes)", () => {
    const [row] = runQuery(
      'fields action, actor.roles.0, actor.roles.1, money.amount | filter action == "account.frozen"',
      events,
    );
    expect(row).toEqual({
      action: "account.frozen",
      "actor.roles.0": "admin",
      "actor.roles.1": "customer",
    });
  });

  it("narrows with the leading filter `npm run audit -- query` adds for a flag (>=, parentheses)", () => {
    const n = (q: string) => runQuery(q, events).length;
    expect(n("filter (money.amount >= 500) and (money.amount < 250000)")).toBe(1);
    expect(n("filter (money.amount >= 250000)\n| filter money.amount > 100000")).toBe(2);
    expect(n('filter action like "payment" or money.amount > 100000')).toBe(3);
    expect(n("sort at asc | limit 2")).toBe(2);
    // A record without the field matches no comparison.
    expect(n('filter money.currency == "EUR" or money.currency < "EUR"')).toBe(1);
  });

  it("applies the query time range like StartQuery", () => {
    const start = Date.parse("2025-03-01T09:00:00Z");
    const end = Date.parse("2025-03-01T10:00:00Z");
    expect(runQuery("fields action", events, { startTime: start, endTime: end })).toHaveLength(2);
  });

  it("refuses anything outside the subset instead of ignoring it", () => {
    for (const bad of [
      "stats count(*) by action",
      "parse @message 'x=*' as x",
      "filter action == ",
      'filter action == "unterminated',
      "fields action | limit -1",
      "filter action like 5",
      "filter action like /^auth/",
      'filter action != "x"',
      'filter not (outcome == "success")',
      'filter action in ["x"]',
      "filter ispresent(money.amount)",
      "display action",
      "fields action extra",
      "",
    ]) {
      expect(() => parseQuery(bad), bad).toThrow(QuerySyntaxError);
    }
  });
});
