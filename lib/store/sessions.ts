import type { AuditEvent } from "../audit/events.ts";
import type {
  FamilyRecord,
  IdentityStore,
  RefreshTokenRecord,
  RotateOutcome,
} from "../auth/port.ts";
import { auditPut } from "./audit-outbox.ts";
import { tableName } from "./client.ts";
import { familyKey, refreshKey, userKey } from "./keys.ts";
import { labelled, transact } from "./transact.ts";
import { ConditionFailed, readItem } from "./users.ts";

/**
 * DynamoDB access for sessions: refresh-token families and tokens (the session half of
 * the identity store port, lib/auth/port.ts).
 *
 * Items (single table; keys in lib/store/keys.ts):
 *   RTFAM#<familyId> / FAMILY    a login session: userId, generation, revoked, expiresAt (TTL)
 *   RT#<sha256>      / TOKEN     one refresh token (hash only): familyId, status
 *                                active|rotated, expiresAt (TTL)
 *
 * A family records the user's role generation it was made under (lib/store/users.ts);
 * starting and rotating check it, so a role change revokes every family at once.
 */
/**
 * Starts a login session: a new family with its first token and the audit events, in
 * one transaction with an update of the user that frees the caller's attempt slot,
 * clears the failures (and stores an upgraded password hash). The transaction commits
 * only if the account is not locked, the caller's reservation still stands and the
 * user's role generation is still `expectedGeneration`: roles read before the bcrypt
 * compare are then still the user's roles at the commit. "user_changed": one of those
 * no longer holds (read the user to see which). Transaction conflicts are retried
 * (lib/store/transact.ts), then 503.
 */
export async function startLoginSession(
  input: Parameters<IdentityStore["startLoginSession"]>[0],
): ReturnType<IdentityStore["startLoginSession"]> {
  const t = tableName();
  const { family, token } = input;
  const upgrade = input.upgradedHash !== undefined;
  const out = await transact([
    labelled("user", {
      Update: {
        TableName: t,
        Key: userKey(family.userId),
        UpdateExpression:
          "SET failedCount = :zero, failedWindowStart = :now, attemptCount = pendingCount - :one, " +
          `pendingCount = pendingCount - :one${upgrade ? ", passwordHash = :h, updatedAt = :iso" : ""} ` +
          "REMOVE lockedUntil",
        ConditionExpression:
          "attribute_exists(pk) AND generation = :gen AND attribute_not_exists(lockedUntil) AND pendingCount > :zero",
        ExpressionAttributeValues: {
          ":zero": 0,
          ":one": 1,
          ":now": input.nowMs,
          ":gen": input.expectedGeneration,
          ...(upgrade
            ? { ":h": input.upgradedHash, ":iso": new Date(input.nowMs).toISOString() }
            : {}),
        },
      },
    }),
    labelled("family", {
      Put: {
        TableName: t,
        Item: { ...familyKey(family.familyId), type: "refresh_family", ...family },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }),
    labelled("token", {
      Put: {
        TableName: t,
        Item: { ...refreshKey(token.hash), type: "refresh_token", ...token },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }),
    ...input.events.map(auditPut),
  ]);
  if (out.ok) return "started";
  if (out.failed.has("user")) return "user_changed";
  throw new ConditionFailed(new Set(out.failed.keys()));
}

export async function getRefreshToken(hash: string): Promise<RefreshTokenRecord | null> {
  const i = await readItem(refreshKey(hash));
  if (i?.type !== "refresh_token") return null;
  return {
    hash: i.hash as string,
    familyId: i.familyId as string,
    userId: i.userId as string,
    status: i.status as RefreshTokenRecord["status"],
    createdAt: i.createdAt as string,
    expiresAt: i.expiresAt as number,
  };
}

export async function getFamily(familyId: string): Promise<FamilyRecord | null> {
  const i = await readItem(familyKey(familyId));
  if (i?.type !== "refresh_family") return null;
  return {
    familyId: i.familyId as string,
    userId: i.userId as string,
    generation: i.generation as number,
    revoked: i.revoked === true,
    createdAt: i.createdAt as string,
    expiresAt: i.expiresAt as number,
    amr: i.amr as FamilyRecord["amr"],
    authTime: i.authTime as number | undefined,
    privileged: i.privileged === true,
    absoluteExpiresAt: i.absoluteExpiresAt as number | undefined,
    lastUsedMs: i.lastUsedMs as number | undefined,
  };
}

/**
 * Rotates a refresh token: the old one becomes `rotated` only if it is still `active`
 * (so of two parallel uses exactly one wins), the new one is stored, the family must
 * not be revoked and the user's generation must still match the family's.
 */
export async function rotateRefreshToken(
  input: Parameters<IdentityStore["rotateRefreshToken"]>[0],
): Promise<RotateOutcome> {
  const t = tableName();
  const out = await transact([
    labelled("old_token", {
      Update: {
        TableName: t,
        Key: refreshKey(input.oldHash),
        UpdateExpression: "SET #s = :rotated, rotatedAt = :now",
        ConditionExpression: "#s = :active",
        ExpressionAttributeNames: { "#s": "status" },
        ExpressionAttributeValues: {
          ":rotated": "rotated",
          ":active": "active",
          ":now": input.now,
        },
      },
    }),
    labelled("new_token", {
      Put: {
        TableName: t,
        Item: { ...refreshKey(input.next.hash), type: "refresh_token", ...input.next },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }),
    labelled("family", {
      Update: {
        TableName: t,
        Key: familyKey(input.family.familyId),
        UpdateExpression: "SET expiresAt = :exp, lastUsedAt = :now, lastUsedMs = :ms",
        ConditionExpression: "revoked = :false",
        ExpressionAttributeValues: {
          ":exp": input.next.expiresAt,
          ":now": input.now,
          ":ms": input.nowMs,
          ":false": false,
        },
      },
    }),
    labelled("user", {
      ConditionCheck: {
        TableName: t,
        Key: userKey(input.family.userId),
        ConditionExpression: "generation = :gen",
        ExpressionAttributeValues: { ":gen": input.family.generation },
      },
    }),
  ]);
  if (out.ok) return "rotated";
  if (out.failed.has("family")) return "family_revoked";
  if (out.failed.has("user")) return "user_changed";
  return "token_reused";
}

/** Revokes a family with its audit events; false if it was already revoked. */
export async function revokeFamily(
  familyId: string,
  reason: string,
  now: string,
  events: AuditEvent[],
): Promise<boolean> {
  const out = await transact([
    labelled("family", {
      Update: {
        TableName: tableName(),
        Key: familyKey(familyId),
        UpdateExpression: "SET revoked = :true, revokedAt = :now, revokedReason = :reason",
        ConditionExpression: "attribute_exists(pk) AND revoked = :false",
        ExpressionAttributeValues: {
          ":true": true,
          ":false": false,
          ":now": now,
          ":reason": reason,
        },
      },
    }),
    ...events.map(auditPut),
  ]);
  return out.ok;
}
