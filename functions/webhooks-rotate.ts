import { httpHandler } from "../lib/http/handler.ts";
import { webhooksRotateRoute } from "../lib/routes/webhooks.ts";
import { rotateSecret } from "../lib/webhooks/service.ts";
import { webhookDeps } from "../lib/webhooks/wiring.ts";

export const handler = httpHandler(webhooksRotateRoute, async (req) => ({
  status: 200,
  body: await rotateSecret(req, req.params.endpointId, webhookDeps()),
}));
