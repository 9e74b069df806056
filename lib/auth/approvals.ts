import { type AuditActor, type AuditEvent, actorOf, newAuditEvent } from "../audit/events.ts";
import type { Config } from "../config.ts";
import type { CallContext } from "../context.ts";
import { AlreadyAnswered, answerBody, type IdempotencyClaim } from "../idempotency.ts";
import { isId, newId } from "../ids.ts";
import type { TransferView } from "../ledger/model.ts";
import type { LedgerContext, LedgerDeps, Page } from "../ledger/port.ts";
import { accountRefusal, requireAmount } from "../ledger/rules.ts";
import { createDeposit } from "../ledger/service.ts";
import { badRequest, notFound, Refusal } from "../problems.ts";
import type { Role } from "../routes/types.ts";
import type { IdentityDeps } from "./port.ts";
import { PRIVILEGED_ROLES } from "./privilege.ts";
import { type AdminUserView, adminSetRoles, canonicalRoles } from "./service.ts";

/**
 * Dual control (API.md "Privileged access: MFA, step-up and dual control"; PCI DSS v4
 * 6.5.4 / 7.2 separation of duties, ASVS 5.0 V2 business logic). A deposit of at least
 * MICROPAY_DUAL_CONTROL_MINOR and every grant of `admin` or `auditor` change nothing
 * when asked: they become an approval (`202 {approvalId, status: "pending_approval"}`)
 * that a DIFFERENT admin carries out (`403 same_approver` for the requester) before it
 * expires (MICROPAY_APPROVAL_TTL_SECONDS). No admin deposits into an account it owns
 * (`403 self_dealing`), neither when asking nor when approving, and no admin approves
 * a grant to itself.
 *
 * Race safety: approving is ONE transaction with the action it carries out. The
 * approval's move pending -> approved is conditioned (still pending, unexpired, not
 * the requester's) and rides in the deposit's posting (lib/ledger/port.ts
 * `Posting.approval`) or the role change (lib/auth/port.ts `replaceRoles`), with the
 * `approval.approved` audit event; of two approvers exactly one commits, and a
 * refused action leaves the approval pending. Each step is an audit event
 * (`approval.requested`, `approval.approved`, `approval.rejected`), and the carried-out
 * action's own audit record names the approval (`targets.approvalId`).
 *
 * Operations are `(ctx, input, deps)`; the store is the `ApprovalStore` port below
 * (DynamoDB: lib/store/approvals.ts; tests: an in-memory one).
 */

export type ApprovalKind = "deposit" | "role_grant";
/** As stored; `expired` is never stored: a pending approval past its expiry is one. */
export type StoredApprovalStatus = "pending" | "approved" | "rejected";
export type ApprovalStatus = StoredApprovalStatus | "expired";
export const APPROVAL_STATUSES = ["pending", "approved", "rejected", "expired"] as const;

/** What the approval, once approved, carries out: the original request. */
export type ApprovalPayload =
  | {
      readonly kind: "deposit";
      readonly accountId: string;
      readonly amount: number;
      readonly currency: string;
      readonly reference: string;
    }
  | { readonly kind: "role_grant"; readonly userId: string; readonly roles: readonly Role[] };

export interface ApprovalRecord {
  readonly id: string;
  readonly kind: ApprovalKind;
  readonly payload: ApprovalPayload;
  /** The admin who asked. */
  readonly requestedBy: string;
  readonly createdAt: string;
  /** Epoch seconds: pending after this, it is expired. */
  readonly expiresAt: number;
  readonly status: StoredApprovalStatus;
  readonly decidedBy?: string;
  readonly decidedAt?: string;
}

export interface ApprovalView {
  readonly id: string;
  readonly kind: ApprovalKind;
  readonly status: ApprovalStatus;
  readonly payload: ApprovalPayload;
  readonly requestedBy: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
}

/** The answer of a request that became an approval (202). */
export interface PendingApproval {
  readonly approvalId: string;
  readonly status: "pending_approval";
  readonly expiresAt: string;
}

/**
 * The decision an approval's carried-out action commits with (the extension point of
 * the ledger's posting and the identity store's role change): the approval moves from
 * pending to `status` only if it is still pending, unexpired at `nowS` and `decidedBy`
 * is not its requester; `event` (approval.approved) is written with it.
 */
