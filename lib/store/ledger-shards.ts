import { GetCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditEvent } from "../audit/events.ts";
import { config } from "../config.ts";
import type { EventRecord } from "../events/model.ts";
import type { AccountState, BalanceChange, OpenHold } from "../ledger/port.ts";
import { creditShard, debitPlan, MAX_BALANCE_SHARDS, shardSum } from "../ledger/shards.ts";
import { auditPut } from "./audit-outbox.ts";
import { docClient, tableName } from "./client.ts";
import { eventPuts } from "./events.ts";
import { accountKey, accountShardKey, holdKey, shardCountsKey } from "./keys.ts";
import { withRetry } from "./retry.ts";
import { type Labelled, labelled, transact } from "./transact.ts";

/**
 * Balance shards in DynamoDB (issue 18; the rules: lib/ledger/shards.ts). Shard 0 of an
 * account is its account item; shard k >= 1 is `ACC#<id>#S<k>` / `SHARD`, carrying the
 * account's kind, owner, currency and status beside its balance, so a movement's
 * conditions hold on the one shard it touches and never on a shared item.
 *
 * - System accounts have MICROPAY_SYSTEM_SHARDS shards per (purpose, currency); a
 *   movement picks one at random and creates it if it is new (if_not_exists).
 * - Every customer shard keeps `balance`, `held` and `available` (= balance - held,
 *   lib/store/ledger-writes.ts FUNDS_CONDITION): a debit or a hold takes from one shard
 *   whose `available` covers it, and a hold's item names the shard it sits on, so its
 *   capture, cancel or expiry settles that shard.
 * - A customer account has `balanceShards` (the account item; 1 when absent), set by an
 *   admin and only ever raised. Payments read no account, so the counts above 1 also sit
 *   in one item (`META#SHARDS`), which a container reads at most every
 *   MICROPAY_SHARD_COUNT_CACHE_SECONDS: a stale count is a lower bound, which is safe
 *   (the movement just uses fewer shards until the next read).
 */

type Item = Record<string, unknown>;
const T = () => tableName();
const COUNT_PREFIX = "n_";

let counts: { readonly map: Map<string, number>; readonly at: number } | undefined;
let refreshing: Promise<{ map: Map<string, number>; at: number }> | undefined;

async function readCounts(): Promise<{ map: Map<string, number>; at: number }> {
  const out = await withRetry(() =>
    docClient().send(new GetCommand({ TableName: T(), Key: shardCountsKey, ConsistentRead: true })),
  );
  const map = new Map<string, number>();
  for (const [name, value] of Object.entries(out.Item ?? {})) {
    if (name.startsWith(COUNT_PREFIX)) map.set(name.slice(COUNT_PREFIX.length), Number(value));
  }
  return { map, at: Date.now() };
}

/** The balance shards of a customer account as this container knows them (>= 1). */
export async function shardCount(accountId: string): Promise<number> {
  const ttlMs = config().MICROPAY_SHARD_COUNT_CACHE_SECONDS * 1000;
  if (!counts || Date.now() - counts.at >= ttlMs) {
    refreshing ??= readCounts().finally(() => {
      refreshing = undefined;
    });
    counts = await refreshing;
  }
  return counts.map.get(accountId) ?? 1;
}

/** Records a count this container has just read or written. */
function noteShardCount(accountId: string, n: number): void {
  if (counts && (counts.map.get(accountId) ?? 1) < n) counts.map.set(accountId, n);
}

/** The shard count an account item names (system accounts: every shard that may exist). */
export function shardsOfItem(item: Item): number {
  if (item.kind === "system") return MAX_BALANCE_SHARDS;
  const n = Number(item.balanceShards ?? 1);
  return Number.isSafeInteger(n) && n > 1 ? Math.min(n, MAX_BALANCE_SHARDS) : 1;
}

/** System account ids are deterministic with a zero time part (lib/ledger/model.ts). */
export const isSystemAccountId = (id: string): boolean => id.startsWith("acc_0000000000");

/**
 * Shards `from`..`to-1` of an account (those that exist), by shard number: strongly
 * consistent GetItems in parallel (the grant every account read already has; at most
 * MAX_BALANCE_SHARDS, and only for accounts with more than one shard).
 */
async function readShardRange(
  accountId: string,
  from: number,
  to: number,
): Promise<Map<number, Item>> {
  const shards = Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
  const items = await Promise.all(
    shards.map((k) =>
      withRetry(() =>
        docClient().send(
          new GetCommand({
            TableName: T(),
            Key: accountShardKey(accountId, k),
            ConsistentRead: true,
          }),
        ),
      ),
    ),
  );
  const found = new Map<number, Item>();
  items.forEach((out, i) => {
    if (out.Item) found.set(shards[i] as number, out.Item);
  });
  return found;
}

