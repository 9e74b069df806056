import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { createRefund, ledgerDeps } from "../lib/ledger/service.ts";
import { refundsCreateRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(refundsCreateRoute, (req) =>
  createRefund(ctxOf(req), { ...req.params, ...req.body }, deps),
);
