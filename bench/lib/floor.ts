import type { TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import { newAuditEvent } from "../../lib/audit/events.ts";
import { newEvent } from "../../lib/events/model.ts";
import { newId } from "../../lib/ids.ts";
import { type PaymentView, systemAccountId } from "../../lib/ledger/model.ts";
import { entryPair } from "../../lib/ledger/rules.ts";
import {
  balanceUpdate,
  entryPut,
  holdPlacementItems,
  holdSettlementItems,
  postingItems,
  transferPut,
} from "../../lib/store/ledger-writes.ts";

type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

const actor = {
  userId: null,
  roles: [],
  sourceIp: "127.0.0.1",
  userAgent: "bench",
  requestId: "bench",
};

/**
 * The floor: the items of one payment (two balance updates with their conditions,
 * two entries, the transfer, the payment items, a completed idempotency record and the
 * audit event), built by the same store function the payment route's posting goes
 * through (`postingItems`), for one TransactWriteItems sent straight through the SDK.
 */
export function floorPaymentItems(src: string, dst: string, amount: number): TransactItem[] {
  const now = new Date().toISOString();
  const transferId = newId("trf");
  const payment: PaymentView = {
    id: newId("pay"),
    status: "succeeded",
    sourceAccountId: src,
    destinationAccountId: dst,
    amount,
    currency: "USD",
    amountRefunded: 0,
    amountCaptured: amount,
    amountCapturable: 0,
    description: null,
    transferId,
    createdAt: now,
  };
  const entries = entryPair({
    kind: "payment",
    debitAccountId: src,
    creditAccountId: dst,
    amount,
    currency: "USD",
    now,
    newEntryId: () => newId("ent"),
    transferId,
    paymentId: payment.id,
  });
  const claim = {
    scope: "bench",
    key: newId("evt"),
    fingerprint: "0".repeat(64),
    routeId: "payments-create",
    status: 201,
  };
  return postingItems({
    transfer: {
      id: transferId,
      kind: "payment",
      debitAccountId: src,
      creditAccountId: dst,
      amount,
      currency: "USD",
      paymentId: payment.id,
      createdAt: now,
    },
    entries,
    event: newEvent("payment.succeeded", payment, [src, dst], now),
    debit: { label: "source", account: { type: "customer", accountId: src }, direction: "debit" },
    credit: {
      label: "destination",
      account: { type: "customer", accountId: dst },
      direction: "credit",
    },
    record: { type: "payment", payment },
    audit: newAuditEvent(actor, "payment.created", {
      targets: { transferId, paymentId: payment.id },
    }),
    idempotency: { claim, body: JSON.stringify(payment) },
    now,
  }).map((l) => l.item);
}

/** A deposit's items (funding -> account): used to give an account a long history fast. */
export function floorDepositItems(accountId: string, amount: number): TransactItem[] {
  const now = new Date().toISOString();
  const transferId = newId("trf");
  const funding = systemAccountId("funding", "USD");
  const [debit, credit] = entryPair({
    kind: "deposit",
    debitAccountId: funding,
    creditAccountId: accountId,
    amount,
    currency: "USD",
    now,
    newEntryId: () => newId("ent"),
    transferId,
  });
  return [
    balanceUpdate({ type: "system", purpose: "funding" }, "debit", amount, "USD", now),
    balanceUpdate({ type: "customer", accountId }, "credit", amount, "USD", now),
    entryPut(debit).item,
    entryPut(credit).item,
    transferPut({
      id: transferId,
      kind: "deposit",
      debitAccountId: funding,
      creditAccountId: accountId,
      amount,
      currency: "USD",
      createdAt: now,
    }).item,
  ];
}

/**
 * The floor of a hold and its capture: the two TransactWriteItems the hold and capture
 * routes send (built by the same store functions), for the same accounts. Send them in
 * order: the capture needs the hold.
 */
export function floorHoldCaptureItems(
  src: string,
  dst: string,
  amount: number,
): [TransactItem[], TransactItem[]] {
  const now = new Date().toISOString();
  const later = new Date(Date.now() + 7 * 24 * 3600_000).toISOString();
  const claim = (routeId: string, status: number) => ({
    scope: "bench",
    key: newId("evt"),
    fingerprint: "0".repeat(64),
    routeId,
    status,
  });
  const hold: PaymentView = {
    id: newId("pay"),
    status: "requires_capture",
    sourceAccountId: src,
    destinationAccountId: dst,
    amount,
    currency: "USD",
    amountRefunded: 0,
    amountCaptured: 0,
    amountCapturable: amount,
    captureBefore: later,
    description: null,
    createdAt: now,
  };
  const placed = holdPlacementItems({
    payment: hold,
    debit: { label: "source", account: { type: "customer", accountId: src }, direction: "debit" },
    credit: {
      label: "destination",
      account: { type: "customer", accountId: dst },
      direction: "credit",
    },
    audit: newAuditEvent(actor, "payment.authorized", { targets: { paymentId: hold.id } }),
    event: newEvent("payment.requires_capture", hold, [src, dst], now),
    idempotency: { claim: claim("payments-create", 201), body: JSON.stringify(hold) },
    now,
  });
  const transferId = newId("trf");
  const transfer = {
    id: transferId,
    kind: "capture" as const,
    debitAccountId: src,
    creditAccountId: dst,
    amount,
    currency: "USD",
    paymentId: hold.id,
    createdAt: now,
  };
  const entries = entryPair({
    kind: "capture",
    debitAccountId: src,
    creditAccountId: dst,
    amount,
    currency: "USD",
    now,
    newEntryId: () => newId("ent"),
    transferId,
    paymentId: hold.id,
  });
  const after: PaymentView = {
    ...hold,
    status: "succeeded",
    amountCaptured: amount,
    amountCapturable: 0,
    transferId,
  };
  const captured = holdSettlementItems({
    kind: "capture",
    before: hold,
    after,
    capture: { transfer, entries },
    audit: newAuditEvent(actor, "payment.captured", {
      targets: { transferId, paymentId: hold.id },
    }),
    event: newEvent("payment.succeeded", after, [src, dst], now),
    idempotency: { claim: claim("payments-capture", 200), body: JSON.stringify(after) },
    now,
  });
  return [placed.map((l) => l.item), captured.map((l) => l.item)];
}
