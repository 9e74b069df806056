import { beforeEach, describe, expect, it } from "vitest";
import { sweepExpiredHolds } from "../../lib/ledger/expiry.ts";
import { cancelPayment, capturePayment } from "../../lib/ledger/holds.ts";
import type { LedgerDeps } from "../../lib/ledger/port.ts";
import {
  createAccount,
  createDeposit,
  createPayment,
  createRefund,
  createWithdrawal,
  getAccountView,
  getPayment,
  ledgerDeps,
  setAccountStatus,
} from "../../lib/ledger/service.ts";
import { ctxOf, outcome } from "../support/ledger-unit.ts";
import { MemoryLedgerStore } from "../support/memory-ledger-store.ts";

/**
 * Holds (API.md "Holds: authorize now, capture later") against the in-memory store,
 * with a clock the test moves: placing, capturing (whole and partial), canceling,
 * expiring without any timer, and the funds checks against `available`.
 */

let store: MemoryLedgerStore;
let deps: LedgerDeps;
let clock: number;
const TTL = 60;

const admin = ctxOf("usr_admin", ["admin"]);

async function party(userId: string, funds = 0) {
  const ctx = ctxOf(userId, ["customer", "merchant"]);
  const account = await createAccount(ctx, { currency: "USD" }, deps);
  if (funds > 0) {
    await createDeposit(admin, { accountId: account.id, amount: funds, reference: "seed" }, deps);
  }
  return { ctx, account };
}

const stored = (id: string) => {
  const a = store.accounts.get(id);
  return a && { balance: a.balance, held: a.held, available: a.available };
};
const heldOpen = (accountId: string) =>
  [...store.holds.values()]
    .filter((h) => h.accountId === accountId)
    .reduce((s, h) => s + h.amount, 0);

let payer: Awaited<ReturnType<typeof party>>;
let shop: Awaited<ReturnType<typeof party>>;

const hold = (amount: number, who = payer) =>
  createPayment(
    who.ctx,
    {
      sourceAccountId: who.account.id,
      destinationAccountId: shop.account.id,
      amount,
      currency: "USD",
      capture: false,
    },
    deps,
  );
const pay = (amount: number) =>
  createPayment(
    payer.ctx,
    {
      sourceAccountId: payer.account.id,
      destinationAccountId: shop.account.id,
      amount,
      currency: "USD",
    },
    deps,
  );

beforeEach(async () => {
  store = new MemoryLedgerStore();
  clock = Date.parse("2026-11-26T12:00:00.000Z");
  deps = { ...ledgerDeps(store), now: () => new Date(clock).toISOString(), holdTtlSeconds: TTL };
  payer = await party("usr_payer", 1_000);
  shop = await party("usr_shop");
});

describe("placing a hold", () => {
  it("drops the payer's available at once; no balance moves, no transfer", async () => {
    const transfers = store.transfers.size;
    const p = await hold(400);
    expect(p).toMatchObject({
      status: "requires_capture",
      amount: 400,
      amountCapturable: 400,
      amountCaptured: 0,
      captureBefore: "2026-11-26T12:01:00.000Z",
    });
    expect(stored(payer.account.id)).toEqual({ balance: 1_000, held: 400, available: 600 });
    expect(stored(shop.account.id)).toEqual({ balance: 0, held: 0, available: 0 });
    expect(store.transfers.size).toBe(transfers);
    expect(store.total()).toBe(0);
    expect(store.audit.at(-1)).toMatchObject({
      action: "payment.authorized",
      targets: { paymentId: p.id },
    });
    expect(store.events.at(-1)?.event).toMatchObject({ type: "payment.requires_capture" });
    const view = await getAccountView(payer.ctx, { accountId: payer.account.id }, deps);
    expect(view).toMatchObject({ balance: 1_000, held: 400, available: 600 });
  });

  it("every funds check is against available: payments, holds and withdrawals", async () => {
    await hold(700);
    expect(await outcome(pay(301))).toBe("402 insufficient_funds");
    expect(await outcome(hold(301))).toBe("402 insufficient_funds");
    const w = createWithdrawal(
      payer.ctx,
      { accountId: payer.account.id, amount: 301, reference: "out" },
      deps,
    );
    expect(await outcome(w)).toBe("402 insufficient_funds");
    expect(await outcome(pay(300))).toBe("ok");
    expect(stored(payer.account.id)).toEqual({ balance: 700, held: 700, available: 0 });
  });

  it("is refused like a payment: someone else's account, a frozen payee", async () => {
    const other = await party("usr_other", 100);
    const foreign = createPayment(
      payer.ctx,
      {
        sourceAccountId: other.account.id,
        destinationAccountId: shop.account.id,
        amount: 1,
        currency: "USD",
        capture: false,
      },
      deps,
    );
    expect(await outcome(foreign)).toBe("404 not_found");
    await setAccountStatus(admin, { accountId: shop.account.id, status: "frozen" }, deps);
    expect(await outcome(hold(10))).toBe("409 account_frozen");
    expect(stored(payer.account.id)).toEqual({ balance: 1_000, held: 0, available: 1_000 });
  });
});

