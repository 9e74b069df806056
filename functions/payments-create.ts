import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { createPayment, ledgerDeps } from "../lib/ledger/service.ts";
import { paymentsCreateRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(paymentsCreateRoute, (req) =>
  createPayment(ctxOf(req), req.body, deps),
);
