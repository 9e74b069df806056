import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { getTransferView, ledgerDeps } from "../lib/ledger/service.ts";
import { transfersGetRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(transfersGetRoute, (req) =>
  getTransferView(ctxOf(req), req.params, deps),
);
