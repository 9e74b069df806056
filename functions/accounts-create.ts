import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { createAccount, ledgerDeps } from "../lib/ledger/service.ts";
import { accountsCreateRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(accountsCreateRoute, (req) =>
  createAccount(ctxOf(req), req.body, deps),
);
