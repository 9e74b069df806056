import { actorOf, newAuditEvent } from "../audit/events.ts";
import type { ApprovalDecision } from "../auth/approvals.ts";
import { type EventType, newEvent } from "../events/model.ts";
import { AlreadyAnswered, answerBody } from "../idempotency.ts";
import { forbidden, notFound, Refusal } from "../problems.ts";
import { releaseExpiredHolds } from "./expiry.ts";
import { type EntryView, systemAccountId, type Transfer, type TransferKind } from "./model.ts";
import type {
  AccountRef,
  AccountState,
  BalanceChange,
  LedgerContext,
  LedgerDeps,
  PostingLabel,
  PostingRecord,
  PostOutcome,
} from "./port.ts";
import {
  accountFrozen,
  availableOf,
  canRead,
  currencyMismatch,
  entryPair,
  insufficientFunds,
  refundExceedsPayment,
} from "./rules.ts";

/**
 * The one posting function: every movement (deposit, withdrawal, payment, refund) is a
 * transfer posted here. It builds the transfer, its two entries (each with
 * `transferId`), the two balance changes with their conditions, the domain record, the
 * audit event (naming `targets.transferId`) and the idempotency record's completion,
 * and hands them to the store as ONE posting (`store.post`, one TransactWriteItems in
 * DynamoDB). A refused posting comes back as the labels whose conditions failed, and
 * `refusalOf` ranks them in the one precedence order below.
 */

export interface TransferSpec<V> {
  readonly kind: Exclude<TransferKind, "capture">;
  readonly transferId: string;
  readonly debit: BalanceChange;
  readonly credit: BalanceChange;
  readonly amount: number;
  readonly currency: string;
  readonly paymentId?: string;
  readonly refundId?: string;
  readonly reference?: string;
  readonly now: string;
  readonly record?: PostingRecord;
  /** The event this movement reports with its view, and the customer accounts it is about. */
  readonly event: { readonly type: EventType; readonly accountIds: readonly string[] };
  /** The audit event's action and the targets besides `transferId`. */
  readonly audit: { readonly action: string; readonly targets: Record<string, string> };
  /** The answer (the view the caller gets, and the idempotency record keeps). */
  readonly view: (transfer: Transfer, entries: readonly [EntryView, EntryView]) => V;
  /** The approval this movement carries out (dual control): committed with it, named in its audit. */
  readonly approval?: ApprovalDecision | undefined;
}

export async function postTransfer<V>(
  ctx: LedgerContext,
  spec: TransferSpec<V>,
  deps: LedgerDeps,
): Promise<V> {
  const debitId = accountIdOf(spec.debit.account, spec.currency);
  const creditId = accountIdOf(spec.credit.account, spec.currency);
  const transfer: Transfer = {
    id: spec.transferId,
    kind: spec.kind,
    debitAccountId: debitId,
    creditAccountId: creditId,
    amount: spec.amount,
    currency: spec.currency,
    ...(spec.paymentId ? { paymentId: spec.paymentId } : {}),
    ...(spec.refundId ? { refundId: spec.refundId } : {}),
    ...(spec.reference !== undefined ? { reference: spec.reference } : {}),
    createdAt: spec.now,
  };
  const entries = entryPair({
    kind: spec.kind,
    debitAccountId: debitId,
    creditAccountId: creditId,
    amount: spec.amount,
    currency: spec.currency,
    now: spec.now,
    newEntryId: () => deps.newId("ent"),
    transferId: transfer.id,
    ...(spec.paymentId ? { paymentId: spec.paymentId } : {}),
    ...(spec.refundId ? { refundId: spec.refundId } : {}),
    ...(spec.reference !== undefined ? { reference: spec.reference } : {}),
  });
  const view = spec.view(transfer, entries);
  const audit = newAuditEvent(actorOf(ctx), spec.audit.action, {
    targets: {
      transferId: transfer.id,
      ...spec.audit.targets,
      ...(spec.approval ? { approvalId: spec.approval.approvalId } : {}),
      ...(spec.kind === "deposit" || spec.kind === "withdrawal"
        ? { debitEntryId: entries[0].id, creditEntryId: entries[1].id }
        : {}),
    },
    money: {
      amount: spec.amount,
      currency: spec.currency,
      debitAccountId: debitId,
      creditAccountId: creditId,
    },
  });
  const posting = {
    transfer,
    entries,
    debit: spec.debit,
    credit: spec.credit,
    ...(spec.record ? { record: spec.record } : {}),
    audit,
    event: newEvent(spec.event.type, view, spec.event.accountIds, spec.now),
    ...(ctx.idempotency ? { idempotency: { claim: ctx.idempotency, body: answerBody(view) } } : {}),
    ...(spec.approval ? { approval: spec.approval } : {}),
    now: spec.now,
  };
  await commitOrRefuse(ctx, spec, () => deps.store.post(posting), deps);
  return view;
}

/** Rounds of "release the debit account's expired holds, then try again". */
const RELEASE_ROUNDS = 3;

