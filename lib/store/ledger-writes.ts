import { randomUUID } from "node:crypto";
import type { AuditEvent } from "../audit/events.ts";
import type { EventRecord } from "../events/model.ts";
import { markRecorded, type StoredAnswer } from "../idempotency.ts";
import { newId } from "../ids.ts";
import { type AccountView, newCustomerAccount } from "../ledger/accounts.ts";
import type {
  CaptureState,
  EntryView,
  PaymentView,
  RefundView,
  Transfer,
} from "../ledger/model.ts";
import { emptySystemAccount } from "../ledger/model.ts";
import type {
  AccountRef,
  AccountState,
  BalanceChange,
  HoldPlacement,
  HoldSettlement,
  OpenHold,
  Posting,
  PostingLabel,
  PostOutcome,
} from "../ledger/port.ts";
import { serviceUnavailable } from "../problems.ts";
import { approvalDecisionItems } from "./approvals.ts";
import { auditPut } from "./audit-outbox.ts";
import { tableName } from "./client.ts";
import { eventPuts } from "./events.ts";
import {
  idempotencyPut,
  isIdempotencyItem,
  readAnswer,
  requestToken,
  toStoredAnswer,
} from "./idempotency.ts";
import {
  accountIndexKey,
  accountKey,
  accountShardKey,
  entryKey,
  holdIndexKey,
  holdKey,
  ownerCurrencyKey,
  paymentKey,
  paymentLinkKey,
  refundKey,
  transferKey,
} from "./keys.ts";
import {
  currentShardCount,
  heldShard,
  judgeShardedDebit,
  shardFor,
  shardStatusUpdates,
} from "./ledger-shards.ts";
import { type Labelled, labelled, type TransactItem, transact } from "./transact.ts";

/**
 * DynamoDB writes of the ledger: the TransactWriteItems building blocks, and `post`,
 * which turns one domain posting (lib/ledger/port.ts) into ONE TransactWriteItems.
 * Entries and transfers are immutable (Put once with attribute_not_exists, never
 * updated); a payment has a link item under both accounts.
 */

const T = () => tableName();

/** The stored account item (view plus keys). */
export function accountItem(account: AccountView): Record<string, unknown> {
  return {
    ...accountKey(account.id),
    type: "account",
    ...accountIndexKey(account.ownerId, account.id),
    ...account,
  };
}

/**
 * The TransactWriteItems entries that create a customer account: the account item
 * and a uniqueness item for (owner, currency), both conditional on not existing. A
 * cancelled "owner_currency" condition means "this owner already has an account in
 * this currency" (409).
 */
