import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { accountItem } from "../ledger/accounts.ts";
import type {
  AccountView,
  EntryKind,
  EntryView,
  PaymentView,
  RefundView,
  SystemPurpose,
  Transfer,
  TransferKind,
} from "../ledger/model.ts";
import { emptySystemAccount, paymentStatus } from "../ledger/model.ts";
import { docClient, tableName } from "./client.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import {
  ACCOUNT_PREFIX,
  accountKey,
  accountPartition,
  ENTRY_PREFIX,
  entryKey,
  OWNER_INDEX,
  ownerPartition,
  PAYMENT_LINK_PREFIX,
  paymentKey,
  paymentLinkKey,
  paymentPartition,
  REFUND_PREFIX,
  refundKey,
  transferKey,
} from "./keys.ts";
import { withRetry } from "./retry.ts";
import { type Labelled, labelled, type TransactItem } from "./transact.ts";

/**
 * DynamoDB access for the ledger (keys: lib/store/keys.ts). Entries are immutable (Put
 * once, never updated); a payment has a link item under both accounts.
 *
 * Every list is one Query on a partition (newest first via ULID sort keys and
 * ScanIndexForward=false) with Limit = page size + 1, so a page costs the same no
 * matter how long the history is. No Scan anywhere.
 */

const T = () => tableName();

// ---------------------------------------------------------------------------
// Reads

type Item = Record<string, unknown>;

export function toAccountView(item: Item): AccountView {
  return {
    id: String(item.id),
    ownerId: String(item.ownerId),
    currency: String(item.currency),
    balance: Number(item.balance),
    status: item.status === "frozen" ? "frozen" : "active",
    kind: item.kind === "system" ? "system" : "customer",
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
  };
}

export function toEntryView(item: Item): EntryView {
  return {
    id: String(item.id),
    accountId: String(item.accountId),
    ...(typeof item.transferId === "string" ? { transferId: item.transferId } : {}),
    ...(typeof item.paymentId === "string" ? { paymentId: item.paymentId } : {}),
    ...(typeof item.refundId === "string" ? { refundId: item.refundId } : {}),
    kind: item.kind as EntryKind,
    direction: item.direction === "debit" ? "debit" : "credit",
    amount: Number(item.amount),
    currency: String(item.currency),
    counterpartyAccountId: String(item.counterpartyAccountId),
    ...(typeof item.reference === "string" ? { reference: item.reference } : {}),
    createdAt: String(item.createdAt),
  };
}

export function toPaymentView(item: Item): PaymentView {
  const amount = Number(item.amount);
  const amountRefunded = Number(item.amountRefunded);
  return {
    id: String(item.id),
    status: paymentStatus(amount, amountRefunded),
    sourceAccountId: String(item.sourceAccountId),
    destinationAccountId: String(item.destinationAccountId),
    amount,
    currency: String(item.currency),
    amountRefunded,
    description: typeof item.description === "string" ? item.description : null,
    ...(typeof item.transferId === "string" ? { transferId: item.transferId } : {}),
    createdAt: String(item.createdAt),
  };
}

export function toRefundView(item: Item): RefundView {
  return {
    id: String(item.id),
    paymentId: String(item.paymentId),
    amount: Number(item.amount),
    currency: String(item.currency),
    reason: typeof item.reason === "string" ? item.reason : null,
    ...(typeof item.transferId === "string" ? { transferId: item.transferId } : {}),
    createdAt: String(item.createdAt),
  };
}

export function toTransfer(item: Item): Transfer {
  return {
    id: String(item.id),
    kind: item.kind as TransferKind,
    debitAccountId: String(item.debitAccountId),
    creditAccountId: String(item.creditAccountId),
    amount: Number(item.amount),
    currency: String(item.currency),
    ...(typeof item.paymentId === "string" ? { paymentId: item.paymentId } : {}),
    ...(typeof item.refundId === "string" ? { refundId: item.refundId } : {}),
    ...(typeof item.reference === "string" ? { reference: item.reference } : {}),
    createdAt: String(item.createdAt),
  };
}

async function getItem(key: { pk: string; sk: string }): Promise<Item | undefined> {
  const out = await withRetry(() =>
    docClient().send(new GetCommand({ TableName: T(), Key: key, ConsistentRead: true })),
  );
  return out.Item;
}

export async function getAccount(accountId: string): Promise<AccountView | undefined> {
  const item = await getItem(accountKey(accountId));
  return item && item.type === "account" ? toAccountView(item) : undefined;
}

export async function getPaymentItem(paymentId: string): Promise<Item | undefined> {
  const item = await getItem(paymentKey(paymentId));
  return item && item.type === "payment" ? item : undefined;
}

