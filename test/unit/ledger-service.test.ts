import { beforeEach, describe, expect, it } from "vitest";
import { AlreadyAnswered, type IdempotencyClaim } from "../../lib/idempotency.ts";
import { systemAccountId } from "../../lib/ledger/model.ts";
import type { LedgerContext, LedgerDeps } from "../../lib/ledger/port.ts";
import {
  createAccount,
  createDeposit,
  createPayment,
  createRefund,
  createWithdrawal,
  getPayment,
  getTransferView,
  ledgerDeps,
  listAccountEntries,
  setAccountStatus,
  setBalanceShards,
} from "../../lib/ledger/service.ts";
import { ctxOf, outcome } from "../support/ledger-unit.ts";
import { MemoryLedgerStore } from "../support/memory-ledger-store.ts";

/**
 * The ledger's operations against the in-memory store (no DynamoDB, no HTTP): the same
 * answers, in the same precedence, as the stack tests assert end to end.
 */

let store: MemoryLedgerStore;
let deps: LedgerDeps;

const admin = ctxOf("usr_admin", ["admin"]);
const auditor = ctxOf("usr_auditor", ["auditor"]);

async function customer(userId: string, funds = 0, currency = "USD") {
  const ctx = ctxOf(userId, ["customer", "merchant"]);
  const account = await createAccount(ctx, { currency }, deps);
  if (funds > 0) {
    await createDeposit(admin, { accountId: account.id, amount: funds, reference: "seed" }, deps);
  }
  return { ctx, account };
}

const balance = (id: string) => store.accounts.get(id)?.balance;

beforeEach(() => {
  store = new MemoryLedgerStore();
  deps = ledgerDeps(store);
});

describe("payments", () => {
  it("moves money as one transfer: two entries, a payment, an audit event", async () => {
    const a = await customer("usr_a", 1_000);
    const b = await customer("usr_b");
    const before = store.posts;
    const pay = await createPayment(
      a.ctx,
      {
        sourceAccountId: a.account.id,
        destinationAccountId: b.account.id,
        amount: 300,
        currency: "USD",
        description: "order 1",
      },
      deps,
    );
    expect(store.posts - before).toBe(1);
    expect(pay).toMatchObject({ status: "succeeded", amount: 300, amountRefunded: 0 });
    expect([balance(a.account.id), balance(b.account.id)]).toEqual([700, 300]);
    expect(store.total()).toBe(0);
    const trf = await getTransferView(b.ctx, { transferId: pay.transferId ?? "" }, deps);
    expect(trf).toMatchObject({
      kind: "payment",
      debitAccountId: a.account.id,
      creditAccountId: b.account.id,
      paymentId: pay.id,
    });
    const entries = store.entries.filter((e) => e.transferId === trf.id);
    expect(entries.map((e) => [e.accountId, e.direction])).toEqual([
      [a.account.id, "debit"],
      [b.account.id, "credit"],
    ]);
    const event = store.audit.at(-1);
    expect(event).toMatchObject({
      action: "payment.created",
      targets: { transferId: trf.id, paymentId: pay.id },
      money: { amount: 300, debitAccountId: a.account.id, creditAccountId: b.account.id },
    });
    const notice = store.events.at(-1);
    expect(notice?.event).toMatchObject({ type: "payment.succeeded", data: { object: pay } });
    expect(notice?.accountIds).toEqual([a.account.id, b.account.id]);
  });

  it("a refused payment moves nothing", async () => {
    const a = await customer("usr_a", 100);
    const b = await customer("usr_b");
    const entries = store.entries.length;
    const body = {
      sourceAccountId: a.account.id,
      destinationAccountId: b.account.id,
      amount: 101,
      currency: "USD",
    };
    const events = store.events.length;
    expect(await outcome(createPayment(a.ctx, body, deps))).toBe("402 insufficient_funds");
    expect([balance(a.account.id), balance(b.account.id)]).toEqual([100, 0]);
    expect(store.entries.length).toBe(entries);
    expect(store.events.length).toBe(events);
  });

  it("answers request errors before any posting", async () => {
    const a = await customer("usr_a", 100);
    const before = store.posts;
    const base = { sourceAccountId: a.account.id, destinationAccountId: a.account.id };
    expect(await outcome(createPayment(a.ctx, { ...base, amount: 1, currency: "USD" }, deps))).toBe(
      "400 validation_failed",
    );
    expect(await outcome(createPayment(a.ctx, { ...base, amount: 0, currency: "USD" }, deps))).toBe(
      "400 validation_failed",
    );
    expect(await outcome(createPayment(a.ctx, { ...base, amount: 1, currency: "ZZZ" }, deps))).toBe(
      "400 validation_failed",
    );
    expect(store.posts).toBe(before);
  });
});

