import { actorOf, newAuditEvent } from "../audit/events.ts";
import type { ApprovalDecision } from "../auth/approvals.ts";
import { config } from "../config.ts";
import { newEvent } from "../events/model.ts";
import { newId } from "../ids.ts";
import { badRequest, forbidden, notFound, Refusal } from "../problems.ts";
import { type AccountView, newCustomerAccount } from "./accounts.ts";
import { createHold, visiblePayment } from "./holds.ts";
import {
  type EntryView,
  type PaymentView,
  paymentAt,
  type RefundView,
  type Transfer,
  type TransferView,
} from "./model.ts";
import type { LedgerContext, LedgerDeps, LedgerStore, Page, PageRequest } from "./port.ts";
import { postTransfer } from "./posting.ts";
import {
  accountRefusal,
  canRead,
  isAdmin,
  refundAmount,
  requireActor,
  requireAmount,
  requireCurrency,
} from "./rules.ts";
import { MAX_BALANCE_SHARDS } from "./shards.ts";

/**
 * The ledger's operations, one per route: `(ctx, input, deps) => Promise<view>`,
 * throwing `Refusal` (a code, no HTTP status). They know their caller only as a
 * CallContext and persistence only as the LedgerStore port (lib/ledger/port.ts), so
 * unit tests run them against an in-memory store. Every money movement goes through
 * `postTransfer` (lib/ledger/posting.ts): ONE posting, ONE store call.
 */

/** The production clock and id source around a store. */
export function ledgerDeps(store: LedgerStore): LedgerDeps {
  return {
    store,
    now: () => new Date().toISOString(),
    newId,
    holdTtlSeconds: config().MICROPAY_HOLD_TTL_SECONDS,
  };
}

/**
 * An account as it stands now: holds past their `captureBefore` keep nothing, even
 * before a sweeper has released them (API.md "Holds"), so they leave `held` and come
 * back to `available` in the view. One Query, only for an account that holds money.
 */
async function accountNow(account: AccountView, deps: LedgerDeps): Promise<AccountView> {
  if (account.held <= 0) return account;
  const expired = await deps.store.expiredHoldsOf(account.id, deps.now(), 100);
  const stale = expired.reduce((sum, h) => sum + h.amount, 0);
  if (stale === 0) return account;
  return { ...account, held: account.held - stale, available: account.available + stale };
}

async function visibleAccount(
  ctx: LedgerContext,
  accountId: string,
  deps: LedgerDeps,
): Promise<AccountView> {
  const account = await deps.store.getAccount(accountId);
  if (!account || !canRead(ctx.principal, [account.ownerId])) throw notFound("No such account.");
  return accountNow(account, deps);
}

// ---------------------------------------------------------------------------
// Accounts

export async function listAccounts(
  ctx: LedgerContext,
  input: PageRequest & { ownerId?: string | undefined },
  deps: LedgerDeps,
): Promise<Page<AccountView>> {
  const p = ctx.principal;
  const ownerId = input.ownerId ?? p.userId;
  if (ownerId !== p.userId && !canRead(p, [])) {
    throw forbidden("Only admins and auditors may list another owner's accounts.");
  }
  const page = await deps.store.listAccountsOfOwner(ownerId, input);
  return { ...page, data: await Promise.all(page.data.map((a) => accountNow(a, deps))) };
}

export async function createAccount(
  ctx: LedgerContext,
  input: { currency: string },
  deps: LedgerDeps,
): Promise<AccountView> {
  const p = ctx.principal;
  requireCurrency(input.currency);
  const account = newCustomerAccount({
    id: deps.newId("acc"),
    ownerId: p.userId,
    currency: input.currency,
    now: deps.now(),
  });
  const event = newAuditEvent(actorOf(ctx), "account.created", {
    targets: { accountId: account.id, ownerId: p.userId },
  });
  if (!(await deps.store.createAccount(account, event))) {
    throw new Refusal("account_exists", `You already have a ${input.currency} account.`);
  }
  return account;
}

export const getAccountView = (
  ctx: LedgerContext,
  input: { accountId: string },
  deps: LedgerDeps,
): Promise<AccountView> => visibleAccount(ctx, input.accountId, deps);

