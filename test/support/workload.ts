import { adminToken, registerUser, tokenWithRoles } from "./auth.ts";
import { type ApiResponse, call } from "./http.ts";

/**
 * The seeded random money workload (issue 4's invariant suite; reusable by the audit
 * suites). It registers users with accounts on a running stack, funds them, then
 * runs `operations` requests from `clients` concurrent clients: payments (some across
 * currencies, some overdrafts), refunds (partial, full, excessive), deposits,
 * withdrawals (some overdrafts), retries with the same key and body, the same key
 * with a different body, and reads.
 *
 * The plan (which operation, which accounts, which amounts) is a pure function of the
 * seed; the interleaving is whatever the machine does. The report lists every request,
 * and `problems` names every answer that broke the contract as seen from the client
 * (a 5xx, a replay that was not byte-identical, a reused key that was not a 422, a
 * status outside the route's contract).
 *
 *   const report = await runWorkload({ base: stack.apiUrl, seed: 42 });
 *   report.problems   // [] when the API behaved
 *   report.requests   // every money request: key, status, body text
 */

export interface WorkloadOptions {
  readonly base: string;
  /** Default: MICROPAY_WORKLOAD_SEED or a random seed (always in the report). */
  readonly seed?: number;
  readonly operations?: number;
  readonly clients?: number;
  readonly accounts?: number;
  /** Balance shards an admin gives every merchant's account before the run (issue 18; default 1). */
  readonly merchantShards?: number;
  /** Where to print the seed and a summary (default console.log). */
  readonly log?: (line: string) => void;
  /**
   * Add holds (issue 13) to the mix: holds (capture: false), captures (whole and
   * partial), cancels; with a short MICROPAY_HOLD_TTL_SECONDS on the stack, some expire.
   */
  readonly holds?: boolean;
}

export type OpType =
  | "payment"
  | "overdraft"
  | "deposit"
  | "withdrawal"
  | "refund"
  | "retry"
  | "reuse"
  | "read"
  | "hold"
  | "capture"
  | "cancel";

export interface WorkloadAccount {
  readonly id: string;
  readonly ownerId: string;
  readonly currency: string;
  readonly token: string;
  readonly merchant: boolean;
}

export interface MoneyRequest {
  readonly n: number;
  readonly type: OpType;
  readonly method: "POST";
  readonly path: string;
  readonly key: string;
  readonly token: string;
  /** undefined: sent without a body (a cancel). */
  readonly body: Record<string, unknown> | undefined;
  readonly status: number;
  readonly text: string;
  readonly code: string | undefined;
  readonly replayed: boolean;
}

export interface WorkloadReport {
  readonly seed: number;
  readonly accounts: readonly WorkloadAccount[];
  /** Every money-moving request in completion order (setup funding included). */
  readonly requests: readonly MoneyRequest[];
  /** Operations run per type, and answers per status. */
  readonly counts: Readonly<Record<string, number>>;
  readonly problems: readonly string[];
  readonly ms: number;
}

/** mulberry32: a small, fast, seedable PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WEIGHTS: ReadonlyArray<[OpType, number]> = [
  ["payment", 32],
  ["overdraft", 5],
  ["deposit", 8],
  ["withdrawal", 9],
  ["refund", 13],
  ["retry", 12],
  ["reuse", 5],
  ["read", 16],
];

/** The mix with holds: a third of the payments become holds, settled later or never. */
const HOLD_WEIGHTS: ReadonlyArray<[OpType, number]> = [
  ["payment", 20],
  ["hold", 14],
  ["capture", 12],
  ["cancel", 5],
  ...WEIGHTS.filter(([t]) => t !== "payment"),
];

interface PlannedOp {
  readonly n: number;
  readonly type: OpType;
  readonly r: readonly [number, number, number, number];
}