describe("capture", () => {
  it("captures all by default: one transfer of kind capture", async () => {
    const p = await hold(400);
    const c = await capturePayment(shop.ctx, { paymentId: p.id }, deps);
    expect(c).toMatchObject({ status: "succeeded", amountCaptured: 400, amountCapturable: 0 });
    expect(stored(payer.account.id)).toEqual({ balance: 600, held: 0, available: 600 });
    expect(stored(shop.account.id)).toEqual({ balance: 400, held: 0, available: 400 });
    const trf = store.transfers.get(c.transferId ?? "");
    expect(trf).toMatchObject({ kind: "capture", amount: 400, paymentId: p.id });
    expect(store.entries.filter((e) => e.transferId === trf?.id)).toHaveLength(2);
    expect(store.audit.at(-1)).toMatchObject({
      action: "payment.captured",
      targets: { transferId: trf?.id, paymentId: p.id },
      money: { amount: 400, debitAccountId: payer.account.id },
    });
    expect(store.events.at(-1)?.event).toMatchObject({ type: "payment.succeeded" });
    expect(store.total()).toBe(0);
  });

  it("a partial capture releases the rest at once; refunds are bounded by the capture", async () => {
    const p = await hold(400);
    const c = await capturePayment(shop.ctx, { paymentId: p.id, amount: 150 }, deps);
    expect(c).toMatchObject({ amountCaptured: 150, amountCapturable: 0, status: "succeeded" });
    expect(stored(payer.account.id)).toEqual({ balance: 850, held: 0, available: 850 });
    const refund = (amount: number) => createRefund(shop.ctx, { paymentId: p.id, amount }, deps);
    expect(await outcome(refund(151))).toBe("409 refund_exceeds_payment");
    expect(await outcome(refund(150))).toBe("ok");
    expect((await getPayment(payer.ctx, { paymentId: p.id }, deps)).status).toBe("refunded");
  });

  it("only the payee (or an admin) captures; 1 <= amount <= amountCapturable", async () => {
    const p = await hold(400);
    expect(await outcome(capturePayment(payer.ctx, { paymentId: p.id }, deps))).toBe(
      "403 forbidden",
    );
    const stranger = await party("usr_stranger");
    expect(await outcome(capturePayment(stranger.ctx, { paymentId: p.id }, deps))).toBe(
      "404 not_found",
    );
    expect(await outcome(capturePayment(shop.ctx, { paymentId: p.id, amount: 401 }, deps))).toBe(
      "400 validation_failed",
    );
    expect(await outcome(capturePayment(admin, { paymentId: p.id, amount: 1 }, deps))).toBe("ok");
  });

  it("a hold is settled once: a second capture or a cancel answers 409", async () => {
    const p = await hold(400);
    await capturePayment(shop.ctx, { paymentId: p.id }, deps);
    expect(await outcome(capturePayment(shop.ctx, { paymentId: p.id }, deps))).toBe(
      "409 payment_not_capturable",
    );
    expect(await outcome(cancelPayment(payer.ctx, { paymentId: p.id }, deps))).toBe(
      "409 payment_not_capturable",
    );
    const immediate = await pay(10);
    expect(immediate).toMatchObject({ amountCaptured: 10, status: "succeeded" });
    expect(await outcome(capturePayment(shop.ctx, { paymentId: immediate.id }, deps))).toBe(
      "409 payment_not_capturable",
    );
  });

  it("racing captures and a cancel of one hold: exactly one wins", async () => {
    const p = await hold(400);
    const results = await Promise.all([
      ...Array.from({ length: 5 }, () =>
        outcome(capturePayment(shop.ctx, { paymentId: p.id }, deps)),
      ),
      outcome(cancelPayment(payer.ctx, { paymentId: p.id }, deps)),
    ]);
    expect(results.filter((r) => r === "ok")).toHaveLength(1);
    expect(results.filter((r) => r === "409 payment_not_capturable")).toHaveLength(5);
    expect(stored(payer.account.id)?.held).toBe(0);
    expect(store.total()).toBe(0);
  });
});