export async function listAccountEntries(
  ctx: LedgerContext,
  input: PageRequest & { accountId: string },
  deps: LedgerDeps,
): Promise<Page<EntryView>> {
  const account = await visibleAccount(ctx, input.accountId, deps);
  return deps.store.listEntries(account.id, input);
}

export async function setAccountStatus(
  ctx: LedgerContext,
  input: { accountId: string; status: "active" | "frozen" },
  deps: LedgerDeps,
): Promise<AccountView> {
  const account = await visibleAccount(ctx, input.accountId, deps);
  if (account.kind === "system") throw badRequest("System accounts cannot be frozen.");
  const now = deps.now();
  const event = newAuditEvent(
    actorOf(ctx),
    input.status === "frozen" ? "account.frozen" : "account.unfrozen",
    { targets: { accountId: account.id, ownerId: account.ownerId } },
  );
  const view: AccountView = { ...account, status: input.status, updatedAt: now };
  const changed = newEvent("account.updated", view, [account.id], now);
  if (!(await deps.store.setAccountStatus(account.id, input.status, now, event, changed))) {
    throw notFound("No such account.");
  }
  return view;
}

/**
 * Raises an account's balance shards (issue 18, lib/ledger/shards.ts): admins, on
 * customer accounts; the count only grows (its shards may hold money), up to
 * MAX_BALANCE_SHARDS. The same count is a no-op answer.
 */
export async function setBalanceShards(
  ctx: LedgerContext,
  input: { accountId: string; balanceShards: number },
  deps: LedgerDeps,
): Promise<AccountView> {
  if (!isAdmin(ctx.principal)) throw forbidden("Only admins set an account's balance shards.");
  const account = await visibleAccount(ctx, input.accountId, deps);
  if (account.kind === "system") {
    throw badRequest("System accounts have MICROPAY_SYSTEM_SHARDS shards (a setting).");
  }
  const from = account.balanceShards ?? 1;
  const to = input.balanceShards;
  if (to < from) {
    throw badRequest(`balanceShards only grows; this account has ${from}.`, [
      { path: "body.balanceShards", message: `at least ${from}` },
    ]);
  }
  if (to > MAX_BALANCE_SHARDS) throw badRequest(`balanceShards is at most ${MAX_BALANCE_SHARDS}.`);
  if (to === from) return account;
  const now = deps.now();
  const audit = newAuditEvent(actorOf(ctx), "account.shards_raised", {
    targets: { accountId: account.id, ownerId: account.ownerId },
  });
  const view: AccountView = { ...account, balanceShards: to, updatedAt: now };
  const changed = newEvent("account.updated", view, [account.id], now);
  if (!(await deps.store.setBalanceShards(account, from, to, now, audit, changed))) {
    throw new Refusal("concurrent_update", "The account changed meanwhile; try again.");
  }
  return view;
}

// ---------------------------------------------------------------------------
// Deposits and withdrawals

export interface TransferInput {
  readonly accountId: string;
  readonly amount: number;
  readonly reference: string;
  /** A deposit carried out by an approval (dual control, lib/auth/approvals.ts). */
  readonly approval?: ApprovalDecision | undefined;
}

