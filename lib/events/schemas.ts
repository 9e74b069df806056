import * as z from "zod";
import { EVENT_TYPES } from "./model.ts";

/** Request and response schemas of the event routes (API.md "Events and signed webhooks"). */
const ULID = "[0-9A-HJKMNP-TV-Z]{26}";
export const eventId = z
  .string()
  .regex(new RegExp(`^evt_${ULID}$`))
  .meta({ example: "evt_01J9Z8T6A1B3C4D5E6F7G8H9JK" });
export const eventType = z.enum(EVENT_TYPES);

export const eventsQuery = z.strictObject({
  type: eventType.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(1024).optional(),
});
export const eventParams = z.strictObject({ eventId });

export const eventView = z
  .object({
    id: eventId,
    type: eventType,
    createdAt: z.iso.datetime(),
    data: z.object({
      object: z.record(z.string(), z.unknown()).meta({
        description: "The resource (payment, refund, transfer, account) after the change.",
      }),
    }),
  })
  .meta({ id: "Event" });

export const eventPage = z.object({
  data: z.array(eventView),
  hasMore: z.boolean(),
  nextCursor: z.string().nullable(),
});
