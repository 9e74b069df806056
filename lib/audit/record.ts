import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord } from "aws-lambda";
import { sha256Hex } from "./canonical.ts";
import { AUDIT_ITEM_TYPE, auditEventSchema, mergeRedacted, redactCallerText } from "./events.ts";
import { redactValues, secretFinding } from "./redact.ts";
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
 * What a record holds never keeps it out of the log:
 *
 * - the actor's caller-supplied text (`userAgent`, `requestId`, `clientRequestId`) is
 *   bounded and redacted in place before anything is checked (newAuditEvent already
 *   did so; this covers any other writer), and listed in `redacted`;
 * - when the guard (lib/audit/redact.ts) still finds something secret-looking in a
 *   server-built member, the record is written in redacted form: those strings
 *   redacted, members named like a secret left out, their paths added to `redacted`,
 *   and `guardRedacted` names them so the consumer counts it (metric + alarm).
 *
 * Only an item that is not a well-formed audit event at all (a code bug, not input)
 * throws AuditRecordError: the consumer reports it as a batch item failure; after the
 * bounded retries it is parked on the on-failure queue (alarmed) with its content.
 */

export class AuditRecordError extends Error {
  override name = "AuditRecordError";
}

export type Mapped =
  | {
      readonly kind: "record";
      readonly record: AuditRecord;
      /** Paths the guard had to redact (empty for a normal record). */
      readonly guardRedacted: readonly string[];
    }
  | { readonly kind: "ignored"; readonly why: string };

/** A record, and what the guard had to redact in it (empty for a normal record). */
export interface BuiltRecord {
  readonly record: AuditRecord;
  readonly guardRedacted: readonly string[];
}

const TTL_PRINCIPAL = "dynamodb.amazonaws.com";

/** The digest of a record's content (everything but `digest`). */
export function digestOf(record: AuditRecordContent | AuditRecord): string {
  const { digest: _ignored, ...content } = record as AuditRecord;
  return sha256Hex(content);
}

/** Builds, digests, validates and redaction-checks the record of a stored event. */
export function recordFromEvent(rawEvent: unknown): AuditRecord {
  return buildRecord(rawEvent).record;
}

function eventLabel(rawEvent: unknown): string {
  const id = (rawEvent as { eventId?: unknown } | null)?.eventId;
  return typeof id === "string" ? id.slice(0, 40) : "(no id)";
}

/** The event with its actor's caller-supplied text bounded and redacted. */
function withCallerTextRedacted(rawEvent: unknown): { event: unknown; redacted: string[] } {
  if (rawEvent === null || typeof rawEvent !== "object" || Array.isArray(rawEvent)) {
    return { event: rawEvent, redacted: [] };
  }
  const actor = (rawEvent as { actor?: unknown }).actor;
  if (actor === null || typeof actor !== "object" || Array.isArray(actor)) {
    return { event: rawEvent, redacted: [] };
  }
  const clean = redactCallerText(actor);
  return { event: { ...rawEvent, actor: clean.actor }, redacted: clean.redacted };
}

function checked(content: AuditRecordContent, label: string): AuditRecord {
  const parsed = auditRecordSchema.safeParse({ ...content, digest: sha256Hex(content) });
  if (!parsed.success) {
    const paths = parsed.error.issues.map((i) => i.path.join(".") || "(root)").join(", ");
    throw new AuditRecordError(`audit record ${label} fails the schema at: ${paths}`);
  }
  return parsed.data;
}

/**
 * Builds, digests and validates the record of a stored event; a record the guard
 * refuses comes back in redacted form with the paths it redacted.
 */
export function buildRecord(rawEvent: unknown): BuiltRecord {
  const label = eventLabel(rawEvent);
  const caller = withCallerTextRedacted(rawEvent);
  const parsed = auditEventSchema.safeParse(caller.event);
  if (!parsed.success) {
    const paths = parsed.error.issues.map((i) => i.path.join(".") || "(root)").join(", ");
    throw new AuditRecordError(`audit event ${label} is malformed at: ${paths}`);
  }
  const e = parsed.data;
  const roles = [...e.actor.roles].sort();
  const redacted = mergeRedacted(e.redacted, caller.redacted);
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
      ...(e.actor.clientRequestId !== undefined
        ? { clientRequestId: e.actor.clientRequestId }
        : {}),
      ...(e.actor.apiKeyId !== undefined ? { apiKeyId: e.actor.apiKeyId } : {}),
    },
    targets: { ...e.targets },
    ...(e.money ? { money: { ...e.money } } : {}),
    ...(redacted ? { redacted } : {}),
  };
  const record = checked(content, label);
  if (secretFinding(record) === undefined) return { record, guardRedacted: [] };

  // The guard refuses it: write it redacted (never drop it), flagged and counted.
  const { redacted: _before, ...rest } = content;
  const fallback = redactValues(rest);
  const all = mergeRedacted(redacted, fallback.paths);
  const redactedRecord = checked({ ...fallback.value, ...(all ? { redacted: all } : {}) }, label);
  const still = secretFinding(redactedRecord);
  if (still !== undefined || fallback.paths.length === 0) {
    // Unreachable by construction (a redacted value matches no pattern); a bug if seen.
    throw new AuditRecordError(
      `audit record ${label} could not be redacted: it looks like it holds ${still ?? "a secret"}`,
    );
  }
  return { record: redactedRecord, guardRedacted: fallback.paths };
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
  const built = buildRecord(item.event);
  return { kind: "record", record: built.record, guardRedacted: built.guardRedacted };
}