describe("refusal precedence of a payment (one order, from the failed conditions)", () => {
  const pay = (ctx: LedgerContext, src: string, dst: string, amount = 10, currency = "USD") =>
    outcome(
      createPayment(
        ctx,
        { sourceAccountId: src, destinationAccountId: dst, amount, currency },
        deps,
      ),
    );

  it("a source the caller may not pay from: 404 unseen, 403 for staff, before all else", async () => {
    const a = await customer("usr_a", 5);
    const b = await customer("usr_b", 100);
    const c = await customer("usr_c");
    await setAccountStatus(admin, { accountId: c.account.id, status: "frozen" }, deps);
    expect(await pay(a.ctx, b.account.id, c.account.id)).toBe("404 not_found");
    expect(await pay(a.ctx, "acc_missing", "acc_missing2")).toBe("404 not_found");
    const funding = systemAccountId("funding", "USD");
    expect(await pay(a.ctx, funding, b.account.id)).toBe("404 not_found");
    const staff = ctxOf("usr_a", ["customer", "admin"]);
    expect(await pay(staff, b.account.id, "acc_missing")).toBe("403 forbidden");
  });

  it("then a missing destination (404), then currency on either side (422)", async () => {
    const a = await customer("usr_a", 5);
    const eur = await customer("usr_e", 0, "EUR");
    await setAccountStatus(admin, { accountId: a.account.id, status: "frozen" }, deps);
    expect(await pay(a.ctx, a.account.id, "acc_missing")).toBe("404 not_found");
    // Frozen and short of funds, but the destination's currency differs: 422 first.
    expect(await pay(a.ctx, a.account.id, eur.account.id)).toBe("422 currency_mismatch");
  });

  it("then the source (frozen 409 before funds 402), then a frozen destination (409)", async () => {
    const a = await customer("usr_a", 5);
    const b = await customer("usr_b");
    await setAccountStatus(admin, { accountId: b.account.id, status: "frozen" }, deps);
    expect(await pay(a.ctx, a.account.id, b.account.id, 10)).toBe("402 insufficient_funds");
    expect(await pay(a.ctx, a.account.id, b.account.id, 5)).toBe("409 account_frozen");
    await setAccountStatus(admin, { accountId: a.account.id, status: "frozen" }, deps);
    expect(await pay(a.ctx, a.account.id, b.account.id, 10)).toBe("409 account_frozen");
  });
});

describe("refunds", () => {
  it("partial refunds add up to at most the payment; status follows", async () => {
    const a = await customer("usr_a", 100);
    const m = await customer("usr_m");
    const p = await createPayment(
      a.ctx,
      {
        sourceAccountId: a.account.id,
        destinationAccountId: m.account.id,
        amount: 100,
        currency: "USD",
      },
      deps,
    );
    const r1 = await createRefund(m.ctx, { paymentId: p.id, amount: 30, reason: "late" }, deps);
    expect(r1).toMatchObject({ paymentId: p.id, amount: 30, reason: "late" });
    expect((await getPayment(a.ctx, { paymentId: p.id }, deps)).status).toBe("partially_refunded");
    expect(await outcome(createRefund(m.ctx, { paymentId: p.id, amount: 71 }, deps))).toBe(
      "409 refund_exceeds_payment",
    );
    expect(await outcome(createRefund(a.ctx, { paymentId: p.id, amount: 1 }, deps))).toBe(
      "403 forbidden",
    );
    expect(await outcome(createRefund(ctxOf("usr_x"), { paymentId: p.id }, deps))).toBe(
      "404 not_found",
    );
    const rest = await createRefund(admin, { paymentId: p.id }, deps);
    expect(rest.amount).toBe(70);
    expect((await getPayment(auditor, { paymentId: p.id }, deps)).status).toBe("refunded");
    expect([balance(a.account.id), balance(m.account.id)]).toEqual([100, 0]);
    expect(store.total()).toBe(0);
  });

  it("the payment's limit outranks the recipient's funds", async () => {
    const a = await customer("usr_a", 100);
    const m = await customer("usr_m");
    const c = await customer("usr_c");
    const p = await createPayment(
      a.ctx,
      {
        sourceAccountId: a.account.id,
        destinationAccountId: m.account.id,
        amount: 60,
        currency: "USD",
      },
      deps,
    );
    // The recipient spends the money, then two refunds race: the first is short of
    // funds, and once the payment is fully refunded by an admin the limit answers.
    await createPayment(
      m.ctx,
      {
        sourceAccountId: m.account.id,
        destinationAccountId: c.account.id,
        amount: 50,
        currency: "USD",
      },
      deps,
    );
    expect(await outcome(createRefund(m.ctx, { paymentId: p.id, amount: 20 }, deps))).toBe(
      "402 insufficient_funds",
    );
    await createRefund(m.ctx, { paymentId: p.id, amount: 10 }, deps);
    expect(await outcome(createRefund(m.ctx, { paymentId: p.id, amount: 51 }, deps))).toBe(
      "409 refund_exceeds_payment",
    );
  });
});

