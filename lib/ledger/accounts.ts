import { newId } from "../ids.ts";
import { tableName } from "../store/client.ts";
import { accountIndexKey, accountKey, ownerCurrencyKey } from "../store/keys.ts";
import { type Labelled, labelled } from "../store/transact.ts";

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

/** The stored account item (view plus keys). */
export function accountItem(account: AccountView): Record<string, unknown> {
  return {
    ...accountKey(account.id),
    type: "account",
    ...accountIndexKey(account.ownerId, account.id),
    ...account,
  };
}

/**
 * The TransactWriteItems entries that create a customer account: the account item
 * and a uniqueness item for (owner, currency), both conditional on not existing.
 * The caller adds its own items (user, audit event) and sends one transaction; a
 * cancelled uniqueness condition means "this owner already has an account in this
 * currency" (409).
 *
 * Used by registration (lib/auth) and by POST /v1/accounts.
 */
export function newAccountTransactItems(input: {
  ownerId: string;
  currency: string;
  now: string;
}): { account: AccountView; items: Labelled[] } {
  const account: AccountView = {
    id: newId("acc"),
    ownerId: input.ownerId,
    currency: input.currency,
    balance: 0,
    status: "active",
    kind: "customer",
    createdAt: input.now,
    updatedAt: input.now,
  };
  const items: Labelled[] = [
    labelled("account", {
      Put: {
        TableName: tableName(),
        Item: accountItem(account),
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }),
    labelled("owner_currency", {
      Put: {
        TableName: tableName(),
        Item: {
          ...ownerCurrencyKey(input.ownerId, input.currency),
          type: "account_owner_currency",
          accountId: account.id,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }),
  ];
  return { account, items };
}
