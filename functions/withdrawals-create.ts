import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { createWithdrawal, ledgerDeps } from "../lib/ledger/service.ts";
import { withdrawalsCreateRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(withdrawalsCreateRoute, (req) =>
  createWithdrawal(ctxOf(req), { ...req.params, ...req.body }, deps),
);
