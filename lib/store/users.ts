import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { type AuditEvent, auditItem, auditPut } from "../audit/events.ts";
import { logger } from "../observability.ts";
import type { Role } from "../routes/types.ts";
import { docClient, tableName } from "./client.ts";

/**
 * All DynamoDB access for identity: users, email uniqueness, the admin counter,
 * refresh-token families and tokens, and lockout counters.
 *
 * Items (single table):
 *   USER#<id>        / PROFILE   the user: email, roles, passwordHash, generation,
 *                                failedCount, failedWindowStart, lockedUntil (ms);
 *                                gsi1pk USERS / gsi1sk USER#<id> (admin list, newest first)
 *   EMAIL#<email>    / EMAIL     email -> userId (unique emails, conditional Put)
 *   META#ADMINS      / COUNTER   number of users holding `admin` (last-admin guard)
 *   RTFAM#<familyId> / FAMILY    a login session: userId, generation, revoked, expiresAt (TTL)
 *   RT#<sha256>      / TOKEN     one refresh token (hash only): familyId, status
 *                                active|rotated, expiresAt (TTL)
 *
 * `generation` on the user counts role changes: a family records the generation it was
 * made under and refreshing checks it, so bumping it revokes every family of that user
 * in the same write as the role change, without a scan or an index read.
 */
export type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

export interface UserItem {
  readonly id: string;
  readonly email: string;
  readonly roles: Role[];
  readonly passwordHash: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly generation: number;
  readonly failedCount?: number;
  readonly failedWindowStart?: number;
  readonly lockedUntil?: number;
}

export interface FamilyItem {
  readonly familyId: string;
  readonly userId: string;
  readonly generation: number;
  readonly revoked: boolean;
  readonly createdAt: string;
  readonly expiresAt: number;
}

export interface RefreshTokenItem {
  readonly hash: string;
  readonly familyId: string;
  readonly userId: string;
  readonly status: "active" | "rotated";
  readonly createdAt: string;
  readonly expiresAt: number;
}

export const userKey = (id: string) => ({ pk: `USER#${id}`, sk: "PROFILE" });
export const emailKey = (email: string) => ({ pk: `EMAIL#${email}`, sk: "EMAIL" });
export const adminCounterKey = { pk: "META#ADMINS", sk: "COUNTER" } as const;
export const familyKey = (id: string) => ({ pk: `RTFAM#${id}`, sk: "FAMILY" });
export const refreshKey = (hash: string) => ({ pk: `RT#${hash}`, sk: "TOKEN" });
export const USERS_INDEX = "gsi1";
export const USERS_PARTITION = "USERS";

/** Thrown when a conditional write lost: `index` is the failing item of a transaction. */
export class ConditionFailed extends Error {
  override name = "ConditionFailed";
  constructor(readonly index: number) {
    super(`condition failed at item ${index}`);
  }
}

async function transact(items: TransactItem[]): Promise<void> {
  try {
    await docClient().send(new TransactWriteCommand({ TransactItems: items }));
  } catch (error) {
    const e = error as { name?: string; CancellationReasons?: { Code?: string }[] };
    if (e.name === "TransactionCanceledException" && e.CancellationReasons) {
      const index = e.CancellationReasons.findIndex((r) => r.Code === "ConditionalCheckFailed");
      if (index >= 0) throw new ConditionFailed(index);
    }
    throw error;
  }
}

function isConditionalFailure(error: unknown): boolean {
  return (error as { name?: string }).name === "ConditionalCheckFailedException";
}

// ---------------------------------------------------------------------------- users

export function userItem(user: UserItem): Record<string, unknown> {
  return {
    ...userKey(user.id),
    type: "user",
    gsi1pk: USERS_PARTITION,
    gsi1sk: `USER#${user.id}`,
    ...user,
  };
}

/**
 * Creates a user (and its email claim) plus whatever the caller adds (an account, audit
 * events) in one transaction. Throws ConditionFailed(1) when the email is taken.
 */
