import { httpHandler } from "../lib/http/handler.ts";
import { listAccountEntries } from "../lib/ledger/service.ts";
import { entriesListRoute } from "../lib/routes/ledger.ts";

export const handler = httpHandler(entriesListRoute, listAccountEntries);