export interface ApprovalDecision {
  readonly approvalId: string;
  readonly status: "approved" | "rejected";
  readonly decidedBy: string;
  readonly decidedAt: string;
  /** Epoch seconds of the decision (the expiry condition). */
  readonly nowS: number;
  readonly event: AuditEvent;
}

/** The store port of approvals. */
export interface ApprovalStore {
  /**
   * Stores a new pending approval with its `approval.requested` event (and, when given,
   * the request's completed idempotency record: the 202 it answers), atomically.
   * `answered`: the key already has an answer, nothing was written.
   */
  create(input: {
    readonly approval: ApprovalRecord;
    readonly event: AuditEvent;
    readonly idempotency?: {
      readonly claim: IdempotencyClaim;
      /** The answer's status (202, not the route's success status) and body. */
      readonly status: number;
      readonly body: string;
    };
  }): Promise<{ readonly created: true } | { readonly answered: AlreadyAnswered["answer"] }>;
  get(id: string): Promise<ApprovalRecord | null>;
  /** Newest first, of one status (derived: pending/expired by `nowS`) or all. */
  list(input: {
    readonly status?: ApprovalStatus | undefined;
    readonly nowS: number;
    readonly limit: number;
    readonly cursor?: string | undefined;
  }): Promise<Page<ApprovalRecord>>;
  /** Applies a decision with nothing else (a rejection); false when its condition failed. */
  decide(decision: ApprovalDecision): Promise<boolean>;
}

export type ApprovalSettings = Pick<
  Config,
  "MICROPAY_DUAL_CONTROL_MINOR" | "MICROPAY_APPROVAL_TTL_SECONDS"
>;

export interface ApprovalDeps {
  readonly approvals: ApprovalStore;
  readonly ledger: LedgerDeps;
  readonly identity: IdentityDeps;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly settings: () => ApprovalSettings;
}

/** What a deposit request needs (no identity store). */
export type DepositRequestDeps = Omit<ApprovalDeps, "identity">;

/** A result of an operation dual control may defer: done at once, or pending approval. */
export type Deferred<V> =
  | { readonly status: 200 | 201; readonly body: V }
  | { readonly status: 202; readonly body: PendingApproval };

const iso = (ms: number) => new Date(ms).toISOString();

export function approvalView(a: ApprovalRecord, nowS: number): ApprovalView {
  return {
    id: a.id,
    kind: a.kind,
    status: statusAt(a, nowS),
    payload: a.payload,
    requestedBy: a.requestedBy,
    createdAt: a.createdAt,
    expiresAt: iso(a.expiresAt * 1000),
    decidedBy: a.decidedBy ?? null,
    decidedAt: a.decidedAt ?? null,
  };
}

/** The status an approval has at `nowS` (pending past its expiry: expired). */
export const statusAt = (a: ApprovalRecord, nowS: number): ApprovalStatus =>
  a.status === "pending" && a.expiresAt <= nowS ? "expired" : a.status;

export const selfDealing = () =>
  new Refusal("self_dealing", "An admin may not move money into an account it owns.");
const sameApprover = () =>
  new Refusal(
    "same_approver",
    "An approval must be approved by an admin other than its requester.",
  );
const approvalExpired = () => new Refusal("approval_expired", "The approval expired; ask again.");
const approvalNotPending = (status: ApprovalStatus) =>
  new Refusal("approval_not_pending", `The approval is ${status}, no longer pending.`);

const nowSOf = (deps: { now: () => number }) => Math.floor(deps.now() / 1000);

/** Stores a new pending approval for `payload` and answers its 202. */
async function requestApproval(
  ctx: LedgerContext,
  payload: ApprovalPayload,
  deps: Pick<ApprovalDeps, "approvals" | "now" | "settings">,
): Promise<{ status: 202; body: PendingApproval }> {
  const nowMs = deps.now();
  const approval: ApprovalRecord = {
    id: newId("apr"),
    kind: payload.kind,
    payload,
    requestedBy: ctx.principal.userId,
    createdAt: iso(nowMs),
    expiresAt: Math.floor(nowMs / 1000) + deps.settings().MICROPAY_APPROVAL_TTL_SECONDS,
    status: "pending",
  };
  const body: PendingApproval = {
    approvalId: approval.id,
    status: "pending_approval",
    expiresAt: iso(approval.expiresAt * 1000),
  };
  const event = newAuditEvent(actorOf(ctx), "approval.requested", {
    reason: payload.kind,
    targets: { approvalId: approval.id, ...payloadTargets(payload) },
    ...(payload.kind === "deposit"
      ? { money: { amount: payload.amount, currency: payload.currency } }
      : {}),
  });
  const out = await deps.approvals.create({
    approval,
    event,
    // The 202 is the key's answer, recorded with the approval (a retry gets the same id).
    ...(ctx.idempotency
      ? { idempotency: { claim: ctx.idempotency, status: 202, body: answerBody(body) } }
      : {}),
  });
  if ("answered" in out) throw new AlreadyAnswered(out.answered);
  return { status: 202, body };
}

