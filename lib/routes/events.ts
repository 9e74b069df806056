import { eventPage, eventParams, eventsQuery, eventView } from "../events/schemas.ts";
import { defineRoute, READ } from "./types.ts";

/**
 * Events (API.md "Events and signed webhooks"): what changed on the caller's accounts,
 * newest first, kept 30 days. Visibility (own accounts, either side; staff: all) is
 * decided in lib/events/service.ts.
 */
const READERS = ["customer", "merchant", "admin", "auditor"] as const;

export const eventsListRoute = defineRoute({
  id: "events-list",
  method: "GET",
  path: "/v1/events",
  summary: "Events about your accounts, newest first (admins and auditors: all)",
  tags: ["Events"],
  auth: { roles: READERS },
  query: eventsQuery,
  response: eventPage,
  successStatus: 200,
  errorCodes: ["service_unavailable"],
  tableAccess: "read",
  // The caller's accounts (gsi1), then one Query per account's event links (table);
  // staff: the day buckets of gsi1.
  table: { actions: [], query: ["table", "gsi1"] },
  usesSigningKey: true,
  example: { query: { limit: "20" } },
});

export const eventsGetRoute = defineRoute({
  id: "events-get",
  method: "GET",
  path: "/v1/events/{eventId}",
  summary: "One event (owner of an account it is about, admin, auditor)",
  tags: ["Events"],
  auth: { roles: READERS },
  params: eventParams,
  response: eventView,
  ...READ,
  table: { actions: ["GetItem"] },
  usesSigningKey: true,
  // No such event on a fresh stack: the contract test replays it as a documented 404.
  example: { params: { eventId: "evt_01J9Z8T6A1B3C4D5E6F7G8H9JK" } },
});

export const eventRoutes = [eventsListRoute, eventsGetRoute] as const;
