import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { cancelPayment } from "../lib/ledger/holds.ts";
import { ledgerDeps } from "../lib/ledger/service.ts";
import { paymentsCancelRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(paymentsCancelRoute, (req) =>
  cancelPayment(ctxOf(req), req.params, deps),
);