export async function createUser(
  user: UserItem,
  extra: TransactItem[],
  events: AuditEvent[],
): Promise<void> {
  const t = tableName();
  const adminItems: TransactItem[] = user.roles.includes("admin")
    ? [
        {
          Update: {
            TableName: t,
            Key: adminCounterKey,
            UpdateExpression: "ADD #c :one",
            ExpressionAttributeNames: { "#c": "count" },
            ExpressionAttributeValues: { ":one": 1 },
          },
        },
      ]
    : [];
  await transact([
    {
      Put: { TableName: t, Item: userItem(user), ConditionExpression: "attribute_not_exists(pk)" },
    },
    {
      Put: {
        TableName: t,
        Item: { ...emailKey(user.email), type: "user_email", userId: user.id },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    },
    ...adminItems,
    ...extra,
    ...events.map(auditPut),
  ]);
}

function toUser(item: Record<string, unknown> | undefined): UserItem | null {
  if (item?.type !== "user") return null;
  return {
    id: item.id as string,
    email: item.email as string,
    roles: item.roles as Role[],
    passwordHash: item.passwordHash as string,
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
    generation: (item.generation as number | undefined) ?? 0,
    failedCount: item.failedCount as number | undefined,
    failedWindowStart: item.failedWindowStart as number | undefined,
    lockedUntil: item.lockedUntil as number | undefined,
  };
}

export async function getUser(id: string): Promise<UserItem | null> {
  const out = await docClient().send(
    new GetCommand({ TableName: tableName(), Key: userKey(id), ConsistentRead: true }),
  );
  return toUser(out.Item);
}

export async function getUserIdByEmail(email: string): Promise<string | null> {
  const out = await docClient().send(
    new GetCommand({ TableName: tableName(), Key: emailKey(email), ConsistentRead: true }),
  );
  return typeof out.Item?.userId === "string" ? out.Item.userId : null;
}

export async function getUserByEmail(email: string): Promise<UserItem | null> {
  const id = await getUserIdByEmail(email);
  return id ? getUser(id) : null;
}

/**
 * The login lookup. It always makes two reads (email claim, then user) so an unknown
 * email costs the same round trips as a known one: without a claim it reads a user
 * key that cannot exist.
 */
export async function getUserForLogin(email: string): Promise<UserItem | null> {
  const id = await getUserIdByEmail(email);
  const user = await getUser(id ?? `usr_NONE${Date.now()}`);
  return id ? user : null;
}

/**
 * The unknown-email twin of recordLoginFailure: one conditional update on a user key
 * that does not exist. It writes nothing (the condition fails), but costs the caller
 * the same round trip a real failure count does.
 */
export async function recordLoginFailureForNobody(): Promise<void> {
  try {
    await docClient().send(
      new UpdateCommand({
        TableName: tableName(),
        Key: userKey(`usr_NONE${Date.now()}`),
        UpdateExpression: "ADD failedCount :one",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":one": 1 },
      }),
    );
  } catch (error) {
    if (!isConditionalFailure(error)) throw error;
  }
}

/** Newest first; `after` is the id of the last user of the previous page. */
export async function listUsers(
  limit: number,
  after: string | undefined,
): Promise<{ users: UserItem[]; hasMore: boolean }> {
  const out = await docClient().send(
    new QueryCommand({
      TableName: tableName(),
      IndexName: USERS_INDEX,
      KeyConditionExpression: "gsi1pk = :p",
      ExpressionAttributeValues: { ":p": USERS_PARTITION },
      ScanIndexForward: false,
      Limit: limit + 1,
      ...(after
        ? {
            ExclusiveStartKey: {
              ...userKey(after),
              gsi1pk: USERS_PARTITION,
              gsi1sk: `USER#${after}`,
            },
          }
        : {}),
    }),
  );
  const users = (out.Items ?? []).map(toUser).filter((u): u is UserItem => u !== null);
  return { users: users.slice(0, limit), hasMore: users.length > limit };
}

/**
 * Replaces a user's roles and bumps its generation (revoking all its refresh families)
 * in one transaction with the audit events. Optimistic: fails with ConditionFailed(0)
 * if the user changed meanwhile. `adminDelta` keeps the admin counter right; removing
 * the last admin fails with ConditionFailed(1).
 */
