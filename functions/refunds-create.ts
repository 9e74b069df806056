import { httpHandler } from "../lib/http/handler.ts";
import { createRefund } from "../lib/ledger/service.ts";
import { refundsCreateRoute } from "../lib/routes/ledger.ts";

export const handler = httpHandler(refundsCreateRoute, createRefund);