function payloadTargets(payload: ApprovalPayload): Record<string, string> {
  return payload.kind === "deposit"
    ? { accountId: payload.accountId }
    : { userId: payload.userId, roles: payload.roles.join(",") };
}

// ---------------------------------------------------------------------------- deposits

/**
 * POST /v1/accounts/{accountId}/deposits: at or above MICROPAY_DUAL_CONTROL_MINOR an
 * approval (202), below it the deposit itself (201). Never into the caller's own account.
 */
export async function requestDeposit(
  ctx: LedgerContext,
  input: { accountId: string; amount: number; reference: string },
  deps: DepositRequestDeps,
): Promise<Deferred<TransferView>> {
  const account = await deps.ledger.store.getAccount(input.accountId);
  if (!account) throw notFound("No such account.");
  if (account.kind === "system") {
    throw badRequest("System accounts take no deposits or withdrawals.");
  }
  if (account.ownerId === ctx.principal.userId) throw selfDealing();
  if (input.amount < deps.settings().MICROPAY_DUAL_CONTROL_MINOR) {
    return { status: 201, body: await createDeposit(ctx, input, deps.ledger) };
  }
  requireAmount(input.amount, account.currency);
  // What the deposit would be refused for now is refused now (a frozen account).
  const refusal = accountRefusal(account, "credit", input.amount, account.currency);
  if (refusal) throw refusal;
  return requestApproval(
    ctx,
    {
      kind: "deposit",
      accountId: account.id,
      amount: input.amount,
      currency: account.currency,
      reference: input.reference,
    },
    deps,
  );
}

// --------------------------------------------------------------------------- role grants

/**
 * PUT /v1/admin/users/{userId}/roles: a change that grants `admin` or `auditor` (one the
 * user does not hold yet) is an approval (202); any other change happens at once (200).
 */
export async function requestRoles(
  ctx: CallContext,
  input: { userId: string; roles: readonly Role[] },
  deps: Omit<ApprovalDeps, "ledger">,
): Promise<Deferred<AdminUserView>> {
  const user = await deps.identity.store.getUser(input.userId);
  if (!user) throw notFound("No such user.");
  const roles = canonicalRoles(input.roles);
  const granted = roles.filter((r) => PRIVILEGED_ROLES.includes(r) && !user.roles.includes(r));
  if (granted.length === 0) {
    return {
      status: 200,
      body: await adminSetRoles(ctx, { userId: user.id, roles }, deps.identity),
    };
  }
  return requestApproval(ctx, { kind: "role_grant", userId: user.id, roles }, deps);
}

// ------------------------------------------------------------------------------- review

/** GET /v1/admin/approvals?status=: newest first. */
export async function listApprovals(
  _ctx: CallContext,
  input: { status?: ApprovalStatus | undefined; limit: number; cursor?: string | undefined },
  deps: Pick<ApprovalDeps, "approvals" | "now">,
): Promise<Page<ApprovalView>> {
  const nowS = nowSOf(deps);
  const page = await deps.approvals.list({ ...input, nowS });
  return { ...page, data: page.data.map((a) => approvalView(a, nowS)) };
}

async function pendingApproval(
  id: string,
  deps: Pick<ApprovalDeps, "approvals" | "now">,
): Promise<ApprovalRecord> {
  const approval = isId(id, "apr") ? await deps.approvals.get(id) : null;
  if (!approval) throw notFound("No such approval.");
  return refuseUndecidable(approval, nowSOf(deps));
}

/** The refusal of deciding `approval` now, if any (most telling first). */
function refuseUndecidable(approval: ApprovalRecord, nowS: number): ApprovalRecord {
  const status = statusAt(approval, nowS);
  if (status === "expired") throw approvalExpired();
  if (status !== "pending") throw approvalNotPending(status);
  return approval;
}

