import { describe, expect, it } from "vitest";
import { type AuditLogEvent, toLogEvent } from "../../lib/audit/log-format.ts";
import { digestOf, recordFromEvent } from "../../lib/audit/record.ts";
import type { AuditRecord } from "../../lib/audit/schema.ts";
import { newId } from "../../lib/ids.ts";
import { type LedgerAccount, type LedgerEntry, verifyAudit } from "../../tools/audit/verify.ts";
import { sampleEvent } from "../support/audit.ts";

/** A tiny consistent world: a deposit, a payment, a partial refund, a failed payment. */
function world() {
  const a = newId("acc");
  const b = newId("acc");
  const funding = "acc_0000000000FUNDINGUSD00000";
  const pay = newId("pay");
  const ref = newId("ref");
  const t = "2025-03-01T10:00:00.000Z";
  const entry = (e: Omit<LedgerEntry, "id" | "currency" | "createdAt">): LedgerEntry => ({
    id: newId("ent"),
    currency: "USD",
    createdAt: t,
    ...e,
  });
  const entries: LedgerEntry[] = [
    entry({
      accountId: funding,
      kind: "deposit",
      direction: "debit",
      amount: 10_000,
      counterpartyAccountId: a,
      reference: "r1",
    }),
    entry({
      accountId: a,
      kind: "deposit",
      direction: "credit",
      amount: 10_000,
      counterpartyAccountId: funding,
      reference: "r1",
    }),
    entry({
      accountId: a,
      paymentId: pay,
      kind: "payment",
      direction: "debit",
      amount: 3_000,
      counterpartyAccountId: b,
    }),
    entry({
      accountId: b,
      paymentId: pay,
      kind: "payment",
      direction: "credit",
      amount: 3_000,
      counterpartyAccountId: a,
    }),
    entry({
      accountId: b,
      paymentId: pay,
      refundId: ref,
      kind: "refund",
      direction: "debit",
      amount: 1_000,
      counterpartyAccountId: a,
    }),
    entry({
      accountId: a,
      paymentId: pay,
      refundId: ref,
      kind: "refund",
      direction: "credit",
      amount: 1_000,
      counterpartyAccountId: b,
    }),
  ];
  const accounts: LedgerAccount[] = [
    { id: funding, balance: -10_000, currency: "USD", kind: "system" },
    { id: a, balance: 8_000, currency: "USD", kind: "customer" },
    { id: b, balance: 2_000, currency: "USD", kind: "customer" },
  ];
  const money = (amount: number, debit: string, credit: string) => ({
    amount,
    currency: "USD",
    debitAccountId: debit,
    creditAccountId: credit,
  });
  const records: AuditRecord[] = [
    recordFromEvent(
      sampleEvent({ action: "account.created", targets: { accountId: a }, money: undefined }),
    ),
    recordFromEvent(
      sampleEvent({
        action: "deposit.created",
        targets: { accountId: a },
        money: money(10_000, funding, a),
      }),
    ),
    recordFromEvent(
      sampleEvent({
        action: "payment.created",
        targets: { paymentId: pay },
        money: money(3_000, a, b),
      }),
    ),
    recordFromEvent(
      sampleEvent({
        action: "refund.created",
        targets: { paymentId: pay, refundId: ref },
        money: money(1_000, b, a),
      }),
    ),
    // A cancelled payment leaves only a failure record and no entries.
    recordFromEvent(
      sampleEvent({
        action: "payment.created",
        outcome: "failure",
        reason: "insufficient_funds",
        targets: { accountId: a },
        money: money(99_999, a, b),
      }),
    ),
  ];
  return { a, b, funding, pay, ref, entries, accounts, records };
}

const toEvents = (records: readonly AuditRecord[]): AuditLogEvent[] =>
  records.map((r) => toLogEvent(r, "s", 0));

