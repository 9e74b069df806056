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
export type PostingLabel = BalanceLabel | "payment" | "approval";

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
  /** Commits one transfer posting atomically, or reports every failed condition. */
  post(posting: Posting): Promise<PostOutcome>;
}

/** What every ledger operation takes besides its caller and input. */
export interface LedgerDeps {
  readonly store: LedgerStore;
  /** The current time, RFC 3339 UTC. */
  readonly now: () => string;
  /** A new id of a prefix (`trf_…`, `pay_…`). */
  readonly newId: (prefix: "acc" | "pay" | "ref" | "ent" | "trf") => string;
}
