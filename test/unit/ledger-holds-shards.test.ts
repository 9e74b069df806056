import { beforeEach, describe, expect, it } from "vitest";
import { capturePayment } from "../../lib/ledger/holds.ts";
import type { HoldPlacement, HoldSettlement } from "../../lib/ledger/port.ts";
import {
  createAccount,
  createDeposit,
  createPayment,
  ledgerDeps,
} from "../../lib/ledger/service.ts";
import { debitPlan } from "../../lib/ledger/shards.ts";
import { accountShardKey } from "../../lib/store/keys.ts";
import { holdPlacementItems, holdSettlementItems } from "../../lib/store/ledger-writes.ts";
import type { Labelled } from "../../lib/store/transact.ts";
import { ctxOf } from "../support/ledger-unit.ts";
import { MemoryLedgerStore } from "../support/memory-ledger-store.ts";

/**
 * Holds on a sharded account (issues 13 and 18): the hold takes from ONE shard whose
 * `available` covers it, its hold item names that shard, and the capture settles that
 * same shard. The domain runs against the in-memory store (which records the hold and
 * its settlement); the DynamoDB items the store would send are then applied to four
 * shard items by a small evaluator of their SET clauses, and their conditions checked.
 */

type Row = Record<string, number | string>;

/** Applies `SET x = y [+|- z], ...` (with if_not_exists) of an Update to a row. */
function applySet(row: Row, expr: string, names: Record<string, string>, values: Row): void {
  const term = (t: string): number | string => {
    const s = t.trim();
    const ine = /^if_not_exists\((#\w+),\s*(:\w+)\)$/.exec(s);
    if (ine) {
      const v = row[names[ine[1] as string] as string];
      return v ?? (values[ine[2] as string] as number);
    }
    if (s.startsWith(":")) return values[s] as number | string;
    return row[names[s] as string] as number;
  };
  const body = expr.replace(/^SET\s+/, "");
  for (const clause of body.split(/,\s*(?=#)/)) {
    const [lhs, rhs] = clause.split(/\s=\s/) as [string, string];
    const parts = rhs.split(/\s([+-])\s/);
    let v = term(parts[0] as string);
    for (let i = 1; i < parts.length; i += 2) {
      const n = Number(term(parts[i + 1] as string));
      v = parts[i] === "+" ? Number(v) + n : Number(v) - n;
    }
    row[names[lhs.trim()] as string] = v;
  }
}

const keyOf = (k: unknown) => {
  const { pk, sk } = k as { pk: string; sk: string };
  return `${pk}|${sk}`;
};

/** Applies every Update of a transaction to the rows it names (other items ignored). */
function apply(rows: Map<string, Row>, items: Labelled[]): string[] {
  const touched: string[] = [];
  for (const { item } of items) {
    const u = item.Update;
    if (!u) continue;
    const key = keyOf(u.Key);
    const row = rows.get(key);
    if (!row) continue;
    applySet(
      row,
      String(u.UpdateExpression),
      u.ExpressionAttributeNames ?? {},
      (u.ExpressionAttributeValues ?? {}) as Row,
    );
    touched.push(key);
  }
  return touched;
}

class RecordingStore extends MemoryLedgerStore {
  placed: HoldPlacement[] = [];
  settled: HoldSettlement[] = [];
  override placeHold(h: HoldPlacement) {
    this.placed.push(h);
    return super.placeHold(h);
  }
  override settleHold(s: HoldSettlement) {
    this.settled.push(s);
    return super.settleHold(s);
  }
}

let store: RecordingStore;

beforeEach(() => {
  store = new RecordingStore();
});

describe("a hold on a 4-shard account", () => {
  it("takes from one covering shard, and its capture settles that shard", async () => {
    const deps = ledgerDeps(store);
    const admin = ctxOf("usr_admin", ["admin"]);
    const payerCtx = ctxOf("usr_payer", ["customer"]);
    const shopCtx = ctxOf("usr_shop", ["customer", "merchant"]);
    const payer = await createAccount(payerCtx, { currency: "USD" }, deps);
    const shop = await createAccount(shopCtx, { currency: "USD" }, deps);
    await createDeposit(admin, { accountId: payer.id, amount: 450, reference: "seed" }, deps);
    const p = await createPayment(
      payerCtx,
      {
        sourceAccountId: payer.id,
        destinationAccountId: shop.id,
        amount: 200,
        currency: "USD",
        capture: false,
      },
      deps,
    );
    await capturePayment(shopCtx, { paymentId: p.id, amount: 150 }, deps);
    const [placement] = store.placed;
    const [settlement] = store.settled;
    if (!placement || !settlement) throw new Error("no hold recorded");

    // The payer's 450 sits on four shards; only shard 1 can cover 200 alone.
    const rows = new Map<string, Row>();
    const shardRow = (balance: number, held = 0): Row => ({
      kind: "customer",
      status: "active",
      currency: "USD",
      balance,
      held,
      available: balance - held,
    });
    const payerShards = [100, 300, 50, 0];
    payerShards.forEach((b, k) => {
      rows.set(keyOf(accountShardKey(payer.id, k)), shardRow(b));
    });
    for (let k = 0; k < 4; k++) rows.set(keyOf(accountShardKey(shop.id, k)), shardRow(0));

    const plan = debitPlan(
      payerShards.map((amount, shard) => ({ shard, amount })),
      200,
    );
    expect(plan).toEqual({ kind: "one", shard: 1 });
    const shard = plan.kind === "one" ? plan.shard : -1;

    const placeItems = holdPlacementItems(placement, shard);
    const source = placeItems.find((i) => i.label === "source")?.item.Update;
    expect(source?.Key).toEqual(accountShardKey(payer.id, 1));
    expect(source?.ConditionExpression).toContain("#available >= :amt");
    const holdPut = placeItems.find((i) => i.label === "hold")?.item.Put;
    expect(holdPut?.Item).toMatchObject({ paymentId: p.id, accountId: payer.id, shard: 1 });
    expect(apply(rows, placeItems)).toEqual([keyOf(accountShardKey(payer.id, 1))]);

    const payerRow = (k: number) => rows.get(keyOf(accountShardKey(payer.id, k)));
    expect(payerRow(1)).toMatchObject({ balance: 300, held: 200, available: 100 });
    for (const k of [0, 2, 3]) {
      expect(payerRow(k)).toMatchObject({ balance: payerShards[k], held: 0 });
    }

    // The capture of 150 settles shard 1 (named by the hold item) and credits shop shard 2.
    const settleItems = holdSettlementItems(settlement, { debit: 1, credit: 2 });
    const del = settleItems.find((i) => i.label === "hold")?.item.Delete;
    expect(del?.Key).toEqual(holdPut && { pk: holdPut.Item?.pk, sk: holdPut.Item?.sk });
    expect(del?.ExpressionAttributeValues).toEqual({ ":shard": 1 });
    expect(apply(rows, settleItems).sort()).toEqual(
      [keyOf(accountShardKey(payer.id, 1)), keyOf(accountShardKey(shop.id, 2))].sort(),
    );
    expect(payerRow(1)).toMatchObject({ balance: 150, held: 0, available: 150 });
    for (const k of [0, 2, 3]) {
      expect(payerRow(k)).toMatchObject({ balance: payerShards[k], held: 0 });
    }
    expect(rows.get(keyOf(accountShardKey(shop.id, 2)))).toMatchObject({
      balance: 150,
      available: 150,
    });
    const sum = (id: string, field: string) =>
      [0, 1, 2, 3].reduce(
        (s, k) => s + Number(rows.get(keyOf(accountShardKey(id, k)))?.[field]),
        0,
      );
    expect([sum(payer.id, "balance"), sum(payer.id, "held"), sum(payer.id, "available")]).toEqual([
      300, 0, 300,
    ]);
  });
});