describe("deposits and withdrawals", () => {
  it("answer their transfer and its two entries; no overdraft", async () => {
    const a = await customer("usr_a");
    const dep = await createDeposit(
      admin,
      { accountId: a.account.id, amount: 500, reference: "wire" },
      deps,
    );
    expect(dep.id).toMatch(/^trf_/);
    expect(dep).toMatchObject({
      kind: "deposit",
      accountId: a.account.id,
      debitAccountId: systemAccountId("funding", "USD"),
      creditAccountId: a.account.id,
      reference: "wire",
    });
    expect(dep.entries.map((e) => e.transferId)).toEqual([dep.id, dep.id]);
    const wd = await createWithdrawal(
      a.ctx,
      { accountId: a.account.id, amount: 200, reference: "out" },
      deps,
    );
    expect(wd.creditAccountId).toBe(systemAccountId("payout", "USD"));
    expect(balance(a.account.id)).toBe(300);
    expect(
      await outcome(
        createWithdrawal(a.ctx, { accountId: a.account.id, amount: 301, reference: "x" }, deps),
      ),
    ).toBe("402 insufficient_funds");
    const page = await listAccountEntries(a.ctx, { accountId: a.account.id, limit: 10 }, deps);
    expect(page.data).toHaveLength(2);
    expect(store.total()).toBe(0);
  });

  it("who may move money: 404 to strangers, 403 to staff, 409 frozen", async () => {
    const a = await customer("usr_a", 100);
    const req = { accountId: a.account.id, amount: 1, reference: "r" };
    expect(await outcome(createWithdrawal(ctxOf("usr_b"), req, deps))).toBe("404 not_found");
    expect(await outcome(createWithdrawal(admin, req, deps))).toBe("403 forbidden");
    expect(await outcome(createDeposit(admin, { ...req, amount: 0 }, deps))).toBe(
      "400 validation_failed",
    );
    await setAccountStatus(admin, { accountId: a.account.id, status: "frozen" }, deps);
    expect(await outcome(createDeposit(admin, req, deps))).toBe("409 account_frozen");
    expect(await outcome(createWithdrawal(a.ctx, req, deps))).toBe("409 account_frozen");
    const funding = systemAccountId("funding", "USD");
    expect(await outcome(createDeposit(admin, { ...req, accountId: funding }, deps))).toBe(
      "400 validation_failed",
    );
  });

  it("a transfer is visible to either side's owner and staff, 404 to anyone else", async () => {
    const a = await customer("usr_a");
    const dep = await createDeposit(
      admin,
      { accountId: a.account.id, amount: 5, reference: "r" },
      deps,
    );
    expect((await getTransferView(a.ctx, { transferId: dep.id }, deps)).id).toBe(dep.id);
    expect((await getTransferView(auditor, { transferId: dep.id }, deps)).id).toBe(dep.id);
    expect(await outcome(getTransferView(ctxOf("usr_b"), { transferId: dep.id }, deps))).toBe(
      "404 not_found",
    );
  });
});

describe("idempotency claim in the posting", () => {
  const claim = (key: string, fingerprint = "fp"): IdempotencyClaim => ({
    scope: "usr_a",
    key,
    fingerprint,
    routeId: "payments-create",
    status: 201,
  });

  it("a duplicate finds the key answered: the first body, one effect", async () => {
    const a = await customer("usr_a", 100);
    const b = await customer("usr_b");
    const body = {
      sourceAccountId: a.account.id,
      destinationAccountId: b.account.id,
      amount: 60,
      currency: "USD",
    };
    const first = await createPayment({ ...a.ctx, idempotency: claim("k1") }, body, deps);
    const again = createPayment({ ...a.ctx, idempotency: claim("k1") }, body, deps);
    // The key outranks every refusal: the second would also lack funds.
    const err = await again.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AlreadyAnswered);
    expect((err as AlreadyAnswered).answer).toEqual({
      fingerprint: "fp",
      status: 201,
      body: JSON.stringify(first),
      contentType: "application/json",
    });
    expect(balance(a.account.id)).toBe(40);
    expect(store.payments.size).toBe(1);
  });
});

describe("balance shards (issue 18)", () => {
  beforeEach(() => {
    store = new MemoryLedgerStore();
    deps = ledgerDeps(store);
  });

  it("an admin raises a customer account's shards; they never shrink; only admins; never a system account", async () => {
    const { account } = await customer("usr_m", 500);
    const raised = await setBalanceShards(
      admin,
      { accountId: account.id, balanceShards: 16 },
      deps,
    );
    expect(raised.balanceShards).toBe(16);
    expect(raised.balance).toBe(500);
    expect(store.audit.at(-1)?.action).toBe("account.shards_raised");
    expect(
      await outcome(setBalanceShards(admin, { accountId: account.id, balanceShards: 16 }, deps)),
    ).toBe("ok");
    expect(
      await outcome(setBalanceShards(admin, { accountId: account.id, balanceShards: 4 }, deps)),
    ).toBe("400 validation_failed");
    expect(
      await outcome(setBalanceShards(auditor, { accountId: account.id, balanceShards: 32 }, deps)),
    ).toBe("403 forbidden");
    const funding = systemAccountId("funding", "USD");
    expect(
      await outcome(setBalanceShards(admin, { accountId: funding, balanceShards: 4 }, deps)),
    ).toMatch(/^40[04] /);
  });
});
