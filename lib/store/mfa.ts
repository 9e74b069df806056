import { DeleteCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditEvent } from "../audit/events.ts";
import type { IdentityStore, MfaChallengeRecord } from "../auth/port.ts";
import { auditPut } from "./audit-outbox.ts";
import { docClient, tableName } from "./client.ts";
import { mfaChallengeKey, userKey } from "./keys.ts";
import { isConditionFailure, withRetry } from "./retry.ts";
import { type Labelled, labelled, transact } from "./transact.ts";

/**
 * DynamoDB access for multi-factor authentication (the MFA half of the identity store
 * port, lib/auth/port.ts).
 *
 * On the user item (USER#<id> / PROFILE):
 *   totpPending    a sealed secret enrolled, not yet verified
 *   totpSecret     the sealed secret in use (present = MFA on)
 *   totpLastStep   the time step of the last accepted code (replay rule: later only)
 *   recoveryCodes  string set of SHA-256 hashes of the unused recovery codes
 * Items:
 *   MFA#<sha256> / CHALLENGE   a login's pending second step: userId, generation,
 *                              authTime, expiresAt (TTL); deleted when presented
 */
const LATER_STEP = "(attribute_not_exists(totpLastStep) OR totpLastStep < :step)";

/** One transaction item: the user item's update, under its condition. */
function userUpdate(
  userId: string,
  update: string,
  condition: string,
  values: Record<string, unknown>,
): Labelled {
  return labelled("user", {
    Update: {
      TableName: tableName(),
      Key: userKey(userId),
      UpdateExpression: update,
      ConditionExpression: condition,
      ExpressionAttributeValues: values,
    },
  });
}

async function conditional(update: () => Promise<unknown>): Promise<boolean> {
  try {
    await withRetry(update);
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

export async function setPendingTotp(
  userId: string,
  sealed: string,
  events: AuditEvent[],
): Promise<"set" | "enabled"> {
  const out = await transact([
    userUpdate(
      userId,
      "SET totpPending = :p",
      "attribute_exists(pk) AND attribute_not_exists(totpSecret)",
      { ":p": sealed },
    ),
    ...events.map(auditPut),
  ]);
  return out.ok ? "set" : "enabled";
}

export async function enableTotp(
  input: Parameters<IdentityStore["enableTotp"]>[0],
): Promise<boolean> {
  const out = await transact([
    userUpdate(
      input.userId,
      "SET totpSecret = :p, totpLastStep = :step, recoveryCodes = :codes REMOVE totpPending",
      `totpPending = :p AND attribute_not_exists(totpSecret) AND ${LATER_STEP}`,
      {
        ":p": input.pending,
        ":step": input.step,
        ":codes": new Set(input.recoveryCodes),
      },
    ),
    ...input.events.map(auditPut),
  ]);
  return out.ok;
}

export function acceptTotpStep(userId: string, step: number): Promise<boolean> {
  return conditional(() =>
    docClient().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: userKey(userId),
        UpdateExpression: "SET totpLastStep = :step",
        ConditionExpression: `attribute_exists(totpSecret) AND ${LATER_STEP}`,
        ExpressionAttributeValues: { ":step": step },
      }),
    ),
  );
}

export function useRecoveryCode(userId: string, hash: string): Promise<boolean> {
  return conditional(() =>
    docClient().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: userKey(userId),
        UpdateExpression: "DELETE recoveryCodes :set",
        ConditionExpression: "contains(recoveryCodes, :h)",
        ExpressionAttributeValues: { ":set": new Set([hash]), ":h": hash },
      }),
    ),
  );
}

export async function disableTotp(
  input: Parameters<IdentityStore["disableTotp"]>[0],
): Promise<boolean> {
  const out = await transact([
    userUpdate(
      input.userId,
      "SET totpLastStep = :step REMOVE totpSecret, recoveryCodes, totpPending",
      `attribute_exists(totpSecret) AND ${LATER_STEP}`,
      { ":step": input.step },
    ),
    ...input.events.map(auditPut),
  ]);
  return out.ok;
}

export async function putMfaChallenge(c: MfaChallengeRecord): Promise<void> {
  await withRetry(() =>
    docClient().send(
      new PutCommand({
        TableName: tableName(),
        Item: { ...mfaChallengeKey(c.hash), type: "mfa_challenge", ...c },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    ),
  );
}

/** Deletes the challenge and returns it, if it exists and has not expired (single use). */
export async function takeMfaChallenge(
  hash: string,
  nowS: number,
): Promise<MfaChallengeRecord | null> {
  try {
    const out = await docClient().send(
      new DeleteCommand({
        TableName: tableName(),
        Key: mfaChallengeKey(hash),
        ConditionExpression: "attribute_exists(pk) AND expiresAt > :now",
        ExpressionAttributeValues: { ":now": nowS },
        ReturnValues: "ALL_OLD",
      }),
    );
    const i = out.Attributes;
    if (i?.type !== "mfa_challenge") return null;
    return {
      hash: i.hash as string,
      userId: i.userId as string,
      generation: i.generation as number,
      authTime: i.authTime as number,
      expiresAt: i.expiresAt as number,
    };
  } catch (error) {
    if (isConditionFailure(error)) return null;
    throw error;
  }
}
