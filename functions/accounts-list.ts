import { httpHandler } from "../lib/http/handler.ts";
import { listAccounts } from "../lib/ledger/service.ts";
import { accountsListRoute } from "../lib/routes/ledger.ts";

export const handler = httpHandler(accountsListRoute, listAccounts);
