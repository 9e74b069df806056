import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { getAccountView, ledgerDeps } from "../lib/ledger/service.ts";
import { accountsGetRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(accountsGetRoute, (req) =>
  getAccountView(ctxOf(req), req.params, deps),
);
