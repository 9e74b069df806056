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
  const trfDeposit = newId("trf");
  const trfPay = newId("trf");
  const trfRef = newId("trf");
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
      transferId: trfDeposit,
      kind: "deposit",
      direction: "debit",
      amount: 10_000,
      counterpartyAccountId: a,
      reference: "r1",
    }),
    entry({
      accountId: a,
      transferId: trfDeposit,
      kind: "deposit",
      direction: "credit",
      amount: 10_000,
      counterpartyAccountId: funding,
      reference: "r1",
    }),
    entry({
      accountId: a,
      transferId: trfPay,
      paymentId: pay,
      kind: "payment",
      direction: "debit",
      amount: 3_000,
      counterpartyAccountId: b,
    }),
    entry({
      accountId: b,
      transferId: trfPay,
      paymentId: pay,
      kind: "payment",
      direction: "credit",
      amount: 3_000,
      counterpartyAccountId: a,
    }),
    entry({
      accountId: b,
      transferId: trfRef,
      paymentId: pay,
      refundId: ref,
      kind: "refund",
      direction: "debit",
      amount: 1_000,
      counterpartyAccountId: a,
    }),
    entry({
      accountId: a,
      transferId: trfRef,
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
        targets: { transferId: trfDeposit, accountId: a },
        money: money(10_000, funding, a),
      }),
    ),
    recordFromEvent(
      sampleEvent({
        action: "payment.created",
        targets: { transferId: trfPay, paymentId: pay },
        money: money(3_000, a, b),
      }),
    ),
    recordFromEvent(
      sampleEvent({
        action: "refund.created",
        targets: { transferId: trfRef, paymentId: pay, refundId: ref },
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
  // How verify names each movement: its kind, its transfer id, and its payment/refund.
  const labels = {
    deposit: `deposit ${trfDeposit}`,
    payment: `payment ${trfPay} (${pay})`,
    refund: `refund ${trfRef} (${pay}, ${ref})`,
  };
  return {
    a,
    b,
    funding,
    pay,
    ref,
    trfDeposit,
    trfPay,
    trfRef,
    labels,
    entries,
    accounts,
    records,
  };
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
      `${w.labels.payment}: no audit record (expected one payment.created)`,
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
      `${w.labels.payment}: audit record ${r.eventId} amount 3001 != ledger 3000`,
    ]);
  });

  it("names each movement whose record was deleted", () => {
    const w = world();
    for (const [i, label] of [
      [1, w.labels.deposit],
      [2, w.labels.payment],
      [3, w.labels.refund],
    ] as const) {
      const records = w.records.filter((_, j) => j !== i);
      const report = verifyAudit({
        logEvents: toEvents(records),
        accounts: w.accounts,
        entries: w.entries,
      });
      expect(report.ok).toBe(false);
      expect(report.problems.length).toBe(1);
      expect(report.problems[0]).toBe(
        `${label}: no audit record (expected one ${label.split(" ")[0]}.created)`,
      );
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
    expect(text).toContain(`${w.labels.payment}: debits 3000 != credits 3500`);
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
      sampleEvent({
        action: "payment.created",
        targets: { transferId: "trf_ghost", paymentId: "pay_ghost" },
      }),
    );
    const report = verifyAudit({
      logEvents: toEvents([...w.records, ghost]),
      accounts: w.accounts,
      entries: w.entries,
    });
    expect(report.problems).toEqual([
      `audit record ${ghost.eventId}: payment.created for transfer trf_ghost, which has no ledger entries`,
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

  it("tells apart twenty identical withdrawals made in the same millisecond", () => {
    const account = newId("acc");
    const payout = "acc_0000000000PAYOUTUSD000000";
    const t = "2025-03-01T10:00:00.000Z";
    const entries: LedgerEntry[] = [];
    const records: AuditRecord[] = [];
    for (let i = 0; i < 20; i++) {
      const transferId = newId("trf");
      const side = (accountId: string, direction: "debit" | "credit", other: string) => ({
        id: newId("ent"),
        accountId,
        transferId,
        kind: "withdrawal",
        direction,
        amount: 500,
        currency: "USD",
        counterpartyAccountId: other,
        reference: "payout",
        createdAt: t,
      });
      entries.push(side(account, "debit", payout), side(payout, "credit", account));
      records.push(
        recordFromEvent(
          sampleEvent({
            action: "withdrawal.created",
            at: t,
            targets: { transferId, accountId: account },
            money: {
              amount: 500,
              currency: "USD",
              debitAccountId: account,
              creditAccountId: payout,
            },
          }),
        ),
      );
    }
    const accounts: LedgerAccount[] = [
      { id: account, balance: -10_000 + 10_000, currency: "USD", kind: "customer" },
      { id: payout, balance: 10_000, currency: "USD", kind: "system" },
    ];
    // The customer's balance nets out against a funding account so the system sums to zero.
    const funding = "acc_0000000000FUNDINGUSD00000";
    const depositId = newId("trf");
    entries.push(
      {
        id: newId("ent"),
        accountId: funding,
        transferId: depositId,
        kind: "deposit",
        direction: "debit",
        amount: 10_000,
        currency: "USD",
        createdAt: t,
      },
      {
        id: newId("ent"),
        accountId: account,
        transferId: depositId,
        kind: "deposit",
        direction: "credit",
        amount: 10_000,
        currency: "USD",
        createdAt: t,
      },
    );
    accounts.push({ id: funding, balance: -10_000, currency: "USD", kind: "system" });
    records.push(
      recordFromEvent(
        sampleEvent({
          action: "deposit.created",
          targets: { transferId: depositId },
          money: {
            amount: 10_000,
            currency: "USD",
            debitAccountId: funding,
            creditAccountId: account,
          },
        }),
      ),
    );
    const report = verifyAudit({ logEvents: toEvents(records), accounts, entries });
    expect(report.problems).toEqual([]);
    expect(report.stats.movements).toBe(21);

    // Drop the record of one of them: exactly that transfer is named, no other.
    const missing = records[7] as AuditRecord;
    const dropped = verifyAudit({
      logEvents: toEvents(records.filter((r) => r !== missing)),
      accounts,
      entries,
    });
    expect(dropped.problems).toEqual([
      `withdrawal ${missing.targets.transferId}: no audit record (expected one withdrawal.created)`,
    ]);
  });

  it("names a movement record without a transfer id and an entry without one, never guessing", () => {
    const w = world();
    const records = [...w.records];
    const r = records[1] as AuditRecord;
    const { transferId: _dropped, ...targets } = r.targets;
    const bare = recordFromEvent(sampleEvent({ action: r.action, targets, money: r.money }));
    records[1] = bare;
    const report = verifyAudit({
      logEvents: toEvents(records),
      accounts: w.accounts,
      entries: w.entries,
    });
    expect(report.problems).toEqual([
      `audit record ${bare.eventId}: deposit.created names no transferId`,
      `${w.labels.deposit}: no audit record (expected one deposit.created)`,
    ]);

    const entries = w.entries.map((e) =>
      e.transferId === w.trfDeposit ? { ...e, transferId: undefined } : e,
    );
    const legacy = verifyAudit({ logEvents: toEvents(w.records), accounts: w.accounts, entries });
    const ids = w.entries.filter((e) => e.transferId === w.trfDeposit).map((e) => e.id);
    expect(legacy.problems).toEqual([
      ...ids.map(
        (id) => `deposit entry ${id}: carries no transferId, so no audit record can name it`,
      ),
      `audit record ${w.records[1]?.eventId}: deposit.created for transfer ${w.trfDeposit}, which has no ledger entries`,
    ]);
  });

  it("names a record whose action is not its transfer's kind", () => {
    const w = world();
    const records = [...w.records];
    const r = records[1] as AuditRecord;
    const wrong = recordFromEvent(
      sampleEvent({ action: "withdrawal.created", targets: r.targets, money: r.money }),
    );
    records[1] = wrong;
    const report = verifyAudit({
      logEvents: toEvents(records),
      accounts: w.accounts,
      entries: w.entries,
    });
    expect(report.problems).toEqual([
      `${w.labels.deposit}: audit record ${wrong.eventId} says withdrawal.created`,
    ]);
  });
});
