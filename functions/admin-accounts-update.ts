import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { ledgerDeps, setAccountStatus } from "../lib/ledger/service.ts";
import { adminAccountsUpdateRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(adminAccountsUpdateRoute, (req) =>
  setAccountStatus(ctxOf(req), { ...req.params, ...req.body }, deps),
);
