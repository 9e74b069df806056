import { viewHandler } from "../lib/http/handler.ts";
import { ctxOf } from "../lib/http/idempotency.ts";
import { capturePayment } from "../lib/ledger/holds.ts";
import { ledgerDeps } from "../lib/ledger/service.ts";
import { paymentsCaptureRoute } from "../lib/routes/ledger.ts";
import { dynamoLedgerStore } from "../lib/store/ledger-store.ts";

const deps = ledgerDeps(dynamoLedgerStore);

export const handler = viewHandler(paymentsCaptureRoute, (req) =>
  capturePayment(ctxOf(req), { ...req.params, ...req.body }, deps),
);