async function depositOrWithdrawal(
  ctx: LedgerContext,
  input: TransferInput,
  kind: "deposit" | "withdrawal",
  deps: LedgerDeps,
): Promise<TransferView> {
  const p = ctx.principal;
  // Unlike a payment, a deposit or withdrawal must read its account first: the body
  // names no currency, and the account's currency decides the amount's range (minor
  // units) and which system account is the other side of the transfer.
  const account = await deps.store.getAccount(input.accountId);
  if (!account || !canRead(p, [account.ownerId])) throw notFound("No such account.");
  if (account.kind === "system") {
    throw badRequest("System accounts take no deposits or withdrawals.");
  }
  if (kind === "withdrawal") requireActor(p, [account.ownerId], [account.ownerId]);
  const { amount, reference } = input;
  const currency = account.currency;
  requireAmount(amount, currency);
  const pre = accountRefusal(account, kind === "deposit" ? "credit" : "debit", amount, currency);
  // Funds kept only by expired holds are the posting's to judge (it releases them).
  if (pre && !(pre.code === "insufficient_funds" && account.held > 0)) throw pre;

  const customer = {
    label: "customer",
    account: { type: "customer", accountId: account.id },
  } as const;
  const system = {
    label: "system",
    account: { type: "system", purpose: kind === "deposit" ? "funding" : "payout" },
  } as const;
  return postTransfer(
    ctx,
    {
      kind,
      transferId: deps.newId("trf"),
      debit: { ...(kind === "deposit" ? system : customer), direction: "debit" },
      credit: { ...(kind === "deposit" ? customer : system), direction: "credit" },
      amount,
      currency,
      reference,
      now: deps.now(),
      event: { type: "transfer.created", accountIds: [account.id] },
      audit: { action: `${kind}.created`, targets: { accountId: account.id } },
      approval: input.approval,
      view: (trf, entries): TransferView => ({
        ...trf,
        kind,
        reference,
        accountId: account.id,
        entries: [entries[0], entries[1]],
      }),
    },
    deps,
  );
}

export const createDeposit = (ctx: LedgerContext, input: TransferInput, deps: LedgerDeps) =>
  depositOrWithdrawal(ctx, input, "deposit", deps);

export const createWithdrawal = (ctx: LedgerContext, input: TransferInput, deps: LedgerDeps) =>
  depositOrWithdrawal(ctx, input, "withdrawal", deps);

// ---------------------------------------------------------------------------
// Payments

export interface PaymentInput {
  readonly sourceAccountId: string;
  readonly destinationAccountId: string;
  readonly amount: number;
  readonly currency: string;
  readonly description?: string | undefined;
  /** false: place a hold to capture later (API.md "Holds"); default true. */
  readonly capture?: boolean | undefined;
}

export async function createPayment(
  ctx: LedgerContext,
  b: PaymentInput,
  deps: LedgerDeps,
): Promise<PaymentView> {
  requireCurrency(b.currency);
  requireAmount(b.amount, b.currency);
  if (b.sourceAccountId === b.destinationAccountId) {
    throw badRequest("Source and destination must differ.", [
      { path: "body.destinationAccountId", message: "must differ from sourceAccountId" },
    ]);
  }
  // No read before the posting. Everything a read of the two accounts would decide is
  // a condition of the posting's balance changes: the source exists, is a customer
  // account, belongs to the caller (`ownerId`), is active, holds the payment's currency
  // and covers the amount; the destination exists, is a customer account, is active
  // and holds the currency. The store judges every condition of a refused posting and
  // returns each failed account as it stood, which is all `refusalOf` needs to give the
  // same answer, in the same precedence, that a read would have. So a payment is one
  // round trip (the idempotency record rides in the same transaction), and a read can
  // never be stale against the write it was meant to guard. A hold is judged alike.
  if (b.capture === false) return createHold(ctx, b, deps);
  const now = deps.now();
  const transferId = deps.newId("trf");
  const payment: PaymentView = {
    id: deps.newId("pay"),
    status: "succeeded",
    sourceAccountId: b.sourceAccountId,
    destinationAccountId: b.destinationAccountId,
    amount: b.amount,
    currency: b.currency,
    amountRefunded: 0,
    amountCaptured: b.amount,
    amountCapturable: 0,
    description: b.description ?? null,
    transferId,
    createdAt: now,
  };
  return postTransfer(
    ctx,
    {
      kind: "payment",
      transferId,
      debit: {
        label: "source",
        account: { type: "customer", accountId: b.sourceAccountId, ownerId: ctx.principal.userId },
        direction: "debit",
      },
      credit: {
        label: "destination",
        account: { type: "customer", accountId: b.destinationAccountId },
        direction: "credit",
      },
      amount: b.amount,
      currency: b.currency,
      paymentId: payment.id,
      now,
      record: { type: "payment", payment },
      event: { type: "payment.succeeded", accountIds: [b.sourceAccountId, b.destinationAccountId] },
      audit: {
        action: "payment.created",
        targets: {
          paymentId: payment.id,
          sourceAccountId: b.sourceAccountId,
          destinationAccountId: b.destinationAccountId,
        },
      },
      view: () => payment,
    },
    deps,
  );
}

