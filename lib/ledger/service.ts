import { actorOf, newAuditEvent } from "../audit/events.ts";
import type { HttpRequest, HttpResult } from "../http/types.ts";
import { newId } from "../ids.ts";
import { badRequest, forbidden, notFound, Refusal } from "../problems.ts";
import { auditPut } from "../store/audit-outbox.ts";
import { completeItem, type Lease, requestToken } from "../store/idempotency.ts";
import {
  accountStatusUpdate,
  balanceUpdate,
  entryPut,
  getAccount,
  getPaymentItem,
  getTransfer,
  listAccountsOfOwner,
  listEntries,
  listPaymentsOfAccount,
  listRefunds,
  type Page,
  paymentPuts,
  paymentRefundUpdate,
  refundPut,
  toPaymentView,
  transferPut,
} from "../store/ledger.ts";
import { labelled, type TransactOutcome, transact } from "../store/transact.ts";
import { type AccountView, newAccountTransactItems } from "./accounts.ts";
import { type Completed, LeaseLostError, principalOf, runIdempotent } from "./idempotency.ts";
import type { PaymentView, RefundView, Transfer, TransferView } from "./model.ts";
import { systemAccountId } from "./model.ts";
import {
  accountRefusal,
  canRead,
  type Explainer,
  entryPair,
  firstRefusal,
  isAdmin,
  paymentChecks,
  refundAmount,
  refundExceedsPayment,
  requireActor,
  requireAmount,
  requireCurrency,
} from "./rules.ts";

/**
 * The ledger's operations, one per route. Handlers in functions/ call exactly one of
 * these. Each money movement is ONE TransactWriteItems holding: both balance updates
 * (with their conditions), both immutable entries, the transfer they belong to, the
 * payment/refund items, the idempotency record's completion, and the audit event
 * (which names the transfer in `targets.transferId`).
 */

export interface ListQuery {
  readonly limit: number;
  readonly cursor?: string | undefined;
}

const nowIso = () => new Date().toISOString();
const entryId = () => newId("ent");
const transferId = () => newId("trf");
const ok = (body: unknown, status = 200): HttpResult => ({ status, body });
const pageResult = <T>(p: Page<T>): HttpResult => ok(p);

/**
 * The business answer of a refused transaction: the first refusal of `checks`
 * (item label, explainer) in precedence order among the items whose conditions
 * failed. A failed idempotency completion (label "idempotency") outranks everything.
 */
function explain(
  outcome: Extract<TransactOutcome, { ok: false }>,
  checks: ReadonlyArray<readonly [string, Explainer]>,
): never {
  const { failed } = outcome;
  if (failed.has("idempotency")) throw new LeaseLostError();
  const refusal = firstRefusal(checks, failed);
  if (refusal) throw refusal;
  // A condition that should never fail (an id collision): a bug, not a business answer.
  throw new Error(`transaction refused at items ${[...failed.keys()].join(",")}`);
}

async function visibleAccount(req: HttpRequest, accountId: string): Promise<AccountView> {
  const p = principalOf(req);
  const account = await getAccount(accountId);
  if (!account || !canRead(p, [account.ownerId])) throw notFound("No such account.");
  return account;
}

// ---------------------------------------------------------------------------
// Accounts

export async function listAccounts(
  req: HttpRequest<unknown, ListQuery & { ownerId?: string }>,
): Promise<HttpResult> {
  const p = principalOf(req);
  const ownerId = req.query.ownerId ?? p.userId;
  if (ownerId !== p.userId && !canRead(p, [])) {
    throw forbidden("Only admins and auditors may list another owner's accounts.");
  }
  return pageResult(await listAccountsOfOwner(ownerId, req.query.limit, req.query.cursor));
}

export async function createAccount(req: HttpRequest<{ currency: string }>): Promise<HttpResult> {
  const p = principalOf(req);
  requireCurrency(req.body.currency);
  const { account, items } = newAccountTransactItems({
    ownerId: p.userId,
    currency: req.body.currency,
    now: nowIso(),
  });
  const event = newAuditEvent(actorOf(req), "account.created", {
    targets: { accountId: account.id, ownerId: p.userId },
  });
  const out = await transact([...items, auditPut(event)]);
  if (!out.ok) {
    throw new Refusal("account_exists", `You already have a ${req.body.currency} account.`);
  }
  return ok(account, 201);
}

export async function getAccountView(
  req: HttpRequest<unknown, unknown, { accountId: string }>,
): Promise<HttpResult> {
  return ok(await visibleAccount(req, req.params.accountId));
}

