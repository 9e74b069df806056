import type { LedgerStore } from "../ledger/port.ts";
import * as reads from "./ledger-reads.ts";
import * as shards from "./ledger-shards.ts";
import * as writes from "./ledger-writes.ts";

/** The DynamoDB implementation of the ledger's store port (lib/ledger/port.ts). */
export const dynamoLedgerStore: LedgerStore = {
  getAccount: reads.getAccount,
  getPayment: reads.getPayment,
  getTransfer: reads.getTransfer,
  listAccountsOfOwner: reads.listAccountsOfOwner,
  listEntries: reads.listEntries,
  listPaymentsOfAccount: reads.listPaymentsOfAccount,
  listRefunds: reads.listRefunds,
  createAccount: writes.createAccount,
  setAccountStatus: writes.setAccountStatus,
  setBalanceShards: shards.setBalanceShards,
  post: writes.post,
  placeHold: writes.placeHold,
  settleHold: writes.settleHold,
  expiredHoldsOf: reads.expiredHoldsOf,
  dueHolds: reads.dueHolds,
};
