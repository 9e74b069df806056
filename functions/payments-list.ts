import { httpHandler } from "../lib/http/handler.ts";
import { listPayments } from "../lib/ledger/service.ts";
import { paymentsListRoute } from "../lib/routes/ledger.ts";

export const handler = httpHandler(paymentsListRoute, listPayments);
