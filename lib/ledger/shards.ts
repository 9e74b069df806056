/**
 * Hot-account sharding (issue 18), the domain's part: which balance item a movement
 * touches. In DynamoDB one item takes at most 1,000 write units per second and
 * concurrent transactions on one item cancel each other, so an account every movement
 * touches (a system account, a busy merchant) keeps its balance in N items, "shards";
 * its balance is their sum. Shard 0 is the account item itself, so an account of one
 * shard is exactly what it was before sharding.
 *
 * - A credit goes to one shard at random (`creditShard`).
 * - A debit (withdrawal, refund, payment, or a hold) takes from ONE shard that can cover
 *   it, chosen here (`debitPlan`), and the store conditions the write on that shard
 *   (so no shard of a customer account ever goes negative). When no shard can alone
 *   but the shards together can, the plan consolidates: one transaction moves the
 *   largest shards' money into one shard first (at most MAX_BALANCE_SHARDS items, well
 *   under TransactWriteItems' 100), and the debit then takes from it.
 *
 * Pure: the store passes the shards' amounts (what each can give: its `available`,
 * balance minus what is held on it) and a random source.
 */

/** The most shards an account may have (an admin sets `balanceShards`, 1 by default). */
export const MAX_BALANCE_SHARDS = 32;

/** What one shard can give to a debit. */
export interface ShardAmount {
  readonly shard: number;
  readonly amount: number;
}

export type DebitPlan =
  /** One shard covers the debit alone. */
  | { readonly kind: "one"; readonly shard: number }
  /** Move `moves` into `into` first (one transaction), then debit `into`. */
  | {
      readonly kind: "consolidate";
      readonly into: number;
      readonly moves: readonly ShardAmount[];
    }
  /** The shards together do not cover it: the debit is refused (insufficient funds). */
  | { readonly kind: "short" };

/** The shard a credit (or a system account's movement) goes to: uniform over `count`. */
export function creditShard(count: number, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(count));
  return Math.min(n - 1, Math.floor(random() * n));
}

/**
 * How a debit of `amount` takes from these shards: a random shard among those that can
 * cover it alone (spreading concurrent debits as credits are spread); else the largest
 * shard, filled from the next largest until it covers; else short.
 */
export function debitPlan(
  shards: readonly ShardAmount[],
  amount: number,
  random: () => number = Math.random,
): DebitPlan {
  const covering = shards.filter((s) => s.amount >= amount);
  if (covering.length > 0) {
    return {
      kind: "one",
      shard: (covering[creditShard(covering.length, random)] as ShardAmount).shard,
    };
  }
  const total = shards.reduce((sum, s) => sum + Math.max(0, s.amount), 0);
  const [largest, ...rest] = [...shards]
    .filter((s) => s.amount > 0)
    .sort((a, b) => b.amount - a.amount || a.shard - b.shard);
  if (!largest || total < amount) return { kind: "short" };
  const moves: ShardAmount[] = [];
  let have = largest.amount;
  for (const s of rest) {
    if (have >= amount) break;
    moves.push({ shard: s.shard, amount: s.amount });
    have += s.amount;
  }
  return { kind: "consolidate", into: largest.shard, moves };
}

/** The balance of a sharded account: the sum of its shards. */
export const shardSum = (shards: readonly { readonly balance: number }[]): number =>
  shards.reduce((sum, s) => sum + s.balance, 0);