export async function getTransfer(transferId: string): Promise<Transfer | undefined> {
  const item = await getItem(transferKey(transferId));
  return item && item.type === "transfer" ? toTransfer(item) : undefined;
}

export interface Page<T> {
  readonly data: T[];
  readonly hasMore: boolean;
  readonly nextCursor: string | null;
}

interface ListSpec {
  /** Binds the cursor to this list (and this partition). */
  readonly scope: string;
  readonly index?: "gsi1";
  readonly partition: string;
  readonly skPrefix: string;
  readonly limit: number;
  readonly cursor: string | undefined;
}

/** One newest-first page of a partition's items whose sort key starts with a prefix. */
async function listPage(spec: ListSpec): Promise<{ items: Item[]; next: string | null }> {
  const pkName = spec.index ? "gsi1pk" : "pk";
  const skName = spec.index ? "gsi1sk" : "sk";
  let exclusiveStartKey: Item | undefined;
  if (spec.cursor) {
    const pos = decodeCursor(spec.scope, spec.cursor);
    // The MAC already binds the cursor to this scope; check the partition anyway.
    if (pos[pkName] !== spec.partition || !pos[skName]?.startsWith(spec.skPrefix)) {
      decodeCursor(`${spec.scope}#mismatch`, spec.cursor); // throws the same 400
    }
    exclusiveStartKey = pos;
  }
  const input: QueryCommandInput = {
    TableName: T(),
    ...(spec.index ? { IndexName: spec.index } : { ConsistentRead: true }),
    KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
    ExpressionAttributeNames: { "#pk": pkName, "#sk": skName },
    ExpressionAttributeValues: { ":pk": spec.partition, ":prefix": spec.skPrefix },
    ScanIndexForward: false,
    Limit: spec.limit + 1,
    ...(exclusiveStartKey ? { ExclusiveStartKey: exclusiveStartKey } : {}),
  };
  const out = await withRetry(() => docClient().send(new QueryCommand(input)));
  const items = out.Items ?? [];
  if (items.length <= spec.limit) return { items, next: null };
  const page = items.slice(0, spec.limit);
  const last = page[page.length - 1] as Item;
  const position: Record<string, string> = {
    pk: String(last.pk),
    sk: String(last.sk),
    ...(spec.index ? { gsi1pk: String(last.gsi1pk), gsi1sk: String(last.gsi1sk) } : {}),
  };
  return { items: page, next: encodeCursor(spec.scope, position) };
}

function page<T>(items: T[], next: string | null): Page<T> {
  return { data: items, hasMore: next !== null, nextCursor: next };
}