export async function listAccountEntries(
  req: HttpRequest<unknown, ListQuery, { accountId: string }>,
): Promise<HttpResult> {
  const account = await visibleAccount(req, req.params.accountId);
  return pageResult(await listEntries(account.id, req.query.limit, req.query.cursor));
}

export async function setAccountStatus(
  req: HttpRequest<{ status: "active" | "frozen" }, unknown, { accountId: string }>,
): Promise<HttpResult> {
  const account = await visibleAccount(req, req.params.accountId);
  if (account.kind === "system") throw badRequest("System accounts cannot be frozen.");
  const now = nowIso();
  const event = newAuditEvent(
    actorOf(req),
    req.body.status === "frozen" ? "account.frozen" : "account.unfrozen",
    { targets: { accountId: account.id, ownerId: account.ownerId } },
  );
  const out = await transact([
    accountStatusUpdate(account.id, req.body.status, now),
    auditPut(event),
  ]);
  if (!out.ok) throw notFound("No such account.");
  return ok({ ...account, status: req.body.status, updatedAt: now });
}

// ---------------------------------------------------------------------------
// Deposits and withdrawals

interface TransferBody {
  readonly amount: number;
  readonly reference: string;
}

async function transfer(
  req: HttpRequest<TransferBody, unknown, { accountId: string }>,
  kind: "deposit" | "withdrawal",
  lease: Lease,
): Promise<Completed> {
  const p = principalOf(req);
  // Unlike a payment, a deposit or withdrawal must read its account first: the body
  // names no currency, and the account's currency decides the amount's range (minor
  // units) and which system account is the other side of the transaction.
  const account = await getAccount(req.params.accountId);
  if (!account || !canRead(p, [account.ownerId])) throw notFound("No such account.");
  if (account.kind === "system") {
    throw badRequest("System accounts take no deposits or withdrawals.");
  }
  if (kind === "withdrawal") requireActor(p, [account.ownerId], [account.ownerId]);
  const { amount, reference } = req.body;
  const currency = account.currency;
  requireAmount(amount, currency);
  const system = kind === "deposit" ? "funding" : "payout";
  const systemId = systemAccountId(system, currency);
  const debitId = kind === "deposit" ? systemId : account.id;
  const creditId = kind === "deposit" ? account.id : systemId;
  const pre = accountRefusal(account, kind === "deposit" ? "credit" : "debit", amount, currency);
  if (pre) throw pre;

  const now = nowIso();
  const trf = {
    id: transferId(),
    kind,
    debitAccountId: debitId,
    creditAccountId: creditId,
    amount,
    currency,
    reference,
    createdAt: now,
  } satisfies Transfer;
  const entries = entryPair({
    kind,
    debitAccountId: debitId,
    creditAccountId: creditId,
    amount,
    currency,
    now,
    newEntryId: entryId,
    transferId: trf.id,
    reference,
  });
  const view: TransferView = { ...trf, accountId: account.id, entries };
  const body = JSON.stringify(view);
  const customer = { type: "customer", accountId: account.id } as const;
  const sys = { type: "system", purpose: system } as const;
  const event = newAuditEvent(actorOf(req), `${kind}.created`, {
    targets: {
      transferId: trf.id,
      accountId: account.id,
      debitEntryId: entries[0].id,
      creditEntryId: entries[1].id,
    },
    money: { amount, currency, debitAccountId: debitId, creditAccountId: creditId },
  });
  const debitLabel = kind === "deposit" ? "system" : "customer";
  const creditLabel = kind === "deposit" ? "customer" : "system";
  const items = [
    labelled(
      debitLabel,
      balanceUpdate(kind === "deposit" ? sys : customer, "debit", amount, currency, now),
    ),
    labelled(
      creditLabel,
      balanceUpdate(kind === "deposit" ? customer : sys, "credit", amount, currency, now),
    ),
    entryPut(entries[0]),
    entryPut(entries[1]),
    transferPut(trf),
    completeItem(lease, 201, body),
    auditPut(event),
  ];
  const out = await transact(items, (a) => requestToken(lease, a));
  if (!out.ok) {
    explain(out, [
      [
        "customer",
        (item) => accountRefusal(item, kind === "deposit" ? "credit" : "debit", amount, currency),
      ],
    ]);
  }
  return { status: 201, body };
}

export const createDeposit = (req: HttpRequest<TransferBody, unknown, { accountId: string }>) =>
  runIdempotent(req, (lease) => transfer(req, "deposit", lease));

export const createWithdrawal = (req: HttpRequest<TransferBody, unknown, { accountId: string }>) =>
  runIdempotent(req, (lease) => transfer(req, "withdrawal", lease));

// ---------------------------------------------------------------------------
// Payments

