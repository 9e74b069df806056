import { EVENT_ITEM_TYPE } from "../events/model.ts";
import { AUDIT_ITEM_TYPE } from "./events.ts";

/**
 * Which table stream records invoke the audit consumer, as a Lambda event filter
 * pattern (plain data): only the INSERT of an audit outbox item. Everything else the
 * stream carries (accounts, entries, users, dedupe markers, MODIFY, REMOVE by TTL) is
 * what lib/audit/record.ts ignores anyway; the filter keeps it from invoking the
 * function at all. The CDK event source mapping (infra/constructs/audit.ts) and the
 * local stream poller (local/stream-poller.ts) both apply this one pattern.
 */
export const AUDIT_STREAM_FILTER = {
  eventName: ["INSERT"],
  dynamodb: { NewImage: { type: { S: [AUDIT_ITEM_TYPE] } } },
} as const;

/**
 * The webhook dispatcher's own subscription to the same stream: only the INSERT of an
 * event item (lib/store/events.ts; never its per-account link items, never an audit
 * item). The stream carries only committed writes, so a dispatcher fed by this filter
 * never sees an event of a change that did not commit. The CDK mapping
 * (infra/constructs/webhooks.ts) and the local poller's second subscription apply it.
 */
export const WEBHOOK_STREAM_FILTER = {
  eventName: ["INSERT"],
  dynamodb: { NewImage: { type: { S: [EVENT_ITEM_TYPE] } } },
} as const;
