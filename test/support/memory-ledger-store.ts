import type { AuditEvent } from "../../lib/audit/events.ts";
import type { EventRecord } from "../../lib/events/model.ts";
import { type IdempotencyClaim, markRecorded, type StoredAnswer } from "../../lib/idempotency.ts";
import type { AccountStatus, AccountView } from "../../lib/ledger/accounts.ts";
import {
  type EntryView,
  emptySystemAccount,
  type PaymentView,
  paymentStatus,
  type RefundView,
  type Transfer,
} from "../../lib/ledger/model.ts";
import type {
  AccountState,
  BalanceChange,
  HoldPlacement,
  HoldSettlement,
  LedgerStore,
  OpenHold,
  Page,
  PageRequest,
  Posting,
  PostingLabel,
  PostOutcome,
} from "../../lib/ledger/port.ts";
import { accountIdOf } from "../../lib/ledger/posting.ts";
import type { MemoryApprovalStore } from "./memory-approval-store.ts";

/**
 * An in-memory LedgerStore that enforces the same conditions as the DynamoDB one
 * (lib/store/ledger-writes.ts): a posting is judged as a whole, every failed condition
 * is reported by label with the account as it stood, and nothing is applied unless all
 * pass. For millisecond unit tests of lib/ledger (test/unit/ledger-service.test.ts).
 */
export class MemoryLedgerStore implements LedgerStore {
  readonly accounts = new Map<string, AccountView>();
  readonly entries: EntryView[] = [];
  readonly payments = new Map<string, PaymentView>();
  readonly refunds: RefundView[] = [];
  readonly transfers = new Map<string, Transfer>();
  /** Open holds by payment id (the DynamoDB store's HOLD# items). */
  readonly holds = new Map<string, OpenHold>();
  readonly audit: AuditEvent[] = [];
  readonly events: EventRecord[] = [];
  readonly answers = new Map<string, StoredAnswer>();
  private readonly ownerCurrency = new Set<string>();
  /** Postings sent (one per movement attempt). */
  posts = 0;
  /** Judges and applies the approval a posting carries out (dual control). */
  approvals?: MemoryApprovalStore;

  async getAccount(id: string) {
    return this.accounts.get(id);
  }
  async getPayment(id: string) {
    return this.payments.get(id);
  }
  async getTransfer(id: string) {
    return this.transfers.get(id);
  }
  async listAccountsOfOwner(ownerId: string, page: PageRequest) {
    return pageOf(
      [...this.accounts.values()].filter((a) => a.ownerId === ownerId),
      page,
    );
  }
  async listEntries(accountId: string, page: PageRequest) {
    return pageOf(
      this.entries.filter((e) => e.accountId === accountId),
      page,
    );
  }
  async listPaymentsOfAccount(accountId: string, page: PageRequest) {
    return pageOf(
      [...this.payments.values()].filter(
        (p) => p.sourceAccountId === accountId || p.destinationAccountId === accountId,
      ),
      page,
    );
  }
  async listRefunds(paymentId: string, page: PageRequest) {
    return pageOf(
      this.refunds.filter((r) => r.paymentId === paymentId),
      page,
    );
  }

  async createAccount(account: AccountView, audit: AuditEvent) {
    const unique = `${account.ownerId}#${account.currency}`;
    if (this.ownerCurrency.has(unique) || this.accounts.has(account.id)) return false;
    this.ownerCurrency.add(unique);
    this.accounts.set(account.id, account);
    this.audit.push(audit);
    return true;
  }

  async setAccountStatus(
    id: string,
    status: AccountStatus,
    now: string,
    audit: AuditEvent,
    event: EventRecord,
  ) {
    const a = this.accounts.get(id);
    if (a?.kind !== "customer") return false;
    this.accounts.set(id, { ...a, status, updatedAt: now });
    this.audit.push(audit);
    this.events.push(event);
    return true;
  }

