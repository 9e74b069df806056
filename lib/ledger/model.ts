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

export type EntryKind = "deposit" | "withdrawal" | "payment" | "refund";
export type Direction = "debit" | "credit";

export interface EntryView {
  readonly id: string;
  readonly accountId: string;
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

export type PaymentStatus = "succeeded" | "partially_refunded" | "refunded";

export interface PaymentView {
  readonly id: string;
  readonly status: PaymentStatus;
  readonly sourceAccountId: string;
  readonly destinationAccountId: string;
  readonly amount: number;
  readonly currency: string;
  readonly amountRefunded: number;
  readonly description: string | null;
  readonly createdAt: string;
}

export interface RefundView {
  readonly id: string;
  readonly paymentId: string;
  readonly amount: number;
  readonly currency: string;
  readonly reason: string | null;
  readonly createdAt: string;
}

/** A deposit or withdrawal answer: the movement and its entry pair. */
export interface TransferView {
  readonly accountId: string;
  readonly kind: "deposit" | "withdrawal";
  readonly amount: number;
  readonly currency: string;
  readonly reference: string;
  readonly entries: readonly [EntryView, EntryView];
  readonly createdAt: string;
}

/** The payment's status follows from what has been refunded (never stored apart). */
export function paymentStatus(amount: number, amountRefunded: number): PaymentStatus {
  if (amountRefunded <= 0) return "succeeded";
  return amountRefunded >= amount ? "refunded" : "partially_refunded";
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
    status: "active",
    kind: "system",
    createdAt: now,
    updatedAt: now,
  };
}
