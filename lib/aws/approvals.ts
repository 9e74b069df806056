import type { ApprovalDeps } from "../auth/approvals.ts";
import { config } from "../config.ts";
import { ledgerDeps } from "../ledger/service.ts";
import { dynamoApprovalStore } from "../store/approvals.ts";
import { dynamoLedgerStore } from "../store/ledger-store.ts";
import { identityDeps } from "./identity.ts";

/**
 * The dual-control operations' dependencies (lib/auth/approvals.ts) in a Lambda
 * container: the DynamoDB approval, ledger and identity stores, the clock, lib/config.ts.
 */
export function approvalDeps(): ApprovalDeps {
  return {
    approvals: dynamoApprovalStore,
    ledger: ledgerDeps(dynamoLedgerStore),
    identity: identityDeps(),
    now: () => Date.now(),
    settings: () => config(),
  };
}

/** A deposit request's: no identity store (no signing-key source beyond the chain's). */
export function depositRequestDeps(): Omit<ApprovalDeps, "identity"> {
  return {
    approvals: dynamoApprovalStore,
    ledger: ledgerDeps(dynamoLedgerStore),
    now: () => Date.now(),
    settings: () => config(),
  };
}
