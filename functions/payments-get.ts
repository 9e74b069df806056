import { httpHandler } from "../lib/http/handler.ts";
import { getPayment } from "../lib/ledger/service.ts";
import { paymentsGetRoute } from "../lib/routes/ledger.ts";

export const handler = httpHandler(paymentsGetRoute, getPayment);
