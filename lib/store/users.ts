import { GetCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { AuditEvent } from "../audit/events.ts";
import type {
  CreateUserOutcome,
  IdentityStore,
  LoginAttemptLimits,
  UserRecord,
} from "../auth/port.ts";
import { logger } from "../observability.ts";
import type { Role } from "../routes/types.ts";
import { approvalDecisionItems } from "./approvals.ts";
import { auditPut } from "./audit-outbox.ts";
import { docClient, tableName } from "./client.ts";
import {
  adminCounterKey,
  emailKey,
  type Key,
  USERS_INDEX,
  USERS_PARTITION,
  userIndexKey,
  userKey,
} from "./keys.ts";
import { newAccountTransactItems } from "./ledger-writes.ts";
import { isConditionFailure, withRetry } from "./retry.ts";
import { type Labelled, labelled, transact } from "./transact.ts";

/**
 * DynamoDB access for users: profiles, email uniqueness, the admin counter, roles, and
 * lockout counters: the user half of the identity store port (lib/auth/port.ts;
 * assembled in lib/store/identity.ts). Sessions (refresh families and tokens) are
 * lib/store/sessions.ts.
 *
 * Items (single table; keys in lib/store/keys.ts):
 *   USER#<id>        / PROFILE   the user: email, roles, passwordHash, generation,
 *                                lockout state (failedCount, failedWindowStart,
 *                                lockedUntil, attemptCount, pendingCount, pendingSince;
 *                                times in ms, see "lockout" below);
 *                                gsi1pk USERS / gsi1sk USER#<id> (admin list, newest first)
 *   EMAIL#<email>    / EMAIL     email -> userId (unique emails, conditional Put)
 *   META#ADMINS      / COUNTER   number of users holding `admin` (last-admin guard)
 *
 * `generation` on the user counts role changes: a family records the generation it was
 * made under and refreshing checks it, so bumping it revokes every family of that user
 * in the same write as the role change, without a scan or an index read.
 */
export type { LoginAttemptLimits, UserRecord };

/** Thrown when a transaction's conditions failed: `failed` holds the failing labels. */
export class ConditionFailed extends Error {
  override name = "ConditionFailed";
  constructor(readonly failed: ReadonlySet<string>) {
    super(`condition failed: ${[...failed].join(",")}`);
  }
}

// ---------------------------------------------------------------------------- users

export function userItem(user: UserRecord): Record<string, unknown> {
  return {
    ...userKey(user.id),
    type: "user",
    ...userIndexKey(user.id),
    ...user,
  };
}

/**
 * Creates a user (and its email claim), with its first account if asked, plus the
 * audit events, in one transaction. "email_taken" when the email is claimed.
 */
export async function createUser(
  input: Parameters<IdentityStore["createUser"]>[0],
): Promise<CreateUserOutcome> {
  const { user } = input;
  const t = tableName();
  const adminItems: Labelled[] = user.roles.includes("admin")
    ? [
        labelled("admin_counter", {
          Update: {
            TableName: t,
            Key: adminCounterKey,
            UpdateExpression: "ADD #c :one",
            ExpressionAttributeNames: { "#c": "count" },
            ExpressionAttributeValues: { ":one": 1 },
          },
        }),
      ]
    : [];
  const first = input.firstAccount
    ? newAccountTransactItems({
        ownerId: user.id,
        currency: input.firstAccount.currency,
        now: input.firstAccount.now,
      })
    : undefined;
  const out = await transact([
    labelled("user", {
      Put: { TableName: t, Item: userItem(user), ConditionExpression: "attribute_not_exists(pk)" },
    }),
    labelled("email", {
      Put: {
        TableName: t,
        Item: { ...emailKey(user.email), type: "user_email", userId: user.id },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    }),
    ...adminItems,
    ...(first?.items ?? []),
    ...input.events(first?.account.id).map(auditPut),
  ]);
  if (out.ok) return { created: true, account: first?.account };
  if (out.failed.has("email")) return { created: false, reason: "email_taken" };
  throw new ConditionFailed(new Set(out.failed.keys()));
}

function toUser(item: Record<string, unknown> | undefined): UserRecord | null {
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
    attemptCount: item.attemptCount as number | undefined,
    pendingCount: item.pendingCount as number | undefined,
    pendingSince: item.pendingSince as number | undefined,
    totpSecret: item.totpSecret as string | undefined,
    totpPending: item.totpPending as string | undefined,
    totpLastStep: item.totpLastStep as number | undefined,
    recoveryCodes:
      item.recoveryCodes instanceof Set ? [...(item.recoveryCodes as Set<string>)] : undefined,
  };
}

/** One item by key, strongly consistent (identity reads decide on what they read). */
export async function readItem(key: Key): Promise<Record<string, unknown> | undefined> {
  const out = await docClient().send(
    new GetCommand({ TableName: tableName(), Key: key, ConsistentRead: true }),
  );
  return out.Item;
}

export async function getUser(id: string): Promise<UserRecord | null> {
  return toUser(await readItem(userKey(id)));
}

export async function getUserIdByEmail(email: string): Promise<string | null> {
  const claim = await readItem(emailKey(email));
  return typeof claim?.userId === "string" ? claim.userId : null;
}

/**
 * The login lookup. It always makes two reads (email claim, then user) so an unknown
 * email costs the same round trips as a known one: without a claim it reads a user
 * key that cannot exist.
 */
export async function getUserForLogin(email: string): Promise<UserRecord | null> {
  const id = await getUserIdByEmail(email);
  const user = await getUser(id ?? `usr_NONE${Date.now()}`);
  return id ? user : null;
}

/**
 * The unknown-email (and refused-attempt) twin of the lockout writes: one conditional
 * update on a user key that cannot exist. It writes nothing (the condition fails), but
 * costs the caller the same round trip a reservation or a failure count does.
 */
export async function loginRoundTripForNobody(): Promise<void> {
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
    if (!isConditionFailure(error)) throw error;
  }
}

