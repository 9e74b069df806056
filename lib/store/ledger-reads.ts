import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import type {
  AccountView,
  CaptureState,
  EntryKind,
  EntryView,
  PaymentView,
  RefundView,
  Transfer,
  TransferKind,
} from "../ledger/model.ts";
import { paymentStatus } from "../ledger/model.ts";
import type { OpenHold, Page, PageRequest } from "../ledger/port.ts";
import { docClient, tableName } from "./client.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import {
  ACCOUNT_PREFIX,
  accountKey,
  accountPartition,
  ENTRY_PREFIX,
  HOLD_PREFIX,
  HOLDS_INDEX,
  HOLDS_PARTITION,
  OWNER_INDEX,
  ownerPartition,
  PAYMENT_LINK_PREFIX,
  paymentKey,
  paymentPartition,
  REFUND_PREFIX,
  transferKey,
} from "./keys.ts";
import { isSystemAccountId, withShardSum } from "./ledger-shards.ts";
import { withRetry } from "./retry.ts";

/**
 * DynamoDB reads of the ledger (keys: lib/store/keys.ts; writes: ledger-writes.ts).
 *
 * Every list is one Query on a partition (newest first via ULID sort keys and
 * ScanIndexForward=false) with Limit = page size + 1, so a page costs the same no
 * matter how long the history is. No Scan anywhere.
 */

const T = () => tableName();

type Item = Record<string, unknown>;

export function toAccountView(item: Item): AccountView {
  return {
    id: String(item.id),
    ownerId: String(item.ownerId),
    currency: String(item.currency),
    balance: Number(item.balance),
    ...heldAndAvailable(item),
    status: item.status === "frozen" ? "frozen" : "active",
    kind: item.kind === "system" ? "system" : "customer",
    ...(Number(item.balanceShards) > 1 ? { balanceShards: Number(item.balanceShards) } : {}),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
  };
}

