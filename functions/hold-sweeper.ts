import { sweepExpiredHolds } from "../lib/ledger/expiry.ts";
import { ledgerDeps } from "../lib/ledger/service.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

/**
 * Expired-hold sweep: releases, for the books, every open hold past its captureBefore
 * (lib/ledger/expiry.ts). In AWS an EventBridge schedule runs it every minute; locally a
 * timer (MICROPAY_HOLD_SWEEP_SECONDS) in local/stack.ts runs this same handler.
 */
const deps = ledgerDeps(dynamoLedgerStore);

export const handler = async (): Promise<{ released: number; seen: number }> =>
  sweepExpiredHolds(deps);
