import { contentionStats, resetContention } from "../../test/support/contention.ts";
import {
  type HotRun,
  hotMerchant,
  hotPayers,
  hotPayments,
} from "../../test/support/hot-account.ts";
import { type SpawnedStack, spawnStack } from "../../test/support/spawn-stack.ts";
import { slices } from "./stats.ts";

/**
 * Bench section 9, hot accounts (issue 18): payments per second into ONE merchant at
 * `clients` clients, with 1 and with 16 balance shards, on a stack whose DynamoDB client
 * runs through the contention model (MICROPAY_CONTENTION_MODEL=1: DynamoDB's transaction
 * conflicts and per-item throttling, lib/store/contention-model.ts), and the same
 * workload on the bench's own stack without the model (`baselinePerSecond`).
 *
 * DynamoDB Local runs transactions one at a time, so raw speed here is capped by it in
 * both runs; what carries to AWS are the conflicts and the item shares:
 * `hottestItemShare` is the largest fraction of the run's transactions that wrote any
 * one item (1.0 when every payment writes the same balance item), and
 * `impliedCeilingPerSecond` the payments per second at which that item would reach
 * DynamoDB's 1,000 write units per second, a transactional write costing 2 units:
 * 500 / hottestItemShare.
 */

export interface HotAccountRun {
  readonly shards: number;
  readonly clients: number;
  readonly attempts: number;
  readonly conflicts: number;
  readonly rejected503: number;
  readonly goodputPerSecond: number;
  readonly baselinePerSecond: number;
  readonly hottestItemShare: number;
  readonly impliedCeilingPerSecond: number;
}

const WCU_PER_ITEM_PER_SECOND = 1000;
/** Slices per side (no model, model) in each run. */
const ROUNDS = 4;
const sum = (runs: readonly HotRun[], f: (r: HotRun) => number) =>
  runs.reduce((n, r) => n + f(r), 0);
/** Succeeded payments per second over all slices. */
const goodput = (runs: readonly HotRun[]) =>
  sum(runs, (r) => r.succeeded) / sum(runs, (r) => r.seconds);
const WCU_PER_TRANSACTIONAL_WRITE = 2;

export async function measureHotAccount(opts: {
  /** The bench's stack (no model): the baseline. */
  readonly baseline: SpawnedStack;
  readonly env: Record<string, string>;
  readonly payments: number;
  readonly clients: number;
  readonly shards: readonly number[];
  readonly log: (line: string) => void;
}): Promise<{ runs: HotAccountRun[]; holdMs: number }> {
  const { clients, payments } = opts;
  const holdMs = 10;
  opts.log("hot account: starting a stack with the contention model");
  const modelled = await spawnStack({
    ...opts.env,
    MICROPAY_CONTENTION_MODEL: "1",
    MICROPAY_CONTENTION_HOLD_MS: String(holdMs),
  });
  try {
    const base = modelled.info.apiUrl;
    const baselineBase = opts.baseline.info.apiUrl;
    opts.log(`hot account: funding ${clients} payers on each stack`);
    const [payers, baselinePayers] = await Promise.all([
      hotPayers(base, clients),
      hotPayers(baselineBase, clients),
    ]);
    // The modelled stack is new: its DynamoDB Local has not yet been through the JIT
    // warm-up the bench's own stack had. Warm it on a merchant of its own, unmeasured.
    opts.log("hot account: warm-up on the modelled stack");
    const warm = await hotMerchant(base, 1);
    await hotPayments(base, warm.id, payers, { payments: Math.ceil(payments / 2), clients });
    const runs: HotAccountRun[] = [];
    for (const shards of opts.shards) {
      opts.log(
        `hot account: ${payments} payments into one merchant, ${shards} shard(s), with and without the model in ${ROUNDS} alternating slices`,
      );
      const baselineMerchant = await hotMerchant(baselineBase, shards);
      const merchant = await hotMerchant(base, shards);
      // Slices alternate (no model, model, ...) so both see the same stretch of the run;
      // the model's counters see only the modelled stack, so they add up over its slices.
      resetContention(modelled);
      const baseline: HotRun[] = [];
      const run: HotRun[] = [];
      for (const size of slices(payments, ROUNDS)) {
        const n = { payments: size, clients };
        baseline.push(await hotPayments(baselineBase, baselineMerchant.id, baselinePayers, n));
        run.push(await hotPayments(base, merchant.id, payers, n));
      }
      const model = await contentionStats(modelled);
      const share = model.hottestItemShare;
      runs.push({
        shards,
        clients,
        attempts: model.attempts,
        conflicts: model.conflicts,
        rejected503: sum(run, (r) => r.rejected503),
        goodputPerSecond: goodput(run),
        baselinePerSecond: goodput(baseline),
        hottestItemShare: share,
        impliedCeilingPerSecond:
          share > 0 ? WCU_PER_ITEM_PER_SECOND / WCU_PER_TRANSACTIONAL_WRITE / share : 0,
      });
    }
    return { runs, holdMs };
  } finally {
    await modelled.stop();
  }
}
