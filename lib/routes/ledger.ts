import { pendingApproval } from "../auth/schemas.ts";
import {
  accountPage,
  accountParams,
  accountStatusBody,
  accountsQuery,
  accountView,
  captureBody,
  createAccountBody,
  entryPage,
  listQuery,
  paymentBody,
  paymentPage,
  paymentParams,
  paymentsQuery,
  paymentView,
  refundBody,
  refundPage,
  refundView,
  transfer,
  transferBody,
  transferParams,
  transferView,
} from "../ledger/schemas.ts";
import { ANY_ROLE, defineRoute, PAGE, READ, type TableGrant } from "./types.ts";

/**
 * Accounts, ledger, payments, refunds and transfers (API.md). Roles here are the only role
 * check; ownership (404 for what the caller may not see, 403 for what it may see but
 * not do) is decided in lib/ledger/service.ts. Money-moving POSTs are `idempotent`:
 * the chain runs the Idempotency-Key protocol for them (lib/http/idempotency.ts).
 */
/**
 * A money move: read the account(s) (Get), post the transfer with its completed
 * idempotency record in one transaction (Put/Update items), store a refusal's answer
 * (conditional Put), and read the key's record on the error path only (Get;
 * lib/http/idempotency.ts). Records are never deleted (TTL expires them).
 */
const MONEY_MOVE: TableGrant = {
  actions: ["GetItem", "PutItem", "UpdateItem"],
};

/**
 * A move that may first release the debit account's expired holds (lib/ledger/expiry.ts:
 * Query of the account's HOLD# items, then one settling transaction each, which deletes
 * the hold item) when only they stand between it and the funds.
 */
const MONEY_MOVE_RELEASING: TableGrant = {
  actions: ["GetItem", "PutItem", "UpdateItem", "DeleteItem"],
  query: ["table"],
};

/** A capture or cancel: read the payment and accounts, settle the hold in one transaction. */
const HOLD_SETTLE: TableGrant = {
  actions: ["GetItem", "PutItem", "UpdateItem", "DeleteItem"],
};

/** A money-moving POST: idempotent (Idempotency-Key required), writes, verifies a token. */
const MONEY_POST = {
  successStatus: 201,
  idempotent: true,
  tableAccess: "write",
  usesSigningKey: true,
} as const;
/** A money-moving POST on an existing payment (capture, cancel): 200, not 201. */
const MONEY_POST_200 = { ...MONEY_POST, successStatus: 200 } as const;

const MONEY_ERRORS = [
  "not_found",
  "insufficient_funds",
  "account_frozen",
  "currency_mismatch",
  "idempotency_key_reused",
  "idempotency_in_progress",
  "service_unavailable",
] as const;

const ACC = "acc_01J9Z8Q4N7V3XKQ2T5W6Y8B0CD";
const ACC2 = "acc_01J9Z8QBBJ3R6S7T8V9W0X1Y2Z";

export const accountsListRoute = defineRoute({
  id: "accounts-list",
  method: "GET",
  path: "/v1/accounts",
  summary: "Your accounts (admins and auditors: any owner's, with ?ownerId=)",
  tags: ["Accounts"],
  auth: ANY_ROLE,
  scope: "accounts:read",
  query: accountsQuery,
  response: accountPage,
  successStatus: 200,
  errorCodes: ["service_unavailable"],
  tableAccess: "read",
  // gsi1: the owner's accounts; the table: an account's expired holds (when it holds money).
  table: { actions: [], query: ["gsi1", "table"] },
  usesSigningKey: true,
  example: { query: { limit: "20" } },
});

export const accountsCreateRoute = defineRoute({
  id: "accounts-create",
  method: "POST",
  path: "/v1/accounts",
  summary: "Open an account in a currency (one per currency per owner)",
  tags: ["Accounts"],
  auth: { roles: ["customer", "merchant"] },
  body: createAccountBody,
  response: accountView,
  successStatus: 201,
  errorCodes: ["account_exists", "service_unavailable"],
  tableAccess: "write",
  table: { actions: ["PutItem"] },
  usesSigningKey: true,
  example: { body: { currency: "EUR" } },
});