  /** Shards are a DynamoDB matter: in memory the count is recorded, the balance stays one. */
  async setBalanceShards(
    account: AccountView,
    from: number,
    to: number,
    now: string,
    audit: AuditEvent,
    event: EventRecord,
  ) {
    const a = this.accounts.get(account.id);
    if (a?.kind !== "customer" || (a.balanceShards ?? 1) !== from || a.status !== account.status) {
      return false;
    }
    this.accounts.set(a.id, { ...a, balanceShards: to, updatedAt: now });
    this.audit.push(audit);
    this.events.push(event);
    return true;
  }

  async post(p: Posting): Promise<PostOutcome> {
    this.posts++;
    const { amount, currency } = p.transfer;
    const failed = new Map<PostingLabel, AccountState | undefined>();
    const record = p.record;
    if (record?.type === "refund") {
      const pay = this.payments.get(record.refund.paymentId);
      if (!pay || pay.amountCaptured - pay.amountRefunded < amount) failed.set("payment", pay);
    }
    for (const change of [p.debit, p.credit]) {
      const id = accountIdOf(change.account, currency);
      const a = this.accounts.get(id);
      if (!holds(change, a, amount, currency)) failed.set(change.label, a && { ...a });
    }
    if (p.approval && !this.approvals?.holds(p.approval)) failed.set("approval", undefined);
    const answered = this.answered(p);
    if (failed.size > 0 || answered) return { ok: false, failed, answered };
    if (p.approval) this.approvals?.apply(p.approval);

    for (const change of [p.debit, p.credit]) {
      const id = accountIdOf(change.account, currency);
      const a =
        this.accounts.get(id) ??
        (change.account.type === "system"
          ? emptySystemAccount(change.account.purpose, currency, p.now)
          : undefined);
      if (!a) throw new Error("unreachable: checked above");
      const delta = change.direction === "debit" ? -amount : amount;
      this.accounts.set(id, {
        ...a,
        balance: a.balance + delta,
        available: a.available + delta,
        updatedAt: p.now,
      });
    }
    this.entries.push(...p.entries);
    this.transfers.set(p.transfer.id, p.transfer);
    if (record?.type === "payment") this.payments.set(record.payment.id, record.payment);
    if (record?.type === "refund") {
      const pay = this.payments.get(record.refund.paymentId);
      if (!pay) throw new Error("unreachable: checked above");
      const amountRefunded = pay.amountRefunded + amount;
      this.payments.set(pay.id, {
        ...pay,
        amountRefunded,
        status: paymentStatus(pay.amountCaptured, amountRefunded),
      });
      this.refunds.push(record.refund);
    }
    this.record(p);
    return { ok: true };
  }

  /** The idempotency record, audit event and event of a committed movement. */
  private record(p: Pick<Posting, "idempotency" | "audit" | "event">): void {
    if (p.idempotency) {
      this.answers.set(keyOf(p.idempotency.claim), {
        fingerprint: p.idempotency.claim.fingerprint,
        status: p.idempotency.claim.status,
        body: p.idempotency.body,
        contentType: "application/json",
      });
      markRecorded(p.idempotency.claim);
    }
    this.audit.push(p.audit);
    this.events.push(p.event);
  }

  private answered(p: Pick<Posting, "idempotency">): StoredAnswer | undefined {
    return p.idempotency ? this.answers.get(keyOf(p.idempotency.claim)) : undefined;
  }

  async placeHold(h: HoldPlacement): Promise<PostOutcome> {
    this.posts++;
    const { amount, currency } = h.payment;
    const failed = new Map<PostingLabel, AccountState | undefined>();
    for (const change of [h.debit, h.credit]) {
      const a = this.accounts.get(accountIdOf(change.account, currency));
      if (!holds(change, a, amount, currency)) failed.set(change.label, a && { ...a });
    }
    const answered = this.answered(h);
    if (failed.size > 0 || answered) return { ok: false, failed, answered };
    const src = this.accounts.get(h.payment.sourceAccountId) as AccountView;
    this.accounts.set(src.id, {
      ...src,
      held: src.held + amount,
      available: src.available - amount,
      updatedAt: h.now,
    });
    this.payments.set(h.payment.id, h.payment);
    this.holds.set(h.payment.id, {
      paymentId: h.payment.id,
      accountId: src.id,
      amount,
      currency,
      captureBefore: String(h.payment.captureBefore),
    });
    this.record(h);
    return { ok: true };
  }

