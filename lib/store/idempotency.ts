import { createHash } from "node:crypto";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { config } from "../config.ts";
import type { IdempotencyClaim, StoredAnswer } from "../idempotency.ts";
import { docClient, tableName } from "./client.ts";
import { idempotencyKey } from "./keys.ts";
import { isConditionFailure, withRetry } from "./retry.ts";
import { type Labelled, labelled } from "./transact.ts";

/**
 * Idempotency records (API.md "Idempotency"; the protocol is run by the chain,
 * lib/http/idempotency.ts).
 *
 *   key: idempotencyKey (lib/store/keys.ts), IDEM#<scope>#<sha256(key)> / IDEM
 *   state        "completed" (the only state: there are no leases)
 *   fingerprint  sha256(method, path, raw body) of the first request
 *   status, body, contentType   the exact first answer
 *   routeId, createdAt
 *   expiresAt    TTL (epoch s): MICROPAY_IDEMPOTENCY_TTL_SECONDS (>= 24 h)
 *
 * Keys are scoped to the caller (its id is part of the partition key) and hashed, so a
 * key's text is never stored and two callers' keys never meet.
 *
 * A record is only ever written complete, with `attribute_not_exists(pk)`:
 *
 *   - a success: `idempotencyPut` is one item of the movement's own TransactWriteItems,
 *     so the key is never recorded without its effect nor the effect without its key,
 *     and a payment costs one round trip;
 *   - a refusal (402/409/422): `storeAnswer`, a conditional Put after the failed
 *     transaction (no money moved, so there is no effect to pair it with).
 *
 * Whoever finds the record standing (ReturnValuesOnConditionCheckFailure ALL_OLD)
 * answers with it: a concurrent or later duplicate replays the first answer.
 */

export function fingerprint(method: string, path: string, rawBody: string): string {
  return createHash("sha256")
    .update(method)
    .update("\n")
    .update(path)
    .update("\n")
    .update(rawBody, "utf8")
    .digest("hex");
}

type Item = Record<string, unknown>;

export function isIdempotencyItem(item: Item | undefined): item is Item {
  return item?.type === "idempotency" && typeof item.status === "number";
}

export function toStoredAnswer(item: Item): StoredAnswer {
  return {
    fingerprint: String(item.fingerprint),
    status: Number(item.status),
    body: typeof item.body === "string" ? item.body : "",
    contentType: typeof item.contentType === "string" ? item.contentType : "application/json",
  };
}

const expiresAt = () => Math.floor(Date.now() / 1000) + config().MICROPAY_IDEMPOTENCY_TTL_SECONDS;

function recordItem(claim: IdempotencyClaim, answer: Omit<StoredAnswer, "fingerprint">): Item {
  return {
    ...idempotencyKey(claim.scope, claim.key),
    type: "idempotency",
    state: "completed",
    routeId: claim.routeId,
    fingerprint: claim.fingerprint,
    status: answer.status,
    body: answer.body,
    contentType: answer.contentType,
    createdAt: new Date().toISOString(),
    expiresAt: expiresAt(),
  };
}

/**
 * The TransactWriteItems entry that records a success with the movement (label
 * "idempotency"): fails, returning the standing record, if the key has an answer.
 */
export function idempotencyPut(claim: IdempotencyClaim, body: string): Labelled {
  return labelled("idempotency", {
    Put: {
      TableName: tableName(),
      Item: recordItem(claim, { status: claim.status, body, contentType: "application/json" }),
      ConditionExpression: "attribute_not_exists(pk)",
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    },
  });
}

export async function readAnswer(scope: string, key: string): Promise<StoredAnswer | undefined> {
  const out = await withRetry(() =>
    docClient().send(
      new GetCommand({
        TableName: tableName(),
        Key: idempotencyKey(scope, key),
        ConsistentRead: true,
      }),
    ),
  );
  return isIdempotencyItem(out.Item) ? toStoredAnswer(out.Item) : undefined;
}

/**
 * Stores an answer for a key that has none (a refusal, or a success whose operation
 * wrote no record). Returns undefined when stored, else the answer already standing.
 */
export async function storeAnswer(
  claim: IdempotencyClaim,
  answer: Omit<StoredAnswer, "fingerprint">,
): Promise<StoredAnswer | undefined> {
  try {
    await withRetry(() =>
      docClient().send(
        new PutCommand({
          TableName: tableName(),
          Item: recordItem(claim, answer),
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      ),
    );
    return undefined;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    const old = error.Item ? unmarshall(error.Item) : undefined;
    if (isIdempotencyItem(old)) return toStoredAnswer(old);
    const read = await readAnswer(claim.scope, claim.key);
    if (read) return read;
    throw error;
  }
}

/** A ClientRequestToken (<= 36 chars) for one attempt of one transaction. */
export function requestToken(transactionId: string, attempt: number): string {
  return createHash("sha256").update(`${transactionId}:${attempt}`).digest("hex").slice(0, 36);
}
