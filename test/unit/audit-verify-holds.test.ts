import { describe, expect, it } from "vitest";
import { toLogEvent } from "../../lib/audit/log-format.ts";
import { recordFromEvent } from "../../lib/audit/record.ts";
import { newId } from "../../lib/ids.ts";
import { sweepExpiredHolds } from "../../lib/ledger/expiry.ts";
import { cancelPayment, capturePayment } from "../../lib/ledger/holds.ts";
import type { PaymentView } from "../../lib/ledger/model.ts";
import {
  createAccount,
  createDeposit,
  createPayment,
  ledgerDeps,
} from "../../lib/ledger/service.ts";
import { type VerifyInput, verifyAudit } from "../../tools/audit/verify.ts";
import { ctxOf } from "../support/ledger-unit.ts";
import { MemoryLedgerStore } from "../support/memory-ledger-store.ts";

/**
 * `npm run audit -- verify` reconciles holds (issue 13): held equals the open holds,
 * available equals balance - held, and each hold's authorized amount is captured plus
 * released plus open, settled at most once. The world is made by the real domain
 * operations against the in-memory store, then read the way verify reads DynamoDB.
 */

async function world() {
  const store = new MemoryLedgerStore();
  let clock = Date.parse("2026-11-26T12:00:00.000Z");
  const deps = {
    ...ledgerDeps(store),
    now: () => new Date(clock).toISOString(),
    holdTtlSeconds: 60,
  };
  const admin = ctxOf("usr_admin", ["admin"]);
  const payer = ctxOf("usr_p", ["customer"]);
  const shop = ctxOf("usr_s", ["merchant"]);
  const a = await createAccount(payer, { currency: "USD" }, deps);
  const b = await createAccount(shop, { currency: "USD" }, deps);
  await createDeposit(admin, { accountId: a.id, amount: 5_000, reference: "seed" }, deps);
  const hold = (amount: number) =>
    createPayment(
      payer,
      {
        sourceAccountId: a.id,
        destinationAccountId: b.id,
        amount,
        currency: "USD",
        capture: false,
      },
      deps,
    );
  const captured = await hold(1_000);
  await capturePayment(shop, { paymentId: captured.id, amount: 600 }, deps);
  const canceled = await hold(500);
  await cancelPayment(payer, { paymentId: canceled.id }, deps);
  const expired = await hold(700);
  clock += 61_000;
  await sweepExpiredHolds(deps);
  const open = await hold(300);

  const input = (): VerifyInput => ({
    logEvents: store.audit.map((e) => toLogEvent(recordFromEvent(e), "s", 0)),
    accounts: [...store.accounts.values()].map((acc) => ({
      id: acc.id,
      balance: acc.balance,
      currency: acc.currency,
      kind: acc.kind,
      held: acc.held,
      available: acc.available,
    })),
    entries: store.entries,
    holds: {
      payments: [...store.payments.values()]
        .filter((p): p is PaymentView & { captureBefore: string } => !!p.captureBefore)
        .map((p) => ({
          id: p.id,
          sourceAccountId: p.sourceAccountId,
          amount: p.amount,
          amountCaptured: p.amountCaptured,
          amountCapturable: p.amountCapturable,
          captureState:
            p.status === "requires_capture" || p.status === "canceled" ? p.status : "captured",
        })),
      open: [...store.holds.values()],
    },
  });
  return { store, input, a, ids: { captured, canceled, expired, open } };
}

describe("verify: holds", () => {
  it("passes a world of captured, canceled, expired and open holds", async () => {
    const w = await world();
    const report = verifyAudit(w.input());
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it("names an account whose held differs from its open holds", async () => {
    const w = await world();
    const input = w.input();
    const report = verifyAudit({
      ...input,
      holds: { payments: input.holds?.payments ?? [], open: [] },
    });
    expect(report.problems).toContain(`account ${w.a.id}: held 300 != sum of open holds 0`);
  });

  it("names a hold settled twice, and one whose parts do not add up", async () => {
    const w = await world();
    const input = w.input();
    const expiredRecord = w.store.audit.find(
      (e) => e.action === "payment.expired" && e.targets.paymentId === w.ids.expired.id,
    );
    if (!expiredRecord) throw new Error("no expiry record");
    const twice = {
      ...expiredRecord,
      eventId: newId("evt"),
      action: "payment.canceled",
    };
    const report = verifyAudit({
      ...input,
      logEvents: [...input.logEvents, toLogEvent(recordFromEvent(twice), "s", 0)],
    });
    expect(report.problems).toContainEqual(
      expect.stringContaining(`hold ${w.ids.expired.id}: settled 2 times`),
    );
    expect(report.problems).toContainEqual(
      expect.stringContaining(`hold ${w.ids.expired.id}: captured 0 + released 1400`),
    );
  });
});
