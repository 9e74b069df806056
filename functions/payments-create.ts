import { httpHandler } from "../lib/http/handler.ts";
import { createPayment } from "../lib/ledger/service.ts";
import { paymentsCreateRoute } from "../lib/routes/ledger.ts";

export const handler = httpHandler(paymentsCreateRoute, createPayment);
