import { httpHandler } from "../lib/http/handler.ts";
import { getAccountView } from "../lib/ledger/service.ts";
import { accountsGetRoute } from "../lib/routes/ledger.ts";

export const handler = httpHandler(accountsGetRoute, getAccountView);
