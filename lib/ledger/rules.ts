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
  new Refusal("insufficient_funds", "The balance does not cover the amount.");
export const accountFrozen = () => new Refusal("account_frozen", "The account is frozen.");
export const currencyMismatch = () =>
  new Refusal("currency_mismatch", "The currency differs from the account's currency.");
export const refundExceedsPayment = () =>
  new Refusal("refund_exceeds_payment", "Refunds may not add up to more than the payment.");

export interface AccountState {
  readonly ownerId?: unknown;
  readonly kind?: unknown;
  readonly status?: unknown;
  readonly currency?: unknown;
  readonly balance?: unknown;
}

/**
 * Why an account may not take part in a movement, or null when it may. For the
 * pre-check on a fresh read, and to explain a failed transaction condition from the
 * item DynamoDB returned (ReturnValuesOnConditionCheckFailure ALL_OLD).
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
  if (direction === "debit" && Number(account.balance) < amount) return insufficientFunds();
  return null;
}

/**
 * Explains one failed transaction condition from the item as it stood (undefined: no
 * such item), or null when this check is not why it failed.
 */
export type Explainer = (item: AccountState | undefined) => Refusal | null;

/**
 * The first refusal, walking `checks` in precedence order and asking each only about
 * an item whose condition failed (`failed`: key -> the item as it stood). DynamoDB
 * judges every condition of a cancelled transaction and reports each item (a passed
 * one says "None"), so an item missing from `failed` passed all of its conditions.
 */
export function firstRefusal<K>(
  checks: ReadonlyArray<readonly [K, Explainer]>,
  failed: ReadonlyMap<K, AccountState | undefined>,
): Refusal | null {
  for (const [key, check] of checks) {
    if (!failed.has(key)) continue;
    const refusal = check(failed.get(key));
    if (refusal) return refusal;
  }
  return null;
}

/**
 * Why a payment's transaction was refused, in the contract's precedence: the source
 * is not the caller's to pay from (404 when the caller may not see it: missing, a
 * system account, or another user's; 403 for staff, who see every account but move
 * money only out of their own), then a missing or system destination (404), then a
 * currency that differs on either side (422), then the source (frozen 409, or
 * insufficient funds 402), then a frozen destination (409).
 *
 * The transaction's conditions check exactly these (the source's update is
 * conditioned on `ownerId = caller`), so this is the whole of the decision: there is
 * no read before the transaction.
 */
export function paymentChecks(
  p: Principal,
  amount: number,
  currency: string,
): ReadonlyArray<readonly ["source" | "destination", Explainer]> {
  const customer = (a: AccountState | undefined): a is AccountState => a?.kind === "customer";
  return [
    [
      "source",
      (src) => {
        const owner = customer(src) ? String(src.ownerId) : undefined;
        if (owner === undefined || !canRead(p, [owner])) {
          return notFound("No such source account.");
        }
        try {
          requireActor(p, [owner], [owner]);
          return null;
        } catch (error) {
          if (error instanceof Refusal) return error;
          throw error;
        }
      },
    ],
    ["destination", (dst) => (customer(dst) ? null : notFound("No such destination account."))],
    ["source", (src) => (src?.currency !== currency ? currencyMismatch() : null)],
    ["destination", (dst) => (dst?.currency !== currency ? currencyMismatch() : null)],
    ["source", (src) => accountRefusal(src, "debit", amount, currency)],
    ["destination", (dst) => accountRefusal(dst, "credit", amount, currency)],
  ];
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
