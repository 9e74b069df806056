import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditEvent } from "../audit/events.ts";
import { config } from "../config.ts";
import type {
  AttemptView,
  DeliveryRecord,
  EndpointRecord,
  Page,
  StoredSecret,
} from "../webhooks/model.ts";
import { auditPut } from "./audit-outbox.ts";
import { docClient, tableName } from "./client.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import {
  ATTEMPT_PREFIX,
  attemptKey,
  DUE_INDEX,
  DUE_PARTITION,
  deliveryKey,
  dueIndexKey,
  WEBHOOK_ENDPOINT_PREFIX,
  webhookEndpointKey,
  webhookOwnerPartition,
  webhookPartition,
} from "./keys.ts";
import { isConditionFailure, withRetry } from "./retry.ts";
import { labelled, transact } from "./transact.ts";

/**
 * Webhook endpoints (under their owner's partition, so "my endpoints" is one Query and
 * another owner's id is simply not found), deliveries (one per event and endpoint, the
 * state the dispatcher and the due-attempt sweep share) and attempts (the deliveries
 * log). A pending delivery is in the sparse `WHDUE` partition of gsi1, sorted by when
 * it is due, so the sweep is one Query; it leaves the index when delivery ends.
 */

type Item = Record<string, unknown>;
const T = () => tableName();
const ttl = (fromMs = Date.now()) =>
  Math.floor(fromMs / 1000) + config().MICROPAY_EVENT_RETENTION_SECONDS;

// ---------------------------------------------------------------------------
// Endpoints

function endpointItem(r: EndpointRecord): Item {
  // No failing streak is no attribute (not a NULL): noteEndpointOutcome starts a streak
  // with if_not_exists, which a stored NULL would defeat.
  const { failingSince, ...rest } = r;
  return {
    ...webhookEndpointKey(r.ownerId, r.id),
    type: "webhook_endpoint",
    ...rest,
    ...(failingSince ? { failingSince } : {}),
  };
}

function toEndpoint(item: Item): EndpointRecord {
  return {
    id: String(item.id),
    ownerId: String(item.ownerId),
    url: String(item.url),
    enabledEvents: (item.enabledEvents as string[] | undefined) ?? [],
    description: typeof item.description === "string" ? item.description : null,
    status: item.status === "disabled" ? "disabled" : "enabled",
    disabledReason: typeof item.disabledReason === "string" ? item.disabledReason : null,
    failingSince: typeof item.failingSince === "string" ? item.failingSince : null,
    secrets: (item.secrets as StoredSecret[] | undefined) ?? [],
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
  };
}