/**
 * Sends one movement (`attempt`: a posting or a hold) and returns when it committed;
 * otherwise replays an answered idempotency key or throws the ranked refusal. A
 * refusal for funds on an account that holds money is looked at once more: holds past
 * their `captureBefore` keep nothing (API.md "Holds"), so their release transactions
 * (lib/ledger/expiry.ts) run first and the movement is sent again; it never fails for
 * funds that only expired holds kept.
 */
export async function commitOrRefuse(
  ctx: LedgerContext,
  spec: Pick<TransferSpec<unknown>, "debit" | "credit" | "amount" | "currency">,
  attempt: () => Promise<PostOutcome>,
  deps: LedgerDeps,
): Promise<void> {
  for (let round = 0; ; round++) {
    const out = await attempt();
    if (out.ok) return;
    if (out.answered) throw new AlreadyAnswered(out.answered);
    const refusal = refusalOf(ctx, spec, out.failed);
    // A condition that should never fail (a system account of the wrong kind): a bug.
    if (!refusal) throw new Error(`posting refused at ${[...out.failed.keys()].join(",")}`);
    const debit = spec.debit.account;
    const held = Number(out.failed.get(spec.debit.label)?.held ?? 0);
    if (
      refusal.code === "insufficient_funds" &&
      debit.type === "customer" &&
      held > 0 &&
      round < RELEASE_ROUNDS &&
      (await releaseExpiredHolds(actorOf(ctx), debit.accountId, deps)) > 0
    ) {
      continue;
    }
    throw refusal;
  }
}

/** The account a side touches (a system account's id is deterministic). */
export const accountIdOf = (ref: AccountRef, currency: string): string =>
  ref.type === "customer" ? ref.accountId : systemAccountId(ref.purpose, currency);

const customer = (a: AccountState | undefined): a is AccountState => a?.kind === "customer";

const missingDetail = (label: PostingLabel) =>
  label === "source"
    ? "No such source account."
    : label === "destination"
      ? "No such destination account."
      : "No such account.";

/**
 * Why a posting was refused: the first refusal in ONE precedence order (after
 * TigerBeetle's ranked result codes), asking each check only about a label whose
 * condition failed (stores judge every condition of a refused posting, so a label
 * missing from `failed` passed all of its conditions):
 *
 *   0. the approval it carries out is no longer pending (dual control)  409 approval_not_pending
 *   1. the payment's refundable remainder does not cover a refund   409 refund_exceeds_payment
 *   2. debit account missing, not a customer account, or not the caller's to debit
 *      (404 when the caller may not see it, 403 for staff, who see every account but
 *      move money only out of their own)                              404 / 403
 *   3. credit account missing or not a customer account             404
 *   4. currency differs on the debit side, then on the credit side   422 currency_mismatch
 *   5. debit account frozen, then without available funds           409 account_frozen / 402
 *   6. credit account frozen                                        409 account_frozen
 *
 * (An already answered idempotency key outranks them all: `postTransfer` replays it.)
 */
export function refusalOf(
  ctx: LedgerContext,
  spec: Pick<TransferSpec<unknown>, "debit" | "credit" | "amount" | "currency">,
  failed: ReadonlyMap<PostingLabel, AccountState | undefined>,
): Refusal | null {
  const p = ctx.principal;
  const d = spec.debit.label;
  const c = spec.credit.label;
  const ownerOf = spec.debit.account.type === "customer" ? spec.debit.account.ownerId : undefined;
  type Check = readonly [PostingLabel, (a: AccountState | undefined) => Refusal | null];
  // Only customer sides are explained; a failed system side is a bug (no refusal).
  const side = (change: BalanceChange, check: Check[1]): Check[] =>
    change.account.type === "customer" ? [[change.label, check]] : [];
  const checks: Check[] = [
    ["approval", () => new Refusal("approval_not_pending", "The approval is no longer pending.")],
    ["payment", () => refundExceedsPayment()],
    ...side(spec.debit, (a) => {
      if (!customer(a)) return notFound(missingDetail(d));
      if (ownerOf === undefined || a.ownerId === ownerOf) return null;
      return canRead(p, [String(a.ownerId)])
        ? forbidden("You may not move money out of this account.")
        : notFound(missingDetail(d));
    }),
    ...side(spec.credit, (a) => (customer(a) ? null : notFound(missingDetail(c)))),
    ...side(spec.debit, (a) => (a?.currency !== spec.currency ? currencyMismatch() : null)),
    ...side(spec.credit, (a) => (a?.currency !== spec.currency ? currencyMismatch() : null)),
    ...side(spec.debit, (a) => (a?.status !== "active" ? accountFrozen() : null)),
    ...side(spec.debit, (a) => (availableOf(a) < spec.amount ? insufficientFunds() : null)),
    ...side(spec.credit, (a) => (a?.status !== "active" ? accountFrozen() : null)),
  ];
  for (const [label, check] of checks) {
    if (!failed.has(label)) continue;
    const refusal = check(failed.get(label));
    if (refusal) return refusal;
  }
  return null;
}
