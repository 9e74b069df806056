import { AUDIT_ITEM_TYPE, type AuditEvent } from "../audit/events.ts";
import { tableName } from "./client.ts";
import { auditKey } from "./keys.ts";
import { type Labelled, labelled } from "./transact.ts";

/** Outbox items expire a week after writing; the stream has long delivered them by then. */
const OUTBOX_TTL_SECONDS = 7 * 24 * 3600;

/** The DynamoDB item for an audit event (the outbox the stream consumer ships to Logs). */
export function auditItem(event: AuditEvent): Record<string, unknown> {
  return {
    ...auditKey(event.eventId),
    type: AUDIT_ITEM_TYPE,
    event,
    expiresAt: Math.floor(Date.now() / 1000) + OUTBOX_TTL_SECONDS,
  };
}

/** The Put to add to a TransactWriteItems next to the change it records (the outbox). */
export function auditPut(event: AuditEvent): Labelled {
  return labelled("audit", {
    Put: {
      TableName: tableName(),
      Item: auditItem(event),
      ConditionExpression: "attribute_not_exists(pk)",
    },
  });
}