export interface PaymentBody {
  readonly sourceAccountId: string;
  readonly destinationAccountId: string;
  readonly amount: number;
  readonly currency: string;
  readonly description?: string | undefined;
}

export async function createPayment(req: HttpRequest<PaymentBody>): Promise<HttpResult> {
  const b = req.body;
  // Request errors answer before the key is touched.
  requireCurrency(b.currency);
  requireAmount(b.amount, b.currency);
  if (b.sourceAccountId === b.destinationAccountId) {
    throw badRequest("Source and destination must differ.", [
      { path: "body.destinationAccountId", message: "must differ from sourceAccountId" },
    ]);
  }
  // No read before the transaction. Everything a read of the two accounts would
  // decide is a condition of the transaction's balance updates: the source exists,
  // is a customer account, belongs to the caller (`ownerId = caller`), is active,
  // holds the payment's currency and covers the amount; the destination exists, is a
  // customer account, is active and holds the currency. DynamoDB judges every
  // condition of a cancelled transaction and returns each failed account as it stood
  // (ALL_OLD), which is all `paymentChecks` needs to give the same answer, in the same
  // precedence, that a read would have. So a payment costs two round trips (the
  // idempotency lease and the transaction), and a read can never be stale against
  // the write it was meant to guard.
  const p = principalOf(req);
  return runIdempotent(req, async (lease) => {
    const srcId = b.sourceAccountId;
    const dstId = b.destinationAccountId;
    const now = nowIso();
    const trfId = transferId();
    const payment: PaymentView = {
      id: newId("pay"),
      status: "succeeded",
      sourceAccountId: srcId,
      destinationAccountId: dstId,
      amount: b.amount,
      currency: b.currency,
      amountRefunded: 0,
      description: b.description ?? null,
      transferId: trfId,
      createdAt: now,
    };
    const trf: Transfer = {
      id: trfId,
      kind: "payment",
      debitAccountId: srcId,
      creditAccountId: dstId,
      amount: b.amount,
      currency: b.currency,
      paymentId: payment.id,
      createdAt: now,
    };
    const entries = entryPair({
      kind: "payment",
      debitAccountId: srcId,
      creditAccountId: dstId,
      amount: b.amount,
      currency: b.currency,
      now,
      newEntryId: entryId,
      transferId: trfId,
      paymentId: payment.id,
    });
    const body = JSON.stringify(payment);
    const event = newAuditEvent(actorOf(req), "payment.created", {
      targets: {
        transferId: trfId,
        paymentId: payment.id,
        sourceAccountId: srcId,
        destinationAccountId: dstId,
      },
      money: {
        amount: b.amount,
        currency: b.currency,
        debitAccountId: srcId,
        creditAccountId: dstId,
      },
    });
    const items = [
      labelled(
        "source",
        balanceUpdate(
          { type: "customer", accountId: srcId, ownerId: p.userId },
          "debit",
          b.amount,
          b.currency,
          now,
        ),
      ),
      labelled(
        "destination",
        balanceUpdate({ type: "customer", accountId: dstId }, "credit", b.amount, b.currency, now),
      ),
      entryPut(entries[0]),
      entryPut(entries[1]),
      transferPut(trf),
      ...paymentPuts(payment),
      completeItem(lease, 201, body),
      auditPut(event),
    ];
    const out = await transact(items, (a) => requestToken(lease, a));
    if (!out.ok) {
      explain(out, paymentChecks(p, b.amount, b.currency));
    }
    return { status: 201, body };
  });
}

async function visiblePayment(
  req: HttpRequest,
  paymentId: string,
): Promise<{ payment: PaymentView; source?: AccountView; destination?: AccountView }> {
  const p = principalOf(req);
  const item = await getPaymentItem(paymentId);
  if (!item) throw notFound("No such payment.");
  const payment = toPaymentView(item);
  const [source, destination] = await Promise.all([
    getAccount(payment.sourceAccountId),
    getAccount(payment.destinationAccountId),
  ]);
  const owners = [source?.ownerId, destination?.ownerId].filter((x): x is string => !!x);
  if (!canRead(p, owners)) throw notFound("No such payment.");
  return {
    payment,
    ...(source ? { source } : {}),
    ...(destination ? { destination } : {}),
  };
}

export async function getPayment(
  req: HttpRequest<unknown, unknown, { paymentId: string }>,
): Promise<HttpResult> {
  return ok((await visiblePayment(req, req.params.paymentId)).payment);
}

