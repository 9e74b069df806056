export type AccountStatus = "active" | "frozen";
export type AccountKind = "customer" | "system";

/** An account as the API shows it (API.md "Accounts and ledger"). */
export interface AccountView {
  readonly id: string;
  readonly ownerId: string;
  readonly currency: string;
  /** Integer minor units of `currency`. */
  readonly balance: number;
  /** Sum of the open holds out of this account (API.md "Holds"). */
  readonly held: number;
  /**
   * `balance - held`: what payments, holds and withdrawals may take. Stored beside the
   * balance (a DynamoDB condition cannot subtract), kept equal to it by every
   * transaction that changes either; never negative on a customer account.
   */
  readonly available: number;
  readonly status: AccountStatus;
  readonly kind: AccountKind;
  /**
   * Balance items the account's balance is spread over (issue 18, lib/ledger/shards.ts),
   * shown when more than one; `balance` is their sum.
   */
  readonly balanceShards?: number;
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
    held: 0,
    available: 0,
    status: "active",
    kind: "customer",
    createdAt: init.now,
    updatedAt: init.now,
  };
}
