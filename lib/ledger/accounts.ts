export type AccountStatus = "active" | "frozen";
export type AccountKind = "customer" | "system";

/** An account as the API shows it (API.md "Accounts and ledger"). */
export interface AccountView {
  readonly id: string;
  readonly ownerId: string;
  readonly currency: string;
  /** Integer minor units of `currency`. */
  readonly balance: number;
  readonly status: AccountStatus;
  readonly kind: AccountKind;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * A new customer account (balance 0, active). Stores create it only if its owner has
 * none in that currency yet (one account per currency per owner): registration
 * (lib/auth) and POST /v1/accounts both start here.
 */
export function newCustomerAccount(init: {
  id: string;
  ownerId: string;
  currency: string;
  now: string;
}): AccountView {
  return {
    id: init.id,
    ownerId: init.ownerId,
    currency: init.currency,
    balance: 0,
    status: "active",
    kind: "customer",
    createdAt: init.now,
    updatedAt: init.now,
  };
}
