import type { AuditEvent } from "../audit/events.ts";
import type { ApprovalDecision } from "../auth/approvals.ts";
import type { CallContext } from "../context.ts";
import type { EventRecord } from "../events/model.ts";
import type { IdempotencyClaim, StoredAnswer } from "../idempotency.ts";
import type { AccountStatus, AccountView } from "./accounts.ts";
import type {
  Direction,
  EntryView,
  PaymentView,
  RefundView,
  SystemPurpose,
  Transfer,
} from "./model.ts";
import type { AccountState } from "./rules.ts";

/**
 * The ledger's store port: everything lib/ledger needs of persistence, in domain terms
 * (after formance's ledger `store.go` and Powertools' `BasePersistenceLayer`). The
 * DynamoDB implementation is lib/store/ledger-store.ts; test/support/memory-ledger-store.ts
 * keeps the same rules in memory for millisecond unit tests.
 */

/** An open hold as the store indexes it (per account, and by `captureBefore` for the sweeper). */
export interface OpenHold {
  readonly paymentId: string;
  /** The payer's account, whose `held` the hold is part of. */
  readonly accountId: string;
  readonly amount: number;
  readonly currency: string;
  readonly captureBefore: string;
  /** The payer's balance shard the hold sits on (issue 18; absent: shard 0, the account item). */
  readonly shard?: number;
}

/**
 * A hold (API.md "Holds"): the payment record in `requires_capture`, the payer's
 * `held` up and `available` down by the amount (condition: available >= amount, and
 * every condition of a payment's debit side), the destination checked as a payment's
 * credit side but not changed, the open-hold item, idempotency, audit and event: ONE
 * transaction. No balance moves and no transfer is written.
 */
export interface HoldPlacement {
  readonly payment: PaymentView;
  readonly debit: BalanceChange;
  readonly credit: BalanceChange;
  readonly audit: AuditEvent;
  readonly event: EventRecord;
  readonly idempotency?: { readonly claim: IdempotencyClaim; readonly body: string };
  readonly now: string;
}

/**
 * The end of a hold, exactly one of: a capture (a transfer of `captured` from payer to
 * payee, kind "capture"; the rest released), a cancel, or an expiry (all released).
 * Conditions: the payment is still `requires_capture` (label "payment") and, for a
 * capture or cancel, not yet expired at `now` (an expiry: expired at `now`); a
 * capture also needs both accounts active ("source", "destination"). The payer's
 * `held` drops by the whole hold, its balance by the capture, its `available` by
 * neither (it rises by the release); the open-hold item goes. ONE transaction.
 */
export interface HoldSettlement {
  readonly kind: "capture" | "cancel" | "expire";
  /** The payment as stored before (requires_capture, with captureBefore). */
  readonly before: PaymentView;
  /** The payment right after. */
  readonly after: PaymentView;
  /** A capture's transfer and its two entries. */
  readonly capture?: {
    readonly transfer: Transfer;
    readonly entries: readonly [EntryView, EntryView];
  };
  readonly audit: AuditEvent;
  readonly event: EventRecord;
  readonly idempotency?: { readonly claim: IdempotencyClaim; readonly body: string };
  readonly now: string;
}

/** A domain operation's caller, plus the Idempotency-Key claim the chain hands it. */
export interface LedgerContext extends CallContext {
  readonly idempotency?: IdempotencyClaim | undefined;
}

export interface Page<T> {
  readonly data: T[];
  readonly hasMore: boolean;
  readonly nextCursor: string | null;
}

export interface PageRequest {
  readonly limit: number;
  readonly cursor?: string | undefined;
}

/**
 * Which account one side of a transfer touches, and the conditions its balance change
 * holds (checked by the store atomically with the whole posting):
 *
 * - `customer`: the account exists, is a customer account, is active and holds the
 *   transfer's currency; a debit also needs `balance >= amount` (no overdraft); with
 *   `ownerId`, the account must belong to that user (the payer of a payment).
 * - `system`: the (purpose, currency) system account, created by its first movement;
 *   it may go negative, but must be a system account in that currency.
 */
export type AccountRef =
  | { readonly type: "customer"; readonly accountId: string; readonly ownerId?: string }
  | { readonly type: "system"; readonly purpose: SystemPurpose };

/** Labels a refusal is reported by (TigerBeetle-style: ranked by the domain). */
export type BalanceLabel = "source" | "destination" | "customer" | "system";

export interface BalanceChange {
  readonly label: BalanceLabel;
  readonly account: AccountRef;
  readonly direction: Direction;
}

