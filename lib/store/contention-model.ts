import { TransactionCanceledException } from "@aws-sdk/client-dynamodb";

/**
 * THE CONTENTION MODEL: a test-and-bench layer, never part of a deployed function.
 *
 * DynamoDB cancels a TransactWriteItems with reason `TransactionConflict` when another
 * transaction in flight holds one of its items, and throttles an item past 1,000 write
 * units per second (a transactional write costs two units per item of up to 1 KB).
 * DynamoDB Local does neither: it runs transactions one at a time, so 32 clients
 * updating one item there never see a conflict. This model, a middleware on the SDK
 * client in front of DynamoDB Local, does what DynamoDB does:
 *
 * - every TransactWriteItems holds the keys of its items from the moment it is sent
 *   until its answer arrives, but at most `holdMs`; one that needs a key another
 *   holds is cancelled at once (TransactionCanceledException, reason
 *   TransactionConflict on that item, None on the others) and never reaches DynamoDB
 *   Local, so it writes nothing. The cap is what makes it a model of AWS and not of
 *   DynamoDB Local: Local runs transactions one at a time, so its round trip at 32
 *   clients is mostly a queue (hundreds of ms) that AWS, which runs transactions on
 *   different items in parallel, does not have; there a small TransactWriteItems
 *   takes about 10 ms (the default; MICROPAY_CONTENTION_HOLD_MS in the local stack);
 * - every written item (Put, Update, Delete) is charged `wcuPerItem` units in its
 *   one-second window; a transaction that would take an item past
 *   `wcuPerItemPerSecond` is cancelled with reason ThrottlingError on that item.
 *
 * It counts what it does (attempts, conflicts, throttles, writes per item), so the
 * fault tests and the bench can report the share of transactions that write the
 * hottest item. The local stack installs it only with MICROPAY_CONTENTION_MODEL=1
 * (local/stack.ts; not in artifacts mode, where each function has its own process).
 */

export interface ContentionModelOptions {
  /** Write units one item takes per second before it is throttled (DynamoDB: 1,000). */
  readonly wcuPerItemPerSecond?: number;
  /** Write units one transactional write of one item costs (DynamoDB: 2 for <= 1 KB). */
  readonly wcuPerItem?: number;
  /** The longest an admitted transaction holds its items (an AWS transaction's duration). */
  readonly holdMs?: number;
  /** Milliseconds clock (tests). */
  readonly now?: () => number;
}

export interface ContentionStats {
  /** TransactWriteItems seen. */
  readonly attempts: number;
  /** Cancelled because another in-flight transaction held one of their items. */
  readonly conflicts: number;
  /** Cancelled because an item was past its write units for the second. */
  readonly throttled: number;
  /** Sent on to DynamoDB (neither conflicted nor throttled). */
  readonly admitted: number;
  /** The item written by the most admitted transactions, and how many. */
  readonly hottestItem: { readonly key: string; readonly writes: number } | null;
  /** hottestItem.writes / admitted (0 when nothing was admitted). */
  readonly hottestItemShare: number;
  /** Mean milliseconds from sending an admitted transaction to its answer (DynamoDB Local). */
  readonly meanHoldMs: number;
}

type Reason = { Code: string; Message?: string };
type TransactItemLike = Record<string, unknown>;

const OPS = ["Put", "Update", "Delete", "ConditionCheck"] as const;

/** A key attribute as a string, whether the input is marshalled ({S: "..."}) or not. */
function keyPart(v: unknown): string {
  if (typeof v === "string" || typeof v === "number") return String(v);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (typeof o.S === "string") return o.S;
    if (typeof o.N === "string") return o.N;
  }
  return JSON.stringify(v);
}

/** The item key (table, pk, sk) of one TransactWriteItems entry and whether it writes. */
export function itemTarget(item: TransactItemLike): { key: string; writes: boolean } | undefined {
  for (const op of OPS) {
    const body = item[op] as Record<string, unknown> | undefined;
    if (!body) continue;
    const key = (op === "Put" ? body.Item : body.Key) as Record<string, unknown> | undefined;
    if (!key) return undefined;
    return {
      key: `${String(body.TableName)}|${keyPart(key.pk)}|${keyPart(key.sk)}`,
      writes: op !== "ConditionCheck",
    };
  }
  return undefined;
}

export class ContentionModel {
  private readonly limit: number;
  private readonly cost: number;
  private readonly now: () => number;
  private readonly holdMs: number;
  /** Key -> until when (ms) and by which admission it is held. */
  private readonly held = new Map<string, { until: number; by: number }>();
  private admissions = 0;
  private readonly windows = new Map<string, { second: number; units: number }>();
  private writes = new Map<string, number>();
  private counts = { attempts: 0, conflicts: 0, throttled: 0, admitted: 0 };
  private heldMs = { total: 0, n: 0 };

