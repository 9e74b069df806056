import { httpHandler } from "../lib/http/handler.ts";
import { createAccount } from "../lib/ledger/service.ts";
import { accountsCreateRoute } from "../lib/routes/ledger.ts";

export const handler = httpHandler(accountsCreateRoute, createAccount);
