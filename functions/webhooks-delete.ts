import { httpHandler } from "../lib/http/handler.ts";
import { webhooksDeleteRoute } from "../lib/routes/webhooks.ts";
import { deleteEndpoint } from "../lib/webhooks/service.ts";
import { webhookDeps } from "../lib/webhooks/wiring.ts";

export const handler = httpHandler(webhooksDeleteRoute, async (req) => {
  await deleteEndpoint(req, req.params.endpointId, webhookDeps());
  return { status: 204 };
});
