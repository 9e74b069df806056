import type { AuditLogEvent } from "../../lib/audit/log-format.ts";
import { digestOf } from "../../lib/audit/record.ts";
import {
  type AuditRecord,
  auditRecordSchema,
  isMovementAction,
  MOVEMENT_ACTIONS,
} from "../../lib/audit/schema.ts";

/**
 * Reconciliation of the ledger with the audit trail: the pure core of
 * `npm run audit -- verify` (scripts/audit.ts reads the inputs).
 *
 * It reports, naming each mismatch:
 * - audit log: every log event holds a schema-valid record (layout v1 or v2) whose
 *   digest matches its content and whose timestamp is its `at`; no event id is
 *   recorded twice (records with redacted text are counted, never a mismatch);
 * - movements: every movement found in the ledger entries (payment, refund, deposit,
 *   withdrawal) has debits equal to credits in one currency and exactly one success
 *   audit record (`payment.created`, ...) whose amount, currency and debit/credit
 *   accounts match its entries; no success movement record names a movement the
 *   ledger does not have;
 * - balances: every account's balance is the sum of its entries (credits add,
 *   debits subtract: lib/ledger/model.ts), and all balances net to zero per currency.
 *
 * How a record finds its movement: payments and refunds by id (`targets.paymentId`,
 * `targets.refundId`; entries carry `paymentId` / `refundId`). Deposits and
 * withdrawals have no id on their entries: a record matches the entry pair one of
 * whose entry ids it names in `targets`, or else the pair with the same kind, amount,
 * currency and debit/credit accounts (counted, so one missing or extra record shows).
 */

export interface LedgerAccount {
  readonly id: string;
  readonly balance: number;
  readonly currency: string;
  readonly kind?: string;
}

export interface LedgerEntry {
  readonly id: string;
  readonly accountId: string;
  readonly paymentId?: string | undefined;
  readonly refundId?: string | undefined;
  readonly kind: string;
  readonly direction: "debit" | "credit";
  readonly amount: number;
  readonly currency: string;
  readonly counterpartyAccountId?: string | undefined;
  readonly reference?: string | undefined;
  readonly createdAt: string;
}

export interface VerifyInput {
  readonly logEvents: readonly AuditLogEvent[];
  readonly accounts: readonly LedgerAccount[];
  readonly entries: readonly LedgerEntry[];
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly problems: string[];
  readonly stats: {
    readonly records: number;
    /** Records with redacted text (`redacted` member): written, never a mismatch. */
    readonly redacted: number;
    readonly movements: number;
    readonly accounts: number;
    readonly entries: number;
  };
}