/** Writes a new endpoint with its audit event (one transaction; the secret is sealed). */
export async function putNewEndpoint(r: EndpointRecord, audit: AuditEvent): Promise<void> {
  const out = await transact([
    labelled("endpoint", {
      Put: {
        TableName: T(),
        Item: endpointItem(r),
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }),
    auditPut(audit),
  ]);
  if (!out.ok) throw new Error("webhook endpoint id collision");
}

/**
 * Replaces an endpoint, with its audit event, if it still stands as `previous` left it;
 * false otherwise.
 */
export async function replaceEndpoint(
  r: EndpointRecord,
  previousUpdatedAt: string,
  audit: AuditEvent,
): Promise<boolean> {
  const out = await transact([
    labelled("endpoint", {
      Put: {
        TableName: T(),
        Item: endpointItem(r),
        ConditionExpression: "attribute_exists(pk) AND updatedAt = :prev",
        ExpressionAttributeValues: { ":prev": previousUpdatedAt },
      },
    }),
    auditPut(audit),
  ]);
  return out.ok;
}

export async function getEndpoint(
  ownerId: string,
  endpointId: string,
): Promise<EndpointRecord | undefined> {
  const out = await withRetry(() =>
    docClient().send(
      new GetCommand({
        TableName: T(),
        Key: webhookEndpointKey(ownerId, endpointId),
        ConsistentRead: true,
      }),
    ),
  );
  return out.Item ? toEndpoint(out.Item) : undefined;
}

/** Deletes an endpoint with its audit event; false when there is none. */
export async function deleteEndpoint(
  ownerId: string,
  endpointId: string,
  audit: AuditEvent,
): Promise<boolean> {
  const out = await transact([
    labelled("endpoint", {
      Delete: {
        TableName: T(),
        Key: webhookEndpointKey(ownerId, endpointId),
        ConditionExpression: "attribute_exists(pk)",
      },
    }),
    auditPut(audit),
  ]);
  return out.ok;
}

async function pageOf(
  scope: string,
  pk: string,
  prefix: string,
  limit: number,
  cursor: string | undefined,
): Promise<{ items: Item[]; next: string | null }> {
  const start = cursor ? decodeCursor(scope, cursor) : undefined;
  if (start && (start.pk !== pk || !start.sk?.startsWith(prefix))) {
    decodeCursor(`${scope}#mismatch`, cursor as string); // the same 400
  }
  const out = await withRetry(() =>
    docClient().send(
      new QueryCommand({
        TableName: T(),
        ConsistentRead: true,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues: { ":pk": pk, ":prefix": prefix },
        ScanIndexForward: false,
        Limit: limit + 1,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    ),
  );
  const items = out.Items ?? [];
  if (items.length <= limit) return { items, next: null };
  const page = items.slice(0, limit);
  const last = page[page.length - 1] as Item;
  return {
    items: page,
    next: encodeCursor(scope, { pk: String(last.pk), sk: String(last.sk) }),
  };
}

export async function listEndpoints(
  ownerId: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<EndpointRecord>> {
  const r = await pageOf(
    `webhook-endpoints:${ownerId}`,
    webhookOwnerPartition(ownerId),
    WEBHOOK_ENDPOINT_PREFIX,
    limit,
    cursor,
  );
  return { data: r.items.map(toEndpoint), hasMore: r.next !== null, nextCursor: r.next };
}

/** Every endpoint of an owner (the dispatcher's fan-out). */
export async function endpointsOf(ownerId: string): Promise<EndpointRecord[]> {
  const all: EndpointRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await listEndpoints(ownerId, 100, cursor);
    all.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

/**
 * Records an attempt's outcome on its endpoint: a success clears `failingSince`; a
 * failure sets it if unset, and disables the endpoint (with the reason) once it is at or
 * before `disableIfFailingSince`. True when this call disabled it.
 */
export async function noteEndpointOutcome(
  ownerId: string,
  endpointId: string,
  ok: boolean,
  nowIso: string,
  disableIfFailingSince: string,
): Promise<boolean> {
  const Key = webhookEndpointKey(ownerId, endpointId);
  try {
    if (ok) {
      await withRetry(() =>
        docClient().send(
          new UpdateCommand({
            TableName: T(),
            Key,
            UpdateExpression: "REMOVE failingSince",
            ConditionExpression: "attribute_exists(failingSince)",
          }),
        ),
      );
      return false;
    }
    const out = await withRetry(() =>
      docClient().send(
        new UpdateCommand({
          TableName: T(),
          Key,
          UpdateExpression: "SET failingSince = if_not_exists(failingSince, :now)",
          ConditionExpression: "attribute_exists(pk)",
          ExpressionAttributeValues: { ":now": nowIso },
          ReturnValues: "ALL_NEW",
        }),
      ),
    );
    const since = out.Attributes?.failingSince;
    if (typeof since !== "string" || since > disableIfFailingSince) return false;
    if (out.Attributes?.status !== "enabled") return false;
    await withRetry(() =>
      docClient().send(
        new UpdateCommand({
          TableName: T(),
          Key,
          UpdateExpression: "SET #status = :disabled, disabledReason = :why",
          ConditionExpression: "#status = :enabled AND failingSince = :since",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":disabled": "disabled",
            ":enabled": "enabled",
            ":since": since,
            ":why": `Every delivery failed since ${since}; fix the receiver, then PATCH status to enabled.`,
          },
        }),
      ),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

// ---------------------------------------------------------------------------
// Deliveries and attempts

function toDelivery(item: Item): DeliveryRecord {
  return {
    endpointId: String(item.endpointId),
    ownerId: String(item.ownerId),
    eventId: String(item.eventId),
    status: item.status === "succeeded" || item.status === "failed" ? item.status : "pending",
    attempts: Number(item.attempts ?? 0),
    nextAttemptAt: typeof item.nextAttemptAt === "string" ? item.nextAttemptAt : null,
  };
}

/** Writes a new pending delivery, due at `dueAt`; false when it already exists. */
export async function createDelivery(
  d: Pick<DeliveryRecord, "endpointId" | "ownerId" | "eventId">,
  dueAt: string,
): Promise<boolean> {
  try {
    await withRetry(() =>
      docClient().send(
        new PutCommand({
          TableName: T(),
          Item: {
            ...deliveryKey(d.endpointId, d.eventId),
            ...dueIndexKey(dueAt, d.endpointId, d.eventId),
            type: "webhook_delivery",
            ...d,
            status: "pending",
            attempts: 0,
            nextAttemptAt: dueAt,
            expiresAt: ttl(),
          },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      ),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export async function getDelivery(
  endpointId: string,
  eventId: string,
): Promise<DeliveryRecord | undefined> {
  const out = await withRetry(() =>
    docClient().send(
      new GetCommand({
        TableName: T(),
        Key: deliveryKey(endpointId, eventId),
        ConsistentRead: true,
      }),
    ),
  );
  return out.Item ? toDelivery(out.Item) : undefined;
}

/**
 * Claims a due delivery for one attempt: only if it is still pending and due at
 * `expectedDue` (no other dispatcher claimed it since), moves its due time to
 * `claimUntil` (after which the sweep takes it again, should this attempt never
 * finish) and counts the attempt. The claimed delivery, or undefined.
 */
export async function claimDelivery(
  d: DeliveryRecord,
  claimUntil: string,
): Promise<DeliveryRecord | undefined> {
  if (d.nextAttemptAt === null) return undefined;
  try {
    const out = await withRetry(() =>
      docClient().send(
        new UpdateCommand({
          TableName: T(),
          Key: deliveryKey(d.endpointId, d.eventId),
          UpdateExpression: "SET nextAttemptAt = :until, gsi1sk = :sk, attempts = attempts + :one",
          ConditionExpression: "#status = :pending AND nextAttemptAt = :expected",
          ExpressionAttributeNames: { "#status": "status" },
          ExpressionAttributeValues: {
            ":until": claimUntil,
            ":sk": dueIndexKey(claimUntil, d.endpointId, d.eventId).gsi1sk,
            ":one": 1,
            ":pending": "pending",
            ":expected": d.nextAttemptAt,
          },
          ReturnValues: "ALL_NEW",
        }),
      ),
    );
    return out.Attributes ? toDelivery(out.Attributes) : undefined;
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}

/**
 * Records attempt number `d.attempts` and the delivery's new state in one transaction,
 * only if no later attempt claimed the delivery meanwhile. `next`: the next attempt's
 * due time, or null when delivery ended (`final` says how).
 */
export async function finishAttempt(
  d: DeliveryRecord,
  attempt: AttemptView,
  next: string | null,
  final: "succeeded" | "failed" | null,
): Promise<boolean> {
  const attemptItem = labelled("attempt", {
    Put: {
      TableName: T(),
      Item: {
        ...attemptKey(d.endpointId, attempt.id),
        type: "webhook_attempt",
        endpointId: d.endpointId,
        ...attempt,
        expiresAt: ttl(),
      },
      ConditionExpression: "attribute_not_exists(pk)",
    },
  });
  const update = next
    ? {
        UpdateExpression: "SET nextAttemptAt = :next, gsi1sk = :sk",
        ExpressionAttributeValues: {
          ":next": next,
          ":sk": dueIndexKey(next, d.endpointId, d.eventId).gsi1sk,
          ":n": d.attempts,
        },
      }
    : {
        UpdateExpression: "SET #status = :final, nextAttemptAt = :null REMOVE gsi1pk, gsi1sk",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: { ":final": final, ":null": null, ":n": d.attempts },
      };
  const out = await transact([
    attemptItem,
    labelled("delivery", {
      Update: {
        TableName: T(),
        Key: deliveryKey(d.endpointId, d.eventId),
        ConditionExpression: "attempts = :n",
        ...update,
      },
    }),
  ]);
  return out.ok;
}

/** Pending deliveries due at or before `nowIso`, oldest due first (one gsi1 Query). */
export async function listDueDeliveries(nowIso: string, limit: number): Promise<DeliveryRecord[]> {
  const out = await withRetry(() =>
    docClient().send(
      new QueryCommand({
        TableName: T(),
        IndexName: DUE_INDEX,
        KeyConditionExpression: "gsi1pk = :pk AND gsi1sk < :bound",
        ExpressionAttributeValues: { ":pk": DUE_PARTITION, ":bound": `${nowIso}$` },
        ScanIndexForward: true,
        Limit: limit,
      }),
    ),
  );
  return (out.Items ?? []).map(toDelivery);
}

export async function listAttempts(
  endpointId: string,
  limit: number,
  cursor: string | undefined,
): Promise<Page<AttemptView>> {
  const r = await pageOf(
    `webhook-deliveries:${endpointId}`,
    webhookPartition(endpointId),
    ATTEMPT_PREFIX,
    limit,
    cursor,
  );
  const data = r.items.map(
    (i): AttemptView => ({
      id: String(i.id),
      eventId: String(i.eventId),
      attempt: Number(i.attempt),
      outcome: i.outcome === "succeeded" ? "succeeded" : "failed",
      responseStatus: typeof i.responseStatus === "number" ? i.responseStatus : null,
      error: typeof i.error === "string" ? i.error : null,
      durationMs: Number(i.durationMs),
      attemptedAt: String(i.attemptedAt),
      nextAttemptAt: typeof i.nextAttemptAt === "string" ? i.nextAttemptAt : null,
    }),
  );
  return { data, hasMore: r.next !== null, nextCursor: r.next };
}
