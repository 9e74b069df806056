import type { AuditEvent } from "../../lib/audit/events.ts";
import {
  type ApprovalDecision,
  type ApprovalRecord,
  type ApprovalStore,
  statusAt,
} from "../../lib/auth/approvals.ts";
import { markRecorded, type StoredAnswer } from "../../lib/idempotency.ts";

/**
 * An in-memory ApprovalStore with the DynamoDB one's conditions (lib/store/approvals.ts).
 * The memory ledger and identity stores judge and apply an approval decision riding in
 * their write through `holds`/`apply` (set their `approvals` to this store), so a
 * decision commits with its action or not at all, as in one TransactWriteItems.
 */
export class MemoryApprovalStore implements ApprovalStore {
  readonly items = new Map<string, ApprovalRecord>();
  readonly audit: AuditEvent[] = [];
  readonly answers = new Map<string, StoredAnswer>();

  async create(input: Parameters<ApprovalStore["create"]>[0]) {
    const i = input.idempotency;
    const key = i && `${i.claim.scope}#${i.claim.key}`;
    const standing = key ? this.answers.get(key) : undefined;
    if (standing) return { answered: standing };
    if (this.items.has(input.approval.id)) throw new Error("approval id collision");
    this.items.set(input.approval.id, input.approval);
    this.audit.push(input.event);
    if (i && key) {
      this.answers.set(key, {
        fingerprint: i.claim.fingerprint,
        status: i.status,
        body: i.body,
        contentType: "application/json",
      });
      markRecorded(i.claim);
    }
    return { created: true } as const;
  }

  async get(id: string) {
    return this.items.get(id) ?? null;
  }

  async list(input: Parameters<ApprovalStore["list"]>[0]) {
    const all = [...this.items.values()]
      .filter((a) => input.status === undefined || statusAt(a, input.nowS) === input.status)
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const start = input.cursor ? all.findIndex((a) => a.id === input.cursor) + 1 : 0;
    const data = all.slice(start, start + input.limit);
    const hasMore = all.length > start + input.limit;
    return { data, hasMore, nextCursor: hasMore ? (data.at(-1)?.id ?? null) : null };
  }

  async decide(d: ApprovalDecision) {
    if (!this.holds(d)) return false;
    this.apply(d);
    return true;
  }

  /** The decision's condition (DynamoDB: approvalDecisionItems). */
  holds(d: ApprovalDecision): boolean {
    const a = this.items.get(d.approvalId);
    return (
      !!a &&
      a.status === "pending" &&
      a.expiresAt > d.nowS &&
      (d.status !== "approved" || a.requestedBy !== d.decidedBy)
    );
  }

  apply(d: ApprovalDecision): void {
    const a = this.items.get(d.approvalId);
    if (!a) throw new Error("unreachable: judged by holds");
    this.items.set(a.id, {
      ...a,
      status: d.status,
      decidedBy: d.decidedBy,
      decidedAt: d.decidedAt,
    });
    this.audit.push(d.event);
  }
}