describe("cancel", () => {
  it("releases it all; either side or an admin may cancel", async () => {
    const p = await hold(400);
    const c = await cancelPayment(payer.ctx, { paymentId: p.id }, deps);
    expect(c).toMatchObject({
      status: "canceled",
      cancellationReason: "requested",
      amountCapturable: 0,
      amountCaptured: 0,
    });
    expect(stored(payer.account.id)).toEqual({ balance: 1_000, held: 0, available: 1_000 });
    expect(store.audit.at(-1)?.action).toBe("payment.canceled");
    expect(store.events.at(-1)?.event.type).toBe("payment.canceled");
    const q = await hold(10);
    expect(await outcome(cancelPayment(shop.ctx, { paymentId: q.id }, deps))).toBe("ok");
    const r = await hold(10);
    const auditor = ctxOf("usr_aud", ["auditor"]);
    expect(await outcome(cancelPayment(auditor, { paymentId: r.id }, deps))).toBe("403 forbidden");
  });
});

describe("expiry, trusting no timer", () => {
  it("a hold past captureBefore reads canceled (expired) and cannot be captured", async () => {
    const p = await hold(400);
    clock += TTL * 1000;
    expect(await getPayment(payer.ctx, { paymentId: p.id }, deps)).toMatchObject({
      status: "canceled",
      cancellationReason: "expired",
      amountCapturable: 0,
    });
    expect(await outcome(capturePayment(shop.ctx, { paymentId: p.id }, deps))).toBe(
      "409 payment_not_capturable",
    );
    expect(await outcome(cancelPayment(payer.ctx, { paymentId: p.id }, deps))).toBe(
      "409 payment_not_capturable",
    );
    // The account view already gives the amount back, before any release.
    const view = await getAccountView(payer.ctx, { accountId: payer.account.id }, deps);
    expect(view).toMatchObject({ balance: 1_000, held: 0, available: 1_000 });
    expect(stored(payer.account.id)?.held).toBe(400);
  });

  it("a payment or withdrawal that only expired holds stand in the way of releases them and goes through", async () => {
    const p = await hold(900);
    const q = await hold(100);
    clock += TTL * 1000;
    expect(await outcome(pay(950))).toBe("ok");
    expect(stored(payer.account.id)).toEqual({ balance: 50, held: 0, available: 50 });
    expect(store.holds.size).toBe(0);
    expect(store.audit.filter((a) => a.action === "payment.expired")).toHaveLength(2);
    for (const id of [p.id, q.id]) {
      expect(store.payments.get(id)).toMatchObject({
        status: "canceled",
        cancellationReason: "expired",
      });
    }
    await hold(50);
    clock += TTL * 1000;
    const w = createWithdrawal(
      payer.ctx,
      { accountId: payer.account.id, amount: 50, reference: "out" },
      deps,
    );
    expect(await outcome(w)).toBe("ok");
    expect(stored(payer.account.id)).toEqual({ balance: 0, held: 0, available: 0 });
  });

  it("a movement short of funds for other reasons is still refused", async () => {
    await hold(600);
    clock += TTL * 1000;
    await hold(300);
    expect(await outcome(pay(800))).toBe("402 insufficient_funds");
    // The expired hold was released on the way; the open one still holds.
    expect(stored(payer.account.id)).toEqual({ balance: 1_000, held: 300, available: 700 });
  });

  it("the sweeper releases expired holds for the books, once", async () => {
    const p = await hold(400);
    const q = await hold(100);
    await capturePayment(shop.ctx, { paymentId: q.id, amount: 40 }, deps);
    const open = await hold(200);
    clock += (TTL - 1) * 1000;
    const late = await hold(50);
    clock += 1000;
    expect(await sweepExpiredHolds(deps)).toEqual({ released: 2, seen: 2 });
    expect(await sweepExpiredHolds(deps)).toEqual({ released: 0, seen: 0 });
    expect(store.payments.get(p.id)?.status).toBe("canceled");
    expect(store.payments.get(open.id)?.status).toBe("canceled");
    expect(store.payments.get(late.id)?.status).toBe("requires_capture");
    expect(stored(payer.account.id)).toEqual({ balance: 960, held: 50, available: 910 });
    expect(heldOpen(payer.account.id)).toBe(50);
    const expired = store.audit.filter((a) => a.action === "payment.expired");
    expect(expired.map((a) => a.targets.paymentId).sort()).toEqual([p.id, open.id].sort());
    expect(expired[0]?.actor.userId).toBeNull();
  });
});
