import { httpHandler } from "../lib/http/handler.ts";
import { webhooksDeliveriesRoute } from "../lib/routes/webhooks.ts";
import { listDeliveries } from "../lib/webhooks/service.ts";
import { webhookDeps } from "../lib/webhooks/wiring.ts";

export const handler = httpHandler(webhooksDeliveriesRoute, async (req) => ({
  status: 200,
  body: await listDeliveries(req, req.params.endpointId, req.query, webhookDeps()),
}));
