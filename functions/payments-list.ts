import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { ledgerDeps, listPayments } from "../lib/ledger/service.ts";
import { paymentsListRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(paymentsListRoute, (req) =>
  listPayments(ctxOf(req), req.query, deps),
);
