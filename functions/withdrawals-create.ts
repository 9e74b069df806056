import { httpHandler } from "../lib/http/handler.ts";
import { createWithdrawal } from "../lib/ledger/service.ts";
import { withdrawalsCreateRoute } from "../lib/routes/ledger.ts";

export const handler = httpHandler(withdrawalsCreateRoute, createWithdrawal);