/** Newest first; `after` is the id of the last user of the previous page. */
export async function listUsers(
  limit: number,
  after: string | undefined,
): Promise<{ users: UserRecord[]; hasMore: boolean }> {
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
              ...userIndexKey(after),
            },
          }
        : {}),
    }),
  );
  const users = (out.Items ?? []).map(toUser).filter((u): u is UserRecord => u !== null);
  return { users: users.slice(0, limit), hasMore: users.length > limit };
}

/**
 * Replaces a user's roles and bumps its generation (revoking all its refresh families)
 * in one transaction with the audit events. Optimistic: "user_changed" if the user
 * changed meanwhile. `adminDelta` keeps the admin counter right; removing the last
 * admin is "last_admin".
 */
export async function replaceRoles(
  input: Parameters<IdentityStore["replaceRoles"]>[0],
): ReturnType<IdentityStore["replaceRoles"]> {
  const t = tableName();
  const counter: Labelled[] =
    input.adminDelta === 0
      ? []
      : [
          labelled("admin_counter", {
            Update: {
              TableName: t,
              Key: adminCounterKey,
              UpdateExpression: "ADD #c :d",
              ExpressionAttributeNames: { "#c": "count" },
              ExpressionAttributeValues:
                input.adminDelta < 0 ? { ":d": -1, ":one": 1 } : { ":d": 1 },
              ...(input.adminDelta < 0 ? { ConditionExpression: "#c > :one" } : {}),
            },
          }),
        ];
  const out = await transact([
    labelled("user", {
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
    }),
    ...counter,
    ...input.events.map(auditPut),
    ...(input.approval ? approvalDecisionItems(input.approval) : []),
  ]);
  if (out.ok) return "replaced";
  if (out.failed.has("approval")) return "approval_changed";
  if (out.failed.has("admin_counter") && input.adminDelta < 0) return "last_admin";
  return "user_changed";
}

// -------------------------------------------------------------------------- lockout

/**
 * Lockout with attempt reservations, so concurrent guesses can never be judged more
 * often than the threshold allows.
 *
 * Before its bcrypt compare, a login reserves one of the account's `threshold` attempt
 * slots in a single conditional UpdateItem (reserveLoginAttempt). `attemptCount` is the
 * slots in use in the current window: judged failures (`failedCount`) plus attempts
 * still running (`pendingCount`). The update fails when the account is locked or all
 * slots are taken; such an attempt is refused without being judged. A wrong password
 * turns its slot into a failure (recordLoginFailure), and the failure that reaches the
 * threshold locks the account (lockAccount). A right password starts its session in a
 * transaction that also frees its slot, clears the failures, and is conditioned on the
 * account not being locked, the reservation still standing and the role generation
 * being the one read (startLoginSession).
 *
 * An attempt whose Lambda died mid-bcrypt never gives its slot back. `pendingSince` is
 * the time of the latest reservation: once no attempt has been reserved for the
 * attempt TTL (MICROPAY_LOGIN_ATTEMPT_TTL_SECONDS, longer than any login can run),
 * every pending attempt is dead and the next reservation drops them all. The failure
 * window (MICROPAY_LOCKOUT_WINDOW_SECONDS) bounds the rest: a new window starts with
 * the failures at zero. So an account is never stuck for longer than the window.
 */
