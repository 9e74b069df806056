import { createHash, randomUUID } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { config } from "../config.ts";
import { docClient, tableName } from "./client.ts";
import { idempotencyKey } from "./keys.ts";
import { isConditionFailure, withRetry } from "./retry.ts";
import { type Labelled, labelled } from "./transact.ts";

/**
 * Idempotency records (API.md "Idempotency").
 *
 *   key: idempotencyKey (lib/store/keys.ts), IDEM#<userId>#<sha256(key)> / IDEM
 *   state        "in_progress" | "completed"
 *   fingerprint  sha256(method, path, raw body) of the first request
 *   leaseId      who holds an in-progress record; leaseUntil (epoch ms) when it lapses
 *   status, body, contentType   the exact first answer (completed records)
 *   expiresAt    TTL (epoch s): at least MICROPAY_IDEMPOTENCY_TTL_SECONDS (>= 24 h)
 *
 * Keys are scoped to the caller (the user id is part of the partition key) and hashed,
 * so a key's text is never stored and two callers' keys never meet.
 *
 * Protocol (why "a key is never recorded without its effect, nor the effect without
 * its key"):
 *
 *   1. acquire: a conditional Put writes an in-progress marker with a fresh leaseId
 *      and a short lease, only if no record exists or an earlier in-progress marker's
 *      lease has lapsed (its holder crashed or gave up). The marker records no
 *      result, so it is not "the key recorded": a reader that finds it answers 409
 *      idempotency_in_progress, never a result.
 *   2. the money movement's TransactWriteItems carries `completeItem`: an Update that
 *      turns the marker into the completed record holding the exact answer, on the
 *      condition that the marker is still in progress *and still ours* (leaseId). So
 *      the effect and the completed record commit together or not at all.
 *   3. a business refusal (402/409/422) is stored the same way with `storeOutcome`
 *      (no money moves, so there is no effect to pair it with); a request error or
 *      an outage releases the marker (`release`, conditional on still being ours) so
 *      a retry can run at once. If even the release fails (DynamoDB down), the lease
 *      lapses and a retry takes the marker over.
 *
 * Safety never depends on timing: if a slow holder's lease lapses and a retry takes
 * the marker over, the slow holder's transaction fails its leaseId condition and
 * moves nothing. The lease length only decides how soon a retry after a crash may
 * proceed.
 */

export type IdemState = "in_progress" | "completed";

export interface IdemRecord {
  readonly state: IdemState;
  readonly fingerprint: string;
  readonly leaseId: string;
  readonly leaseUntil: number;
  readonly status?: number;
  readonly body?: string;
  readonly contentType?: string;
}

let leaseMs = 10_000;

/** Tests only: a shorter lease so a crashed attempt can be retried sooner. */
export function setIdempotencyLeaseMs(ms: number): void {
  leaseMs = ms;
}

export function fingerprint(method: string, path: string, rawBody: string): string {
  return createHash("sha256")
    .update(method)
    .update("\n")
    .update(path)
    .update("\n")
    .update(rawBody, "utf8")
    .digest("hex");
}

function toRecord(item: Record<string, unknown> | undefined): IdemRecord | undefined {
  if (item?.type !== "idempotency") return undefined;
  return {
    state: item.state === "completed" ? "completed" : "in_progress",
    fingerprint: String(item.fingerprint),
    leaseId: String(item.leaseId),
    leaseUntil: Number(item.leaseUntil ?? 0),
    ...(typeof item.status === "number" ? { status: item.status } : {}),
    ...(typeof item.body === "string" ? { body: item.body } : {}),
    ...(typeof item.contentType === "string" ? { contentType: item.contentType } : {}),
  };
}

export async function readRecord(userId: string, key: string): Promise<IdemRecord | undefined> {
  const out = await withRetry(() =>
    docClient().send(
      new GetCommand({
        TableName: tableName(),
        Key: idempotencyKey(userId, key),
        ConsistentRead: true,
      }),
    ),
  );
  return toRecord(out.Item);
}

