import type { AuditActor } from "../audit/events.ts";
import { holdExpired, type PaymentView } from "./model.ts";
import type { LedgerDeps } from "./port.ts";
import { settlement } from "./settlement.ts";

/**
 * Expiry of holds (API.md "Holds"), trusting no timer: a hold past its
 * `captureBefore` already reads canceled and can no longer be captured (lib/ledger/model.ts
 * `paymentAt`, and the capture's condition `captureBefore > now`). What is left is to
 * release its amount on the books (`held` down, `available` up) with its audit record
 * (`payment.expired`) and event (`payment.canceled`), in ONE transaction whose condition
 * is that the payment is still open and expired, so it races capture and cancel to
 * exactly one winner. Two callers release: a movement refused for funds that only
 * expired holds keep (lib/ledger/posting.ts `commitOrRefuse`, then it tries again), and
 * the scheduled sweeper (`sweepExpiredHolds`: an EventBridge schedule in AWS, a timer in
 * the local stack; functions/hold-sweeper.ts).
 */

/** The audit actor of a release nobody asked for: the sweeper. */
export const SWEEPER_ACTOR: AuditActor = {
  userId: null,
  roles: [],
  sourceIp: "0.0.0.0",
  userAgent: "micropay-hold-sweeper",
  requestId: "hold-sweeper",
};

/** The payment once its expired hold is released. */
export function expiredView(p: PaymentView): PaymentView {
  return { ...p, status: "canceled", amountCapturable: 0, cancellationReason: "expired" };
}

/**
 * Releases one expired hold; true when this call released it, false when it was not
 * (or no longer) an open expired hold (another settlement won: nothing to do).
 */
export async function expireHold(
  actor: AuditActor,
  paymentId: string,
  deps: LedgerDeps,
): Promise<boolean> {
  const now = deps.now();
  const before = await deps.store.getPayment(paymentId);
  if (!before || !holdExpired(before, now)) return false;
  const out = await deps.store.settleHold(
    settlement({
      kind: "expire",
      before,
      after: expiredView(before),
      actor,
      action: "payment.expired",
      eventType: "payment.canceled",
      money: { amount: before.amountCapturable, currency: before.currency },
      now,
    }),
  );
  return out.ok;
}

/** Releases the expired holds of one account (up to `limit`); how many this call released. */
export async function releaseExpiredHolds(
  actor: AuditActor,
  accountId: string,
  deps: LedgerDeps,
  limit = 25,
): Promise<number> {
  const due = await deps.store.expiredHoldsOf(accountId, deps.now(), limit);
  let released = 0;
  for (const hold of due) if (await expireHold(actor, hold.paymentId, deps)) released++;
  return released;
}

/**
 * The sweeper's run: releases expired holds of every account, oldest first, up to
 * `pages` x `pageSize`; what it leaves is due on the next run. How many it released.
 */
export async function sweepExpiredHolds(
  deps: LedgerDeps,
  pageSize = 100,
  pages = 10,
): Promise<{ released: number; seen: number }> {
  let released = 0;
  let seen = 0;
  for (let page = 0; page < pages; page++) {
    const due = await deps.store.dueHolds(deps.now(), pageSize);
    seen += due.length;
    let n = 0;
    for (const hold of due) if (await expireHold(SWEEPER_ACTOR, hold.paymentId, deps)) n++;
    released += n;
    // A short page was the last; a page of nothing released would come back the same.
    if (due.length < pageSize || n === 0) break;
  }
  return { released, seen };
}