/**
 * An account item with `balance` as the sum of its shards (reads: the API shows the
 * sum). A system account whose account item its movements have not created yet (they
 * went to other shards) is read from its shards.
 */
export async function withShardSum(
  accountId: string,
  item: Item | undefined,
): Promise<Item | undefined> {
  if (item && item.type !== "account") return item;
  const n = item ? shardsOfItem(item) : isSystemAccountId(accountId) ? MAX_BALANCE_SHARDS : 1;
  if (n <= 1) return item;
  const shards = await readShardRange(accountId, 1, n);
  const first = item ?? shards.values().next().value;
  if (!first) return undefined;
  const sums = sumShards([...(item ? [item] : []), ...shards.values()]);
  return item
    ? { ...item, ...sums }
    : { ...first, type: "account", id: accountId, ...sums, updatedAt: first.updatedAt };
}

/** What a shard can give a debit or a hold: its `available` (its balance before holds existed). */
const availableOfShard = (s: Item): number =>
  typeof s.available === "number" ? s.available : Number(s.balance ?? 0) - Number(s.held ?? 0);

/**
 * Balance, held and available summed over shard items (system shards have neither
 * `held` nor `available`; the sums then carry only the balance).
 */
function sumShards(items: readonly Item[]): Item {
  const balance = shardSum(items.map((s) => ({ balance: Number(s.balance ?? 0) })));
  const customer = items.some((s) => s.kind === "customer");
  if (!customer) return { balance };
  const held = items.reduce((sum, s) => sum + Number(s.held ?? 0), 0);
  const available = items.reduce((sum, s) => sum + availableOfShard(s), 0);
  return { balance, held, available };
}

/** The payer's shard an open hold sits on, as its hold item names it (0: none named). */
export async function heldShard(hold: OpenHold): Promise<number> {
  const out = await withRetry(() =>
    docClient().send(
      new GetCommand({
        TableName: T(),
        Key: holdKey(hold.accountId, hold.captureBefore, hold.paymentId),
        ConsistentRead: true,
      }),
    ),
  );
  const shard = Number(out.Item?.shard ?? 0);
  return Number.isSafeInteger(shard) && shard > 0 ? shard : 0;
}

/**
 * The shard each side of a posting touches. A system side: one of
 * MICROPAY_SYSTEM_SHARDS at random. A customer credit: one of its shards at random. A
 * customer debit of an account with several shards: one that covers the amount
 * (lib/ledger/shards.ts `debitPlan`), after one consolidating transaction when no shard
 * covers it alone; when even the sum does not, shard 0, whose condition then refuses it.
 */
export async function shardFor(
  change: BalanceChange,
  amount: number,
  now: string,
): Promise<number> {
  const ref = change.account;
  if (ref.type === "system") return creditShard(config().MICROPAY_SYSTEM_SHARDS);
  const count = await shardCount(ref.accountId);
  if (change.direction === "credit") return creditShard(count);
  if (count <= 1) return 0;
  const shards = await readShardRange(ref.accountId, 0, count);
  const plan = debitPlan(
    [...shards].map(([shard, item]) => ({ shard, amount: availableOfShard(item) })),
    amount,
  );
  if (plan.kind === "one") return plan.shard;
  if (plan.kind === "short") return 0;
  await transact([
    ...plan.moves.map((m) => shardMove(ref.accountId, m.shard, -m.amount, now)),
    shardMove(
      ref.accountId,
      plan.into,
      plan.moves.reduce((s, m) => s + m.amount, 0),
      now,
    ),
  ]);
  // Consolidated, or raced (a condition failed, nothing moved): the posting's own
  // condition on `into` decides, and a refused debit is judged again on the sum.
  return plan.into;
}

/**
 * Moves available money between shards of one account (a consolidation; the sums are
 * unchanged): balance and available move together, held money stays on its shard.
 */
function shardMove(accountId: string, shard: number, delta: number, now: string): Labelled {
  return labelled("shard", {
    Update: {
      TableName: T(),
      Key: accountShardKey(accountId, shard),
      UpdateExpression:
        "SET #balance = #balance + :delta, #available = #available + :delta, #updatedAt = :now",
      ConditionExpression:
        delta < 0 ? "attribute_exists(pk) AND #available >= :need" : "attribute_exists(pk)",
      ExpressionAttributeNames: {
        "#balance": "balance",
        "#available": "available",
        "#updatedAt": "updatedAt",
      },
      ExpressionAttributeValues: {
        ":delta": delta,
        ":now": now,
        ...(delta < 0 ? { ":need": -delta } : {}),
      },
    },
  });
}

