import { type AuditActor, type AuditEvent, newAuditEvent } from "../audit/events.ts";
import { newEvent } from "../events/model.ts";
import { answerBody, type IdempotencyClaim } from "../idempotency.ts";
import type { PaymentView } from "./model.ts";
import type { HoldSettlement } from "./port.ts";

/**
 * A hold's settlement as the store takes it (capture, cancel and expiry alike): the audit
 * event names the payment, its two accounts and a capture's transfer; the event goes to
 * both accounts; a route's idempotency record answers with the payment after.
 */
export function settlement(s: {
  readonly kind: HoldSettlement["kind"];
  readonly before: PaymentView;
  readonly after: PaymentView;
  readonly capture?: HoldSettlement["capture"];
  readonly actor: AuditActor;
  readonly action: "payment.captured" | "payment.canceled" | "payment.expired";
  readonly eventType: "payment.succeeded" | "payment.canceled";
  readonly money: AuditEvent["money"];
  readonly idempotency?: IdempotencyClaim | undefined;
  readonly now: string;
}): HoldSettlement {
  const { before, after, capture } = s;
  const accounts = [before.sourceAccountId, before.destinationAccountId];
  return {
    kind: s.kind,
    before,
    after,
    ...(capture ? { capture } : {}),
    audit: newAuditEvent(s.actor, s.action, {
      targets: {
        ...(capture ? { transferId: capture.transfer.id } : {}),
        paymentId: before.id,
        sourceAccountId: before.sourceAccountId,
        destinationAccountId: before.destinationAccountId,
      },
      money: s.money,
    }),
    event: newEvent(s.eventType, after, accounts, s.now),
    ...(s.idempotency ? { idempotency: { claim: s.idempotency, body: answerBody(after) } } : {}),
    now: s.now,
  };
}
