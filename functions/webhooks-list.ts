import { httpHandler } from "../lib/http/handler.ts";
import { webhooksListRoute } from "../lib/routes/webhooks.ts";
import { listEndpointViews } from "../lib/webhooks/service.ts";
import { webhookDeps } from "../lib/webhooks/wiring.ts";

export const handler = httpHandler(webhooksListRoute, async (req) => ({
  status: 200,
  body: await listEndpointViews(req, req.query, webhookDeps()),
}));
