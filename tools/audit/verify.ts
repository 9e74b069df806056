import type { AuditLogEvent } from "../../lib/audit/log-format.ts";
import { digestOf } from "../../lib/audit/record.ts";
import {
  type AuditRecord,
  auditRecordSchema,
  isMovementAction,
  MOVEMENT_ACTIONS,
  type MovementAction,
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
 *   debits subtract: lib/ledger/model.ts), and all balances net to zero per currency;
 * - holds (API.md "Holds"): every customer account's `held` is the sum of its open
 *   holds and `available` is `balance - held`, never negative; every hold's authorized
 *   amount (its `payment.authorized` record) is what was captured (its capture
 *   entries) plus what was released (a `payment.canceled` / `payment.expired` record,
 *   or the rest at a capture) plus what is still open, and no hold was settled twice.
 *
 * How a record finds its movement: by its transfer id alone. Every entry carries
 * `transferId` and every movement record names it in `targets.transferId`, so two
 * movements alike in kind, amount, accounts and time (twenty identical withdrawals in
 * one millisecond) are still told apart. An entry without a transfer id (written
 * before transfers existed) and a movement record without one are reported, never
 * matched by guessing.
 */

export interface LedgerAccount {
  readonly id: string;
  readonly balance: number;
  readonly currency: string;
  readonly kind?: string;
  /** Customer accounts since holds: the sum of open holds, and balance - held. */
  readonly held?: number | undefined;
  readonly available?: number | undefined;
}

/** A payment that is (or was) a hold: it has a captureBefore. */
export interface LedgerHoldPayment {
  readonly id: string;
  readonly sourceAccountId: string;
  readonly amount: number;
  readonly amountCaptured: number;
  readonly amountCapturable: number;
  readonly captureState: string;
}

/** An open hold's item (HOLD# under its payer's account). */
export interface LedgerOpenHold {
  readonly paymentId: string;
  readonly accountId: string;
  readonly amount: number;
}

