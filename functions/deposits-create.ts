import { httpHandler } from "../lib/http/handler.ts";
import { createDeposit } from "../lib/ledger/service.ts";
import { depositsCreateRoute } from "../lib/routes/ledger.ts";

export const handler = httpHandler(depositsCreateRoute, createDeposit);
