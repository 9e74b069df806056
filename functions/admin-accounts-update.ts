import { httpHandler } from "../lib/http/handler.ts";
import { setAccountStatus } from "../lib/ledger/service.ts";
import { adminAccountsUpdateRoute } from "../lib/routes/ledger.ts";

export const handler = httpHandler(adminAccountsUpdateRoute, setAccountStatus);
