import * as z from "zod";
import type { CallContext } from "../context.ts";
import { newId } from "../ids.ts";
import type { Principal, Role } from "../routes/types.ts";
import { redactText } from "./redact.ts";

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
    /** The caller's User-Agent: bounded, secret-looking parts redacted. */
    readonly userAgent: string;
    /** The gateway's own id of the request (never the caller's X-Request-Id). */
    readonly requestId: string;
    /** A well-formed X-Request-Id the caller sent, if any (bounded, redacted). */
    readonly clientRequestId?: string | undefined;
    /** The API key (`key_...`, never its secret) the request was made with, if any. */
    readonly apiKeyId?: string | undefined;
  };
  /** Ids of what the action touched, e.g. { accountId, paymentId }. */
  readonly targets: Readonly<Record<string, string>>;
  /**
   * For money movements. `npm run audit -- verify` matches a committed movement's
   * success event (`payment.created`, `refund.created`, `deposit.created`,
   * `withdrawal.created`) to its ledger entries by `targets.transferId` alone (every
   * entry carries its transfer id); `debitAccountId` / `creditAccountId` are the
   * accounts of the debit and credit entries, `amount` their (equal) amount.
   */
  readonly money?: {
    readonly amount: number;
    readonly currency: string;
    readonly debitAccountId?: string;
    readonly creditAccountId?: string;
  };
  /**
   * Dotted paths of the members whose text was redacted (e.g. `actor.userAgent`),
   * absent when nothing was. Set by newAuditEvent and by the stream consumer.
   */
  readonly redacted?: readonly string[] | undefined;
}

/** Item attribute that marks an audit outbox item (the stream consumer keys on it). */
export const AUDIT_ITEM_TYPE = "audit_event";

export type AuditActor = AuditEvent["actor"];

/** Bounds of the caller-supplied actor fields (the schemas below enforce them too). */
export const USER_AGENT_MAX = 256;
export const REQUEST_ID_MAX = 128;

/**
 * The actor fields whose text a caller can choose (or, for `requestId`, could in
 * events written before it became the gateway's id), with their bounds. Their text is
 * never trusted: it is bounded and redacted, never a reason to refuse a record.
 */
const CALLER_TEXT_FIELDS = [
  ["userAgent", USER_AGENT_MAX],
  ["requestId", REQUEST_ID_MAX],
  ["clientRequestId", REQUEST_ID_MAX],
] as const;

/**
 * Bounds and redacts the caller-supplied text of an actor (lib/audit/redact.ts);
 * returns the copy and the paths (`actor.userAgent`, ...) of the fields it redacted.
 * Members that are not strings are left for the schema to judge.
 */
export function redactCallerText<A extends object>(actor: A): { actor: A; redacted: string[] } {
  const out: Record<string, unknown> = { ...(actor as Record<string, unknown>) };
  const redacted: string[] = [];
  for (const [field, max] of CALLER_TEXT_FIELDS) {
    const value = out[field];
    if (typeof value !== "string") continue;
    const r = redactText(value, max);
    out[field] = r.text;
    if (r.redacted) redacted.push(`actor.${field}`);
  }
  return { actor: out as A, redacted };
}

/** Sorted union of redacted paths; undefined when there are none. */
export function mergeRedacted(...lists: (readonly string[] | undefined)[]): string[] | undefined {
  const all = [...new Set(lists.flatMap((l) => l ?? []))].sort();
  return all.length > 0 ? all : undefined;
}

/**
 * The actor of an HTTP request (anonymous callers have a null userId). `requestId` is
 * the gateway's own id of the request; a well-formed id the caller sent is kept apart
 * as `clientRequestId`. (A caller object without `gatewayRequestId`, such as a CLI
 * script's, records its own server-made `requestId`.)
 */
export function actorOf(
  req: Pick<CallContext<Principal | null>, "principal" | "sourceIp" | "userAgent" | "requestId"> &
    Partial<Pick<CallContext<Principal | null>, "gatewayRequestId" | "clientRequestId">>,
): AuditActor {
  return {
    userId: req.principal?.userId ?? null,
    roles: req.principal?.roles ?? [],
    sourceIp: req.sourceIp,
    userAgent: req.userAgent,
    requestId: req.gatewayRequestId ?? req.requestId,
    ...(req.clientRequestId ? { clientRequestId: req.clientRequestId } : {}),
    ...(req.principal?.apiKeyId ? { apiKeyId: req.principal.apiKeyId } : {}),
  };
}

/**
 * A new audit event. The actor's caller-supplied text is bounded and redacted here
 * (so the outbox item never stores it either) and the event lists what was redacted.
 */
export function newAuditEvent(
  actor: AuditActor,
  action: string,
  init: Omit<AuditEvent, "eventId" | "action" | "at" | "actor" | "outcome"> & {
    outcome?: AuditEvent["outcome"];
  },
): AuditEvent {
  const clean = redactCallerText(actor);
  const redacted = mergeRedacted(init.redacted, clean.redacted);
  const { redacted: _given, ...rest } = init;
  return {
    eventId: newId("evt"),
    action,
    at: new Date().toISOString(),
    actor: clean.actor,
    outcome: "success",
    ...rest,
    ...(redacted ? { redacted } : {}),
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
    userAgent: z.string().max(USER_AGENT_MAX),
    requestId: z.string().min(1).max(REQUEST_ID_MAX),
    clientRequestId: z.string().min(1).max(REQUEST_ID_MAX).optional(),
    apiKeyId: z
      .string()
      .regex(/^key_[0-9A-HJKMNP-TV-Z]{26}$/)
      .optional(),
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
  /** Dotted member paths (`actor.userAgent`, `targets.x`), sorted, no duplicates. */
  redacted: z
    .array(
      z
        .string()
        .max(128)
        .regex(/^[a-zA-Z][a-zA-Z0-9]*(\.[a-zA-Z0-9]+)*$/),
    )
    .min(1)
    .max(32)
    .optional(),
});
