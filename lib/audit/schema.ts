import * as z from "zod";
import { auditEventSchema } from "./events.ts";

/**
 * Version of the audit record layout; bump it when a field changes meaning.
 * 2: `actor.requestId` is the gateway's own request id (in 1 it could be the caller's
 * X-Request-Id); `actor.clientRequestId` and `redacted` added. Readers accept both.
 * `actor.apiKeyId` (optional, issue 15) is a new member, not a changed meaning.
 */
export const AUDIT_RECORD_VERSION = 2;

/**
 * One audit record: what the audit Lambda writes, as one JSON log event, to the audit
 * log group for each audit event (PCI DSS v4.0 requirement 10.2.2):
 *
 * | PCI DSS 10.2.2     | field                                                          |
 * | ------------------ | -------------------------------------------------------------- |
 * | user identification | `actor.userId` + `actor.roles`; `actor.type` is `anonymous` (userId null, see sourceIp), `user`, or `admin` (held the admin role); `actor.apiKeyId` when the request was made with that API key (the key's id, never its secret) |
 * | type of event      | `action` (dotted verb, e.g. `payment.created`, `auth.login_failed`) |
 * | date and time      | `at` (RFC 3339 UTC, milliseconds; also the log event timestamp) |
 * | success / failure  | `outcome` (`success` or `failure`) and `reason` (problem code or note) |
 * | origination        | `actor.sourceIp`, `actor.userAgent`, `actor.requestId` (the gateway's request id), `actor.clientRequestId` (a well-formed X-Request-Id the caller sent) |
 * | affected resource  | `targets` (ids, e.g. `{ accountId, paymentId }`); for money `money.amount` (integer minor units), `money.currency`, `money.debitAccountId`, `money.creditAccountId` |
 *
 * plus `v` (layout version), `eventId` (the outbox event id; the dedupe key),
 * `redacted` (present only when some text was redacted: the dotted paths of those
 * members, e.g. `["actor.userAgent"]`) and `digest`: SHA-256 hex of the canonical JSON (lib/audit/canonical.ts: keys sorted,
 * no whitespace, UTF-8) of the record without its `digest` member.
 *
 * Logs Insights discovers these fields from the JSON message, nested ones with dots
 * (`actor.userId`, `money.amount`, `targets.paymentId`).
 *
 * Never a password, hash, token, key or request body: the record is built from the
 * strict event schema's fields only; caller-supplied text (User-Agent, the caller's
 * request id) is bounded and its secret-looking parts redacted in place; and
 * lib/audit/redact.ts's guard redacts (and the consumer counts) any other member that
 * still looks like a secret. A record is never dropped for what it holds.
 */
export const auditRecordSchema = z.strictObject({
  v: z.union([z.literal(1), z.literal(AUDIT_RECORD_VERSION)]),
  eventId: auditEventSchema.shape.eventId,
  action: auditEventSchema.shape.action,
  outcome: auditEventSchema.shape.outcome,
  reason: auditEventSchema.shape.reason,
  at: z.iso.datetime({ precision: 3 }),
  actor: auditEventSchema.shape.actor
    .extend({ type: z.enum(["anonymous", "user", "admin"]) })
    .refine((a) => (a.type === "anonymous") === (a.userId === null), {
      message: "actor.type is anonymous exactly when actor.userId is null",
    })
    .refine((a) => (a.type === "admin") === a.roles.includes("admin"), {
      message: "actor.type is admin exactly when actor.roles holds admin",
    }),
  targets: auditEventSchema.shape.targets,
  money: auditEventSchema.shape.money,
  redacted: auditEventSchema.shape.redacted,
  digest: z.string().regex(/^[0-9a-f]{64}$/),
});

export type AuditRecord = z.infer<typeof auditRecordSchema>;
export type AuditRecordContent = Omit<AuditRecord, "digest">;

/**
 * Movement actions: each committed money movement writes exactly one of these, naming
 * its transfer in `targets.transferId`; the value is the transfer `kind` it records.
 */
export const MOVEMENT_ACTIONS = {
  "payment.created": "payment",
  "refund.created": "refund",
  "deposit.created": "deposit",
  "withdrawal.created": "withdrawal",
  // A hold's capture (API.md "Holds"): a transfer of kind "capture".
  "payment.captured": "capture",
} as const;
export type MovementAction = keyof typeof MOVEMENT_ACTIONS;

export function isMovementAction(action: string): action is MovementAction {
  return Object.hasOwn(MOVEMENT_ACTIONS, action);
}