export function planWorkload(seed: number, operations: number, holds = false): PlannedOp[] {
  const rand = prng(seed);
  const weights = holds ? HOLD_WEIGHTS : WEIGHTS;
  const total = weights.reduce((s, [, w]) => s + w, 0);
  const plan: PlannedOp[] = [];
  for (let n = 0; n < operations; n++) {
    let x = rand() * total;
    let type: OpType = "read";
    for (const [t, w] of weights) {
      if (x < w) {
        type = t;
        break;
      }
      x -= w;
    }
    plan.push({ n, type, r: [rand(), rand(), rand(), rand()] });
  }
  return plan;
}

async function pool<T>(items: readonly T[], width: number, fn: (t: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

const pick = <T>(list: readonly T[], r: number): T => list[Math.floor(r * list.length)] as T;
const STORED = new Set([201, 402, 409, 422]);

export async function runWorkload(opts: WorkloadOptions): Promise<WorkloadReport> {
  const started = Date.now();
  const seed =
    opts.seed ??
    (process.env.MICROPAY_WORKLOAD_SEED
      ? Number(process.env.MICROPAY_WORKLOAD_SEED)
      : Math.floor(Math.random() * 2 ** 31));
  const log = opts.log ?? ((l: string) => console.log(l));
  log(`workload seed=${seed} (rerun with MICROPAY_WORKLOAD_SEED=${seed})`);
  const operations = opts.operations ?? 2000;
  const clients = opts.clients ?? 32;
  const accountCount = opts.accounts ?? 50;
  const base = opts.base;
  const rand = prng(seed ^ 0x9e3779b9);

  const problems: string[] = [];
  const counts: Record<string, number> = {};
  const bump = (k: string) => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  const requests: MoneyRequest[] = [];
  const admin = await adminToken(base);

  // Setup: 80% of the accounts are users' registration accounts (USD, a fifth of the
  // users merchants); the rest are second accounts in EUR.
  const userCount = Math.max(2, Math.ceil(accountCount * 0.8));
  const users: { id: string; token: string; merchant: boolean; usd: string }[] = [];
  await pool(
    Array.from({ length: userCount }, (_, i) => i),
    6,
    async (i) => {
      const merchant = i % 5 === 0;
      const u = merchant
        ? await tokenWithRoles(["customer", "merchant"], { base })
        : await registerUser({ base });
      users[i] = { id: u.user.id, token: u.accessToken, merchant, usd: u.account.id };
    },
  );
  const accounts: WorkloadAccount[] = users.map((u) => ({
    id: u.usd,
    ownerId: u.id,
    currency: "USD",
    token: u.token,
    merchant: u.merchant,
  }));
  await pool(users.slice(0, accountCount - userCount), 6, async (u) => {
    const res = await call<{ id: string }>("POST", "/v1/accounts", {
      base,
      token: u.token,
      body: { currency: "EUR" },
    });
    if (res.status !== 201) throw new Error(`create EUR account: ${res.status} ${res.text}`);
    accounts.push({
      id: res.json.id,
      ownerId: u.id,
      currency: "EUR",
      token: u.token,
      merchant: u.merchant,
    });
  });
  const byId = new Map(accounts.map((a) => [a.id, a]));
  if ((opts.merchantShards ?? 1) > 1) {
    for (const a of accounts.filter((x) => x.merchant)) {
      const res = await call("PATCH", `/v1/admin/accounts/${a.id}`, {
        base,
        token: admin,
        body: { balanceShards: opts.merchantShards },
      });
      if (res.status !== 200) throw new Error(`balanceShards ${a.id}: ${res.status} ${res.text}`);
    }
  }

  let keySeq = 0;
  const send = async (
    n: number,
    type: OpType,
    path: string,
    token: string,
    body: Record<string, unknown> | undefined,
    key = `wl-${seed}-${n}-${keySeq++}`,
  ): Promise<MoneyRequest> => {
    const res: ApiResponse<{ code?: string }> = await call("POST", path, {
      base,
      token,
      ...(body ? { body } : {}),
      headers: { "Idempotency-Key": key },
    });
    const req: MoneyRequest = {
      n,
      type,
      method: "POST",
      path,
      key,
      token,
      body,
      status: res.status,
      text: res.text,
      code: res.status >= 400 ? res.json?.code : undefined,
      replayed: res.headers.get("idempotent-replayed") === "true",
    };
    requests.push(req);
    bump(`status ${res.status}`);
    if (res.status >= 500) problems.push(`#${n} ${type} ${path}: ${res.status} ${res.text}`);
    return req;
  };

  // Funding: every account starts with 50..500 major units.
  await pool(accounts, 8, async (a) => {
    const amount = 5_000 + Math.floor(rand() * 45_000);
    const r = await send(-1, "deposit", `/v1/accounts/${a.id}/deposits`, admin, {
      amount,
      reference: "seed funding",
    });
    if (r.status !== 201) problems.push(`funding ${a.id}: ${r.status}`);
  });

  const payments: { id: string; amount: number; destination: string }[] = [];
  const holds: { id: string; amount: number; source: string; destination: string }[] = [];
  const completed: MoneyRequest[] = [];
  const expect = (r: MoneyRequest, allowed: number[]) => {
    if (r.status < 500 && !allowed.includes(r.status)) {
      problems.push(`#${r.n} ${r.type}: unexpected ${r.status} ${r.text.slice(0, 200)}`);
    }
    // (A cancel has no body to change, so it is not among the requests a reuse picks.)
    if (STORED.has(r.status) && r.code !== "idempotency_in_progress" && r.body) completed.push(r);
  };

  const run = async (op: PlannedOp) => {
    const [r0, r1, r2, r3] = op.r;
    bump(op.type);
    switch (op.type) {
      case "payment":
      case "overdraft": {
        const src = pick(accounts, r0);
        const sameCurrency = accounts.filter((a) => a.id !== src.id && a.currency === src.currency);
        const others = accounts.filter((a) => a.id !== src.id);
        const dst =
          r1 < 0.92 && sameCurrency.length > 0 ? pick(sameCurrency, r2) : pick(others, r2);
        const amount =
          op.type === "overdraft" ? 10_000_000 + Math.floor(r3 * 1000) : 1 + Math.floor(r3 * 3000);
        const r = await send(op.n, op.type, "/v1/payments", src.token, {
          sourceAccountId: src.id,
          destinationAccountId: dst.id,
          amount,
          currency: src.currency,
        });
        expect(r, [201, 402, 422]);
        if (op.type === "overdraft" && r.status === 201) problems.push(`#${op.n}: overdraft paid`);
        if (dst.currency !== src.currency && r.status !== 422) {
          problems.push(`#${op.n}: cross-currency payment answered ${r.status}`);
        }
        if (r.status === 201) {
          const p = JSON.parse(r.text) as { id: string };
          payments.push({ id: p.id, amount, destination: dst.id });
        }
        return;
      }
      case "hold": {
        const src = pick(accounts, r0);
        const same = accounts.filter((a) => a.id !== src.id && a.currency === src.currency);
        const dst = pick(same.length > 0 ? same : accounts.filter((a) => a.id !== src.id), r2);
        const amount = r1 < 0.08 ? 10_000_000 : 1 + Math.floor(r3 * 4000);
        const r = await send(op.n, op.type, "/v1/payments", src.token, {
          sourceAccountId: src.id,
          destinationAccountId: dst.id,
          amount,
          currency: src.currency,
          capture: false,
        });
        expect(r, [201, 402, 422]);
        if (r.status === 201) {
          const p = JSON.parse(r.text) as { id: string; status: string };
          if (p.status !== "requires_capture") problems.push(`#${op.n}: hold is ${p.status}`);
          holds.push({ id: p.id, amount, source: src.id, destination: dst.id });
        }
        return;
      }
      case "capture": {
        if (holds.length === 0) return;
        const h = pick(holds, r0);
        const dst = byId.get(h.destination);
        const token = dst?.merchant && r1 < 0.6 ? dst.token : admin;
        const body = r2 < 0.5 ? {} : { amount: 1 + Math.floor(r3 * (h.amount - 1)) };
        const r = await send(op.n, op.type, `/v1/payments/${h.id}/capture`, token, body);
        expect(r, [200, 409]);
        if (r.status === 409 && r.code !== "payment_not_capturable") {
          problems.push(`#${op.n}: capture 409 ${r.code}`);
        }
        if (r.status === 200) {
          const p = JSON.parse(r.text) as { amountCaptured: number };
          payments.push({ id: h.id, amount: p.amountCaptured, destination: h.destination });
        }
        return;
      }
      case "cancel": {
        if (holds.length === 0) return;
        const h = pick(holds, r0);
        const who = byId.get(r1 < 0.5 ? h.source : h.destination);
        const token = who ? who.token : admin;
        const r = await send(op.n, op.type, `/v1/payments/${h.id}/cancel`, token, undefined);
        expect(r, [200, 409]);
        if (r.status === 409 && r.code !== "payment_not_capturable") {
          problems.push(`#${op.n}: cancel 409 ${r.code}`);
        }
        return;
      }
      case "deposit": {
        const a = pick(accounts, r0);
        const r = await send(op.n, op.type, `/v1/accounts/${a.id}/deposits`, admin, {
          amount: 1 + Math.floor(r1 * 5_000),
          reference: `dep ${op.n}`,
        });
        expect(r, [201]);
        return;
      }
      case "withdrawal": {
        const a = pick(accounts, r0);
        const amount = r2 < 0.15 ? 5_000_000 : 1 + Math.floor(r1 * 4_000);
        const r = await send(op.n, op.type, `/v1/accounts/${a.id}/withdrawals`, a.token, {
          amount,
          reference: `wd ${op.n}`,
        });
        expect(r, [201, 402]);
        return;
      }
      case "refund": {
        if (payments.length === 0) return;
        const p = pick(payments, r0);
        const dst = byId.get(p.destination);
        const token = dst?.merchant && r1 < 0.6 ? dst.token : admin;
        const body: Record<string, unknown> =
          r2 < 0.2 ? {} : { amount: 1 + Math.floor(r3 * p.amount * 0.7), reason: `rf ${op.n}` };
        const r = await send(op.n, op.type, `/v1/payments/${p.id}/refunds`, token, body);
        expect(r, [201, 402, 409]);
        if (r.status === 409 && r.code !== "refund_exceeds_payment") {
          problems.push(`#${op.n}: refund 409 ${r.code}`);
        }
        return;
      }
      case "retry":
      case "reuse": {
        if (completed.length === 0) return;
        const orig = pick(completed, r0);
        const body =
          op.type === "retry"
            ? orig.body
            : {
                ...orig.body,
                ...(orig.path.endsWith("/refunds")
                  ? { reason: `changed ${op.n}` }
                  : { amount: Number(orig.body?.amount ?? 1) + 1 }),
              };
        const r = await send(op.n, op.type, orig.path, orig.token, body, orig.key);
        if (op.type === "retry") {
          if (r.status !== orig.status || r.text !== orig.text || !r.replayed) {
            problems.push(
              `#${op.n}: replay of ${orig.key} differs: ${orig.status}->${r.status} replayed=${r.replayed}`,
            );
          }
        } else if (r.status !== 422 || r.code !== "idempotency_key_reused") {
          problems.push(`#${op.n}: reuse of ${orig.key} answered ${r.status} ${r.code}`);
        }
        return;
      }
      case "read": {
        const a = pick(accounts, r0);
        const path =
          r1 < 0.4
            ? `/v1/accounts/${a.id}`
            : r1 < 0.7
              ? `/v1/accounts/${a.id}/entries?limit=10`
              : `/v1/payments?accountId=${a.id}&limit=10`;
        const res = await call("GET", path, { base, token: a.token });
        bump(`status ${res.status}`);
        if (res.status !== 200) problems.push(`#${op.n} read ${path}: ${res.status}`);
        return;
      }
    }
  };

  await pool(planWorkload(seed, operations, opts.holds === true), clients, run);
  const ms = Date.now() - started;
  log(
    `workload seed=${seed}: ${operations} operations, ${clients} clients, ${accounts.length} accounts in ${ms} ms; ${JSON.stringify(counts)}`,
  );
  return { seed, accounts, requests, counts, problems, ms };
}
