import * as z from "zod";
import { EVENT_TYPES } from "../events/model.ts";

/** Request and response schemas of the webhook endpoint routes (API.md). */
const ULID = "[0-9A-HJKMNP-TV-Z]{26}";
export const endpointId = z
  .string()
  .regex(new RegExp(`^we_${ULID}$`))
  .meta({ example: "we_01J9Z8V7A1B3C4D5E6F7G8H9JK" });

const url = z.string().min(1).max(2048).meta({
  description:
    "https:// only (http://127.0.0.1:PORT or http://localhost:PORT when the stage allows loopback); never a private, loopback, link-local, metadata or unique-local address.",
  example: "https://merchant.example.com/webhooks/micropay",
});
const enabledEvents = z
  .array(z.enum([...EVENT_TYPES, "*"]))
  .min(1)
  .max(EVENT_TYPES.length + 1)
  .refine((xs) => new Set(xs).size === xs.length, "no duplicates")
  .meta({ description: 'Event types, or ["*"] for all.', example: ["payment.succeeded"] });
const description = z.string().min(1).max(256);

export const createEndpointBody = z.strictObject({
  url,
  enabledEvents,
  description: description.optional(),
});
export const updateEndpointBody = z
  .strictObject({
    url: url.optional(),
    enabledEvents: enabledEvents.optional(),
    description: description.nullable().optional(),
    status: z.enum(["enabled", "disabled"]).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, "at least one member");
export const endpointParams = z.strictObject({ endpointId });
export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(1024).optional(),
});

const when = z.iso.datetime();
export const endpointView = z
  .object({
    id: endpointId,
    url: z.string(),
    enabledEvents: z.array(z.string()),
    description: z.string().nullable(),
    status: z.enum(["enabled", "disabled"]),
    disabledReason: z.string().nullable().meta({
      description: "Set when MicroPay disabled the endpoint (its deliveries failed for 3 days).",
    }),
    createdAt: when,
    updatedAt: when,
  })
  .meta({ id: "WebhookEndpoint" });
export const endpointWithSecret = endpointView
  .extend({
    secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]+=*$/)
      .meta({
        description: "whsec_ + base64 of 32 random bytes. Shown only here: store it now.",
      }),
  })
  .meta({ id: "WebhookEndpointWithSecret" });
export const endpointPage = z.object({
  data: z.array(endpointView),
  hasMore: z.boolean(),
  nextCursor: z.string().nullable(),
});
export const attemptView = z
  .object({
    id: z.string(),
    eventId: z.string(),
    attempt: z.number().int().min(1),
    outcome: z.enum(["succeeded", "failed"]),
    responseStatus: z.number().int().nullable(),
    error: z.string().nullable(),
    durationMs: z.number().int().min(0),
    attemptedAt: when,
    nextAttemptAt: when.nullable(),
  })
  .meta({ id: "WebhookAttempt" });
export const attemptPage = z.object({
  data: z.array(attemptView),
  hasMore: z.boolean(),
  nextCursor: z.string().nullable(),
});