  async settleHold(s: HoldSettlement): Promise<PostOutcome> {
    this.posts++;
    const failed = new Map<PostingLabel, AccountState | undefined>();
    const pay = this.payments.get(s.before.id);
    const open =
      pay?.status === "requires_capture" &&
      pay.captureBefore !== undefined &&
      (s.kind === "expire" ? pay.captureBefore <= s.now : pay.captureBefore > s.now);
    if (!open) failed.set("payment", pay);
    const captured = s.capture?.transfer.amount ?? 0;
    const src = this.accounts.get(s.before.sourceAccountId);
    const dst = this.accounts.get(s.before.destinationAccountId);
    if (!src || src.held < s.before.amountCapturable || (captured > 0 && src.status !== "active")) {
      failed.set("source", src && { ...src });
    }
    if (captured > 0 && (dst?.kind !== "customer" || dst.status !== "active")) {
      failed.set("destination", dst && { ...dst });
    }
    if (!this.holds.has(s.before.id)) failed.set("hold", undefined);
    const answered = this.answered(s);
    if (failed.size > 0 || answered || !src) return { ok: false, failed, answered };
    const hold = s.before.amountCapturable;
    this.accounts.set(src.id, {
      ...src,
      balance: src.balance - captured,
      held: src.held - hold,
      available: src.available + hold - captured,
      updatedAt: s.now,
    });
    if (s.capture && dst) {
      this.accounts.set(dst.id, {
        ...dst,
        balance: dst.balance + captured,
        available: dst.available + captured,
        updatedAt: s.now,
      });
      this.entries.push(...s.capture.entries);
      this.transfers.set(s.capture.transfer.id, s.capture.transfer);
    }
    this.payments.set(s.after.id, s.after);
    this.holds.delete(s.before.id);
    this.record(s);
    return { ok: true };
  }

  async expiredHoldsOf(accountId: string, now: string, limit: number): Promise<OpenHold[]> {
    return this.dueOf((h) => h.accountId === accountId && h.captureBefore <= now, limit);
  }

  async dueHolds(now: string, limit: number): Promise<OpenHold[]> {
    return this.dueOf((h) => h.captureBefore <= now, limit);
  }

  private dueOf(test: (h: OpenHold) => boolean, limit: number): OpenHold[] {
    return [...this.holds.values()]
      .filter(test)
      .sort((a, b) => (a.captureBefore < b.captureBefore ? -1 : 1))
      .slice(0, limit);
  }

  /** Sum of every balance (system accounts included): zero when double entry holds. */
  total(): number {
    return [...this.accounts.values()].reduce((s, a) => s + a.balance, 0);
  }
}

const keyOf = (c: IdempotencyClaim) => `${c.scope}#${c.key}`;

/** The same conditions as lib/store/ledger-writes.ts balanceUpdate. */
function holds(
  change: BalanceChange,
  a: AccountView | undefined,
  amount: number,
  currency: string,
): boolean {
  if (change.account.type === "system") {
    return !a || (a.kind === "system" && a.currency === currency);
  }
  if (a?.kind !== "customer" || a.status !== "active" || a.currency !== currency) {
    return false;
  }
  if (change.direction === "debit" && a.available < amount) return false;
  return change.account.ownerId === undefined || a.ownerId === change.account.ownerId;
}

/** Newest first (ids are ULIDs); the cursor is the last id of the page. */
function pageOf<T extends { id: string }>(items: T[], page: PageRequest): Page<T> {
  const sorted = [...items].sort((x, y) => (x.id < y.id ? 1 : -1));
  const start = page.cursor ? sorted.findIndex((x) => x.id < (page.cursor as string)) : 0;
  const rest = start < 0 ? [] : sorted.slice(start);
  const data = rest.slice(0, page.limit);
  const hasMore = rest.length > page.limit;
  return { data, hasMore, nextCursor: hasMore ? (data[data.length - 1]?.id ?? null) : null };
}
