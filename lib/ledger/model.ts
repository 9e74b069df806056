import { createHash } from "node:crypto";
import type { AccountKind, AccountStatus, AccountView } from "./accounts.ts";

/**
 * The ledger's data model: what the API shows and what the store keeps.
 *
 * Sign convention: a credit adds to an account's balance, a debit subtracts. Every
 * movement is one debit and one credit of the same amount, so the sum of all
 * balances (system accounts included) is always zero: system funding accounts go
 * negative as money enters, system payout accounts go positive as it leaves.
 */

export type { AccountKind, AccountStatus, AccountView };

export type EntryKind = "deposit" | "withdrawal" | "payment" | "refund" | "capture";
export type Direction = "debit" | "credit";

export interface EntryView {
  readonly id: string;
  readonly accountId: string;
  /**
   * The transfer this entry is one side of. Every entry written since transfers
   * exist carries it; only entries written before then lack it.
   */
  readonly transferId?: string;
  readonly paymentId?: string;
  readonly refundId?: string;
  readonly kind: EntryKind;
  readonly direction: Direction;
  readonly amount: number;
  readonly currency: string;
  /** The other side of the movement. */
  readonly counterpartyAccountId: string;
  /** Deposits and withdrawals: the caller's reference. */
  readonly reference?: string;
  readonly createdAt: string;
}

export type PaymentStatus =
  | "requires_capture"
  | "succeeded"
  | "partially_refunded"
  | "refunded"
  | "canceled";

/**
 * Where a payment stands in its capture (API.md "Holds"): an immediate payment is
 * `captured` from the start; a hold is `requires_capture` until exactly one of capture
 * (`captured`), cancel or expiry (`canceled`) settles it.
 */
export type CaptureState = "requires_capture" | "captured" | "canceled";
export type CancellationReason = "requested" | "expired";

export interface PaymentView {
  readonly id: string;
  readonly status: PaymentStatus;
  readonly sourceAccountId: string;
  readonly destinationAccountId: string;
  readonly amount: number;
  readonly currency: string;
  readonly amountRefunded: number;
  /** What has moved to the destination: the amount for an immediate payment, the capture for a hold. */
  readonly amountCaptured: number;
  /** What a capture may still take: the amount while the hold is open, else 0. */
  readonly amountCapturable: number;
  /** Holds only: after this instant (RFC 3339) the hold is expired and cannot be captured. */
  readonly captureBefore?: string;
  /** Canceled holds only: "requested" (POST .../cancel) or "expired". */
  readonly cancellationReason?: CancellationReason;
  readonly description: string | null;
  /**
   * The transfer that moved the payment's money: the payment's for an immediate one,
   * the capture's for a captured hold (absent on payments made before transfers).
   */
  readonly transferId?: string;
  readonly createdAt: string;
}

export interface RefundView {
  readonly id: string;
  readonly paymentId: string;
  readonly amount: number;
  readonly currency: string;
  readonly reason: string | null;
  /** The transfer that moved the refund's money (absent on refunds made before transfers). */
  readonly transferId?: string;
  readonly createdAt: string;
}

/**
 * The unit of money movement (API.md "Transfers"): one id, one debit and one credit of
 * the same amount. Payments, refunds, deposits and withdrawals each write exactly one,
 * in the same transaction as their entries; it is never updated.
 */
export type TransferKind = "deposit" | "withdrawal" | "payment" | "refund" | "capture";

export interface Transfer {
  readonly id: string;
  readonly kind: TransferKind;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: number;
  readonly currency: string;
  readonly paymentId?: string;
  readonly refundId?: string;
  readonly reference?: string;
  readonly createdAt: string;
}

/**
 * A deposit or withdrawal answer: its transfer (whose `id` is the transfer id) and its
 * two entries, plus `accountId`, the customer account it was made on.
 */
export interface TransferView extends Transfer {
  readonly kind: "deposit" | "withdrawal";
  readonly accountId: string;
  readonly reference: string;
  readonly entries: readonly [EntryView, EntryView];
}

/**
 * The payment's status follows from its capture state and what has been refunded of
 * what was captured (never stored apart).
 */
export function paymentStatus(
  amountCaptured: number,
  amountRefunded: number,
  state: CaptureState = "captured",
): PaymentStatus {
  if (state !== "captured") return state;
  if (amountRefunded <= 0) return "succeeded";
  return amountRefunded >= amountCaptured ? "refunded" : "partially_refunded";
}

/** Is this an open hold whose time has run out at `now`? */
export function holdExpired(
  p: Pick<PaymentView, "status" | "captureBefore">,
  now: string,
): boolean {
  return p.status === "requires_capture" && p.captureBefore !== undefined && p.captureBefore <= now;
}

/**
 * The payment as it stands at `now`: an open hold past `captureBefore` reads canceled
 * with reason "expired" (and nothing capturable) whether or not a sweeper has released
 * it yet. No timer is trusted for what a caller sees.
 */
export function paymentAt(p: PaymentView, now: string): PaymentView {
  if (!holdExpired(p, now)) return p;
  return { ...p, status: "canceled", amountCapturable: 0, cancellationReason: "expired" };
}

export type SystemPurpose = "funding" | "payout";
export const SYSTEM_OWNER_ID = "system";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/**
 * The id of the system account for (purpose, currency): deterministic, so every
 * container names the same account without a lookup, and a well-formed `acc_` ULID
 * (time part zero: older than every customer account).
 */
export function systemAccountId(purpose: SystemPurpose, currency: string): string {
  const digest = createHash("sha256").update(`micropay-system:${purpose}:${currency}`).digest();
  let body = "";
  for (let i = 0; i < 16; i++) body += CROCKFORD[(digest[i] ?? 0) % 32];
  return `acc_0000000000${body}`;
}

/** A system account as it looks before its first movement. */
export function emptySystemAccount(
  purpose: SystemPurpose,
  currency: string,
  now: string,
): AccountView {
  return {
    id: systemAccountId(purpose, currency),
    ownerId: SYSTEM_OWNER_ID,
    currency,
    balance: 0,
    held: 0,
    available: 0,
    status: "active",
    kind: "system",
    createdAt: now,
    updatedAt: now,
  };
}
