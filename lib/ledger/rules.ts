import { badRequest, forbidden, notFound, Refusal } from "../problems.ts";
import type { Principal } from "../routes/types.ts";
import { exponentOf, isAllowedCurrency, maxAmountMinor } from "./currency.ts";
import type { Direction, EntryKind, EntryView } from "./model.ts";

/**
 * The ledger's rules, free of DynamoDB and HTTP plumbing so unit tests can hold them
 * to the contract. The store enforces the same rules again in condition expressions;
 * these give the precise answer and refuse what needs no round trip.
 */

/** Admins and auditors read everything. */
export function isStaff(p: Principal): boolean {
  return p.roles.includes("admin") || p.roles.includes("auditor");
}

export function isAdmin(p: Principal): boolean {
  return p.roles.includes("admin");
}

/** May the caller see a resource owned by any of `ownerIds`? */
export function canRead(p: Principal, ownerIds: readonly string[]): boolean {
  return isStaff(p) || ownerIds.includes(p.userId);
}

/**
 * A resource the caller may not see is a 404, exactly like one that does not exist;
 * one it may see but not act on is a 403.
 */
export function requireActor(
  p: Principal,
  visibleTo: readonly string[],
  actors: readonly string[],
) {
  if (actors.includes(p.userId)) return;
  if (canRead(p, visibleTo)) throw forbidden("You may not move money out of this account.");
  throw notFound();
}

export function requireCurrency(currency: string): void {
  if (!isAllowedCurrency(currency)) {
    throw badRequest("The currency is not supported.", [
      { path: "body.currency", message: "not an allowed ISO 4217 currency" },
    ]);
  }
}

/** 1 <= amount <= MAX (minor units of `currency`), an integer. */
export function requireAmount(amount: number, currency: string): void {
  const max = maxAmountMinor(currency);
  if (!Number.isSafeInteger(amount) || amount < 1 || amount > max) {
    throw badRequest("The amount is out of range.", [
      {
        path: "body.amount",
        message: `an integer number of minor units (exponent ${exponentOf(currency)}) from 1 to ${max}`,
      },
    ]);
  }
}

export const insufficientFunds = () =>
  new Refusal("insufficient_funds", "The available balance does not cover the amount.");
export const accountFrozen = () => new Refusal("account_frozen", "The account is frozen.");
export const currencyMismatch = () =>
  new Refusal("currency_mismatch", "The currency differs from the account's currency.");
export const paymentNotCapturable = (
  detail = "The payment has no open hold to capture or cancel.",
) => new Refusal("payment_not_capturable", detail);
export const refundExceedsPayment = () =>
  new Refusal("refund_exceeds_payment", "Refunds may not add up to more than the payment.");

export interface AccountState {
  readonly ownerId?: unknown;
  readonly kind?: unknown;
  readonly status?: unknown;
  readonly currency?: unknown;
  readonly balance?: unknown;
  readonly held?: unknown;
  readonly available?: unknown;
}

/**
 * What an account can give (API.md "Holds": every funds check is against `available`).
 * An account state from before holds existed has no `available`: its balance.
 */
export function availableOf(a: AccountState | undefined): number {
  if (a?.available !== undefined) return Number(a.available);
  return Number(a?.balance) - Number(a?.held ?? 0);
}

/**
 * Why an account may not take part in a movement, or null when it may. For the
 * pre-check on a fresh read (a failed posting is explained by lib/ledger/posting.ts).
 */
export function accountRefusal(
  account: AccountState | undefined,
  direction: Direction,
  amount: number,
  currency: string,
): Refusal | null {
  if (account?.kind !== "customer") return notFound("No such account.");
  if (account.status !== "active") return accountFrozen();
  if (account.currency !== currency) return currencyMismatch();
  if (direction === "debit" && availableOf(account) < amount) return insufficientFunds();
  return null;
}

/** The two entries of a movement: debit first, then credit (ids sort in that order). */
export function entryPair(init: {
  kind: EntryKind;
  debitAccountId: string;
  creditAccountId: string;
  amount: number;
  currency: string;
  now: string;
  newEntryId: () => string;
  /** The transfer both entries belong to. */
  transferId: string;
  paymentId?: string;
  refundId?: string;
  reference?: string;
}): [EntryView, EntryView] {
  const common = {
    transferId: init.transferId,
    kind: init.kind,
    amount: init.amount,
    currency: init.currency,
    createdAt: init.now,
    ...(init.paymentId ? { paymentId: init.paymentId } : {}),
    ...(init.refundId ? { refundId: init.refundId } : {}),
    ...(init.reference !== undefined ? { reference: init.reference } : {}),
  };
  const debit: EntryView = {
    id: init.newEntryId(),
    accountId: init.debitAccountId,
    direction: "debit",
    counterpartyAccountId: init.creditAccountId,
    ...common,
  };
  const credit: EntryView = {
    id: init.newEntryId(),
    accountId: init.creditAccountId,
    direction: "credit",
    counterpartyAccountId: init.debitAccountId,
    ...common,
  };
  return [debit, credit];
}

/** How much a refund takes: the requested amount, or all that remains. */
export function refundAmount(requested: number | undefined, remaining: number): number {
  const amount = requested ?? remaining;
  if (amount < 1 || amount > remaining) throw refundExceedsPayment();
  return amount;
}

/** The signed effect of an entry on its account's balance. */
export function signedAmount(entry: Pick<EntryView, "direction" | "amount">): number {
  return entry.direction === "credit" ? entry.amount : -entry.amount;
}
