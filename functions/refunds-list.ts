import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { ledgerDeps, listPaymentRefunds } from "../lib/ledger/service.ts";
import { refundsListRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(refundsListRoute, (req) =>
  listPaymentRefunds(ctxOf(req), { ...req.params, ...req.query }, deps),
);