function decision(
  actor: AuditActor,
  approval: ApprovalRecord,
  status: "approved" | "rejected",
  deps: Pick<ApprovalDeps, "now">,
): ApprovalDecision {
  const nowMs = deps.now();
  return {
    approvalId: approval.id,
    status,
    decidedBy: String(actor.userId),
    decidedAt: iso(nowMs),
    nowS: Math.floor(nowMs / 1000),
    event: newAuditEvent(actor, `approval.${status}`, {
      reason: approval.kind,
      targets: {
        approvalId: approval.id,
        requestedBy: approval.requestedBy,
        ...payloadTargets(approval.payload),
      },
    }),
  };
}

/**
 * After the action's transaction refused the approval's condition: the current state
 * says why (decided or expired meanwhile).
 */
async function lostRace(
  ctx: CallContext,
  id: string,
  deps: Pick<ApprovalDeps, "approvals" | "now">,
): Promise<never> {
  const fresh = await deps.approvals.get(id);
  if (!fresh) throw notFound("No such approval.");
  refuseUndecidable(fresh, nowSOf(deps));
  if (fresh.requestedBy === ctx.principal.userId) throw sameApprover();
  throw approvalNotPending(statusAt(fresh, nowSOf(deps)));
}

export interface ApprovedView extends ApprovalView {
  /** What the approval carried out: the deposit, or the user with its new roles. */
  readonly result: TransferView | AdminUserView;
}

/**
 * POST /v1/admin/approvals/{id}/approve: a different admin carries the request out, in
 * one transaction with the approval's conditioned move to `approved`.
 */
export async function approve(
  ctx: CallContext,
  input: { approvalId: string },
  deps: ApprovalDeps,
): Promise<ApprovedView> {
  const approval = await pendingApproval(input.approvalId, deps);
  const me = ctx.principal.userId;
  if (approval.requestedBy === me) {
    await deps.identity.store.recordSecurityEvent(
      newAuditEvent(actorOf(ctx), "approval.approve_refused", {
        outcome: "failure",
        reason: "same_approver",
        targets: { approvalId: approval.id },
      }),
    );
    throw sameApprover();
  }
  const d = decision(actorOf(ctx), approval, "approved", deps);
  const p = approval.payload;
  let result: TransferView | AdminUserView;
  try {
    if (p.kind === "deposit") {
      const account = await deps.ledger.store.getAccount(p.accountId);
      if (!account) throw notFound("No such account.");
      if (account.ownerId === me || account.ownerId === approval.requestedBy) throw selfDealing();
      result = await createDeposit(
        ctx,
        { accountId: p.accountId, amount: p.amount, reference: p.reference, approval: d },
        deps.ledger,
      );
    } else {
      if (p.userId === me) {
        throw new Refusal("self_dealing", "An admin may not approve a grant of roles to itself.");
      }
      result = await adminSetRoles(
        ctx,
        { userId: p.userId, roles: p.roles, approval: d },
        deps.identity,
      );
    }
  } catch (error) {
    if (error instanceof Refusal && error.code === "approval_not_pending") {
      return lostRace(ctx, approval.id, deps);
    }
    throw error;
  }
  const view = approvalView(
    { ...approval, status: "approved", decidedBy: me, decidedAt: d.decidedAt },
    d.nowS,
  );
  return { ...view, result };
}

/** POST /v1/admin/approvals/{id}/reject: any admin (the requester withdraws its own). */
export async function reject(
  ctx: CallContext,
  input: { approvalId: string },
  deps: Pick<ApprovalDeps, "approvals" | "now">,
): Promise<ApprovalView> {
  const approval = await pendingApproval(input.approvalId, deps);
  const d = decision(actorOf(ctx), approval, "rejected", deps);
  if (!(await deps.approvals.decide(d))) {
    const fresh = await deps.approvals.get(approval.id);
    if (!fresh) throw notFound("No such approval.");
    refuseUndecidable(fresh, nowSOf(deps));
    throw approvalNotPending(statusAt(fresh, nowSOf(deps)));
  }
  return approvalView(
    { ...approval, status: "rejected", decidedBy: d.decidedBy, decidedAt: d.decidedAt },
    d.nowS,
  );
}