export async function replaceRoles(input: {
  userId: string;
  roles: Role[];
  expectedGeneration: number;
  adminDelta: -1 | 0 | 1;
  now: string;
  events: AuditEvent[];
}): Promise<void> {
  const t = tableName();
  const counter: TransactItem[] =
    input.adminDelta === 0
      ? []
      : [
          {
            Update: {
              TableName: t,
              Key: adminCounterKey,
              UpdateExpression: "ADD #c :d",
              ExpressionAttributeNames: { "#c": "count" },
              ExpressionAttributeValues:
                input.adminDelta < 0 ? { ":d": -1, ":one": 1 } : { ":d": 1 },
              ...(input.adminDelta < 0 ? { ConditionExpression: "#c > :one" } : {}),
            },
          },
        ];
  await transact([
    {
      Update: {
        TableName: t,
        Key: userKey(input.userId),
        UpdateExpression: "SET #r = :r, generation = :next, updatedAt = :now",
        ConditionExpression: "attribute_exists(pk) AND generation = :gen",
        ExpressionAttributeNames: { "#r": "roles" },
        ExpressionAttributeValues: {
          ":r": input.roles,
          ":gen": input.expectedGeneration,
          ":next": input.expectedGeneration + 1,
          ":now": input.now,
        },
      },
    },
    ...counter,
    ...input.events.map(auditPut),
  ]);
}

// -------------------------------------------------------------------------- lockout

/**
 * Counts one failed login atomically (ADD on the item, so parallel failures each
 * count). A failure outside the current window starts a new window at 1.
 * Returns the count after this failure.
 */
export async function recordLoginFailure(
  userId: string,
  nowMs: number,
  windowMs: number,
): Promise<number> {
  const client = docClient();
  const windowStartFloor = nowMs - windowMs;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const out = await client.send(
        new UpdateCommand({
          TableName: tableName(),
          Key: userKey(userId),
          UpdateExpression: "ADD failedCount :one",
          ConditionExpression: "attribute_exists(pk) AND failedWindowStart > :floor",
          ExpressionAttributeValues: { ":one": 1, ":floor": windowStartFloor },
          ReturnValues: "UPDATED_NEW",
        }),
      );
      return Number(out.Attributes?.failedCount ?? 0);
    } catch (error) {
      if (!isConditionalFailure(error)) throw error;
    }
    try {
      await client.send(
        new UpdateCommand({
          TableName: tableName(),
          Key: userKey(userId),
          UpdateExpression: "SET failedCount = :one, failedWindowStart = :now",
          ConditionExpression:
            "attribute_exists(pk) AND (attribute_not_exists(failedWindowStart) OR failedWindowStart <= :floor)",
          ExpressionAttributeValues: { ":one": 1, ":now": nowMs, ":floor": windowStartFloor },
        }),
      );
      return 1;
    } catch (error) {
      // Someone else opened the window first: count into theirs.
      if (!isConditionalFailure(error)) throw error;
    }
  }
  throw new Error("could not record a login failure");
}

/**
 * Locks the account until `untilMs`, with its audit event, unless it is already locked.
 * Returns true when this call locked it.
 */
export async function lockAccount(
  userId: string,
  nowMs: number,
  untilMs: number,
  event: AuditEvent,
): Promise<boolean> {
  try {
    await transact([
      {
        Update: {
          TableName: tableName(),
          Key: userKey(userId),
          UpdateExpression: "SET lockedUntil = :until",
          ConditionExpression:
            "attribute_exists(pk) AND (attribute_not_exists(lockedUntil) OR lockedUntil <= :now)",
          ExpressionAttributeValues: { ":until": untilMs, ":now": nowMs },
        },
      },
      auditPut(event),
    ]);
    return true;
  } catch (error) {
    if (error instanceof ConditionFailed) return false;
    throw error;
  }
}

/** After a successful login: clear the failure counter; optionally store an upgraded hash. */
export async function clearLoginFailures(
  userId: string,
  upgradedHash: string | undefined,
  now: string,
): Promise<void> {
  await docClient().send(
    new UpdateCommand({
      TableName: tableName(),
      Key: userKey(userId),
      UpdateExpression: upgradedHash
        ? "SET failedCount = :zero, passwordHash = :h, updatedAt = :now REMOVE failedWindowStart, lockedUntil"
        : "SET failedCount = :zero REMOVE failedWindowStart, lockedUntil",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeValues: upgradedHash
        ? { ":zero": 0, ":h": upgradedHash, ":now": now }
        : { ":zero": 0 },
    }),
  );
}

// ---------------------------------------------------------------- refresh families