export async function getPayment(
  ctx: LedgerContext,
  input: { paymentId: string },
  deps: LedgerDeps,
): Promise<PaymentView> {
  return paymentAt((await visiblePayment(ctx, input.paymentId, deps)).payment, deps.now());
}

export async function listPayments(
  ctx: LedgerContext,
  input: PageRequest & { accountId: string },
  deps: LedgerDeps,
): Promise<Page<PaymentView>> {
  const account = await visibleAccount(ctx, input.accountId, deps);
  const page = await deps.store.listPaymentsOfAccount(account.id, input);
  const now = deps.now();
  return { ...page, data: page.data.map((p) => paymentAt(p, now)) };
}

// ---------------------------------------------------------------------------
// Refunds

export interface RefundInput {
  readonly paymentId: string;
  readonly amount?: number | undefined;
  readonly reason?: string | undefined;
}

export async function createRefund(
  ctx: LedgerContext,
  input: RefundInput,
  deps: LedgerDeps,
): Promise<RefundView> {
  const p = ctx.principal;
  const { payment, source, destination } = await visiblePayment(ctx, input.paymentId, deps);
  if (!isAdmin(p) && destination?.ownerId !== p.userId) {
    throw forbidden("Only the payment's recipient or an admin may refund it.");
  }
  // Only what was captured can be refunded (a hold's uncaptured rest never moved).
  const remaining = payment.amountCaptured - payment.amountRefunded;
  const amount = refundAmount(input.amount, remaining);
  const refusal =
    accountRefusal(destination, "debit", amount, payment.currency) ??
    accountRefusal(source, "credit", amount, payment.currency);
  // The balances were read after the payment, so under racing refunds a drained
  // balance can sit beside a stale `remaining`. Funds are therefore judged by the
  // posting alone, which reports the payment's limit before the balance.
  if (refusal && refusal.code !== "insufficient_funds") throw refusal;

  const now = deps.now();
  const transferId = deps.newId("trf");
  const refund: RefundView = {
    id: deps.newId("ref"),
    paymentId: payment.id,
    amount,
    currency: payment.currency,
    reason: input.reason ?? null,
    transferId,
    createdAt: now,
  };
  return postTransfer(
    ctx,
    {
      kind: "refund",
      transferId,
      debit: {
        label: "destination",
        account: { type: "customer", accountId: payment.destinationAccountId },
        direction: "debit",
      },
      credit: {
        label: "source",
        account: { type: "customer", accountId: payment.sourceAccountId },
        direction: "credit",
      },
      amount,
      currency: payment.currency,
      paymentId: payment.id,
      refundId: refund.id,
      now,
      record: { type: "refund", refund },
      event: {
        type: "refund.succeeded",
        accountIds: [payment.destinationAccountId, payment.sourceAccountId],
      },
      audit: {
        action: "refund.created",
        targets: { paymentId: payment.id, refundId: refund.id },
      },
      view: () => refund,
    },
    deps,
  );
}

export async function listPaymentRefunds(
  ctx: LedgerContext,
  input: PageRequest & { paymentId: string },
  deps: LedgerDeps,
): Promise<Page<RefundView>> {
  const { payment } = await visiblePayment(ctx, input.paymentId, deps);
  return deps.store.listRefunds(payment.id, input);
}

// ---------------------------------------------------------------------------
// Transfers

/** One transfer: the owner of either account, admins and auditors; 404 for anyone else. */
export async function getTransferView(
  ctx: LedgerContext,
  input: { transferId: string },
  deps: LedgerDeps,
): Promise<Transfer> {
  const trf = await deps.store.getTransfer(input.transferId);
  if (!trf) throw notFound("No such transfer.");
  const [debit, credit] = await Promise.all([
    deps.store.getAccount(trf.debitAccountId),
    deps.store.getAccount(trf.creditAccountId),
  ]);
  const owners = [debit?.ownerId, credit?.ownerId].filter((x): x is string => !!x);
  if (!canRead(ctx.principal, owners)) throw notFound("No such transfer.");
  return trf;
}
