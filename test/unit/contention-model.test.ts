import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import {
  ContentionModel,
  installContentionModel,
  itemTarget,
} from "../../lib/store/contention-model.ts";
import { isRetryable } from "../../lib/store/retry.ts";

/** The contention model (DynamoDB's conflicts and per-item throttling, which Local lacks). */
const put = (pk: string, sk = "X") => ({ Put: { TableName: "t", Item: { pk, sk, n: 1 } } });
const update = (pk: string, sk = "X") => ({ Update: { TableName: "t", Key: { pk, sk } } });
const check = (pk: string, sk = "X") => ({ ConditionCheck: { TableName: "t", Key: { pk, sk } } });

describe("the contention model", () => {
  it("names an item by table and key, marshalled or not, and knows which ops write", () => {
    expect(itemTarget(put("A"))).toEqual({ key: "t|A|X", writes: true });
    expect(
      itemTarget({ Update: { TableName: "t", Key: { pk: { S: "A" }, sk: { S: "X" } } } }),
    ).toEqual({ key: "t|A|X", writes: true });
    expect(itemTarget(check("A"))).toEqual({ key: "t|A|X", writes: false });
  });

  it("cancels a transaction whose item another in-flight transaction holds, until it is released", () => {
    const m = new ContentionModel({ now: () => 0 });
    const first = m.admit([update("ACC#1"), put("ENT#1")]);
    expect(first.ok).toBe(true);
    const second = m.admit([put("ENT#2"), update("ACC#1")]);
    expect(second).toEqual({
      ok: false,
      reasons: [
        { Code: "None" },
        { Code: "TransactionConflict", Message: "Transaction is ongoing for the item" },
      ],
    });
    // A condition check conflicts too; a disjoint transaction does not.
    expect(m.admit([check("ACC#1")]).ok).toBe(false);
    const other = m.admit([update("ACC#2")]);
    expect(other.ok).toBe(true);
    if (first.ok) first.release();
    expect(m.admit([update("ACC#1")]).ok).toBe(true);
    const s = m.stats();
    expect(s).toMatchObject({ attempts: 5, conflicts: 2, throttled: 0, admitted: 3 });
    expect(s.hottestItem).toEqual({ key: "t|ACC#1|X", writes: 2 });
    expect(s.hottestItemShare).toBeCloseTo(2 / 3);
  });

  it("holds an item at most holdMs (an AWS transaction's duration), not DynamoDB Local's queue", () => {
    let now = 0;
    const m = new ContentionModel({ holdMs: 10, now: () => now });
    const slow = m.admit([update("ACC#1")]);
    now = 9;
    expect(m.admit([update("ACC#1")]).ok).toBe(false);
    now = 10;
    const next = m.admit([update("ACC#1")]);
    expect(next.ok).toBe(true);
    // The first one's late answer does not release what the next one holds.
    if (slow.ok) slow.release();
    expect(m.admit([update("ACC#1")]).ok).toBe(false);
  });

  it("throttles an item past 1,000 write units in a second (2 per transactional write)", () => {
    let now = 5_000;
    const m = new ContentionModel({ now: () => now });
    for (let i = 0; i < 500; i++) {
      const a = m.admit([update("HOT"), put(`E#${i}`)]);
      expect(a.ok).toBe(true);
      if (a.ok) a.release();
    }
    const over = m.admit([put("E#x"), update("HOT")]);
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.reasons.map((r) => r.Code)).toEqual(["None", "ThrottlingError"]);
    // Another item is not throttled; the next second the hot one takes writes again.
    expect(m.admit([update("COLD")]).ok).toBe(true);
    now += 1_000;
    expect(m.admit([update("HOT")]).ok).toBe(true);
    expect(m.stats().throttled).toBe(1);
    m.reset();
    expect(m.stats()).toMatchObject({ attempts: 0, conflicts: 0, admitted: 0, hottestItem: null });
  });

  it("as SDK middleware: cancels with a TransactionCanceledException the store retries, holding items while in flight", async () => {
    type Mw = (
      next: (a: { input: unknown }) => Promise<unknown>,
    ) => (a: { input: unknown }) => Promise<unknown>;
    let mw: Mw | undefined;
    const model = installContentionModel(
      {
        middlewareStack: {
          add: (fn: Mw) => {
            mw = fn;
          },
        },
      },
      new ContentionModel({ holdMs: 60_000 }),
    );
    if (!mw) throw new Error("not installed");
    let finish: () => void = () => undefined;
    const slow = mw(
      () =>
        new Promise((r) => {
          finish = () => r("done");
        }),
    );
    const fast = mw(async () => "done");
    const input = { TransactItems: [update("ACC#M")] };
    const first = slow({ input });
    const error = await fast({ input }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect(isRetryable(error)).toBe(true);
    finish();
    await expect(first).resolves.toBe("done");
    await expect(fast({ input })).resolves.toBe("done");
    // Other commands pass untouched.
    await expect(fast({ input: { TableName: "t", Key: {} } })).resolves.toBe("done");
    expect(model.stats()).toMatchObject({ attempts: 3, conflicts: 1, admitted: 2 });
  });
});
