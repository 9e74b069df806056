import { httpHandler } from "../lib/http/handler.ts";
import { listPaymentRefunds } from "../lib/ledger/service.ts";
import { refundsListRoute } from "../lib/routes/ledger.ts";

export const handler = httpHandler(refundsListRoute, listPaymentRefunds);
