import { newId } from "../ids.ts";

/**
 * Events (API.md "Events and signed webhooks"): what a merchant's server learns about
 * its accounts. Each is written in the same TransactWriteItems as the change it reports
 * (lib/store/events.ts), so an event exists exactly when its change committed; the
 * webhook dispatcher reads only committed event items from the table stream.
 *
 * Not to be confused with audit events (lib/audit/events.ts): those also carry `evt_`
 * ids, but they are a different item kind (`audit_event`), go to the audit log and are
 * never shown to customers. An event here is the customer-facing notification.
 */
export const EVENT_TYPES = [
  "payment.succeeded",
  "payment.requires_capture",
  "payment.canceled",
  "refund.succeeded",
  "transfer.created",
  "account.updated",
] as const;

/** Item kind of a stored event (distinct from the audit outbox's `audit_event`). */
export const EVENT_ITEM_TYPE = "event";

export type EventType = (typeof EVENT_TYPES)[number];

export interface MicroPayEvent {
  readonly id: string;
  readonly type: EventType;
  readonly createdAt: string;
  /** The resource as it stood right after the change. */
  readonly data: { readonly object: unknown };
}

/** An event with the accounts it is about (either side of a movement; never shown). */
export interface EventRecord {
  readonly event: MicroPayEvent;
  /** Customer accounts the event is about: who may list it, whose endpoints get it. */
  readonly accountIds: readonly string[];
}

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/** A new event about `accountIds` (duplicates dropped) reporting `object` after the change. */
export function newEvent(
  type: EventType,
  object: unknown,
  accountIds: readonly string[],
  createdAt = new Date().toISOString(),
): EventRecord {
  return {
    event: { id: newId("evt"), type, createdAt, data: { object } },
    accountIds: [...new Set(accountIds)],
  };
}

/** Does an endpoint's `enabledEvents` (types, or ["*"]) take this type? */
export function typeEnabled(enabled: readonly string[], type: string): boolean {
  return enabled.includes("*") || enabled.includes(type);
}
