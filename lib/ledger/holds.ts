import { actorOf, newAuditEvent } from "../audit/events.ts";
import { newEvent } from "../events/model.ts";
import { AlreadyAnswered, answerBody } from "../idempotency.ts";
import { badRequest, forbidden, notFound, type Refusal } from "../problems.ts";
import type { AccountView } from "./accounts.ts";
import { type PaymentView, paymentAt, type Transfer } from "./model.ts";
import type { BalanceChange, HoldSettlement, LedgerContext, LedgerDeps } from "./port.ts";
import { commitOrRefuse } from "./posting.ts";
import {
  accountFrozen,
  canRead,
  entryPair,
  isAdmin,
  paymentNotCapturable,
  requireAmount,
} from "./rules.ts";
import { settlement } from "./settlement.ts";

/**
 * Holds (API.md "Holds: authorize now, capture later"): `POST /v1/payments` with
 * `capture: false` places one (the payer's `available` drops, no balance moves);
 * `capture` moves all or part of it as one transfer of kind "capture" and releases
 * the rest; `cancel` releases it all; expiry (lib/ledger/expiry.ts) releases it once
 * `captureBefore` has passed. Each is ONE store transaction whose conditions make
 * exactly one of capture, cancel and expiry win; the others answer
 * `409 payment_not_capturable`.
 */

const DEFAULT_HOLD_TTL_SECONDS = 7 * 24 * 3600;

export interface HoldInput {
  readonly sourceAccountId: string;
  readonly destinationAccountId: string;
  readonly amount: number;
  readonly currency: string;
  readonly description?: string | undefined;
}

/**
 * Places a hold (after createPayment's checks of the input). Judged like a payment,
 * by the transaction alone (no read first), with funds judged against `available`.
 */
export async function createHold(
  ctx: LedgerContext,
  b: HoldInput,
  deps: LedgerDeps,
): Promise<PaymentView> {
  const now = deps.now();
  const ttl = deps.holdTtlSeconds ?? DEFAULT_HOLD_TTL_SECONDS;
  const payment: PaymentView = {
    id: deps.newId("pay"),
    status: "requires_capture",
    sourceAccountId: b.sourceAccountId,
    destinationAccountId: b.destinationAccountId,
    amount: b.amount,
    currency: b.currency,
    amountRefunded: 0,
    amountCaptured: 0,
    amountCapturable: b.amount,
    captureBefore: new Date(Date.parse(now) + ttl * 1000).toISOString(),
    description: b.description ?? null,
    createdAt: now,
  };
  const debit: BalanceChange = {
    label: "source",
    account: { type: "customer", accountId: b.sourceAccountId, ownerId: ctx.principal.userId },
    direction: "debit",
  };
  const credit: BalanceChange = {
    label: "destination",
    account: { type: "customer", accountId: b.destinationAccountId },
    direction: "credit",
  };
  const audit = newAuditEvent(actorOf(ctx), "payment.authorized", {
    targets: {
      paymentId: payment.id,
      sourceAccountId: b.sourceAccountId,
      destinationAccountId: b.destinationAccountId,
    },
    money: { amount: b.amount, currency: b.currency },
  });
  const hold = {
    payment,
    debit,
    credit,
    audit,
    event: newEvent(
      "payment.requires_capture",
      payment,
      [b.sourceAccountId, b.destinationAccountId],
      now,
    ),
    ...(ctx.idempotency
      ? { idempotency: { claim: ctx.idempotency, body: answerBody(payment) } }
      : {}),
    now,
  };
  await commitOrRefuse(
    ctx,
    { debit, credit, amount: b.amount, currency: b.currency },
    () => deps.store.placeHold(hold),
    deps,
  );
  return payment;
}

/** 409 unless the payment is an open hold at `now` (an expired one says so). */
function requireOpen(payment: PaymentView, now: string): void {
  const current = paymentAt(payment, now);
  if (current.status === "requires_capture") return;
  throw paymentNotCapturable(
    current.cancellationReason === "expired"
      ? "The hold has expired; it can no longer be captured."
      : `The payment is ${current.status}; only a payment that requires capture can be captured or canceled.`,
  );
}

