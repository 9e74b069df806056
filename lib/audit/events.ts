import type { TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import type { HttpRequest } from "../http/types.ts";
import { newId } from "../ids.ts";
import type { Role } from "../routes/types.ts";
import { tableName } from "../store/client.ts";

/**
 * The audit event: the outbox record a state change writes in the same DynamoDB
 * transaction as the change itself (so there is never a change without its event),
 * and that a security event with no state change writes on its own. The audit
 * Lambda turns each into one record in the audit log group.
 *
 * Never put a password, hash, token, key or whole request body in here.
 */
export interface AuditEvent {
  readonly eventId: string;
  /** Dotted verb, e.g. `payment.created`, `auth.login_failed`, `account.frozen`. */
  readonly action: string;
  readonly outcome: "success" | "failure";
  /** Why a failure failed (a problem code), or a short note. */
  readonly reason?: string;
  /** RFC 3339 UTC. */
  readonly at: string;
  readonly actor: {
    readonly userId: string | null;
    readonly roles: readonly Role[];
    readonly sourceIp: string;
    readonly userAgent: string;
    readonly requestId: string;
  };
  /** Ids of what the action touched, e.g. { accountId, paymentId }. */
  readonly targets: Readonly<Record<string, string>>;
  /**
   * For money movements. `npm run audit -- verify` matches a committed movement's
   * success event (`payment.created`, `refund.created`, `deposit.created`,
   * `withdrawal.created`) to its ledger entries: payments by `targets.paymentId`,
   * refunds by `targets.refundId`, deposits and withdrawals by an entry id in
   * `targets` (e.g. `debitEntryId`); `debitAccountId` / `creditAccountId` are the
   * accounts of the debit and credit entries, `amount` their (equal) amount.
   */
  readonly money?: {
    readonly amount: number;
    readonly currency: string;
    readonly debitAccountId?: string;
    readonly creditAccountId?: string;
  };
}

/** Item attribute that marks an audit outbox item (the stream consumer keys on it). */
export const AUDIT_ITEM_TYPE = "audit_event";
/** Outbox items expire a week after writing; the stream has long delivered them by then. */
const OUTBOX_TTL_SECONDS = 7 * 24 * 3600;

export type AuditActor = AuditEvent["actor"];

/** The actor of an HTTP request (anonymous callers have a null userId). */
export function actorOf(
  req: Pick<HttpRequest, "principal" | "sourceIp" | "userAgent" | "requestId">,
): AuditActor {
  return {
    userId: req.principal?.userId ?? null,
    roles: req.principal?.roles ?? [],
    sourceIp: req.sourceIp,
    userAgent: req.userAgent.slice(0, 256),
    requestId: req.requestId,
  };
}

export function newAuditEvent(
  actor: AuditActor,
  action: string,
  init: Omit<AuditEvent, "eventId" | "action" | "at" | "actor" | "outcome"> & {
    outcome?: AuditEvent["outcome"];
  },
): AuditEvent {
  return {
    eventId: newId("evt"),
    action,
    at: new Date().toISOString(),
    actor,
    outcome: "success",
    ...init,
  };
}

/** The DynamoDB item for an audit event. */
export function auditItem(event: AuditEvent): Record<string, unknown> {
  return {
    pk: `AUDIT#${event.eventId}`,
    sk: "AUDIT",
    type: AUDIT_ITEM_TYPE,
    event,
    expiresAt: Math.floor(Date.now() / 1000) + OUTBOX_TTL_SECONDS,
  };
}

type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

/** The Put to add to a TransactWriteItems next to the change it records. */
export function auditPut(event: AuditEvent): TransactItem {
  return {
    Put: {
      TableName: tableName(),
      Item: auditItem(event),
      ConditionExpression: "attribute_not_exists(pk)",
    },
  };
}

const ROLE_VALUES = ["customer", "merchant", "admin", "auditor"] as const satisfies readonly Role[];

/**
 * The stored event as the stream consumer reads it back, checked strictly: an event
 * with an unknown member (say, a body someone attached) is refused, not passed on.
 */
export const auditEventSchema = z.strictObject({
  eventId: z.string().regex(/^evt_[0-9A-HJKMNP-TV-Z]{26}$/),
  action: z
    .string()
    .max(64)
    .regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/),
  outcome: z.enum(["success", "failure"]),
  reason: z.string().max(256).optional(),
  at: z.iso.datetime({ offset: true }),
  actor: z.strictObject({
    userId: z.string().min(1).max(64).nullable(),
    roles: z.array(z.enum(ROLE_VALUES)).max(ROLE_VALUES.length),
    sourceIp: z.string().min(1).max(64),
    userAgent: z.string().max(256),
    requestId: z.string().min(1).max(128),
  }),
  targets: z.record(
    z
      .string()
      .max(64)
      .regex(/^[a-zA-Z][a-zA-Z0-9]*$/),
    z.string().max(256),
  ),
  money: z
    .strictObject({
      amount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      currency: z.string().regex(/^[A-Z]{3}$/),
      debitAccountId: z.string().min(1).max(64).optional(),
      creditAccountId: z.string().min(1).max(64).optional(),
    })
    .optional(),
});
