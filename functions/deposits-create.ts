import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { createDeposit, ledgerDeps } from "../lib/ledger/service.ts";
import { depositsCreateRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(depositsCreateRoute, (req) =>
  createDeposit(ctxOf(req), { ...req.params, ...req.body }, deps),
);