interface Movement {
  /** e.g. `payment pay_...`, `deposit ent_a+ent_b`. */
  readonly label: string;
  readonly kind: string;
  readonly id: string | undefined;
  readonly entries: LedgerEntry[];
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Movements in the ledger: entries grouped by refund, payment, or deposit/withdrawal pair. */
export function movementsOf(entries: readonly LedgerEntry[]): Movement[] {
  const byKey = new Map<string, Movement>();
  const add = (key: string, make: () => Omit<Movement, "entries">, e: LedgerEntry) => {
    let m = byKey.get(key);
    if (!m) {
      m = { ...make(), entries: [] };
      byKey.set(key, m);
    }
    m.entries.push(e);
  };
  for (const e of entries) {
    if (e.refundId) {
      const id = e.refundId;
      add(`refund:${id}`, () => ({ label: `refund ${id}`, kind: "refund", id }), e);
    } else if (e.paymentId) {
      const id = e.paymentId;
      add(`payment:${id}`, () => ({ label: `payment ${id}`, kind: "payment", id }), e);
    } else {
      // A deposit or withdrawal pair: both entries name each other's account and share
      // kind, amount, currency, time and reference.
      const ends = [e.accountId, e.counterpartyAccountId ?? "?"].sort().join("|");
      const key = [e.kind, e.amount, e.currency, e.createdAt, e.reference ?? "", ends].join(":");
      add(key, () => ({ label: e.kind, kind: e.kind, id: undefined }), e);
    }
  }
  return [...byKey.values()].map((m) =>
    m.id
      ? m
      : {
          ...m,
          label: `${m.kind} ${m.entries
            .map((x) => x.id)
            .sort()
            .join("+")}`,
        },
  );
}

interface MoneyShape {
  amount: number;
  currency: string;
  debitAccountId: string;
  creditAccountId: string;
}

/** What a movement's audit record must say about money, or why it cannot be said. */
function expectedMoney(m: Movement): MoneyShape | string {
  const debits = m.entries.filter((e) => e.direction === "debit");
  const credits = m.entries.filter((e) => e.direction === "credit");
  const ids = m.entries.map((e) => e.id).join(", ");
  const currencies = new Set(m.entries.map((e) => e.currency));
  if (currencies.size !== 1) return `entries in several currencies (${ids})`;
  const d = sum(debits.map((e) => e.amount));
  const c = sum(credits.map((e) => e.amount));
  if (d !== c) return `debits ${d} != credits ${c} (entries ${ids})`;
  if (debits.length !== 1 || credits.length !== 1) {
    return `expected one debit and one credit entry, found ${debits.length} and ${credits.length} (entries ${ids})`;
  }
  const [debit, credit] = [debits[0], credits[0]] as [LedgerEntry, LedgerEntry];
  if (debit.amount <= 0) return `non-positive amount (entries ${ids})`;
  return {
    amount: debit.amount,
    currency: debit.currency,
    debitAccountId: debit.accountId,
    creditAccountId: credit.accountId,
  };
}

function moneyMismatch(r: AuditRecord, want: MoneyShape): string | undefined {
  const got = r.money;
  if (!got) return "has no money section";
  const diffs: string[] = [];
  if (got.amount !== want.amount) diffs.push(`amount ${got.amount} != ledger ${want.amount}`);
  if (got.currency !== want.currency) {
    diffs.push(`currency ${got.currency} != ledger ${want.currency}`);
  }
  if (got.debitAccountId !== want.debitAccountId) {
    diffs.push(`debit account ${got.debitAccountId ?? "(none)"} != ledger ${want.debitAccountId}`);
  }
  if (got.creditAccountId !== want.creditAccountId) {
    diffs.push(
      `credit account ${got.creditAccountId ?? "(none)"} != ledger ${want.creditAccountId}`,
    );
  }
  return diffs.length > 0 ? diffs.join(", ") : undefined;
}

/** Parses and checks the log events; returns the valid records (first copy of each id). */
export function checkAuditLog(
  logEvents: readonly AuditLogEvent[],
  problems: string[],
): AuditRecord[] {
  const records: AuditRecord[] = [];
  const counts = new Map<string, number>();
  logEvents.forEach((ev, i) => {
    const where = `log event #${i + 1}${ev.logStreamName ? ` (${ev.logStreamName})` : ""}`;
    let raw: unknown;
    try {
      raw = JSON.parse(ev.message);
    } catch {
      problems.push(`${where}: message is not JSON`);
      return;
    }
    const rawId = (raw as { eventId?: unknown } | null)?.eventId;
    const label = typeof rawId === "string" ? `audit record ${rawId.slice(0, 40)}` : where;
    const parsed = auditRecordSchema.safeParse(raw);
    if (!parsed.success) {
      const paths = parsed.error.issues.map((x) => x.path.join(".") || "(root)").join(", ");
      problems.push(`${label}: fails the audit record schema at ${paths}`);
      return;
    }
    const r = parsed.data;
    if (digestOf(r) !== r.digest) {
      problems.push(`${label}: digest does not match its content (record altered)`);
      return;
    }
    if (ev.timestamp !== Date.parse(r.at)) {
      problems.push(`${label}: log event timestamp ${ev.timestamp} is not its time ${r.at}`);
    }
    const n = (counts.get(r.eventId) ?? 0) + 1;
    counts.set(r.eventId, n);
    if (n === 1) records.push(r);
  });
  for (const [id, n] of counts) {
    if (n > 1) problems.push(`audit record ${id}: recorded ${n} times (expected once)`);
  }
  return records;
}

export function verifyAudit(input: VerifyInput): VerifyReport {
  const problems: string[] = [];
  const records = checkAuditLog(input.logEvents, problems);

  // --- Movements and their records.
  const movements = movementsOf(input.entries);
  const successMoves = records.filter((r) => r.outcome === "success" && isMovementAction(r.action));
  const byId = new Map<string, AuditRecord[]>();
  const unkeyed: AuditRecord[] = [];
  for (const r of successMoves) {
    const key = MOVEMENT_ACTIONS[r.action as keyof typeof MOVEMENT_ACTIONS];
    const id = r.targets[key];
    const kind = r.action.split(".")[0] ?? "";
    if ((kind === "payment" || kind === "refund") && !id) {
      problems.push(`audit record ${r.eventId}: ${r.action} names no ${key}`);
      continue;
    }
    if (id && (kind === "payment" || kind === "refund")) {
      const k = `${kind}:${id}`;
      byId.set(k, [...(byId.get(k) ?? []), r]);
    } else {
      unkeyed.push(r);
    }
  }

  const claimed = new Set<string>();
  const pairMovements: { m: Movement; want: MoneyShape }[] = [];
  for (const m of movements) {
    const want = expectedMoney(m);
    if (typeof want === "string") problems.push(`${m.label}: ${want}`);
    if (m.id) {
      const k = `${m.kind}:${m.id}`;
      claimed.add(k);
      const rs = byId.get(k) ?? [];
      if (rs.length === 0) {
        problems.push(`${m.label}: no audit record (expected one ${m.kind}.created)`);
      } else if (rs.length > 1) {
        problems.push(
          `${m.label}: ${rs.length} audit records (${rs.map((r) => r.eventId).join(", ")}), expected one`,
        );
      }
      const first = rs[0];
      if (first && typeof want !== "string") {
        const diff = moneyMismatch(first, want);
        if (diff) problems.push(`${m.label}: audit record ${first.eventId} ${diff}`);
      }
    } else if (typeof want !== "string") {
      pairMovements.push({ m, want });
    }
  }
  for (const [k, rs] of byId) {
    if (claimed.has(k)) continue;
    for (const r of rs) {
      problems.push(
        `audit record ${r.eventId}: ${r.action} for ${k.replace(":", " ")}, which has no ledger entries`,
      );
    }
  }

  // Deposits and withdrawals: by named entry id first, then by identical money shape.
  const remaining: AuditRecord[] = [];
  const openPairs = [...pairMovements];
  for (const r of unkeyed) {
    const named = new Set(Object.values(r.targets));
    const at = openPairs.findIndex((p) => p.m.entries.some((e) => named.has(e.id)));
    if (at === -1) {
      remaining.push(r);
      continue;
    }
    const [p] = openPairs.splice(at, 1) as [{ m: Movement; want: MoneyShape }];
    const diff = moneyMismatch(r, p.want);
    if (diff) problems.push(`${p.m.label}: audit record ${r.eventId} ${diff}`);
    if (r.action !== `${p.m.kind}.created`) {
      problems.push(`${p.m.label}: audit record ${r.eventId} says ${r.action}`);
    }
  }
  const shape = (kind: string, w: Partial<MoneyShape>) =>
    [kind, w.amount, w.currency, w.debitAccountId, w.creditAccountId].join("|");
  const pool = new Map<string, AuditRecord[]>();
  for (const r of remaining) {
    const k = shape(r.action.split(".")[0] ?? "", r.money ?? {});
    pool.set(k, [...(pool.get(k) ?? []), r]);
  }
  for (const p of openPairs) {
    const k = shape(p.m.kind, p.want);
    const rs = pool.get(k) ?? [];
    if (rs.length === 0) problems.push(`${p.m.label}: no matching audit record`);
    else rs.shift();
  }
  for (const rs of pool.values()) {
    for (const r of rs) {
      problems.push(
        `audit record ${r.eventId}: ${r.action} of ${r.money?.amount ?? "?"} ${r.money?.currency ?? ""} matches no ledger movement`,
      );
    }
  }

  // --- Balances.
  const accounts = new Map(input.accounts.map((a) => [a.id, a]));
  const net = new Map<string, number>();
  for (const e of input.entries) {
    if (!accounts.has(e.accountId)) {
      problems.push(`entry ${e.id}: account ${e.accountId} does not exist`);
      continue;
    }
    net.set(
      e.accountId,
      (net.get(e.accountId) ?? 0) + (e.direction === "credit" ? e.amount : -e.amount),
    );
    const a = accounts.get(e.accountId);
    if (a && a.currency !== e.currency) {
      problems.push(`entry ${e.id}: currency ${e.currency} on a ${a.currency} account ${a.id}`);
    }
  }
  const totals = new Map<string, number>();
  for (const a of input.accounts) {
    const fromEntries = net.get(a.id) ?? 0;
    if (a.balance !== fromEntries) {
      problems.push(`account ${a.id}: balance ${a.balance} != sum of its entries ${fromEntries}`);
    }
    totals.set(a.currency, (totals.get(a.currency) ?? 0) + a.balance);
  }
  for (const [currency, total] of totals) {
    if (total !== 0) problems.push(`system does not net to zero in ${currency}: ${total}`);
  }

  return {
    ok: problems.length === 0,
    problems,
    stats: {
      records: records.length,
      redacted: records.filter((r) => r.redacted !== undefined).length,
      movements: movements.length,
      accounts: input.accounts.length,
      entries: input.entries.length,
    },
  };
}
