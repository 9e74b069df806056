import { httpHandler } from "../lib/http/handler.ts";
import { webhooksCreateRoute } from "../lib/routes/webhooks.ts";
import { createEndpoint } from "../lib/webhooks/service.ts";
import { webhookDeps } from "../lib/webhooks/wiring.ts";

export const handler = httpHandler(webhooksCreateRoute, async (req) => ({
  status: 201,
  body: await createEndpoint(req, req.body, webhookDeps()),
}));
