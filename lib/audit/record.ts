import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { sha256Hex } from "./canonical.ts";
import { AUDIT_ITEM_TYPE, auditEventSchema } from "./events.ts";
import { assertNoSecrets } from "./redact.ts";
import {
  AUDIT_RECORD_VERSION,
  type AuditRecord,
  type AuditRecordContent,
  auditRecordSchema,
} from "./schema.ts";

/**
 * Stream record -> audit record: pure, no AWS calls. Only an INSERT of an audit
 * outbox item (`type: "audit_event"`) becomes a record; everything else the table's
 * stream carries is ignored:
 *
 * - REMOVE by DynamoDB's TTL (userIdentity principalId `dynamodb.amazonaws.com`),
 *   and any other REMOVE;
 * - MODIFY (outbox items are written once and never updated);
 * - items that are not audit events (accounts, entries, users, dedupe markers...).
 *
 * An audit item that cannot be turned into a valid, secret-free record throws
 * AuditRecordError: the consumer reports it as a batch item failure and writes nothing
 * for it (the poison record path).
 */

export class AuditRecordError extends Error {
  override name = "AuditRecordError";
}

export type Mapped =
  | { readonly kind: "record"; readonly record: AuditRecord }
  | { readonly kind: "ignored"; readonly why: string };

const TTL_PRINCIPAL = "dynamodb.amazonaws.com";

/** The digest of a record's content (everything but `digest`). */
export function digestOf(record: AuditRecordContent | AuditRecord): string {
  const { digest: _ignored, ...content } = record as AuditRecord;
  return sha256Hex(content);
}

/** Builds, digests, validates and redaction-checks the record of a stored event. */
export function recordFromEvent(rawEvent: unknown): AuditRecord {
  const parsed = auditEventSchema.safeParse(rawEvent);
  const eventId =
    typeof (rawEvent as { eventId?: unknown } | null)?.eventId === "string"
      ? String((rawEvent as { eventId: string }).eventId).slice(0, 40)
      : "(no id)";
  if (!parsed.success) {
    const paths = parsed.error.issues.map((i) => i.path.join(".") || "(root)").join(", ");
    throw new AuditRecordError(`audit event ${eventId} is malformed at: ${paths}`);
  }
  const e = parsed.data;
  const roles = [...e.actor.roles].sort();
  const content: AuditRecordContent = {
    v: AUDIT_RECORD_VERSION,
    eventId: e.eventId,
    action: e.action,
    outcome: e.outcome,
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    at: new Date(e.at).toISOString(),
    actor: {
      type: e.actor.userId === null ? "anonymous" : roles.includes("admin") ? "admin" : "user",
      userId: e.actor.userId,
      roles,
      sourceIp: e.actor.sourceIp,
      userAgent: e.actor.userAgent,
      requestId: e.actor.requestId,
    },
    targets: { ...e.targets },
    ...(e.money ? { money: { ...e.money } } : {}),
  };
  const record = { ...content, digest: sha256Hex(content) };
  const checked = auditRecordSchema.safeParse(record);
  if (!checked.success) {
    const paths = checked.error.issues.map((i) => i.path.join(".") || "(root)").join(", ");
    throw new AuditRecordError(`audit record ${eventId} fails the schema at: ${paths}`);
  }
  try {
    assertNoSecrets(checked.data, `audit record ${eventId}`);
  } catch (error) {
    throw new AuditRecordError((error as Error).message);
  }
  return checked.data;
}

/** Maps one DynamoDB stream record; throws AuditRecordError for a poison audit item. */
export function mapStreamRecord(r: DynamoDBRecord): Mapped {
  if (r.eventName === "REMOVE") {
    const ttl = r.userIdentity?.principalId === TTL_PRINCIPAL;
    return { kind: "ignored", why: ttl ? "ttl-delete" : "remove" };
  }
  if (r.eventName !== "INSERT") return { kind: "ignored", why: "modify" };
  const image = r.dynamodb?.NewImage;
  if (!image) return { kind: "ignored", why: "no-image" };
  // Cheap test before unmarshalling the whole item.
  if (image.type?.S !== AUDIT_ITEM_TYPE) return { kind: "ignored", why: "not-audit" };
  let item: Record<string, unknown>;
  try {
    item = unmarshall(image as Record<string, AttributeValue>, { wrapNumbers: false });
  } catch {
    throw new AuditRecordError("audit item cannot be read");
  }
  return { kind: "record", record: recordFromEvent(item.event) };
}