type LockoutState = Pick<
  UserRecord,
  | "failedCount"
  | "failedWindowStart"
  | "lockedUntil"
  | "attemptCount"
  | "pendingCount"
  | "pendingSince"
>;

/**
 * Which reservation fits a user's lockout state (each has a condition that holds
 * exactly in that state, so a stale read only costs a retry):
 * - count: window open, attempts running recently: take a slot if one is free;
 * - stale: window open, no attempt reserved within the TTL: pending ones are dead;
 * - reset_carry / reset_fresh: no window, an expired one, or a lapsed lock: a new
 *   window, keeping (carry) or dropping (fresh) recent running attempts;
 * - refuse: locked, or every slot taken.
 */
export type ReservationPlan = "count" | "stale" | "reset_carry" | "reset_fresh" | "refuse";

export function planReservation(u: LockoutState, l: LoginAttemptLimits): ReservationPlan {
  const pendingFresh = u.pendingSince !== undefined && u.pendingSince > l.nowMs - l.attemptTtlMs;
  const newWindow = () =>
    !pendingFresh ? "reset_fresh" : (u.pendingCount ?? 0) < l.threshold ? "reset_carry" : "refuse";
  if (u.lockedUntil !== undefined) return u.lockedUntil > l.nowMs ? "refuse" : newWindow();
  const windowOpen =
    u.failedWindowStart !== undefined && u.failedWindowStart > l.nowMs - l.windowMs;
  if (!windowOpen) return newWindow();
  if (pendingFresh) return (u.attemptCount ?? l.threshold) < l.threshold ? "count" : "refuse";
  return (u.failedCount ?? 0) < l.threshold ? "stale" : "refuse";
}

const NOT_LOCKED_OPEN_WINDOW =
  "attribute_exists(pk) AND attribute_not_exists(lockedUntil) AND failedWindowStart > :wfloor";
const NEW_WINDOW =
  "attribute_exists(pk) AND (lockedUntil <= :now OR (attribute_not_exists(lockedUntil) AND " +
  "(attribute_not_exists(failedWindowStart) OR failedWindowStart <= :wfloor)))";
const PENDING_STALE = "(attribute_not_exists(pendingSince) OR pendingSince <= :stale)";

function reservationUpdate(plan: Exclude<ReservationPlan, "refuse">, l: LoginAttemptLimits) {
  // Every plan uses these; :zero and :t only where its expressions name them (DynamoDB
  // refuses an ExpressionAttributeValues member the expressions do not use).
  const values = {
    ":one": 1,
    ":now": l.nowMs,
    ":wfloor": l.nowMs - l.windowMs,
    ":stale": l.nowMs - l.attemptTtlMs,
  };
  const t = { ":t": l.threshold };
  const zero = { ":zero": 0 };
  switch (plan) {
    case "count":
      return {
        UpdateExpression: "SET pendingSince = :now ADD attemptCount :one, pendingCount :one",
        ConditionExpression: `${NOT_LOCKED_OPEN_WINDOW} AND pendingSince > :stale AND attemptCount < :t`,
        ExpressionAttributeValues: { ...values, ...t },
      };
    case "stale":
      return {
        UpdateExpression:
          "SET attemptCount = if_not_exists(failedCount, :zero) + :one, pendingCount = :one, pendingSince = :now",
        ConditionExpression: `${NOT_LOCKED_OPEN_WINDOW} AND ${PENDING_STALE} AND (attribute_not_exists(failedCount) OR failedCount < :t)`,
        ExpressionAttributeValues: { ...values, ...zero, ...t },
      };
    case "reset_carry":
      return {
        UpdateExpression:
          "SET failedCount = :zero, failedWindowStart = :now, attemptCount = pendingCount + :one, " +
          "pendingCount = pendingCount + :one, pendingSince = :now REMOVE lockedUntil",
        ConditionExpression: `${NEW_WINDOW} AND pendingSince > :stale AND pendingCount < :t`,
        ExpressionAttributeValues: { ...values, ...zero, ...t },
      };
    case "reset_fresh":
      return {
        UpdateExpression:
          "SET failedCount = :zero, failedWindowStart = :now, attemptCount = :one, " +
          "pendingCount = :one, pendingSince = :now REMOVE lockedUntil",
        ConditionExpression: `${NEW_WINDOW} AND ${PENDING_STALE}`,
        ExpressionAttributeValues: { ...values, ...zero },
      };
  }
}