/**
 * After a refused posting: the refused debit side of a sharded customer account as it
 * stands in sum (its own shard's state would judge funds on one shard only), and
 * whether the shards together cover the amount (then the posting is worth another round).
 */
export async function judgeShardedDebit(
  change: BalanceChange,
  failed: AccountState | undefined,
  amount: number,
  currency: string,
): Promise<{ state: AccountState | undefined; retry: boolean }> {
  const ref = change.account;
  if (ref.type !== "customer" || change.direction !== "debit" || !failed) {
    return { state: failed, retry: false };
  }
  const item = failed as Item;
  const count = item.type === "account" ? shardsOfItem(item) : await shardCount(ref.accountId);
  if (count <= 1) return { state: failed, retry: false };
  noteShardCount(ref.accountId, count);
  const shards = await readShardRange(ref.accountId, 0, count);
  const sums = sumShards([...shards.values()]);
  const fundsOnly =
    item.kind === "customer" &&
    item.status === "active" &&
    item.currency === currency &&
    (ref.ownerId === undefined || item.ownerId === ref.ownerId);
  const available = Number(sums.available ?? sums.balance);
  return { state: { ...failed, ...sums } as AccountState, retry: fundsOnly && available >= amount };
}

/** The items that freeze or unfreeze shards 1..count-1 with the account item. */
export function shardStatusUpdates(
  accountId: string,
  count: number,
  status: string,
  now: string,
): Labelled[] {
  const items: Labelled[] = [];
  for (let k = 1; k < count; k++) {
    items.push(
      labelled("shard", {
        Update: {
          TableName: T(),
          Key: accountShardKey(accountId, k),
          UpdateExpression: "SET #status = :status, #updatedAt = :now",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeNames: { "#status": "status", "#updatedAt": "updatedAt" },
          ExpressionAttributeValues: { ":status": status, ":now": now },
        },
      }),
    );
  }
  return items;
}

/** The account item's shard count as read now (strongly consistent), for a status change. */
export async function currentShardCount(accountId: string): Promise<number> {
  const out = await withRetry(() =>
    docClient().send(
      new GetCommand({ TableName: T(), Key: accountKey(accountId), ConsistentRead: true }),
    ),
  );
  return out.Item ? shardsOfItem(out.Item) : 1;
}

/**
 * Raises a customer account's shard count from `from` to `to` in one transaction: the
 * account item (still a customer account with `from` shards and this status), the new
 * empty shards, the count in `META#SHARDS`, the audit event and the event. False when
 * the account changed meanwhile (or is not a customer account).
 */
export async function setBalanceShards(
  account: { id: string; ownerId: string; currency: string; status: string; createdAt: string },
  from: number,
  to: number,
  now: string,
  audit: AuditEvent,
  event: EventRecord,
): Promise<boolean> {
  const shards: Labelled[] = [];
  for (let k = from; k < to; k++) {
    shards.push(
      labelled("shard", {
        Put: {
          TableName: T(),
          Item: {
            ...accountShardKey(account.id, k),
            type: "account_shard",
            accountId: account.id,
            shard: k,
            ownerId: account.ownerId,
            currency: account.currency,
            kind: "customer",
            status: account.status,
            balance: 0,
            held: 0,
            available: 0,
            createdAt: now,
            updatedAt: now,
          },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      }),
    );
  }
  const out = await transact([
    labelled("account", {
      Update: {
        TableName: T(),
        Key: accountKey(account.id),
        UpdateExpression: "SET #shards = :to, #updatedAt = :now",
        ConditionExpression:
          "attribute_exists(pk) AND #kind = :customer AND #status = :status AND " +
          (from === 1 ? "(attribute_not_exists(#shards) OR #shards = :from)" : "#shards = :from"),
        ExpressionAttributeNames: {
          "#shards": "balanceShards",
          "#updatedAt": "updatedAt",
          "#kind": "kind",
          "#status": "status",
        },
        ExpressionAttributeValues: {
          ":to": to,
          ":from": from,
          ":now": now,
          ":customer": "customer",
          ":status": account.status,
        },
      },
    }),
    ...shards,
    labelled("shard_counts", {
      Update: {
        TableName: T(),
        Key: shardCountsKey,
        UpdateExpression: "SET #n = :to, #type = :type",
        ExpressionAttributeNames: { "#n": `${COUNT_PREFIX}${account.id}`, "#type": "type" },
        ExpressionAttributeValues: { ":to": to, ":type": "shard_counts" },
      },
    }),
    auditPut(audit),
    ...eventPuts(event),
  ]);
  if (out.ok) noteShardCount(account.id, to);
  return out.ok;
}
