import { describe, expect, it } from "vitest";
import { creditShard, debitPlan, shardSum } from "../../lib/ledger/shards.ts";

/** Issue 18: which balance shard a movement touches (lib/ledger/shards.ts). */
describe("balance shards", () => {
  it("spreads credits uniformly over the shards", () => {
    expect(creditShard(1, () => 0.99)).toBe(0);
    expect(creditShard(16, () => 0)).toBe(0);
    expect(creditShard(16, () => 0.999999)).toBe(15);
    const seen = new Set<number>();
    for (let i = 0; i < 16; i++) seen.add(creditShard(16, () => i / 16));
    expect(seen.size).toBe(16);
  });

  it("debits one shard that covers the amount alone, at random among those", () => {
    const shards = [
      { shard: 0, amount: 50 },
      { shard: 1, amount: 500 },
      { shard: 2, amount: 10 },
      { shard: 3, amount: 900 },
    ];
    expect(debitPlan(shards, 400, () => 0)).toEqual({ kind: "one", shard: 1 });
    expect(debitPlan(shards, 400, () => 0.9)).toEqual({ kind: "one", shard: 3 });
    expect(debitPlan(shards, 900, () => 0.5)).toEqual({ kind: "one", shard: 3 });
  });

  it("consolidates the largest shards into one when none covers alone, never more than needed", () => {
    const shards = [
      { shard: 0, amount: 100 },
      { shard: 1, amount: 300 },
      { shard: 2, amount: 0 },
      { shard: 3, amount: 200 },
      { shard: 4, amount: 50 },
    ];
    expect(debitPlan(shards, 450)).toEqual({
      kind: "consolidate",
      into: 1,
      moves: [{ shard: 3, amount: 200 }],
    });
    expect(debitPlan(shards, 650)).toEqual({
      kind: "consolidate",
      into: 1,
      moves: [
        { shard: 3, amount: 200 },
        { shard: 0, amount: 100 },
        { shard: 4, amount: 50 },
      ],
    });
  });

  it("is short when the shards together do not cover it (the debit is refused)", () => {
    expect(
      debitPlan(
        [
          { shard: 0, amount: 10 },
          { shard: 1, amount: 5 },
        ],
        16,
      ),
    ).toEqual({
      kind: "short",
    });
    expect(debitPlan([], 1)).toEqual({ kind: "short" });
    expect(shardSum([{ balance: 3 }, { balance: -1 }, { balance: 5 }])).toBe(7);
  });
});