export const accountsGetRoute = defineRoute({
  id: "accounts-get",
  method: "GET",
  path: "/v1/accounts/{accountId}",
  summary: "One account (owner, admin, auditor)",
  tags: ["Accounts"],
  auth: ANY_ROLE,
  scope: "accounts:read",
  params: accountParams,
  response: accountView,
  ...READ,
  // Query: the account's expired holds, only while it holds money (the view's `held`).
  table: { actions: ["GetItem"], query: ["table"] },
  usesSigningKey: true,
});

export const entriesListRoute = defineRoute({
  id: "entries-list",
  method: "GET",
  path: "/v1/accounts/{accountId}/entries",
  summary: "An account's ledger entries, newest first",
  tags: ["Accounts"],
  auth: ANY_ROLE,
  scope: "accounts:read",
  params: accountParams,
  query: listQuery,
  response: entryPage,
  ...PAGE,
});

export const depositsCreateRoute = defineRoute({
  id: "deposits-create",
  method: "POST",
  path: "/v1/accounts/{accountId}/deposits",
  summary:
    "Fund an account from the system funding account (admin; from MICROPAY_DUAL_CONTROL_MINOR up, 202: an approval)",
  tags: ["Accounts"],
  ...MONEY_POST,
  auth: { roles: ["admin"] },
  stepUp: true,
  params: accountParams,
  body: transferBody,
  response: transferView,
  accepted: pendingApproval,
  errorCodes: [...MONEY_ERRORS, "self_dealing"],
  table: MONEY_MOVE,
  example: { body: { amount: 10000, reference: "wire 2024-118" } },
});

export const withdrawalsCreateRoute = defineRoute({
  id: "withdrawals-create",
  method: "POST",
  path: "/v1/accounts/{accountId}/withdrawals",
  summary: "Pay out of your account to the system payout account (no overdraft)",
  tags: ["Accounts"],
  ...MONEY_POST,
  auth: { roles: ["customer", "merchant"] },
  params: accountParams,
  body: transferBody,
  response: transferView,
  errorCodes: MONEY_ERRORS,
  table: MONEY_MOVE_RELEASING,
  example: { body: { amount: 2500, reference: "payout to bank" } },
});

export const adminAccountsUpdateRoute = defineRoute({
  id: "admin-accounts-update",
  method: "PATCH",
  path: "/v1/admin/accounts/{accountId}",
  summary: "Freeze or unfreeze an account, or raise its balance shards (admin)",
  tags: ["Admin"],
  auth: { roles: ["admin"] },
  stepUp: true,
  params: accountParams,
  body: accountStatusBody,
  response: accountView,
  successStatus: 200,
  errorCodes: ["not_found", "concurrent_update", "service_unavailable"],
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem", "UpdateItem"] },
  usesSigningKey: true,
  example: { body: { status: "frozen" } },
});

export const paymentsCreateRoute = defineRoute({
  id: "payments-create",
  method: "POST",
  path: "/v1/payments",
  summary:
    "Pay from your account to another account in the same currency (capture: false places a hold)",
  tags: ["Payments"],
  ...MONEY_POST,
  auth: { roles: ["customer", "merchant"] },
  scope: "payments:write",
  body: paymentBody,
  response: paymentView,
  errorCodes: MONEY_ERRORS,
  // A payment reads no account before its transaction; only the error path reads the
  // idempotency record (lib/http/idempotency.ts). A hold checks the payee
  // (ConditionCheck) instead of crediting it.
  table: {
    ...MONEY_MOVE_RELEASING,
    actions: [...MONEY_MOVE_RELEASING.actions, "ConditionCheckItem"],
  },
  example: {
    body: {
      sourceAccountId: ACC,
      destinationAccountId: ACC2,
      amount: 2500,
      currency: "USD",
      description: "Order 1042",
    },
  },
});

export const paymentsGetRoute = defineRoute({
  id: "payments-get",
  method: "GET",
  path: "/v1/payments/{paymentId}",
  summary: "One payment (owner of either side, admin, auditor)",
  tags: ["Payments"],
  auth: ANY_ROLE,
  scope: "payments:read",
  params: paymentParams,
  response: paymentView,
  ...READ,
  table: { actions: ["GetItem"] },
  usesSigningKey: true,
});

