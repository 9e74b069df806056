import { randomUUID } from "node:crypto";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { localClient } from "../../local/dynamodb.ts";
import { type ApiResponse, call } from "./http.ts";

/**
 * Ledger helpers for the stack-tier suites: money calls with Idempotency-Keys, and a
 * whole-table snapshot with the invariant checks of issue 4 (conservation, no
 * negative customer balance, balance == sum of entries, balanced payments, refunds
 * within payments, each idempotency key at most one effect).
 *
 * The snapshot Scans the table: test code only, never a request path.
 */

export interface MoneyCall {
  readonly base?: string;
  readonly token: string;
  readonly key?: string;
}

const opts = (c: MoneyCall, body: unknown) => ({
  body,
  token: c.token,
  headers: { "Idempotency-Key": c.key ?? randomUUID() },
  ...(c.base ? { base: c.base } : {}),
});

export const deposit = (c: MoneyCall, accountId: string, amount: number, reference = "test") =>
  call("POST", `/v1/accounts/${accountId}/deposits`, opts(c, { amount, reference }));

export const withdraw = (c: MoneyCall, accountId: string, amount: number, reference = "test") =>
  call("POST", `/v1/accounts/${accountId}/withdrawals`, opts(c, { amount, reference }));

export const pay = (
  c: MoneyCall,
  body: { sourceAccountId: string; destinationAccountId: string; amount: number; currency: string },
) => call("POST", "/v1/payments", opts(c, body));

export const refund = (
  c: MoneyCall,
  paymentId: string,
  body: { amount?: number; reason?: string },
) => call("POST", `/v1/payments/${paymentId}/refunds`, opts(c, body));

export async function balanceOf(
  c: { base?: string; token: string },
  accountId: string,
): Promise<number> {
  const res = await call<{ balance: number }>("GET", `/v1/accounts/${accountId}`, {
    token: c.token,
    ...(c.base ? { base: c.base } : {}),
  });
  if (res.status !== 200) throw new Error(`GET account ${accountId}: ${res.status} ${res.text}`);
  return res.json.balance;
}

export function expectOk(step: string, res: ApiResponse, status = 201): ApiResponse {
  if (res.status !== status) {
    throw new Error(`${step}: expected ${status}, got ${res.status} ${res.text.slice(0, 300)}`);
  }
  return res;
}

type Item = Record<string, unknown>;

/**
 * Funds `payer` (an admin deposit of `fund`) and pays `amount` USD from it to
 * `destinationAccountId`; returns the payment body. Fails loudly when either step does.
 */
export async function fundAndPay(
  admin: string,
  payer: { accessToken: string; account: { id: string } },
  destinationAccountId: string,
  amount: number,
  fund: number,
): Promise<{ id: string; status: string; amountRefunded: number; description: unknown }> {
  expectOk("fund", await deposit({ token: admin }, payer.account.id, fund));
  const res = expectOk(
    "pay",
    await pay(
      { token: payer.accessToken },
      { sourceAccountId: payer.account.id, destinationAccountId, amount, currency: "USD" },
    ),
  );
  return res.json as { id: string; status: string; amountRefunded: number; description: unknown };
}

export interface LedgerSnapshot {
  /** Account items; a sharded account's `balance` here is the sum of its shards. */
  readonly accounts: Item[];
  /** Balance shards k >= 1 (issue 18: `ACC#<id>#S<k>`), as stored. */
  readonly shards: Item[];
  readonly entries: Item[];
  readonly payments: Item[];
  readonly refunds: Item[];
  readonly idempotency: Item[];
  /** Open-hold items (HOLD# under the payer's account). */
  readonly holds: Item[];
  /** Event items about payments (payment.*): a settled hold has exactly one settling event. */
  readonly paymentEvents: Item[];
}