/** `held` and `available` as stored (a system account stores neither: nothing is held). */
function heldAndAvailable(item: Item): { held: number; available: number } {
  const held = typeof item.held === "number" ? item.held : 0;
  const available =
    typeof item.available === "number" ? item.available : Number(item.balance) - held;
  return { held, available };
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
  const state: CaptureState =
    item.captureState === "requires_capture" || item.captureState === "canceled"
      ? item.captureState
      : "captured";
  // A payment stored before holds existed was captured whole at once.
  const amountCaptured = typeof item.amountCaptured === "number" ? item.amountCaptured : amount;
  const reason = item.cancellationReason;
  return {
    id: String(item.id),
    status: paymentStatus(amountCaptured, amountRefunded, state),
    sourceAccountId: String(item.sourceAccountId),
    destinationAccountId: String(item.destinationAccountId),
    amount,
    currency: String(item.currency),
    amountRefunded,
    amountCaptured,
    amountCapturable: typeof item.amountCapturable === "number" ? item.amountCapturable : 0,
    ...(typeof item.captureBefore === "string" ? { captureBefore: item.captureBefore } : {}),
    ...(reason === "requested" || reason === "expired" ? { cancellationReason: reason } : {}),
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

async function getItem(
  key: { pk: string; sk: string },
  projection?: string,
): Promise<Item | undefined> {
  const out = await withRetry(() =>
    docClient().send(
      new GetCommand({
        TableName: T(),
        Key: key,
        ConsistentRead: true,
        ...(projection
          ? { ProjectionExpression: projection, ExpressionAttributeNames: { "#type": "type" } }
          : {}),
      }),
    ),
  );
  return out.Item;
}

/** An account; the balance of a sharded account is the sum of its shards (ledger-shards.ts). */
export async function getAccount(accountId: string): Promise<AccountView | undefined> {
  const item = await withShardSum(accountId, await getItem(accountKey(accountId)));
  return item && item.type === "account" ? toAccountView(item) : undefined;
}

/**
 * Owner ids of the customer accounts among `accountIds` (system accounts and unknown ids
 * left out): who may see an event, and whose webhook endpoints it goes to. An account's
 * owner and kind never change once it exists, so each is read once per container and
 * kept (bounded), a read of the owner alone: the dispatcher asks for every event, and
 * re-reading (and, for a sharded account, summing) whole accounts for a fact that
 * cannot change was most of its work.
 */
export async function customerOwnersOf(accountIds: readonly string[]): Promise<string[]> {
  const owners = await Promise.all(
    [...new Set(accountIds)].map(async (id) => {
      if (isSystemAccountId(id)) return undefined;
      const known = customerOwners.get(id);
      if (known !== undefined) return known;
      const item = await getItem(accountKey(id), "#type, ownerId, kind");
      if (item?.type !== "account") return undefined;
      const owner = item.kind === "system" ? null : String(item.ownerId);
      if (customerOwners.size >= OWNER_CACHE_LIMIT) customerOwners.clear();
      customerOwners.set(id, owner);
      return owner;
    }),
  );
  return [...new Set(owners.filter((o): o is string => typeof o === "string"))];
}
/** Account id -> owner id (null: not a customer account). Immutable facts, so never stale. */
const customerOwners = new Map<string, string | null>();
const OWNER_CACHE_LIMIT = 50_000;

export async function getPayment(paymentId: string): Promise<PaymentView | undefined> {
  const item = await getItem(paymentKey(paymentId));
  return item && item.type === "payment" ? toPaymentView(item) : undefined;
}

export async function getTransfer(transferId: string): Promise<Transfer | undefined> {
  const item = await getItem(transferKey(transferId));
  return item && item.type === "transfer" ? toTransfer(item) : undefined;
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
  { limit, cursor }: PageRequest,
): Promise<Page<AccountView>> {
  const r = await listPage({
    scope: `accounts:${ownerId}`,
    index: OWNER_INDEX,
    partition: ownerPartition(ownerId),
    skPrefix: ACCOUNT_PREFIX,
    limit,
    cursor,
  });
  const items = await Promise.all(
    r.items.filter((i) => i.type === "account").map((i) => withShardSum(String(i.id), i)),
  );
  return page(items.filter((i): i is Item => i !== undefined).map(toAccountView), r.next);
}

export async function listEntries(
  accountId: string,
  { limit, cursor }: PageRequest,
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
  { limit, cursor }: PageRequest,
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
  { limit, cursor }: PageRequest,
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

function toOpenHold(item: Item): OpenHold {
  return {
    paymentId: String(item.paymentId),
    accountId: String(item.accountId),
    amount: Number(item.amount),
    currency: String(item.currency),
    captureBefore: String(item.captureBefore),
  };
}

/**
 * An account's open holds with `captureBefore <= now`, oldest first: one strongly
 * consistent Query of its partition (hold sort keys start with their captureBefore).
 */
export async function expiredHoldsOf(
  accountId: string,
  now: string,
  limit: number,
): Promise<OpenHold[]> {
  const out = await withRetry(() =>
    docClient().send(
      new QueryCommand({
        TableName: T(),
        ConsistentRead: true,
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :lo AND :hi",
        ExpressionAttributeValues: {
          ":pk": accountPartition(accountId),
          ":lo": HOLD_PREFIX,
          ":hi": `${HOLD_PREFIX}${now}#~`,
        },
        Limit: limit,
      }),
    ),
  );
  return (out.Items ?? []).map(toOpenHold);
}

/** Every open hold with `captureBefore <= now`, oldest first (gsi1 HOLDS; the sweeper). */
export async function dueHolds(now: string, limit: number): Promise<OpenHold[]> {
  const out = await withRetry(() =>
    docClient().send(
      new QueryCommand({
        TableName: T(),
        IndexName: HOLDS_INDEX,
        KeyConditionExpression: "gsi1pk = :pk AND gsi1sk <= :hi",
        ExpressionAttributeValues: { ":pk": HOLDS_PARTITION, ":hi": `${now}#~` },
        Limit: limit,
      }),
    ),
  );
  return (out.Items ?? []).map(toOpenHold);
}