export interface Lease {
  readonly userId: string;
  readonly key: string;
  readonly leaseId: string;
  readonly fingerprint: string;
}

const expiresAt = () => Math.floor(Date.now() / 1000) + config().MICROPAY_IDEMPOTENCY_TTL_SECONDS;

/**
 * Writes the in-progress marker. Returns the lease, or the record that stands in the
 * way (completed, or in progress under a live lease).
 */
export async function acquire(
  userId: string,
  key: string,
  fp: string,
  routeId: string,
): Promise<{ lease: Lease } | { existing: IdemRecord }> {
  const leaseId = randomUUID();
  const now = Date.now();
  try {
    await withRetry(() =>
      docClient().send(
        new PutCommand({
          TableName: tableName(),
          Item: {
            ...idempotencyKey(userId, key),
            type: "idempotency",
            state: "in_progress",
            routeId,
            fingerprint: fp,
            leaseId,
            leaseUntil: now + leaseMs,
            createdAt: new Date(now).toISOString(),
            expiresAt: expiresAt(),
          },
          ConditionExpression:
            "attribute_not_exists(pk) OR (#state = :inprog AND leaseUntil < :now)",
          ExpressionAttributeNames: { "#state": "state" },
          ExpressionAttributeValues: { ":inprog": "in_progress", ":now": now },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      ),
    );
    return { lease: { userId, key, leaseId, fingerprint: fp } };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const existing =
      toRecord(error.Item ? unmarshall(error.Item) : undefined) ?? (await readRecord(userId, key));
    if (!existing) return acquire(userId, key, fp, routeId); // it vanished (TTL): try again
    return { existing };
  }
}

function completion(lease: Lease, status: number, body: string, contentType: string) {
  return {
    TableName: tableName(),
    Key: idempotencyKey(lease.userId, lease.key),
    UpdateExpression:
      "SET #state = :done, #status = :status, #body = :body, contentType = :ct, " +
      "completedAt = :at, expiresAt = :exp REMOVE leaseUntil",
    ConditionExpression: "#state = :inprog AND leaseId = :lease",
    ExpressionAttributeNames: { "#state": "state", "#status": "status", "#body": "body" },
    ExpressionAttributeValues: {
      ":done": "completed",
      ":inprog": "in_progress",
      ":lease": lease.leaseId,
      ":status": status,
      ":body": body,
      ":ct": contentType,
      ":at": new Date().toISOString(),
      ":exp": expiresAt(),
    },
  };
}

/**
 * The TransactWriteItems entry that completes the record with the movement's answer.
 * Its label, "idempotency", failing means the lease was lost (LeaseLostError).
 */
export function completeItem(
  lease: Lease,
  status: number,
  body: string,
  contentType = "application/json",
): Labelled {
  return labelled("idempotency", { Update: completion(lease, status, body, contentType) });
}

/** Stores a business refusal as the key's answer. False when the lease was lost. */
export async function storeOutcome(
  lease: Lease,
  status: number,
  body: string,
  contentType: string,
): Promise<boolean> {
  try {
    await withRetry(() =>
      docClient().send(new UpdateCommand(completion(lease, status, body, contentType))),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Removes our in-progress marker (best effort; a lapsed lease covers a failure here). */
export async function release(lease: Lease): Promise<void> {
  try {
    await docClient().send(
      new DeleteCommand({
        TableName: tableName(),
        Key: idempotencyKey(lease.userId, lease.key),
        ConditionExpression: "#state = :inprog AND leaseId = :lease",
        ExpressionAttributeNames: { "#state": "state" },
        ExpressionAttributeValues: { ":inprog": "in_progress", ":lease": lease.leaseId },
      }),
    );
  } catch {
    // Not ours any more, already completed, or DynamoDB is down: the lease lapses.
  }
}

/** A ClientRequestToken (<= 36 chars) for one attempt of the lease's transaction. */
export function requestToken(lease: Lease, attempt: number): string {
  return createHash("sha256").update(`${lease.leaseId}:${attempt}`).digest("hex").slice(0, 36);
}