export function accountCreateItems(account: AccountView): Labelled[] {
  return [
    labelled("account", {
      Put: {
        TableName: T(),
        Item: accountItem(account),
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }),
    labelled("owner_currency", {
      Put: {
        TableName: T(),
        Item: {
          ...ownerCurrencyKey(account.ownerId, account.currency),
          type: "account_owner_currency",
          accountId: account.id,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }),
  ];
}

/**
 * A new customer account and the items that create it, for a caller that adds its own
 * items (registration, lib/auth: the user and its audit event) and sends one transaction.
 */
export function newAccountTransactItems(input: {
  ownerId: string;
  currency: string;
  now: string;
}): { account: AccountView; items: Labelled[] } {
  const account = newCustomerAccount({ id: newId("acc"), ...input });
  return { account, items: accountCreateItems(account) };
}

/**
 * The balance update of one side (conditions: lib/ledger/port.ts AccountRef). Customer
 * accounts: must exist, be a customer account, be active and hold the movement's
 * currency; a debit also needs `available >= amount` on the shard it takes from (no
 * overdraft, held money kept); with `ownerId`, the account must be that user's. System accounts are created by their first movement
 * (if_not_exists) and may go negative. `shard`: which of the account's balance items
 * (lib/store/ledger-shards.ts; 0, the default, is the account item).
 */
export function balanceUpdate(
  side: AccountRef,
  direction: "debit" | "credit",
  amount: number,
  currency: string,
  now: string,
  shard = 0,
): TransactItem {
  if (side.type === "system") {
    return systemBalanceUpdate(side.purpose, shard, direction, amount, currency, now);
  }
  const debit = direction === "debit";
  const owned = side.ownerId !== undefined;
  return {
    Update: {
      TableName: T(),
      Key: accountShardKey(side.accountId, shard),
      UpdateExpression: `SET ${customerBalanceSet(debit ? "-" : "+")}, #updatedAt = :now`,
      ConditionExpression:
        customerAccountCondition(owned) + (debit ? ` AND ${FUNDS_CONDITION}` : ""),
      ExpressionAttributeNames: {
        ...CUSTOMER_NAMES,
        "#balance": "balance",
        "#available": "available",
        ...(owned ? { "#ownerId": "ownerId" } : {}),
      },
      ExpressionAttributeValues: {
        ":amt": amount,
        ":now": now,
        ...customerValues(currency),
        ...(owned ? { ":owner": side.ownerId } : {}),
      },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    },
  };
}

// Customer-account building blocks (API.md "Holds"). A customer account stores
// `available` (= balance - held) beside `balance` and `held`, because a condition
// expression cannot subtract: every funds check is `available >= :amt`, and every
// update that changes balance or held changes `available` in the same expression.

/** Exists, is a customer account, is active, holds `:cur` (and, `owned`, is `:owner`'s). */
const customerAccountCondition = (owned: boolean) =>
  "attribute_exists(pk) AND #kind = :customer AND #status = :active AND #currency = :cur" +
  (owned ? " AND #ownerId = :owner" : "");
const CUSTOMER_NAMES = {
  "#updatedAt": "updatedAt",
  "#kind": "kind",
  "#status": "status",
  "#currency": "currency",
} as const;
const customerValues = (currency: string) => ({
  ":customer": "customer",
  ":active": "active",
  ":cur": currency,
});
/** The funds check of every debit and every hold: no read, no arithmetic. */
const FUNDS_CONDITION = "#available >= :amt";
/** A posted movement of `:amt`: balance and available move together. */
const customerBalanceSet = (sign: "+" | "-") =>
  `#balance = #balance ${sign} :amt, #available = #available ${sign} :amt`;

/**
 * The payer's side of a hold: `held` up, `available` down by `:amt`; the balance does
 * not move. Conditions: those of a payment's debit side (funds: `available`).
 */
export function holdPlaceUpdate(
  side: AccountRef,
  amount: number,
  currency: string,
  now: string,
  shard = 0,
) {
  if (side.type !== "customer") throw new Error("a hold is placed on a customer account");
  const owned = side.ownerId !== undefined;
  return labelled("source", {
    Update: {
      TableName: T(),
      Key: accountShardKey(side.accountId, shard),
      UpdateExpression:
        "SET #held = if_not_exists(#held, :zero) + :amt, #available = #available - :amt, #updatedAt = :now",
      ConditionExpression: `${customerAccountCondition(owned)} AND ${FUNDS_CONDITION}`,
      ExpressionAttributeNames: {
        ...CUSTOMER_NAMES,
        "#held": "held",
        "#available": "available",
        ...(owned ? { "#ownerId": "ownerId" } : {}),
      },
      ExpressionAttributeValues: {
        ":amt": amount,
        ":zero": 0,
        ":now": now,
        ...customerValues(currency),
        ...(owned ? { ":owner": side.ownerId } : {}),
      },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    },
  });
}

/** The payee's side of a hold: checked as a payment's credit side, not changed. */
export function holdPayeeCheck(side: AccountRef, currency: string): Labelled {
  if (side.type !== "customer") throw new Error("a hold is paid to a customer account");
  return labelled("destination", {
    ConditionCheck: {
      TableName: T(),
      Key: accountKey(side.accountId),
      ConditionExpression: customerAccountCondition(false),
      ExpressionAttributeNames: { "#kind": "kind", "#status": "status", "#currency": "currency" },
      ExpressionAttributeValues: customerValues(currency),
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    },
  } as TransactItem);
}

/**
 * The payer's side of a settled hold: `held` drops by the whole hold (`:hold`), the
 * balance by the capture (`:cap`, 0 for a release) and `available` rises by the rest.
 * A capture moves money, so it also needs the account active.
 */
export function holdSettleUpdate(
  accountId: string,
  hold: number,
  captured: number,
  now: string,
  shard = 0,
): Labelled {
  const capture = captured > 0;
  return labelled("source", {
    Update: {
      TableName: T(),
      Key: accountShardKey(accountId, shard),
      UpdateExpression:
        "SET #held = #held - :hold, #available = #available + :release, #updatedAt = :now" +
        (capture ? ", #balance = #balance - :cap" : ""),
      ConditionExpression:
        "attribute_exists(pk) AND #held >= :hold" + (capture ? " AND #status = :active" : ""),
      ExpressionAttributeNames: {
        "#held": "held",
        "#available": "available",
        "#updatedAt": "updatedAt",
        ...(capture ? { "#balance": "balance", "#status": "status" } : {}),
      },
      ExpressionAttributeValues: {
        ":hold": hold,
        ":release": hold - captured,
        ":now": now,
        ...(capture ? { ":cap": captured, ":active": "active" } : {}),
      },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    },
  });
}

/**
 * A balance item of a system account: the account item (shard 0, with its listing
 * attributes) or shard k >= 1. Created by its first movement (every attribute but the
 * balance set as it stands), it may go negative.
 */
function systemBalanceUpdate(
  purpose: "funding" | "payout",
  shard: number,
  direction: "debit" | "credit",
  amount: number,
  currency: string,
  now: string,
): TransactItem {
  const blank = emptySystemAccount(purpose, currency, now);
  const item = accountItem(blank);
  const identity =
    shard === 0
      ? { type: "account", id: blank.id, gsi1pk: item.gsi1pk, gsi1sk: item.gsi1sk }
      : { type: "account_shard", accountId: blank.id, shard };
  const fixed: Record<string, unknown> = {
    ...identity,
    ownerId: blank.ownerId,
    currency,
    status: "active",
    kind: "system",
    purpose,
  };
  const names = Object.keys(fixed);
  return {
    Update: {
      TableName: T(),
      Key: shard === 0 ? accountKey(blank.id) : accountShardKey(blank.id, shard),
      UpdateExpression: `SET #balance = if_not_exists(#balance, :zero) + :delta, #updatedAt = :now, #createdAt = if_not_exists(#createdAt, :now), ${names.map((n) => `#${n} = :${n}`).join(", ")}`,
      ConditionExpression: "attribute_not_exists(pk) OR (#kind = :kind AND #currency = :currency)",
      ExpressionAttributeNames: Object.fromEntries(
        ["balance", "updatedAt", "createdAt", ...names].map((n) => [`#${n}`, n]),
      ),
      ExpressionAttributeValues: {
        ":zero": 0,
        ":delta": direction === "debit" ? -amount : amount,
        ":now": now,
        ...Object.fromEntries(names.map((n) => [`:${n}`, fixed[n]])),
      },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    },
  };
}

/** An immutable ledger entry: Put once with attribute_not_exists, never updated. */
export function entryPut(entry: EntryView): Labelled {
  return labelled("entry", {
    Put: {
      TableName: T(),
      Item: { ...entryKey(entry.accountId, entry.id), type: "entry", ...entry },
      ConditionExpression: "attribute_not_exists(pk)",
    },
  });
}

/** A transfer: Put once with attribute_not_exists, never updated. */
export function transferPut(transfer: Transfer): Labelled {
  return labelled("transfer", {
    Put: {
      TableName: T(),
      Item: { ...transferKey(transfer.id), type: "transfer", ...transfer },
      ConditionExpression: "attribute_not_exists(pk)",
    },
  });
}

export function paymentPuts(payment: PaymentView): Labelled[] {
  const { status: _derived, ...stored } = payment;
  return [
    labelled("payment_record", {
      Put: {
        TableName: T(),
        Item: {
          ...paymentKey(payment.id),
          type: "payment",
          ...stored,
          captureState: captureStateOf(payment),
          // What may still be refunded (of what was captured): lets the refund
          // condition stay arithmetic-free.
          remaining: payment.amountCaptured - payment.amountRefunded,
          updatedAt: payment.createdAt,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }),
    ...[payment.sourceAccountId, payment.destinationAccountId].map((accountId) =>
      labelled("payment_link", {
        Put: {
          TableName: T(),
          Item: {
            ...paymentLinkKey(accountId, payment.id),
            type: "payment_link",
            paymentId: payment.id,
            createdAt: payment.createdAt,
          },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      }),
    ),
  ];
}

/** Takes `amount` off what remains refundable; fails when refunds would exceed the payment. */
export function paymentRefundUpdate(paymentId: string, amount: number, now: string): Labelled {
  return labelled("payment", {
    Update: {
      TableName: T(),
      Key: paymentKey(paymentId),
      UpdateExpression:
        "SET amountRefunded = amountRefunded + :amt, remaining = remaining - :amt, updatedAt = :now",
      ConditionExpression: "attribute_exists(pk) AND remaining >= :amt",
      ExpressionAttributeValues: { ":amt": amount, ":now": now },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    },
  });
}

/** The stored capture state of a payment view (an immediate payment is captured). */
export const captureStateOf = (p: PaymentView): CaptureState =>
  p.status === "requires_capture" || p.status === "canceled" ? p.status : "captured";

/**
 * The settling of a hold's payment record: exactly one settlement can find it still
 * `requires_capture`; a capture or cancel needs `captureBefore > now`, an expiry
 * `captureBefore <= now`, so capture, cancel and expiry race to one winner.
 */
export function holdPaymentUpdate(s: HoldSettlement): Labelled {
  const a = s.after;
  const sets = [
    "captureState = :state",
    "amountCaptured = :captured",
    "amountCapturable = :zero",
    "remaining = :remaining",
    "updatedAt = :now",
    ...(a.cancellationReason ? ["cancellationReason = :reason"] : []),
    ...(a.transferId ? ["transferId = :trf"] : []),
  ];
  return labelled("payment", {
    Update: {
      TableName: T(),
      Key: paymentKey(a.id),
      UpdateExpression: `SET ${sets.join(", ")}`,
      ConditionExpression:
        "attribute_exists(pk) AND captureState = :open AND captureBefore " +
        (s.kind === "expire" ? "<= :now" : "> :now"),
      ExpressionAttributeValues: {
        ":state": captureStateOf(a),
        ":captured": a.amountCaptured,
        ":zero": 0,
        ":remaining": a.amountCaptured - a.amountRefunded,
        ":now": s.now,
        ":open": "requires_capture",
        ...(a.cancellationReason ? { ":reason": a.cancellationReason } : {}),
        ...(a.transferId ? { ":trf": a.transferId } : {}),
      },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    },
  });
}

/** The open-hold item (lib/store/keys.ts holdKey): Put with the hold. */
export function holdPut(hold: OpenHold): Labelled {
  return labelled("hold", {
    Put: {
      TableName: T(),
      Item: {
        ...holdKey(hold.accountId, hold.captureBefore, hold.paymentId),
        ...holdIndexKey(hold.captureBefore, hold.paymentId),
        type: "hold",
        ...hold,
      },
      ConditionExpression: "attribute_not_exists(pk)",
    },
  });
}

/**
 * The open-hold item's removal by the settlement (it must still be there, on the shard
 * the settlement releases: shard 0 is an item without `shard`).
 */
export function holdDelete(hold: OpenHold): Labelled {
  const shard = hold.shard ?? 0;
  return labelled("hold", {
    Delete: {
      TableName: T(),
      Key: holdKey(hold.accountId, hold.captureBefore, hold.paymentId),
      ConditionExpression:
        shard > 0
          ? "attribute_exists(pk) AND #shard = :shard"
          : "attribute_exists(pk) AND (attribute_not_exists(#shard) OR #shard = :shard)",
      ExpressionAttributeNames: { "#shard": "shard" },
      ExpressionAttributeValues: { ":shard": shard },
    },
  });
}

export function openHoldOf(p: PaymentView): OpenHold {
  if (!p.captureBefore) throw new Error(`payment ${p.id} is not a hold`);
  return {
    paymentId: p.id,
    accountId: p.sourceAccountId,
    amount: p.amountCapturable,
    currency: p.currency,
    captureBefore: p.captureBefore,
  };
}

export function refundPut(refund: RefundView): Labelled {
  return labelled("refund", {
    Put: {
      TableName: T(),
      Item: { ...refundKey(refund.paymentId, refund.id), type: "refund", ...refund },
      ConditionExpression: "attribute_not_exists(pk)",
    },
  });
}

export function accountStatusUpdate(
  accountId: string,
  status: "active" | "frozen",
  now: string,
  shards = 1,
): Labelled {
  // With shards, only while the count is the one whose shards the transaction updates.
  const counted =
    shards > 1
      ? " AND #shards = :shards"
      : " AND (attribute_not_exists(#shards) OR #shards = :one)";
  return labelled("account", {
    Update: {
      TableName: T(),
      Key: accountKey(accountId),
      UpdateExpression: "SET #status = :status, #updatedAt = :now",
      ConditionExpression: `attribute_exists(pk) AND #kind = :customer${counted}`,
      ExpressionAttributeNames: {
        "#status": "status",
        "#updatedAt": "updatedAt",
        "#kind": "kind",
        "#shards": "balanceShards",
      },
      ExpressionAttributeValues: {
        ":status": status,
        ":now": now,
        ":customer": "customer",
        ...(shards > 1 ? { ":shards": shards } : { ":one": 1 }),
      },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    },
  });
}

const balanceItem = (change: BalanceChange, p: Posting, shard: number): Labelled =>
  labelled(
    change.label,
    balanceUpdate(
      change.account,
      change.direction,
      p.transfer.amount,
      p.transfer.currency,
      p.now,
      shard,
    ),
  );

/** Which balance shard each side touches (lib/store/ledger-shards.ts); 0: the account item. */
export interface PostingShards {
  readonly debit: number;
  readonly credit: number;
}

/**
 * The items of one posting, in one TransactWriteItems: the record's condition (a
 * refund's payment), both balance changes, both entries, the transfer, the record, the
 * completed idempotency record, the audit event, the event and, for a movement an
 * approval carries out (dual control), the approval's conditioned decision.
 */
export function postingItems(
  p: Posting,
  shards: PostingShards = { debit: 0, credit: 0 },
): Labelled[] {
  const record = p.record;
  return [
    ...(record?.type === "refund"
      ? [paymentRefundUpdate(record.refund.paymentId, p.transfer.amount, p.now)]
      : []),
    balanceItem(p.debit, p, shards.debit),
    balanceItem(p.credit, p, shards.credit),
    entryPut(p.entries[0]),
    entryPut(p.entries[1]),
    transferPut(p.transfer),
    ...(record?.type === "payment" ? paymentPuts(record.payment) : []),
    ...(record?.type === "refund" ? [refundPut(record.refund)] : []),
    ...(p.idempotency ? [idempotencyPut(p.idempotency.claim, p.idempotency.body)] : []),
    auditPut(p.audit),
    ...eventPuts(p.event),
    ...(p.approval ? approvalDecisionItems(p.approval) : []),
  ];
}

const POSTING_LABELS: ReadonlySet<string> = new Set<PostingLabel>([
  "source",
  "destination",
  "customer",
  "system",
  "payment",
  "approval",
  "hold",
]);

/** The items of a hold (lib/ledger/port.ts HoldPlacement), in one TransactWriteItems. */
export function holdPlacementItems(h: HoldPlacement, shard = 0): Labelled[] {
  const { payment } = h;
  return [
    holdPlaceUpdate(h.debit.account, payment.amount, payment.currency, h.now, shard),
    holdPayeeCheck(h.credit.account, payment.currency),
    ...paymentPuts(payment),
    holdPut({ ...openHoldOf(payment), ...(shard > 0 ? { shard } : {}) }),
    ...(h.idempotency ? [idempotencyPut(h.idempotency.claim, h.idempotency.body)] : []),
    auditPut(h.audit),
    ...eventPuts(h.event),
  ];
}

/**
 * The items of a hold's capture, cancel or expiry, in one TransactWriteItems. `shards`:
 * the payer's shard the hold sits on (its hold item names it) and the payee's shard a
 * capture credits.
 */
export function holdSettlementItems(
  s: HoldSettlement,
  shards: PostingShards = { debit: 0, credit: 0 },
): Labelled[] {
  const b = s.before;
  const captured = s.capture?.transfer.amount ?? 0;
  return [
    holdPaymentUpdate(s),
    holdSettleUpdate(b.sourceAccountId, b.amountCapturable, captured, s.now, shards.debit),
    ...(s.capture
      ? [
          labelled(
            "destination",
            balanceUpdate(
              { type: "customer", accountId: b.destinationAccountId },
              "credit",
              captured,
              b.currency,
              s.now,
              shards.credit,
            ),
          ),
          entryPut(s.capture.entries[0]),
          entryPut(s.capture.entries[1]),
          transferPut(s.capture.transfer),
        ]
      : []),
    holdDelete({ ...openHoldOf(b), ...(shards.debit > 0 ? { shard: shards.debit } : {}) }),
    ...(s.idempotency ? [idempotencyPut(s.idempotency.claim, s.idempotency.body)] : []),
    auditPut(s.audit),
    ...eventPuts(s.event),
  ];
}

/** Rounds of a movement whose debit shard was raced while the account's shards still covered it. */
const SHARD_ROUNDS = 4;

/**
 * Sends a movement with a sharded debit side (`send(round)` plans its shards and commits)
 * until it is done or refused for a reason the shards' sum confirms: a debit refused on
 * its shard while the account's shards together still cover it goes another round, and
 * past SHARD_ROUNDS answers 503 (contention, nothing written). A refused sharded debit is
 * reported with the account's summed balance, held and available.
 */
async function shardRounds(
  debit: BalanceChange,
  amount: number,
  currency: string,
  send: () => Promise<PostOutcome>,
): Promise<PostOutcome> {
  for (let round = 1; ; round++) {
    const out = await send();
    if (out.ok || !out.failed.has(debit.label)) return out;
    const judged = await judgeShardedDebit(debit, out.failed.get(debit.label), amount, currency);
    if (judged.retry && !out.answered) {
      if (round < SHARD_ROUNDS) continue;
      // The shards cover it, yet other debits kept taking the chosen one: contention,
      // not a business answer. Nothing was written; the caller may retry.
      throw serviceUnavailable("The account is busy; retry later.");
    }
    const failed = new Map(out.failed);
    failed.set(debit.label, judged.state);
    return { ...out, failed };
  }
}

/**
 * Places a hold as ONE TransactWriteItems. On a sharded payer the hold takes from one
 * shard whose `available` covers it (lib/store/ledger-shards.ts shardFor, consolidating
 * first when none does alone) and its hold item remembers that shard.
 */
export function placeHold(h: HoldPlacement): Promise<PostOutcome> {
  const { amount, currency } = h.payment;
  return shardRounds(h.debit, amount, currency, async () => {
    const shard = await shardFor(h.debit, amount, h.now);
    return commit(holdPlacementItems(h, shard), h.idempotency);
  });
}

/** Settles a hold against the shard its hold item names; a capture credits a payee shard. */
export async function settleHold(s: HoldSettlement): Promise<PostOutcome> {
  const b = s.before;
  const [debit, credit] = await Promise.all([
    heldShard(openHoldOf(b)),
    s.capture
      ? shardFor(
          {
            label: "destination",
            direction: "credit",
            account: { type: "customer", accountId: b.destinationAccountId },
          },
          s.capture.transfer.amount,
          s.now,
        )
      : Promise.resolve(0),
  ]);
  return commit(holdSettlementItems(s, { debit, credit }), s.idempotency);
}

/**
 * Commits a posting as ONE TransactWriteItems; failed conditions come back by label.
 * Each side touches one balance shard (lib/store/ledger-shards.ts), the debit side in
 * rounds (shardRounds).
 */
export function post(p: Posting): Promise<PostOutcome> {
  const { amount, currency } = p.transfer;
  return shardRounds(p.debit, amount, currency, async () => {
    const [debit, credit] = await Promise.all([
      shardFor(p.debit, amount, p.now),
      shardFor(p.credit, amount, p.now),
    ]);
    return commit(postingItems(p, { debit, credit }), p.idempotency);
  });
}

/** One movement's items as ONE TransactWriteItems; failed conditions come back by label. */
async function commit(
  items: Labelled[],
  idempotency: Posting["idempotency"],
): Promise<PostOutcome> {
  const p = { idempotency };
  const attemptId = randomUUID();
  const out = await transact(items, (attempt) => requestToken(attemptId, attempt));
  if (out.ok) {
    if (p.idempotency) markRecorded(p.idempotency.claim);
    return { ok: true };
  }
  const failed = new Map<PostingLabel, AccountState | undefined>();
  for (const [label, item] of out.failed) {
    if (POSTING_LABELS.has(label)) failed.set(label as PostingLabel, item);
  }
  let answered: StoredAnswer | undefined;
  if (p.idempotency && out.failed.has("idempotency")) {
    const old = out.failed.get("idempotency");
    answered = isIdempotencyItem(old)
      ? toStoredAnswer(old)
      : await readAnswer(p.idempotency.claim.scope, p.idempotency.claim.key);
  }
  if (failed.size === 0 && !answered) {
    // A condition that should never fail (an id collision): a bug, not a business answer.
    throw new Error(`transaction refused at items ${[...out.failed.keys()].join(",")}`);
  }
  return { ok: false, failed, ...(answered ? { answered } : {}) };
}

/** Creates a customer account (and its uniqueness item) with its audit event. */
export async function createAccount(account: AccountView, audit: AuditEvent): Promise<boolean> {
  const out = await transact([...accountCreateItems(account), auditPut(audit)]);
  return out.ok;
}

/** Sets a customer account's status with its audit event; false when there is none. */
export async function setAccountStatus(
  accountId: string,
  status: "active" | "frozen",
  now: string,
  audit: AuditEvent,
  event: EventRecord,
): Promise<boolean> {
  // Every shard carries the status its movements are conditioned on (ledger-shards.ts).
  const shards = await currentShardCount(accountId);
  const out = await transact([
    accountStatusUpdate(accountId, status, now, shards),
    ...shardStatusUpdates(accountId, shards, status, now),
    auditPut(audit),
    ...eventPuts(event),
  ]);
  return out.ok;
}