export interface LedgerEntry {
  readonly id: string;
  readonly accountId: string;
  readonly transferId?: string | undefined;
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
  /** Hold payments and open-hold items (absent: no hold checks). */
  readonly holds?: {
    readonly payments: readonly LedgerHoldPayment[];
    readonly open: readonly LedgerOpenHold[];
  };
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
  /** e.g. `payment trf_... (pay_...)`, `withdrawal trf_...`. */
  readonly label: string;
  readonly kind: string;
  /** The transfer id; undefined for an entry that carries none (reported, never matched). */
  readonly id: string | undefined;
  readonly entries: LedgerEntry[];
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Movements in the ledger: entries grouped by transfer id (an entry without one stands alone). */
export function movementsOf(entries: readonly LedgerEntry[]): Movement[] {
  const byKey = new Map<string, Movement>();
  for (const e of entries) {
    const key = e.transferId ? `trf:${e.transferId}` : `entry:${e.id}`;
    let m = byKey.get(key);
    if (!m) {
      const about = [e.paymentId, e.refundId].filter(Boolean).join(", ");
      const label = e.transferId
        ? `${e.kind} ${e.transferId}${about ? ` (${about})` : ""}`
        : `${e.kind} entry ${e.id}`;
      m = { label, kind: e.kind, id: e.transferId, entries: [] };
      byKey.set(key, m);
    }
    m.entries.push(e);
  }
  return [...byKey.values()];
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
  const kinds = new Set(m.entries.map((e) => e.kind));
  if (kinds.size !== 1) return `entries of several kinds (${ids})`;
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
  const byTransfer = new Map<string, AuditRecord[]>();
  for (const r of successMoves) {
    const id = r.targets.transferId;
    if (!id) {
      problems.push(`audit record ${r.eventId}: ${r.action} names no transferId`);
      continue;
    }
    byTransfer.set(id, [...(byTransfer.get(id) ?? []), r]);
  }

  const claimed = new Set<string>();
  for (const m of movements) {
    if (!m.id) {
      problems.push(`${m.label}: carries no transferId, so no audit record can name it`);
      continue;
    }
    const want = expectedMoney(m);
    if (typeof want === "string") problems.push(`${m.label}: ${want}`);
    claimed.add(m.id);
    const rs = byTransfer.get(m.id) ?? [];
    if (rs.length === 0) {
      problems.push(`${m.label}: no audit record (expected one ${m.kind}.created)`);
    } else if (rs.length > 1) {
      problems.push(
        `${m.label}: ${rs.length} audit records (${rs.map((r) => r.eventId).join(", ")}), expected one`,
      );
    }
    const first = rs[0];
    if (!first) continue;
    if (MOVEMENT_ACTIONS[first.action as MovementAction] !== m.kind) {
      problems.push(`${m.label}: audit record ${first.eventId} says ${first.action}`);
    }
    if (typeof want !== "string") {
      const diff = moneyMismatch(first, want);
      if (diff) problems.push(`${m.label}: audit record ${first.eventId} ${diff}`);
    }
  }
  for (const [id, rs] of byTransfer) {
    if (claimed.has(id)) continue;
    for (const r of rs) {
      problems.push(
        `audit record ${r.eventId}: ${r.action} for transfer ${id}, which has no ledger entries`,
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

  if (input.holds) checkHolds(input, input.holds, records, problems);

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

const SETTLE_ACTIONS = ["payment.captured", "payment.canceled", "payment.expired"] as const;

/** Hold reconciliation (see the header): accounts against open holds, holds against records. */
function checkHolds(
  input: VerifyInput,
  holds: NonNullable<VerifyInput["holds"]>,
  records: readonly AuditRecord[],
  problems: string[],
): void {
  const openByAccount = new Map<string, number>();
  const openByPayment = new Map<string, number>();
  for (const h of holds.open) {
    openByAccount.set(h.accountId, (openByAccount.get(h.accountId) ?? 0) + h.amount);
    openByPayment.set(h.paymentId, (openByPayment.get(h.paymentId) ?? 0) + h.amount);
  }
  for (const a of input.accounts) {
    if (a.kind === "system") continue;
    const held = a.held ?? 0;
    const open = openByAccount.get(a.id) ?? 0;
    if (held !== open) problems.push(`account ${a.id}: held ${held} != sum of open holds ${open}`);
    if (a.available !== undefined) {
      if (a.available !== a.balance - held) {
        problems.push(
          `account ${a.id}: available ${a.available} != balance ${a.balance} - held ${held}`,
        );
      }
      if (a.available < 0) problems.push(`account ${a.id}: available ${a.available} < 0`);
    }
  }
  const captured = new Map<string, number>();
  for (const e of input.entries) {
    if (e.kind === "capture" && e.direction === "debit" && e.paymentId) {
      captured.set(e.paymentId, (captured.get(e.paymentId) ?? 0) + e.amount);
    }
  }
  const recordsOf = new Map<string, AuditRecord[]>();
  for (const r of records) {
    const id = r.targets.paymentId;
    if (r.outcome !== "success" || !id) continue;
    if (
      r.action !== "payment.authorized" &&
      !(SETTLE_ACTIONS as readonly string[]).includes(r.action)
    ) {
      continue;
    }
    recordsOf.set(id, [...(recordsOf.get(id) ?? []), r]);
  }
  for (const p of holds.payments) {
    const label = `hold ${p.id}`;
    const rs = recordsOf.get(p.id) ?? [];
    const authorized = rs.filter((r) => r.action === "payment.authorized");
    const settled = rs.filter((r) => r.action !== "payment.authorized");
    if (authorized.length !== 1) {
      problems.push(`${label}: ${authorized.length} payment.authorized records, expected one`);
    }
    if (settled.length > 1) {
      problems.push(
        `${label}: settled ${settled.length} times (${settled.map((r) => r.action).join(", ")})`,
      );
    }
    const amount = authorized[0]?.money?.amount ?? p.amount;
    if (amount !== p.amount) problems.push(`${label}: authorized ${amount} != payment ${p.amount}`);
    const cap = captured.get(p.id) ?? 0;
    const open = openByPayment.get(p.id) ?? 0;
    const released = settled
      .filter((r) => r.action !== "payment.captured")
      .reduce((s, r) => s + (r.money?.amount ?? 0), 0);
    const state = p.captureState;
    const releasedAtCapture = state === "captured" ? amount - cap : 0;
    if (cap !== p.amountCaptured) {
      problems.push(`${label}: capture entries ${cap} != amountCaptured ${p.amountCaptured}`);
    }
    if (state === "requires_capture" && (open !== p.amountCapturable || settled.length > 0)) {
      problems.push(
        `${label}: open for ${p.amountCapturable}, but open hold ${open}, ${settled.length} settlements`,
      );
    }
    if (state !== "requires_capture" && open !== 0) {
      problems.push(`${label}: ${state}, but its hold item (${open}) is still open`);
    }
    if (state !== "requires_capture" && settled.length === 0 && authorized.length > 0) {
      problems.push(`${label}: ${state}, but no settlement record`);
    }
    if (cap + released + releasedAtCapture + open !== amount) {
      problems.push(
        `${label}: captured ${cap} + released ${released + releasedAtCapture} + open ${open} != authorized ${amount}`,
      );
    }
  }
}
