import { listEvents } from "../lib/events/service.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { eventsListRoute } from "../lib/routes/events.ts";
import { eventDeps } from "../lib/store/events.ts";

export const handler = httpHandler(eventsListRoute, async (req) => ({
  status: 200,
  body: await listEvents(req, req.query, eventDeps),
}));