describe("verify: the ledger against the audit trail", () => {
  it("passes a consistent world", () => {
    const w = world();
    const report = verifyAudit({
      logEvents: toEvents(w.records),
      accounts: w.accounts,
      entries: w.entries,
    });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.stats).toMatchObject({ records: 5, movements: 3, accounts: 3, entries: 6 });
  });

  it("names a record whose content was altered (digest mismatch)", () => {
    const w = world();
    const events = toEvents(w.records);
    const i = 2;
    const tampered = JSON.parse(events[i]?.message ?? "") as AuditRecord;
    const altered = { ...tampered, money: { ...tampered.money, amount: 1 } };
    events[i] = { ...(events[i] as AuditLogEvent), message: JSON.stringify(altered) };
    const report = verifyAudit({ logEvents: events, accounts: w.accounts, entries: w.entries });
    expect(report.ok).toBe(false);
    expect(report.problems).toContain(
      `audit record ${tampered.eventId}: digest does not match its content (record altered)`,
    );
    // And the payment it was for now lacks a valid record.
    expect(report.problems).toContain(
      `payment ${w.pay}: no audit record (expected one payment.created)`,
    );
  });

  it("names a record altered with a recomputed digest by its money mismatch", () => {
    const w = world();
    const r = w.records[2] as AuditRecord;
    const forged = {
      ...r,
      money: { ...(r.money as NonNullable<AuditRecord["money"]>), amount: 3_001 },
    };
    const reDigested = { ...forged, digest: digestOf(forged) };
    const records = [...w.records];
    records[2] = reDigested;
    const report = verifyAudit({
      logEvents: toEvents(records),
      accounts: w.accounts,
      entries: w.entries,
    });
    expect(report.problems).toEqual([
      `payment ${w.pay}: audit record ${r.eventId} amount 3001 != ledger 3000`,
    ]);
  });

  it("names each movement whose record was deleted", () => {
    const w = world();
    for (const [i, label] of [
      [1, `deposit `],
      [2, `payment ${w.pay}`],
      [3, `refund ${w.ref}`],
    ] as const) {
      const records = w.records.filter((_, j) => j !== i);
      const report = verifyAudit({
        logEvents: toEvents(records),
        accounts: w.accounts,
        entries: w.entries,
      });
      expect(report.ok).toBe(false);
      expect(report.problems.length).toBe(1);
      expect(report.problems[0]).toContain(label);
    }
  });

  it("names a duplicated record", () => {
    const w = world();
    const events = toEvents([...w.records, w.records[2] as AuditRecord]);
    const report = verifyAudit({ logEvents: events, accounts: w.accounts, entries: w.entries });
    expect(report.problems).toEqual([
      `audit record ${w.records[2]?.eventId}: recorded 2 times (expected once)`,
    ]);
  });

  it("names an altered ledger entry: its movement, its account, the system total", () => {
    const w = world();
    const entries = w.entries.map((e) =>
      e.paymentId === w.pay && !e.refundId && e.direction === "credit"
        ? { ...e, amount: 3_500 }
        : e,
    );
    const report = verifyAudit({ logEvents: toEvents(w.records), accounts: w.accounts, entries });
    expect(report.ok).toBe(false);
    const text = report.problems.join("\n");
    expect(text).toContain(`payment ${w.pay}: debits 3000 != credits 3500`);
    expect(text).toContain(`account ${w.b}: balance 2000 != sum of its entries 2500`);
  });

  it("names a balance that disagrees with its entries and a system that does not net to zero", () => {
    const w = world();
    const accounts = w.accounts.map((a) => (a.id === w.a ? { ...a, balance: 8_100 } : a));
    const report = verifyAudit({ logEvents: toEvents(w.records), accounts, entries: w.entries });
    expect(report.problems).toEqual([
      `account ${w.a}: balance 8100 != sum of its entries 8000`,
      "system does not net to zero in USD: 100",
    ]);
  });

  it("names a success record for a movement the ledger does not have", () => {
    const w = world();
    const ghost = recordFromEvent(
      sampleEvent({ action: "payment.created", targets: { paymentId: "pay_ghost" } }),
    );
    const report = verifyAudit({
      logEvents: toEvents([...w.records, ghost]),
      accounts: w.accounts,
      entries: w.entries,
    });
    expect(report.problems).toEqual([
      `audit record ${ghost.eventId}: payment.created for payment pay_ghost, which has no ledger entries`,
    ]);
  });

  it("names a log event that is not a valid record", () => {
    const w = world();
    const events: AuditLogEvent[] = [
      ...toEvents(w.records),
      { timestamp: 0, message: "not json" },
      { timestamp: 0, message: JSON.stringify({ eventId: "evt_x", v: 1 }) },
    ];
    const report = verifyAudit({ logEvents: events, accounts: w.accounts, entries: w.entries });
    expect(report.problems[0]).toBe("log event #6: message is not JSON");
    expect(report.problems[1]).toMatch(/^audit record evt_x: fails the audit record schema at/);
  });
});
