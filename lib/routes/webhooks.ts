import {
  attemptPage,
  createEndpointBody,
  endpointPage,
  endpointParams,
  endpointView,
  endpointWithSecret,
  listQuery,
  updateEndpointBody,
} from "../webhooks/schemas.ts";
import { defineRoute } from "./types.ts";

/**
 * Webhook endpoints (API.md "Events and signed webhooks"): customers and merchants
 * manage their own; another owner's endpoint is a 404 (lib/webhooks/service.ts). The
 * signing key is needed to verify the token and to seal or open endpoint secrets.
 */
const OWNERS = ["customer", "merchant"] as const;
const WE = "we_01J9Z8V7A1B3C4D5E6F7G8H9JK";
const ERR = ["not_found", "service_unavailable"] as const;

export const webhooksCreateRoute = defineRoute({
  id: "webhooks-create",
  method: "POST",
  path: "/v1/webhook-endpoints",
  summary: "Register a webhook endpoint (the signing secret is shown only in this answer)",
  tags: ["Webhooks"],
  auth: { roles: OWNERS },
  body: createEndpointBody,
  response: endpointWithSecret,
  successStatus: 201,
  errorCodes: ["invalid_webhook_url", "service_unavailable"],
  tableAccess: "write",
  table: { actions: ["PutItem"] },
  usesSigningKey: true,
  // The new endpoint's signing secret is sealed (purpose webhook-secret).
  usesSecretBox: true,
  // A loopback URL, so the contract test's replay on a local stack (loopback allowed)
  // saves it; in AWS only https:// to a public address is accepted.
  example: {
    body: { url: "http://127.0.0.1:4000/webhooks", enabledEvents: ["payment.succeeded"] },
  },
});

export const webhooksListRoute = defineRoute({
  id: "webhooks-list",
  method: "GET",
  path: "/v1/webhook-endpoints",
  summary: "Your webhook endpoints, newest first",
  tags: ["Webhooks"],
  auth: { roles: OWNERS },
  query: listQuery,
  response: endpointPage,
  successStatus: 200,
  errorCodes: ["service_unavailable"],
  tableAccess: "read",
  table: { actions: [], query: ["table"] },
  usesSigningKey: true,
  example: { query: { limit: "20" } },
});

export const webhooksGetRoute = defineRoute({
  id: "webhooks-get",
  method: "GET",
  path: "/v1/webhook-endpoints/{endpointId}",
  summary: "One of your webhook endpoints",
  tags: ["Webhooks"],
  auth: { roles: OWNERS },
  params: endpointParams,
  response: endpointView,
  successStatus: 200,
  errorCodes: [...ERR],
  tableAccess: "read",
  table: { actions: ["GetItem"] },
  usesSigningKey: true,
  example: { params: { endpointId: WE } },
});

export const webhooksUpdateRoute = defineRoute({
  id: "webhooks-update",
  method: "PATCH",
  path: "/v1/webhook-endpoints/{endpointId}",
  summary: "Change a webhook endpoint's URL, event types, description or status",
  tags: ["Webhooks"],
  auth: { roles: OWNERS },
  params: endpointParams,
  body: updateEndpointBody,
  response: endpointView,
  successStatus: 200,
  errorCodes: [...ERR, "invalid_webhook_url", "concurrent_update"],
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem"] },
  usesSigningKey: true,
  example: { params: { endpointId: WE }, body: { status: "disabled" } },
});

export const webhooksDeleteRoute = defineRoute({
  id: "webhooks-delete",
  method: "DELETE",
  path: "/v1/webhook-endpoints/{endpointId}",
  summary: "Delete a webhook endpoint (no further deliveries)",
  tags: ["Webhooks"],
  auth: { roles: OWNERS },
  params: endpointParams,
  successStatus: 204,
  errorCodes: [...ERR],
  tableAccess: "write",
  table: { actions: ["DeleteItem", "PutItem"] },
  usesSigningKey: true,
  example: { params: { endpointId: WE } },
});

export const webhooksRotateRoute = defineRoute({
  id: "webhooks-rotate",
  method: "POST",
  path: "/v1/webhook-endpoints/{endpointId}/rotate-secret",
  summary: "New signing secret; the old one keeps signing beside it for 24 hours",
  tags: ["Webhooks"],
  auth: { roles: OWNERS },
  params: endpointParams,
  response: endpointWithSecret,
  successStatus: 200,
  errorCodes: [...ERR, "concurrent_update"],
  tableAccess: "write",
  table: { actions: ["GetItem", "PutItem"] },
  usesSigningKey: true,
  // The new signing secret is sealed (purpose webhook-secret).
  usesSecretBox: true,
  example: { params: { endpointId: WE } },
});

export const webhooksDeliveriesRoute = defineRoute({
  id: "webhooks-deliveries",
  method: "GET",
  path: "/v1/webhook-endpoints/{endpointId}/deliveries",
  summary: "An endpoint's delivery attempts, newest first",
  tags: ["Webhooks"],
  auth: { roles: OWNERS },
  params: endpointParams,
  query: listQuery,
  response: attemptPage,
  successStatus: 200,
  errorCodes: [...ERR],
  tableAccess: "read",
  table: { actions: ["GetItem"], query: ["table"] },
  usesSigningKey: true,
  example: { params: { endpointId: WE }, query: { limit: "20" } },
});

export const webhookRoutes = [
  webhooksCreateRoute,
  webhooksListRoute,
  webhooksGetRoute,
  webhooksUpdateRoute,
  webhooksDeleteRoute,
  webhooksRotateRoute,
  webhooksDeliveriesRoute,
] as const;