/** Every ledger item of a stack's table (Scan: tests only). */
export async function ledgerSnapshot(info: {
  dynamodbEndpoint: string;
  tableName: string;
}): Promise<LedgerSnapshot> {
  const raw = localClient(info.dynamodbEndpoint);
  const doc = DynamoDBDocumentClient.from(raw);
  const snap: LedgerSnapshot = {
    accounts: [],
    shards: [],
    entries: [],
    payments: [],
    refunds: [],
    idempotency: [],
    holds: [],
    paymentEvents: [],
  };
  try {
    let start: Item | undefined;
    do {
      const out = await doc.send(
        new ScanCommand({
          TableName: info.tableName,
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of out.Items ?? []) {
        if (item.type === "account") snap.accounts.push(item);
        else if (item.type === "account_shard") snap.shards.push(item);
        else if (item.type === "entry") snap.entries.push(item);
        else if (item.type === "payment") snap.payments.push(item);
        else if (item.type === "refund") snap.refunds.push(item);
        else if (item.type === "idempotency") snap.idempotency.push(item);
        else if (item.type === "hold") snap.holds.push(item);
        else if (item.type === "event" && String(item.eventType).startsWith("payment.")) {
          snap.paymentEvents.push(item);
        }
      }
      start = out.LastEvaluatedKey;
    } while (start);
  } finally {
    doc.destroy();
    raw.destroy();
  }
  // A sharded account's balance, held and available are the sums over its shards (the
  // account item is shard 0); a system account whose movements all went to other shards
  // has no account item.
  const byId = new Map(snap.accounts.map((a) => [String(a.id), a]));
  for (const sh of snap.shards) {
    const id = String(sh.accountId);
    const a = byId.get(id);
    if (a) {
      a.shard0Balance ??= a.balance;
      a.shard0Held ??= a.held ?? 0;
      a.shard0Available ??= a.available;
      a.balance = Number(a.balance) + Number(sh.balance);
      if (a.kind !== "system") {
        a.held = Number(a.held ?? 0) + Number(sh.held ?? 0);
        a.available = Number(a.available ?? 0) + Number(sh.available ?? 0);
      }
    } else {
      const made: Item = { ...sh, type: "account", id, shard0: "absent" };
      byId.set(id, made);
      snap.accounts.push(made);
    }
  }
  return snap;
}

/** Every broken ledger invariant, as readable lines (empty when the ledger is sound). */
export function ledgerViolations(s: LedgerSnapshot): string[] {
  const bad: string[] = [];
  const num = (v: unknown) => {
    if (typeof v !== "number" || !Number.isSafeInteger(v)) bad.push(`not an integer: ${v}`);
    return Number(v);
  };

  // Conservation, per currency and overall: the sum of all balances is zero.
  const byCurrency = new Map<string, number>();
  for (const a of s.accounts) {
    const cur = String(a.currency);
    byCurrency.set(cur, (byCurrency.get(cur) ?? 0) + num(a.balance));
    if (a.kind !== "system" && num(a.balance) < 0) bad.push(`negative balance: ${a.id}`);
  }
  // No shard of a customer account is ever negative (shard 0 is the account item).
  for (const a of s.accounts) {
    if (a.kind !== "system" && a.shard0Balance !== undefined && num(a.shard0Balance) < 0) {
      bad.push(`negative shard 0 of ${a.id}`);
    }
  }
  for (const sh of s.shards) {
    if (sh.kind !== "system" && num(sh.balance) < 0) {
      bad.push(`negative shard ${sh.shard} of ${sh.accountId}`);
    }
  }
  for (const [cur, sum] of byCurrency) if (sum !== 0) bad.push(`${cur} balances sum to ${sum}`);

  // Every balance equals the sum of its entries; debits equal credits.
  const fromEntries = new Map<string, number>();
  let debits = 0;
  let credits = 0;
  for (const e of s.entries) {
    const signed = e.direction === "credit" ? num(e.amount) : -num(e.amount);
    if (e.direction === "credit") credits += num(e.amount);
    else debits += num(e.amount);
    fromEntries.set(String(e.accountId), (fromEntries.get(String(e.accountId)) ?? 0) + signed);
  }
  if (debits !== credits) bad.push(`debits ${debits} != credits ${credits}`);
  const accountIds = new Set(s.accounts.map((a) => String(a.id)));
  for (const a of s.accounts) {
    const sum = fromEntries.get(String(a.id)) ?? 0;
    if (sum !== num(a.balance)) bad.push(`account ${a.id}: balance ${a.balance} != entries ${sum}`);
  }
  for (const id of fromEntries.keys()) if (!accountIds.has(id)) bad.push(`orphan entries: ${id}`);

  // Every payment has exactly its two balanced entries; refunds never exceed it.
  const paymentEntries = new Map<string, Item[]>();
  const refundEntries = new Map<string, Item[]>();
  for (const e of s.entries) {
    if (e.kind === "payment") {
      const k = String(e.paymentId);
      paymentEntries.set(k, [...(paymentEntries.get(k) ?? []), e]);
    }
    if (e.kind === "refund") {
      const k = String(e.refundId);
      refundEntries.set(k, [...(refundEntries.get(k) ?? []), e]);
    }
  }
  const refundsOf = new Map<string, number>();
  for (const r of s.refunds) {
    refundsOf.set(String(r.paymentId), (refundsOf.get(String(r.paymentId)) ?? 0) + num(r.amount));
    const es = refundEntries.get(String(r.id)) ?? [];
    const d = es.find((e) => e.direction === "debit");
    const c = es.find((e) => e.direction === "credit");
    if (es.length !== 2 || !d || !c || d.amount !== r.amount || c.amount !== r.amount) {
      bad.push(`refund ${r.id}: entries not one balanced pair`);
    }
  }
  for (const p of s.payments) {
    if (typeof p.captureBefore === "string") continue; // a hold: checked by holdViolations
    const es = paymentEntries.get(String(p.id)) ?? [];
    const d = es.find((e) => e.direction === "debit");
    const c = es.find((e) => e.direction === "credit");
    if (
      es.length !== 2 ||
      !d ||
      !c ||
      d.accountId !== p.sourceAccountId ||
      c.accountId !== p.destinationAccountId ||
      d.amount !== p.amount ||
      c.amount !== p.amount
    ) {
      bad.push(`payment ${p.id}: entries not one balanced pair`);
    }
    const refunded = refundsOf.get(String(p.id)) ?? 0;
    if (refunded !== num(p.amountRefunded)) bad.push(`payment ${p.id}: refunds != amountRefunded`);
    if (refunded > num(p.amount)) bad.push(`payment ${p.id}: refunds ${refunded} > ${p.amount}`);
    if (num(p.remaining) !== num(p.amount) - refunded) bad.push(`payment ${p.id}: remaining off`);
  }
  for (const id of paymentEntries.keys()) {
    if (!s.payments.some((p) => p.id === id)) bad.push(`entries of unknown payment ${id}`);
  }

  // Each idempotency key took effect at most once, and every effect has its key:
  // each movement's id appears in exactly one completed record's stored body.
  const claimed = new Map<string, number>();
  for (const r of s.idempotency) {
    if (r.state !== "completed" || r.status !== 201) continue;
    const body = JSON.parse(String(r.body)) as {
      id?: string;
      entries?: { id: string }[];
    };
    const ids = body.entries ? body.entries.map((e) => e.id) : [String(body.id)];
    for (const id of ids) claimed.set(id, (claimed.get(id) ?? 0) + 1);
  }
  for (const [id, n] of claimed) if (n > 1) bad.push(`${id} claimed by ${n} keys`);
  for (const p of s.payments)
    if (claimed.get(String(p.id)) !== 1) bad.push(`payment ${p.id} has no key`);
  for (const r of s.refunds)
    if (claimed.get(String(r.id)) !== 1) bad.push(`refund ${r.id} has no key`);
  for (const e of s.entries) {
    if ((e.kind === "deposit" || e.kind === "withdrawal") && claimed.get(String(e.id)) !== 1) {
      bad.push(`${e.kind} entry ${e.id} has no key`);
    }
  }
  for (const [id] of claimed) {
    const exists =
      s.payments.some((p) => p.id === id) ||
      s.refunds.some((r) => r.id === id) ||
      s.entries.some((e) => e.id === id);
    if (!exists) bad.push(`key recorded without its effect: ${id}`);
  }
  bad.push(...holdViolations(s, refundsOf));
  return bad;
}

/**
 * Holds (issue 13): every customer account's `held` is the sum of its open holds and
 * `available` is `balance - held`, never negative; a hold still open has its hold item
 * for its whole amount and no entries; a settled one has no hold item, exactly one
 * settling event, and (captured) one balanced pair of capture entries for
 * `amountCaptured`, refunds within it; canceled: no entries.
 */
function holdViolations(s: LedgerSnapshot, refundsOf: Map<string, number>): string[] {
  const bad: string[] = [];
  const heldBy = new Map<string, number>();
  const holdOf = new Map<string, Item[]>();
  for (const h of s.holds) {
    heldBy.set(String(h.accountId), (heldBy.get(String(h.accountId)) ?? 0) + Number(h.amount));
    holdOf.set(String(h.paymentId), [...(holdOf.get(String(h.paymentId)) ?? []), h]);
  }
  for (const a of s.accounts) {
    if (a.kind === "system") continue;
    const held = Number(a.held ?? 0);
    const open = heldBy.get(String(a.id)) ?? 0;
    if (held !== open) bad.push(`account ${a.id}: held ${held} != open holds ${open}`);
    if (Number(a.available) !== Number(a.balance) - held) {
      bad.push(`account ${a.id}: available ${a.available} != balance ${a.balance} - held ${held}`);
    }
    if (Number(a.available) < 0) bad.push(`account ${a.id}: available ${a.available} < 0`);
  }
  // Per shard (issue 18): each customer shard's held is the sum of the open holds whose
  // item names it (none named: shard 0), and its available is balance - held, >= 0.
  const heldOnShard = new Map<string, number>();
  for (const h of s.holds) {
    const k = `${h.accountId}#${Number(h.shard ?? 0)}`;
    heldOnShard.set(k, (heldOnShard.get(k) ?? 0) + Number(h.amount));
  }
  const shardRows: {
    id: string;
    shard: number;
    balance: number;
    held: number;
    available: number;
  }[] = [];
  for (const a of s.accounts) {
    if (a.kind === "system" || a.shard0Balance === undefined) continue;
    shardRows.push({
      id: String(a.id),
      shard: 0,
      balance: Number(a.shard0Balance),
      held: Number(a.shard0Held ?? 0),
      available: Number(a.shard0Available),
    });
  }
  for (const sh of s.shards) {
    if (sh.kind === "system") continue;
    shardRows.push({
      id: String(sh.accountId),
      shard: Number(sh.shard),
      balance: Number(sh.balance),
      held: Number(sh.held ?? 0),
      available: Number(sh.available),
    });
  }
  for (const r of shardRows) {
    const open = heldOnShard.get(`${r.id}#${r.shard}`) ?? 0;
    if (r.held !== open)
      bad.push(`shard ${r.shard} of ${r.id}: held ${r.held} != open holds ${open}`);
    if (r.available !== r.balance - r.held || r.available < 0) {
      bad.push(
        `shard ${r.shard} of ${r.id}: available ${r.available}, balance ${r.balance}, held ${r.held}`,
      );
    }
  }
  const captureEntries = new Map<string, Item[]>();
  for (const e of s.entries) {
    if (e.kind !== "capture") continue;
    const k = String(e.paymentId);
    captureEntries.set(k, [...(captureEntries.get(k) ?? []), e]);
  }
  const settling = new Map<string, number>();
  for (const ev of s.paymentEvents) {
    const type = String(ev.eventType);
    if (type !== "payment.succeeded" && type !== "payment.canceled") continue;
    const id = String((ev.event as { data?: { object?: { id?: string } } }).data?.object?.id);
    settling.set(id, (settling.get(id) ?? 0) + 1);
  }
  for (const p of s.payments) {
    if (typeof p.captureBefore !== "string") continue;
    const id = String(p.id);
    const items = holdOf.get(id) ?? [];
    const es = captureEntries.get(id) ?? [];
    const settled = settling.get(id) ?? 0;
    if (p.captureState === "requires_capture") {
      if (items.length !== 1 || Number(items[0]?.amount) !== Number(p.amountCapturable)) {
        bad.push(`hold ${id}: open, but ${items.length} hold items`);
      }
      if (Number(p.amountCapturable) !== Number(p.amount)) bad.push(`hold ${id}: capturable off`);
      if (es.length > 0 || settled > 0) bad.push(`hold ${id}: open, but settled`);
      continue;
    }
    if (items.length > 0) bad.push(`hold ${id}: ${p.captureState}, hold item left`);
    if (settled !== 1) bad.push(`hold ${id}: settled ${settled} times`);
    if (p.captureState === "captured") {
      const d = es.find((e) => e.direction === "debit");
      const c = es.find((e) => e.direction === "credit");
      const cap = Number(p.amountCaptured);
      if (es.length !== 2 || !d || !c || d.amount !== cap || c.amount !== cap) {
        bad.push(`hold ${id}: capture entries not one balanced pair of ${cap}`);
      }
      if (cap < 1 || cap > Number(p.amount)) bad.push(`hold ${id}: captured ${cap} of ${p.amount}`);
      const refunded = refundsOf.get(id) ?? 0;
      if (refunded > cap) bad.push(`hold ${id}: refunds ${refunded} > captured ${cap}`);
      if (Number(p.remaining) !== cap - refunded) bad.push(`hold ${id}: remaining off`);
    } else if (es.length > 0 || Number(p.amountCaptured) !== 0) {
      bad.push(`hold ${id}: canceled, but captured`);
    }
  }
  return bad;
}

/** Sum of all balances (including system accounts) and money totals, for messages. */
export function ledgerTotals(s: LedgerSnapshot) {
  return {
    accounts: s.accounts.length,
    entries: s.entries.length,
    payments: s.payments.length,
    refunds: s.refunds.length,
    keys: s.idempotency.length,
    sum: s.accounts.reduce((n, a) => n + Number(a.balance), 0),
  };
}