/** The domain record a transfer belongs to. */
export type PostingRecord =
  | { readonly type: "payment"; readonly payment: PaymentView }
  /** A refund; the payment's refundable remainder must cover it (label "payment"). */
  | { readonly type: "refund"; readonly refund: RefundView };

/**
 * One transfer posting: everything a movement writes, committed together or not at all
 * (one TransactWriteItems in DynamoDB). Built only by `post` in lib/ledger/posting.ts.
 */
export interface Posting {
  readonly transfer: Transfer;
  /** Debit first, then credit; both carry `transferId`. */
  readonly entries: readonly [EntryView, EntryView];
  readonly debit: BalanceChange;
  readonly credit: BalanceChange;
  readonly record?: PostingRecord;
  readonly audit: AuditEvent;
  /** The customer-facing event (API.md "Events"), committed with the movement or not at all. */
  readonly event: EventRecord;
  /** The completed idempotency record, written only if the key has none yet. */
  readonly idempotency?: { readonly claim: IdempotencyClaim; readonly body: string };
  /**
   * Dual control (lib/auth/approvals.ts): the approval this movement carries out, moved
   * to approved in the same transaction only if still pending (label "approval").
   */
  readonly approval?: ApprovalDecision;
  readonly now: string;
}

/** What an account looked like when its condition failed (undefined: no such account). */
export type { AccountState };

/** Labels whose conditions can fail in a posting. */
export type PostingLabel = BalanceLabel | "payment" | "approval" | "hold";

export type PostOutcome =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** Every label whose condition failed, with the account as it stood. */
      readonly failed: ReadonlyMap<PostingLabel, AccountState | undefined>;
      /** The key's existing answer, when the idempotency record already existed. */
      readonly answered?: StoredAnswer | undefined;
    };

export interface LedgerStore {
  getAccount(accountId: string): Promise<AccountView | undefined>;
  getPayment(paymentId: string): Promise<PaymentView | undefined>;
  getTransfer(transferId: string): Promise<Transfer | undefined>;
  listAccountsOfOwner(ownerId: string, page: PageRequest): Promise<Page<AccountView>>;
  listEntries(accountId: string, page: PageRequest): Promise<Page<EntryView>>;
  listPaymentsOfAccount(accountId: string, page: PageRequest): Promise<Page<PaymentView>>;
  listRefunds(paymentId: string, page: PageRequest): Promise<Page<RefundView>>;
  /** Creates a customer account with its audit event; false when the owner has one in that currency. */
  createAccount(account: AccountView, audit: AuditEvent): Promise<boolean>;
  /** Sets a customer account's status with its audit event and its event; false when there is no such account. */
  setAccountStatus(
    accountId: string,
    status: AccountStatus,
    now: string,
    audit: AuditEvent,
    event: EventRecord,
  ): Promise<boolean>;
  /**
   * Raises a customer account's balance shards (lib/ledger/shards.ts) from `from` to
   * `to`, with its audit event and its event; false when the account changed meanwhile.
   */
  setBalanceShards(
    account: AccountView,
    from: number,
    to: number,
    now: string,
    audit: AuditEvent,
    event: EventRecord,
  ): Promise<boolean>;
  /** Commits one transfer posting atomically, or reports every failed condition. */
  post(posting: Posting): Promise<PostOutcome>;
  /** Places a hold atomically (labels "source", "destination"), or reports every failed condition. */
  placeHold(hold: HoldPlacement): Promise<PostOutcome>;
  /** Settles a hold atomically (labels "payment", "source", "destination", "hold"). */
  settleHold(settlement: HoldSettlement): Promise<PostOutcome>;
  /** An account's open holds whose `captureBefore` is at or before `now`, oldest first. */
  expiredHoldsOf(accountId: string, now: string, limit: number): Promise<OpenHold[]>;
  /** Every account's open holds whose `captureBefore` is at or before `now`, oldest first. */
  dueHolds(now: string, limit: number): Promise<OpenHold[]>;
}

/** What every ledger operation takes besides its caller and input. */
export interface LedgerDeps {
  readonly store: LedgerStore;
  /** The current time, RFC 3339 UTC. */
  readonly now: () => string;
  /** A new id of a prefix (`trf_…`, `pay_…`). */
  readonly newId: (prefix: "acc" | "pay" | "ref" | "ent" | "trf") => string;
  /** How long a hold waits for its capture (MICROPAY_HOLD_TTL_SECONDS; default from config). */
  readonly holdTtlSeconds?: number;
}
