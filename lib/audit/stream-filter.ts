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
