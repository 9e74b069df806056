import { httpHandler } from "../lib/http/handler.ts";
import { getTransferView } from "../lib/ledger/service.ts";
import { transfersGetRoute } from "../lib/routes/ledger.ts";

export const handler = httpHandler(transfersGetRoute, getTransferView);