/** The payment and its two accounts, 404 unless the caller may see it (payment reads and hold settlements). */
export async function visiblePayment(
  ctx: LedgerContext,
  paymentId: string,
  deps: LedgerDeps,
): Promise<{ payment: PaymentView; source?: AccountView; destination?: AccountView }> {
  const payment = await deps.store.getPayment(paymentId);
  if (!payment) throw notFound("No such payment.");
  const [source, destination] = await Promise.all([
    deps.store.getAccount(payment.sourceAccountId),
    deps.store.getAccount(payment.destinationAccountId),
  ]);
  const owners = [source?.ownerId, destination?.ownerId].filter((x): x is string => !!x);
  if (!canRead(ctx.principal, owners)) throw notFound("No such payment.");
  return {
    payment,
    ...(source ? { source } : {}),
    ...(destination ? { destination } : {}),
  };
}

/** Sends a settlement; answers the refusal of a lost race or a frozen account. */
async function settle(s: HoldSettlement, deps: LedgerDeps): Promise<PaymentView> {
  const out = await deps.store.settleHold(s);
  if (out.ok) return s.after;
  if (out.answered) throw new AlreadyAnswered(out.answered);
  let refusal: Refusal = paymentNotCapturable(
    "Another capture, cancel or the hold's expiry settled this payment first.",
  );
  if (!out.failed.has("payment") && !out.failed.has("hold")) {
    const side = out.failed.get("source") ?? out.failed.get("destination");
    refusal = side ? accountFrozen() : notFound("No such account.");
  }
  throw refusal;
}

export interface CaptureInput {
  readonly paymentId: string;
  readonly amount?: number | undefined;
}

/**
 * Captures all or part of an open hold (the payee's owner, with the merchant role on
 * the route, or an admin): one transfer of kind "capture" from payer to payee; the
 * rest of the hold is released in the same transaction.
 */
export async function capturePayment(
  ctx: LedgerContext,
  input: CaptureInput,
  deps: LedgerDeps,
): Promise<PaymentView> {
  const p = ctx.principal;
  const { payment, destination } = await visiblePayment(ctx, input.paymentId, deps);
  if (!isAdmin(p) && destination?.ownerId !== p.userId) {
    throw forbidden("Only the payment's recipient or an admin may capture it.");
  }
  const now = deps.now();
  requireOpen(payment, now);
  const amount = input.amount ?? payment.amountCapturable;
  requireAmount(amount, payment.currency);
  if (amount > payment.amountCapturable) {
    throw badRequest("The amount exceeds what the hold can capture.", [
      { path: "body.amount", message: `at most amountCapturable (${payment.amountCapturable})` },
    ]);
  }
  const transfer: Transfer = {
    id: deps.newId("trf"),
    kind: "capture",
    debitAccountId: payment.sourceAccountId,
    creditAccountId: payment.destinationAccountId,
    amount,
    currency: payment.currency,
    paymentId: payment.id,
    createdAt: now,
  };
  const entries = entryPair({
    kind: "capture",
    debitAccountId: transfer.debitAccountId,
    creditAccountId: transfer.creditAccountId,
    amount,
    currency: payment.currency,
    now,
    newEntryId: () => deps.newId("ent"),
    transferId: transfer.id,
    paymentId: payment.id,
  });
  const after: PaymentView = {
    ...payment,
    status: "succeeded",
    amountCaptured: amount,
    amountCapturable: 0,
    transferId: transfer.id,
  };
  return settle(
    settlement({
      kind: "capture",
      before: payment,
      after,
      capture: { transfer, entries },
      actor: actorOf(ctx),
      action: "payment.captured",
      eventType: "payment.succeeded",
      money: {
        amount,
        currency: payment.currency,
        debitAccountId: transfer.debitAccountId,
        creditAccountId: transfer.creditAccountId,
      },
      idempotency: ctx.idempotency,
      now,
    }),
    deps,
  );
}

/** Cancels an open hold (the owner of either side, or an admin): all of it is released. */
export async function cancelPayment(
  ctx: LedgerContext,
  input: { paymentId: string },
  deps: LedgerDeps,
): Promise<PaymentView> {
  const p = ctx.principal;
  const { payment, source, destination } = await visiblePayment(ctx, input.paymentId, deps);
  if (!isAdmin(p) && source?.ownerId !== p.userId && destination?.ownerId !== p.userId) {
    throw forbidden("Only the payer, the recipient or an admin may cancel a payment.");
  }
  const now = deps.now();
  requireOpen(payment, now);
  const after: PaymentView = {
    ...payment,
    status: "canceled",
    amountCapturable: 0,
    cancellationReason: "requested",
  };
  return settle(
    settlement({
      kind: "cancel",
      before: payment,
      after,
      actor: actorOf(ctx),
      action: "payment.canceled",
      eventType: "payment.canceled",
      money: { amount: payment.amountCapturable, currency: payment.currency },
      idempotency: ctx.idempotency,
      now,
    }),
    deps,
  );
}