  constructor(opts: ContentionModelOptions = {}) {
    this.limit = opts.wcuPerItemPerSecond ?? 1000;
    this.cost = opts.wcuPerItem ?? 2;
    this.now = opts.now ?? Date.now;
    this.holdMs = opts.holdMs ?? 10;
  }

  private isHeld(key: string, now: number): boolean {
    const h = this.held.get(key);
    if (h && h.until > now) return true;
    if (h) this.held.delete(key);
    return false;
  }

  /**
   * Admits a transaction (its items now held: call `release` when its answer is in), or
   * gives the cancellation reasons it meets, one per item, in order.
   */
  admit(
    items: readonly TransactItemLike[],
  ): { ok: true; release: () => void } | { ok: false; reasons: Reason[] } {
    this.counts.attempts++;
    const targets = items.map(itemTarget);
    const at = this.now();
    const conflict = targets.map((t) => t !== undefined && this.isHeld(t.key, at));
    if (conflict.some(Boolean)) {
      this.counts.conflicts++;
      return {
        ok: false,
        reasons: conflict.map((c) =>
          c
            ? { Code: "TransactionConflict", Message: "Transaction is ongoing for the item" }
            : { Code: "None" },
        ),
      };
    }
    const second = Math.floor(at / 1000);
    const over = targets.map((t) => {
      if (!t?.writes) return false;
      const w = this.windows.get(t.key);
      const used = w && w.second === second ? w.units : 0;
      return used + this.cost > this.limit;
    });
    if (over.some(Boolean)) {
      this.counts.throttled++;
      return {
        ok: false,
        reasons: over.map((o) =>
          o
            ? {
                Code: "ThrottlingError",
                Message: "Throughput exceeds the current capacity for one or more items",
              }
            : { Code: "None" },
        ),
      };
    }
    this.counts.admitted++;
    const by = ++this.admissions;
    const keys: string[] = [];
    for (const t of targets) {
      if (!t) continue;
      keys.push(t.key);
      this.held.set(t.key, { until: at + this.holdMs, by });
      if (!t.writes) continue;
      const w = this.windows.get(t.key);
      if (w && w.second === second) w.units += this.cost;
      else this.windows.set(t.key, { second, units: this.cost });
      this.writes.set(t.key, (this.writes.get(t.key) ?? 0) + 1);
    }
    if (this.windows.size > 50_000) {
      for (const [k, w] of this.windows) if (w.second !== second) this.windows.delete(k);
    }
    let released = false;
    const since = at;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.heldMs.total += this.now() - since;
        this.heldMs.n++;
        for (const k of keys) if (this.held.get(k)?.by === by) this.held.delete(k);
      },
    };
  }

  stats(): ContentionStats {
    let hottestItem: ContentionStats["hottestItem"] = null;
    for (const [key, writes] of this.writes) {
      if (!hottestItem || writes > hottestItem.writes) hottestItem = { key, writes };
    }
    const { admitted } = this.counts;
    return {
      ...this.counts,
      hottestItem,
      hottestItemShare: hottestItem && admitted > 0 ? hottestItem.writes / admitted : 0,
      meanHoldMs: this.heldMs.n > 0 ? this.heldMs.total / this.heldMs.n : 0,
    };
  }

  /** Forgets the counts (not the items in flight): a new measurement starts. */
  reset(): void {
    this.counts = { attempts: 0, conflicts: 0, throttled: 0, admitted: 0 };
    this.heldMs = { total: 0, n: 0 };
    this.writes = new Map();
  }
}

/** The cancellation DynamoDB answers, with one reason per item. */
export function cancellation(reasons: Reason[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons
      .map((r) => r.Code)
      .join(", ")}]`,
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: reasons,
  });
}

interface StackLike {
  add(
    mw: (
      next: (args: { input: unknown }) => Promise<unknown>,
    ) => (args: { input: unknown }) => Promise<unknown>,
    opts: { step: "initialize"; name: string; priority: "high" },
  ): void;
}

/**
 * Puts the model in front of every TransactWriteItems a client sends (the document
 * client shares its raw client's middleware stack). Returns the model.
 */
export function installContentionModel(
  client: { middlewareStack: unknown },
  model: ContentionModel = new ContentionModel(),
): ContentionModel {
  (client.middlewareStack as StackLike).add(
    (next) => async (args) => {
      const items = (args.input as { TransactItems?: unknown } | undefined)?.TransactItems;
      if (!Array.isArray(items) || items.some((i) => (i as TransactItemLike).Get)) {
        return next(args);
      }
      const admitted = model.admit(items as TransactItemLike[]);
      if (!admitted.ok) throw cancellation(admitted.reasons);
      try {
        return await next(args);
      } finally {
        admitted.release();
      }
    },
    { step: "initialize", name: "micropayContentionModel", priority: "high" },
  );
  return model;
}
