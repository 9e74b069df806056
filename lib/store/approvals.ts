import { GetCommand, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import type {
  ApprovalDecision,
  ApprovalRecord,
  ApprovalStatus,
  ApprovalStore,
} from "../auth/approvals.ts";
import { markRecorded } from "../idempotency.ts";
import type { Page } from "../ledger/port.ts";
import { auditPut } from "./audit-outbox.ts";
import { docClient, tableName } from "./client.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { idempotencyPut, isIdempotencyItem, readAnswer, toStoredAnswer } from "./idempotency.ts";
import { APPROVAL_PREFIX, APPROVALS_PARTITION, approvalKey } from "./keys.ts";
import { withRetry } from "./retry.ts";
import { type Labelled, labelled, transact } from "./transact.ts";

/**
 * Dual-control approvals (lib/auth/approvals.ts) in DynamoDB.
 *
 *   key: approvalKey (lib/store/keys.ts), APPROVALS / APR#<approvalId> (one partition:
 *        approvals are rare; ULID ids list newest first)
 *   kind, payload (the deposit or role grant asked for), requestedBy, createdAt,
 *   approvalExpiresAt (epoch s; NOT `expiresAt`, the table's TTL attribute: a decided or
 *   expired approval stays on record), status pending | approved | rejected,
 *   decidedBy, decidedAt
 *
 * `expired` is never written: a pending item past approvalExpiresAt is expired, and
 * every decision is conditioned on the item being pending and unexpired (and, to
 * approve, on the approver not being the requester). The approve decision rides in the
 * transaction of the action it carries out (`approvalDecisionItems`: the ledger's
 * posting, lib/store/ledger-writes.ts; the role change, lib/store/users.ts).
 */

const T = () => tableName();
type Item = Record<string, unknown>;

function toItem(a: ApprovalRecord): Item {
  return {
    ...approvalKey(a.id),
    type: "approval",
    id: a.id,
    kind: a.kind,
    payload: a.payload,
    requestedBy: a.requestedBy,
    createdAt: a.createdAt,
    approvalExpiresAt: a.expiresAt,
    status: a.status,
  };
}

function fromItem(i: Item): ApprovalRecord {
  return {
    id: String(i.id),
    kind: i.kind as ApprovalRecord["kind"],
    payload: i.payload as ApprovalRecord["payload"],
    requestedBy: String(i.requestedBy),
    createdAt: String(i.createdAt),
    expiresAt: Number(i.approvalExpiresAt),
    status: i.status as ApprovalRecord["status"],
    ...(typeof i.decidedBy === "string" ? { decidedBy: i.decidedBy } : {}),
    ...(typeof i.decidedAt === "string" ? { decidedAt: i.decidedAt } : {}),
  };
}

/**
 * The decision's items for a TransactWriteItems (label "approval", then its audit
 * event): pending -> approved/rejected, only while pending and unexpired, and for an
 * approval only by someone other than the requester.
 */
export function approvalDecisionItems(d: ApprovalDecision): Labelled[] {
  const approving = d.status === "approved";
  return [
    labelled("approval", {
      Update: {
        TableName: T(),
        Key: approvalKey(d.approvalId),
        UpdateExpression: "SET #status = :to, decidedBy = :by, decidedAt = :at",
        ConditionExpression:
          "attribute_exists(pk) AND #status = :pending AND approvalExpiresAt > :now" +
          (approving ? " AND requestedBy <> :by" : ""),
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":to": d.status,
          ":by": d.decidedBy,
          ":at": d.decidedAt,
          ":pending": "pending",
          ":now": d.nowS,
        },
        ReturnValuesOnConditionCheckFailure: "ALL_OLD",
      },
    }),
    auditPut(d.event),
  ];
}

const create: ApprovalStore["create"] = async ({ approval, event, idempotency }) => {
  const out = await transact([
    labelled("approval_new", {
      Put: {
        TableName: T(),
        Item: toItem(approval),
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }),
    auditPut(event),
    ...(idempotency
      ? [idempotencyPut({ ...idempotency.claim, status: idempotency.status }, idempotency.body)]
      : []),
  ]);
  if (out.ok) {
    if (idempotency) markRecorded(idempotency.claim);
    return { created: true };
  }
  if (idempotency && out.failed.has("idempotency")) {
    const old = out.failed.get("idempotency");
    const answered = isIdempotencyItem(old)
      ? toStoredAnswer(old)
      : await readAnswer(idempotency.claim.scope, idempotency.claim.key);
    if (answered) return { answered };
  }
  throw new Error(`approval refused at ${[...out.failed.keys()].join(",")}`);
};

const get: ApprovalStore["get"] = async (id) => {
  const out = await withRetry(() =>
    docClient().send(
      new GetCommand({ TableName: T(), Key: approvalKey(id), ConsistentRead: true }),
    ),
  );
  return out.Item ? fromItem(out.Item) : null;
};

function statusFilter(status: ApprovalStatus | undefined, nowS: number) {
  switch (status) {
    case undefined:
      return {};
    case "pending":
    case "expired":
      return {
        FilterExpression: `#status = :pending AND approvalExpiresAt ${status === "pending" ? ">" : "<="} :now`,
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":pending": "pending", ":now": nowS },
      };
    default:
      return {
        FilterExpression: "#status = :s",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":s": status },
      };
  }
}

const list: ApprovalStore["list"] = async ({ status, nowS, limit, cursor }) => {
  const scope = `approvals:${status ?? "all"}`;
  let start: Item | undefined;
  if (cursor) {
    const pos = decodeCursor(scope, cursor);
    if (pos.pk !== APPROVALS_PARTITION || !pos.sk?.startsWith(APPROVAL_PREFIX)) {
      decodeCursor(`${scope}#mismatch`, cursor); // throws the same 400
    }
    start = pos;
  }
  const filter = statusFilter(status, nowS);
  const items: Item[] = [];
  // A filtered page can come back short: read on until limit + 1 (is there more?).
  do {
    const input: QueryCommandInput = {
      TableName: T(),
      ConsistentRead: true,
      KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
      ...filter,
      ExpressionAttributeValues: {
        ...filter.ExpressionAttributeValues,
        ":pk": APPROVALS_PARTITION,
        ":prefix": APPROVAL_PREFIX,
      },
      ScanIndexForward: false,
      Limit: 100,
      ...(start ? { ExclusiveStartKey: start } : {}),
    };
    const out = await withRetry(() => docClient().send(new QueryCommand(input)));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start && items.length <= limit);
  const data = items.slice(0, limit);
  const last = data.at(-1);
  const more = items.length > limit || (start !== undefined && last !== undefined);
  const nextCursor =
    more && last ? encodeCursor(scope, { pk: String(last.pk), sk: String(last.sk) }) : null;
  return {
    data: data.map(fromItem),
    hasMore: nextCursor !== null,
    nextCursor,
  } satisfies Page<ApprovalRecord>;
};

const decide: ApprovalStore["decide"] = async (d) => {
  const out = await transact(approvalDecisionItems(d));
  return out.ok;
};

export const dynamoApprovalStore: ApprovalStore = { create, get, list, decide };
