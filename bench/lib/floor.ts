import type { TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import { newAuditEvent } from "../../lib/audit/events.ts";
import { newId } from "../../lib/ids.ts";
import { type PaymentView, systemAccountId } from "../../lib/ledger/model.ts";
import { entryPair } from "../../lib/ledger/rules.ts";
import { auditPut } from "../../lib/store/audit-outbox.ts";
import { tableName } from "../../lib/store/client.ts";
import { idempotencyKey } from "../../lib/store/keys.ts";
import { balanceUpdate, entryPut, paymentPuts, transferPut } from "../../lib/store/ledger.ts";

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
 * two entries, the transfer, the payment items, a completed idempotency record and the audit
 * event), built by the same store functions the payment route uses, for one
 * TransactWriteItems sent straight through the SDK.
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
    description: null,
    transferId,
    createdAt: now,
  };
  const [debit, credit] = entryPair({
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
  return [
    balanceUpdate({ type: "customer", accountId: src }, "debit", amount, "USD", now),
    balanceUpdate({ type: "customer", accountId: dst }, "credit", amount, "USD", now),
    entryPut(debit),
    entryPut(credit),
    transferPut({
      id: transferId,
      kind: "payment",
      debitAccountId: src,
      creditAccountId: dst,
      amount,
      currency: "USD",
      paymentId: payment.id,
      createdAt: now,
    }),
    ...paymentPuts(payment),
    idempotencyPut(body(payment)),
    auditPut(
      newAuditEvent(actor, "payment.created", { targets: { transferId, paymentId: payment.id } }),
    ),
  ];
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
    entryPut(debit),
    entryPut(credit),
    transferPut({
      id: transferId,
      kind: "deposit",
      debitAccountId: funding,
      creditAccountId: accountId,
      amount,
      currency: "USD",
      createdAt: now,
    }),
  ];
}

const body = (p: PaymentView) => JSON.stringify(p);

function idempotencyPut(responseBody: string): TransactItem {
  return {
    Put: {
      TableName: tableName(),
      Item: {
        ...idempotencyKey("bench", newId("evt")),
        type: "idempotency",
        state: "completed",
        fingerprint: "0".repeat(64),
        leaseId: "bench",
        leaseUntil: 0,
        status: 201,
        body: responseBody,
        contentType: "application/json",
        expiresAt: Math.floor(Date.now() / 1000) + 48 * 3600,
      },
      ConditionExpression: "attribute_not_exists(pk)",
    },
  };
}
