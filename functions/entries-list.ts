import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { ledgerDeps, listAccountEntries } from "../lib/ledger/service.ts";
import { entriesListRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(entriesListRoute, (req) =>
  listAccountEntries(ctxOf(req), { ...req.params, ...req.query }, deps),
);