/** A new family (login) with its first token, plus audit events, in one transaction. */
export async function createFamily(
  family: FamilyItem,
  token: RefreshTokenItem,
  events: AuditEvent[],
): Promise<void> {
  const t = tableName();
  await transact([
    {
      Put: {
        TableName: t,
        Item: { ...familyKey(family.familyId), type: "refresh_family", ...family },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    },
    {
      Put: {
        TableName: t,
        Item: { ...refreshKey(token.hash), type: "refresh_token", ...token },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    },
    ...events.map(auditPut),
  ]);
}

export async function getRefreshToken(hash: string): Promise<RefreshTokenItem | null> {
  const out = await docClient().send(
    new GetCommand({ TableName: tableName(), Key: refreshKey(hash), ConsistentRead: true }),
  );
  const i = out.Item;
  if (i?.type !== "refresh_token") return null;
  return {
    hash: i.hash as string,
    familyId: i.familyId as string,
    userId: i.userId as string,
    status: i.status as RefreshTokenItem["status"],
    createdAt: i.createdAt as string,
    expiresAt: i.expiresAt as number,
  };
}

export async function getFamily(familyId: string): Promise<FamilyItem | null> {
  const out = await docClient().send(
    new GetCommand({ TableName: tableName(), Key: familyKey(familyId), ConsistentRead: true }),
  );
  const i = out.Item;
  if (i?.type !== "refresh_family") return null;
  return {
    familyId: i.familyId as string,
    userId: i.userId as string,
    generation: i.generation as number,
    revoked: i.revoked === true,
    createdAt: i.createdAt as string,
    expiresAt: i.expiresAt as number,
  };
}

export type RotateOutcome = "rotated" | "token_reused" | "family_revoked" | "user_changed";

/**
 * Rotates a refresh token: the old one becomes `rotated` only if it is still `active`
 * (so of two parallel uses exactly one wins), the new one is stored, the family must
 * not be revoked and the user's generation must still match the family's.
 */
export async function rotateRefreshToken(input: {
  oldHash: string;
  next: RefreshTokenItem;
  family: FamilyItem;
  now: string;
}): Promise<RotateOutcome> {
  const t = tableName();
  try {
    await transact([
      {
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
      },
      {
        Put: {
          TableName: t,
          Item: { ...refreshKey(input.next.hash), type: "refresh_token", ...input.next },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      },
      {
        Update: {
          TableName: t,
          Key: familyKey(input.family.familyId),
          UpdateExpression: "SET expiresAt = :exp, lastUsedAt = :now",
          ConditionExpression: "revoked = :false",
          ExpressionAttributeValues: {
            ":exp": input.next.expiresAt,
            ":now": input.now,
            ":false": false,
          },
        },
      },
      {
        ConditionCheck: {
          TableName: t,
          Key: userKey(input.family.userId),
          ConditionExpression: "generation = :gen",
          ExpressionAttributeValues: { ":gen": input.family.generation },
        },
      },
    ]);
    return "rotated";
  } catch (error) {
    if (!(error instanceof ConditionFailed)) throw error;
    if (error.index === 2) return "family_revoked";
    if (error.index === 3) return "user_changed";
    return "token_reused";
  }
}

/** Revokes a family with its audit events; false if it was already revoked. */
export async function revokeFamily(
  familyId: string,
  reason: string,
  now: string,
  events: AuditEvent[],
): Promise<boolean> {
  try {
    await transact([
      {
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
      },
      ...events.map(auditPut),
    ]);
    return true;
  } catch (error) {
    if (error instanceof ConditionFailed) return false;
    throw error;
  }
}

// ------------------------------------------------------------------ security events

/**
 * Writes a security event that has no state change of its own (failed login, denied
 * request, forged token) as a standalone outbox Put. Best effort: bounded in time and
 * never throws, so an audit hiccup never turns a 401 into a 500.
 */
export async function putSecurityEvent(event: AuditEvent, timeoutMs = 1_000): Promise<void> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  timer.unref?.();
  try {
    await docClient().send(
      new PutCommand({
        TableName: tableName(),
        Item: auditItem(event),
        ConditionExpression: "attribute_not_exists(pk)",
      }),
      { abortSignal: abort.signal },
    );
  } catch (error) {
    logger.warn("security event not recorded", {
      action: event.action,
      errorName: error instanceof Error ? error.name : typeof error,
    });
  } finally {
    clearTimeout(timer);
  }
}
