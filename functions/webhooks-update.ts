import { httpHandler } from "../lib/http/handler.ts";
import { webhooksUpdateRoute } from "../lib/routes/webhooks.ts";
import { updateEndpoint } from "../lib/webhooks/service.ts";
import { webhookDeps } from "../lib/webhooks/wiring.ts";

export const handler = httpHandler(webhooksUpdateRoute, async (req) => ({
  status: 200,
  body: await updateEndpoint(req, req.params.endpointId, req.body, webhookDeps()),
}));