/** Conditional-update attempts before a reservation gives up (and refuses). */
const RESERVATION_ROUNDS = 4;

/**
 * Reserves one attempt slot before the password is judged. "refused": the account is
 * locked or every slot is taken (the attempt must not be judged). A refusal decided
 * from `user` alone still makes one (no-op) write, so it costs what a reservation does.
 */
export async function reserveLoginAttempt(
  user: UserRecord,
  limits: LoginAttemptLimits,
): Promise<"reserved" | "refused"> {
  let state: UserRecord | null = user;
  for (let round = 0; round < RESERVATION_ROUNDS && state; round++) {
    const plan = planReservation(state, limits);
    if (plan === "refuse") {
      if (round === 0) await loginRoundTripForNobody();
      return "refused";
    }
    try {
      await withRetry(() =>
        docClient().send(
          new UpdateCommand({
            TableName: tableName(),
            Key: userKey(user.id),
            ...reservationUpdate(plan, limits),
          }),
        ),
      );
      return "reserved";
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    // Someone else changed the lockout state meanwhile: read it again and re-plan.
    state = await getUser(user.id);
  }
  return "refused";
}

/**
 * A wrong password: turns the caller's reserved slot into a judged failure. Returns
 * the failures in the window after this one. If the reservation was already dropped
 * as stale (a login slower than the attempt TTL), the failure still counts, with a
 * slot of its own.
 */
export async function recordLoginFailure(userId: string): Promise<number> {
  const send = (
    update: Omit<ConstructorParameters<typeof UpdateCommand>[0], "TableName" | "Key">,
  ) =>
    withRetry(() =>
      docClient().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: userKey(userId),
          ReturnValues: "UPDATED_NEW",
          ...update,
        }),
      ),
    );
  try {
    const out = await send({
      UpdateExpression: "ADD failedCount :one, pendingCount :minus",
      ConditionExpression: "attribute_exists(pk) AND pendingCount > :zero",
      ExpressionAttributeValues: { ":one": 1, ":minus": -1, ":zero": 0 },
    });
    return Number(out.Attributes?.failedCount ?? 0);
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
  }
  const out = await send({
    UpdateExpression: "ADD failedCount :one, attemptCount :one",
    ConditionExpression: "attribute_exists(pk)",
    ExpressionAttributeValues: { ":one": 1 },
  });
  return Number(out.Attributes?.failedCount ?? 0);
}

/**
 * Gives a reserved slot back without judging anything (a right password whose session
 * could not start). Best effort: a slot not given back is dropped with the stale ones.
 */
export async function releaseLoginAttempt(userId: string): Promise<void> {
  try {
    await withRetry(() =>
      docClient().send(
        new UpdateCommand({
          TableName: tableName(),
          Key: userKey(userId),
          UpdateExpression: "ADD pendingCount :minus, attemptCount :minus",
          ConditionExpression: "attribute_exists(pk) AND pendingCount > :zero",
          ExpressionAttributeValues: { ":minus": -1, ":zero": 0 },
        }),
      ),
    );
  } catch (error) {
    logger.warn("login attempt slot not released", {
      errorName: error instanceof Error ? error.name : typeof error,
    });
  }
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
  const out = await transact([
    labelled("user", {
      Update: {
        TableName: tableName(),
        Key: userKey(userId),
        UpdateExpression: "SET lockedUntil = :until",
        ConditionExpression:
          "attribute_exists(pk) AND (attribute_not_exists(lockedUntil) OR lockedUntil <= :now)",
        ExpressionAttributeValues: { ":until": untilMs, ":now": nowMs },
      },
    }),
    auditPut(event),
  ]);
  return out.ok;
}
