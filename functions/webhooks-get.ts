import { httpHandler } from "../lib/http/handler.ts";
import { webhooksGetRoute } from "../lib/routes/webhooks.ts";
import { getEndpointView } from "../lib/webhooks/service.ts";
import { webhookDeps } from "../lib/webhooks/wiring.ts";

export const handler = httpHandler(webhooksGetRoute, async (req) => ({
  status: 200,
  body: await getEndpointView(req, req.params.endpointId, webhookDeps()),
}));
