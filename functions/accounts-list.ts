import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { ledgerDeps, listAccounts } from "../lib/ledger/service.ts";
import { accountsListRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(accountsListRoute, (req) =>
  listAccounts(ctxOf(req), req.query, deps),
);