export const paymentsListRoute = defineRoute({
  id: "payments-list",
  method: "GET",
  path: "/v1/payments",
  summary: "Payments in or out of an account, newest first",
  tags: ["Payments"],
  auth: ANY_ROLE,
  scope: "payments:read",
  query: paymentsQuery,
  response: paymentPage,
  ...READ,
  table: { actions: ["GetItem", "BatchGetItem"], query: ["table"] },
  usesSigningKey: true,
  example: { query: { accountId: ACC, limit: "20" } },
});

export const refundsCreateRoute = defineRoute({
  id: "refunds-create",
  method: "POST",
  path: "/v1/payments/{paymentId}/refunds",
  summary: "Refund all or part of a payment (its recipient, or an admin)",
  tags: ["Payments"],
  ...MONEY_POST,
  auth: { roles: ["merchant", "admin"] },
  scope: "refunds:write",
  params: paymentParams,
  body: refundBody,
  response: refundView,
  errorCodes: [...MONEY_ERRORS, "refund_exceeds_payment"],
  table: MONEY_MOVE_RELEASING,
  example: { body: { amount: 500, reason: "damaged item" } },
});

export const paymentsCaptureRoute = defineRoute({
  id: "payments-capture",
  method: "POST",
  path: "/v1/payments/{paymentId}/capture",
  summary: "Capture all or part of a hold; the rest is released (its recipient, or an admin)",
  tags: ["Payments"],
  ...MONEY_POST_200,
  auth: { roles: ["merchant", "admin"] },
  scope: "payments:write",
  params: paymentParams,
  body: captureBody,
  response: paymentView,
  errorCodes: [...MONEY_ERRORS, "payment_not_capturable"],
  table: HOLD_SETTLE,
  example: { body: { amount: 2000 } },
});

export const paymentsCancelRoute = defineRoute({
  id: "payments-cancel",
  method: "POST",
  path: "/v1/payments/{paymentId}/cancel",
  summary: "Cancel a hold: all of it is released (owner of either side, admin)",
  tags: ["Payments"],
  ...MONEY_POST_200,
  auth: { roles: ["customer", "merchant", "admin"] },
  scope: "payments:write",
  params: paymentParams,
  response: paymentView,
  errorCodes: [...MONEY_ERRORS, "payment_not_capturable"],
  table: HOLD_SETTLE,
});

export const refundsListRoute = defineRoute({
  id: "refunds-list",
  method: "GET",
  path: "/v1/payments/{paymentId}/refunds",
  summary: "A payment's refunds, newest first",
  tags: ["Payments"],
  auth: ANY_ROLE,
  scope: "payments:read",
  params: paymentParams,
  query: listQuery,
  response: refundPage,
  ...PAGE,
});

export const transfersGetRoute = defineRoute({
  id: "transfers-get",
  method: "GET",
  path: "/v1/transfers/{transferId}",
  summary: "One transfer: a movement's debit and credit (owner of either account, admin, auditor)",
  tags: ["Transfers"],
  auth: ANY_ROLE,
  scope: "payments:read",
  params: transferParams,
  response: transfer,
  ...READ,
  table: { actions: ["GetItem"] },
  usesSigningKey: true,
  // No such transfer on a fresh stack: the contract test replays it as a documented 404.
  example: { params: { transferId: "trf_01J9Z8S5M2N3P4Q5R6S7T8V9WX" } },
});

export const ledgerRoutes = [
  accountsListRoute,
  accountsCreateRoute,
  accountsGetRoute,
  entriesListRoute,
  depositsCreateRoute,
  withdrawalsCreateRoute,
  adminAccountsUpdateRoute,
  paymentsCreateRoute,
  paymentsGetRoute,
  paymentsListRoute,
  refundsCreateRoute,
  refundsListRoute,
  paymentsCaptureRoute,
  paymentsCancelRoute,
  transfersGetRoute,
] as const;