export async function listAccountsOfOwner(
  ownerId: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<AccountView>> {
  const r = await listPage({
    scope: `accounts:${ownerId}`,
    index: OWNER_INDEX,
    partition: ownerPartition(ownerId),
    skPrefix: ACCOUNT_PREFIX,
    limit,
    cursor,
  });
  return page(r.items.filter((i) => i.type === "account").map(toAccountView), r.next);
}

export async function listEntries(
  accountId: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<EntryView>> {
  const r = await listPage({
    scope: `entries:${accountId}`,
    partition: accountPartition(accountId),
    skPrefix: ENTRY_PREFIX,
    limit,
    cursor,
  });
  return page(r.items.map(toEntryView), r.next);
}

export async function listPaymentsOfAccount(
  accountId: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<PaymentView>> {
  const r = await listPage({
    scope: `payments:${accountId}`,
    partition: accountPartition(accountId),
    skPrefix: PAYMENT_LINK_PREFIX,
    limit,
    cursor,
  });
  const ids = r.items.map((i) => String(i.paymentId));
  const byId = await batchGetPayments(ids);
  const data = ids.flatMap((id) => {
    const item = byId.get(id);
    return item ? [toPaymentView(item)] : [];
  });
  return page(data, r.next);
}

async function batchGetPayments(ids: string[]): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  let keys: Item[] = ids.map((id) => ({ ...paymentKey(id) }));
  for (let round = 0; keys.length > 0 && round < 8; round++) {
    const requestKeys = keys;
    const out = await withRetry(() =>
      docClient().send(
        new BatchGetCommand({
          RequestItems: { [T()]: { Keys: requestKeys, ConsistentRead: true } },
        }),
      ),
    );
    for (const item of out.Responses?.[T()] ?? []) found.set(String(item.id), item);
    keys = (out.UnprocessedKeys?.[T()]?.Keys as Item[] | undefined) ?? [];
    if (keys.length > 0) await new Promise((r) => setTimeout(r, 10 * 2 ** round));
  }
  return found;
}

export async function listRefunds(
  paymentId: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<RefundView>> {
  const r = await listPage({
    scope: `refunds:${paymentId}`,
    partition: paymentPartition(paymentId),
    skPrefix: REFUND_PREFIX,
    limit,
    cursor,
  });
  return page(r.items.map(toRefundView), r.next);
}

// ---------------------------------------------------------------------------
// Writes: TransactWriteItems building blocks

/** Which side of a movement an account is on, and how its update is conditioned. */
export type Side =
  | {
      readonly type: "customer";
      readonly accountId: string;
      /** Only if the account belongs to this user (the payer of a payment). */
      readonly ownerId?: string;
    }
  | { readonly type: "system"; readonly purpose: SystemPurpose };

/**
 * The balance update of one side. Customer accounts: must exist, be a customer
 * account, be active and hold the movement's currency; a debit also needs
 * `balance >= amount` (no overdraft); with `ownerId`, the account must be that user's.
 * System accounts are created by their first
 * movement (if_not_exists) and may go negative.
 */
export function balanceUpdate(
  side: Side,
  direction: "debit" | "credit",
  amount: number,
  currency: string,
  now: string,
): TransactItem {
  if (side.type === "system") {
    const blank = emptySystemAccount(side.purpose, currency, now);
    const item = accountItem(blank);
    return {
      Update: {
        TableName: T(),
        Key: accountKey(blank.id),
        UpdateExpression:
          "SET #balance = if_not_exists(#balance, :zero) + :delta, #updatedAt = :now, " +
          "#type = :type, #id = :id, #ownerId = :owner, #currency = :cur, #status = :active, " +
          "#kind = :system, #purpose = :purpose, #createdAt = if_not_exists(#createdAt, :now), " +
          "#gsi1pk = :gsi1pk, #gsi1sk = :gsi1sk",
        ConditionExpression: "attribute_not_exists(pk) OR (#kind = :system AND #currency = :cur)",
        ExpressionAttributeNames: {
          "#balance": "balance",
          "#updatedAt": "updatedAt",
          "#type": "type",
          "#id": "id",
          "#ownerId": "ownerId",
          "#currency": "currency",
          "#status": "status",
          "#kind": "kind",
          "#purpose": "purpose",
          "#createdAt": "createdAt",
          "#gsi1pk": "gsi1pk",
          "#gsi1sk": "gsi1sk",
        },
        ExpressionAttributeValues: {
          ":zero": 0,
          ":delta": direction === "debit" ? -amount : amount,
          ":now": now,
          ":type": "account",
          ":id": blank.id,
          ":owner": blank.ownerId,
          ":cur": currency,
          ":active": "active",
          ":system": "system",
          ":purpose": side.purpose,
          ":gsi1pk": item.gsi1pk,
          ":gsi1sk": item.gsi1sk,
        },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      },
    };
  }
  const debit = direction === "debit";
  const owned = side.ownerId !== undefined;
  return {
    Update: {
      TableName: T(),
      Key: accountKey(side.accountId),
      UpdateExpression: `SET #balance = #balance ${debit ? "-" : "+"} :amt, #updatedAt = :now`,
      ConditionExpression:
        "attribute_exists(pk) AND #kind = :customer AND #status = :active AND #currency = :cur" +
        (debit ? " AND #balance >= :amt" : "") +
        (owned ? " AND #ownerId = :owner" : ""),
      ExpressionAttributeNames: {
        "#balance": "balance",
        "#updatedAt": "updatedAt",
        "#kind": "kind",
        "#status": "status",
        "#currency": "currency",
        ...(owned ? { "#ownerId": "ownerId" } : {}),
      },
      ExpressionAttributeValues: {
        ":amt": amount,
        ":now": now,
        ":customer": "customer",
        ":active": "active",
        ":cur": currency,
        ...(owned ? { ":owner": side.ownerId } : {}),
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
    labelled("payment", {
      Put: {
        TableName: T(),
        Item: {
          ...paymentKey(payment.id),
          type: "payment",
          ...stored,
          // What may still be refunded: lets the refund condition stay arithmetic-free.
          remaining: payment.amount - payment.amountRefunded,
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
): Labelled {
  return labelled("account", {
    Update: {
      TableName: T(),
      Key: accountKey(accountId),
      UpdateExpression: "SET #status = :status, #updatedAt = :now",
      ConditionExpression: "attribute_exists(pk) AND #kind = :customer",
      ExpressionAttributeNames: { "#status": "status", "#updatedAt": "updatedAt", "#kind": "kind" },
      ExpressionAttributeValues: { ":status": status, ":now": now, ":customer": "customer" },
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    },
  });
}