export async function listPayments(
  req: HttpRequest<unknown, ListQuery & { accountId: string }>,
): Promise<HttpResult> {
  const account = await visibleAccount(req, req.query.accountId);
  return pageResult(await listPaymentsOfAccount(account.id, req.query.limit, req.query.cursor));
}

// ---------------------------------------------------------------------------
// Refunds

export interface RefundBody {
  readonly amount?: number | undefined;
  readonly reason?: string | undefined;
}

export async function createRefund(
  req: HttpRequest<RefundBody, unknown, { paymentId: string }>,
): Promise<HttpResult> {
  return runIdempotent(req, async (lease) => {
    const p = principalOf(req);
    const { payment, source, destination } = await visiblePayment(req, req.params.paymentId);
    if (!isAdmin(p) && destination?.ownerId !== p.userId) {
      throw forbidden("Only the payment's recipient or an admin may refund it.");
    }
    const remaining = payment.amount - payment.amountRefunded;
    const amount = refundAmount(req.body.amount, remaining);
    const refusal =
      accountRefusal(destination, "debit", amount, payment.currency) ??
      accountRefusal(source, "credit", amount, payment.currency);
    // The balances were read after the payment, so under racing refunds a drained
    // balance can sit beside a stale `remaining`. Funds are therefore judged by the
    // transaction alone, which reports the payment's limit before the balance.
    if (refusal && refusal.code !== "insufficient_funds") throw refusal;

    const now = nowIso();
    const trfId = transferId();
    const refund: RefundView = {
      id: newId("ref"),
      paymentId: payment.id,
      amount,
      currency: payment.currency,
      reason: req.body.reason ?? null,
      transferId: trfId,
      createdAt: now,
    };
    const trf: Transfer = {
      id: trfId,
      kind: "refund",
      debitAccountId: payment.destinationAccountId,
      creditAccountId: payment.sourceAccountId,
      amount,
      currency: payment.currency,
      paymentId: payment.id,
      refundId: refund.id,
      createdAt: now,
    };
    const entries = entryPair({
      kind: "refund",
      debitAccountId: payment.destinationAccountId,
      creditAccountId: payment.sourceAccountId,
      amount,
      currency: payment.currency,
      now,
      newEntryId: entryId,
      transferId: trfId,
      paymentId: payment.id,
      refundId: refund.id,
    });
    const body = JSON.stringify(refund);
    const event = newAuditEvent(actorOf(req), "refund.created", {
      targets: { transferId: trfId, paymentId: payment.id, refundId: refund.id },
      money: {
        amount,
        currency: payment.currency,
        debitAccountId: payment.destinationAccountId,
        creditAccountId: payment.sourceAccountId,
      },
    });
    const cur = payment.currency;
    const items = [
      paymentRefundUpdate(payment.id, amount, now),
      labelled(
        "destination",
        balanceUpdate(
          { type: "customer", accountId: payment.destinationAccountId },
          "debit",
          amount,
          cur,
          now,
        ),
      ),
      labelled(
        "source",
        balanceUpdate(
          { type: "customer", accountId: payment.sourceAccountId },
          "credit",
          amount,
          cur,
          now,
        ),
      ),
      entryPut(entries[0]),
      entryPut(entries[1]),
      transferPut(trf),
      refundPut(refund),
      completeItem(lease, 201, body),
      auditPut(event),
    ];
    const out = await transact(items, (a) => requestToken(lease, a));
    if (!out.ok) {
      explain(out, [
        ["payment", () => refundExceedsPayment()],
        ["destination", (item) => accountRefusal(item, "debit", amount, cur)],
        ["source", (item) => accountRefusal(item, "credit", amount, cur)],
      ]);
    }
    return { status: 201, body };
  });
}

export async function listPaymentRefunds(
  req: HttpRequest<unknown, ListQuery, { paymentId: string }>,
): Promise<HttpResult> {
  const { payment } = await visiblePayment(req, req.params.paymentId);
  return pageResult(await listRefunds(payment.id, req.query.limit, req.query.cursor));
}

// ---------------------------------------------------------------------------
// Transfers

/** One transfer: the owner of either account, admins and auditors; 404 for anyone else. */
export async function getTransferView(
  req: HttpRequest<unknown, unknown, { transferId: string }>,
): Promise<HttpResult> {
  const p = principalOf(req);
  const trf = await getTransfer(req.params.transferId);
  if (!trf) throw notFound("No such transfer.");
  const [debit, credit] = await Promise.all([
    getAccount(trf.debitAccountId),
    getAccount(trf.creditAccountId),
  ]);
  const owners = [debit?.ownerId, credit?.ownerId].filter((x): x is string => !!x);
  if (!canRead(p, owners)) throw notFound("No such transfer.");
  return ok(trf);
}
