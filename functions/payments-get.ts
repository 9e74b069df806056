import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { getPayment, ledgerDeps } from "../lib/ledger/service.ts";
import { paymentsGetRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(paymentsGetRoute, (req) =>
  getPayment(ctxOf(req), req.params, deps),
);
