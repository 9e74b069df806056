import { getEvent } from "../lib/events/service.ts";
import { httpHandler } from "../lib/http/handler.ts";
import { eventsGetRoute } from "../lib/routes/events.ts";
import { eventDeps } from "../lib/store/events.ts";

export const handler = httpHandler(eventsGetRoute, async (req) => ({
  status: 200,
  body: await getEvent(req, req.params.eventId, eventDeps),
}));
