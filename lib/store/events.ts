import { GetCommand, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { config } from "../config.ts";
import { EVENT_ITEM_TYPE, type EventRecord, type MicroPayEvent } from "../events/model.ts";
import type { EventDeps } from "../events/service.ts";
import { docClient, tableName } from "./client.ts";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import {
  accountPartition,
  EVENT_PREFIX,
  EVENTS_INDEX,
  eventDayPartition,
  eventIndexKey,
  eventKey,
  eventLinkKey,
} from "./keys.ts";
import { customerOwnersOf, listAccountsOfOwner } from "./ledger-reads.ts";
import { withRetry } from "./retry.ts";
import { type Labelled, labelled } from "./transact.ts";

/**
 * Event items (the customer-facing outbox, lib/events/model.ts). A change writes, in
 * its own TransactWriteItems, one event item (`EVT#<id>`, item kind `event`, indexed by
 * UTC day in gsi1 for the staff-wide list) and one link item per customer account it is
 * about (`ACC#<accountId>` / `EVT#<id>`, a copy of the event) so "events about my
 * accounts" is one Query per account and the change itself needs no read first. Both
 * expire with the TTL (MICROPAY_EVENT_RETENTION_SECONDS, 30 days).
 *
 * The stream's dispatcher subscription admits only INSERTs of `event` items
 * (lib/audit/stream-filter.ts); link items never invoke it.
 */

export { EVENT_ITEM_TYPE };
export const EVENT_LINK_ITEM_TYPE = "event_link";

type Item = Record<string, unknown>;
const T = () => tableName();

const expiresAt = (createdAt: string) =>
  Math.floor(Date.parse(createdAt) / 1000) + config().MICROPAY_EVENT_RETENTION_SECONDS;

/** The items of one event: the event and a link under each account it is about. */
export function eventPuts(record: EventRecord): Labelled[] {
  const { event, accountIds } = record;
  const ttl = expiresAt(event.createdAt);
  const put = (item: Item) =>
    labelled("event", {
      Put: { TableName: T(), Item: item, ConditionExpression: "attribute_not_exists(pk)" },
    });
  return [
    put({
      ...eventKey(event.id),
      ...eventIndexKey(event.createdAt, event.id),
      type: EVENT_ITEM_TYPE,
      eventType: event.type,
      accountIds: [...accountIds],
      event,
      expiresAt: ttl,
    }),
    ...accountIds.map((accountId) =>
      put({
        ...eventLinkKey(accountId, event.id),
        type: EVENT_LINK_ITEM_TYPE,
        eventType: event.type,
        eventId: event.id,
        event,
        expiresAt: ttl,
      }),
    ),
  ];
}

/** The stored event item back as a record (the stream image, a GetItem). */
export function toEventRecord(item: Item): EventRecord {
  return {
    event: item.event as MicroPayEvent,
    accountIds: Array.isArray(item.accountIds) ? item.accountIds.map(String) : [],
  };
}

export async function getEventRecord(eventId: string): Promise<EventRecord | undefined> {
  const out = await withRetry(() =>
    docClient().send(new GetCommand({ TableName: T(), Key: eventKey(eventId) })),
  );
  return out.Item && out.Item.type === EVENT_ITEM_TYPE ? toEventRecord(out.Item) : undefined;
}

export interface EventPage {
  readonly data: MicroPayEvent[];
  readonly hasMore: boolean;
  readonly nextCursor: string | null;
}

interface PartitionQuery {
  readonly index?: typeof EVENTS_INDEX;
  readonly partition: string;
}

/**
 * Up to `want` events of one partition, newest first, strictly older than `before`
 * (an event id), of `type` if given. Pages through the partition when a type filter
 * leaves a page short.
 */
async function newestIn(
  q: PartitionQuery,
  before: string | undefined,
  type: string | undefined,
  want: number,
): Promise<MicroPayEvent[]> {
  const pk = q.index ? "gsi1pk" : "pk";
  const sk = q.index ? "gsi1sk" : "sk";
  const found: MicroPayEvent[] = [];
  let start: Item | undefined;
  do {
    const input: QueryCommandInput = {
      TableName: T(),
      ...(q.index ? { IndexName: q.index } : { ConsistentRead: true }),
      KeyConditionExpression: before
        ? "#pk = :pk AND #sk BETWEEN :lo AND :hi"
        : "#pk = :pk AND begins_with(#sk, :lo)",
      ExpressionAttributeNames: { "#pk": pk, "#sk": sk, ...(type ? { "#et": "eventType" } : {}) },
      ExpressionAttributeValues: {
        ":pk": q.partition,
        ":lo": EVENT_PREFIX,
        ...(before ? { ":hi": `${EVENT_PREFIX}${before}` } : {}),
        ...(type ? { ":et": type } : {}),
      },
      ...(type ? { FilterExpression: "#et = :et" } : {}),
      ScanIndexForward: false,
      Limit: want + 1,
      ...(start ? { ExclusiveStartKey: start } : {}),
    };
    const out = await withRetry(() => docClient().send(new QueryCommand(input)));
    for (const item of out.Items ?? []) {
      const event = item.event as MicroPayEvent | undefined;
      if (!event || event.id === before) continue; // BETWEEN is inclusive
      found.push(event);
    }
    start = out.LastEvaluatedKey as Item | undefined;
  } while (start && found.length < want);
  return found.slice(0, want);
}

function pageOf(
  scope: string,
  events: MicroPayEvent[],
  limit: number,
  extra: (last: MicroPayEvent) => Record<string, string> = () => ({}),
): EventPage {
  const unique = [...new Map(events.map((e) => [e.id, e])).values()].sort((a, b) =>
    a.id < b.id ? 1 : a.id > b.id ? -1 : 0,
  );
  const data = unique.slice(0, limit);
  const last = data.at(-1);
  const hasMore = unique.length > limit && last !== undefined;
  return {
    data,
    hasMore,
    nextCursor: hasMore && last ? encodeCursor(scope, { before: last.id, ...extra(last) }) : null,
  };
}

/**
 * Events about any of `accountIds`, newest first: one Query per account on its link
 * items. `scope` binds the cursor to the caller's list.
 */
export async function listEventsOfAccounts(
  scope: string,
  accountIds: readonly string[],
  opts: { type?: string | undefined; limit: number; cursor?: string | undefined },
): Promise<EventPage> {
  const before = opts.cursor ? decodeCursor(scope, opts.cursor).before : undefined;
  const lists = await Promise.all(
    accountIds.map((a) =>
      newestIn({ partition: accountPartition(a) }, before, opts.type, opts.limit + 1),
    ),
  );
  return pageOf(scope, lists.flat(), opts.limit);
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * Every event, newest first (admins, auditors): the day buckets of gsi1 from today
 * (or the cursor's day) back to the retention horizon, one Query per bucket, stopping
 * as soon as the page is full. No Scan.
 */
export async function listAllEvents(
  scope: string,
  opts: { type?: string | undefined; limit: number; cursor?: string | undefined },
  now = Date.now(),
): Promise<EventPage> {
  const pos = opts.cursor ? decodeCursor(scope, opts.cursor) : undefined;
  const horizon = now - config().MICROPAY_EVENT_RETENTION_SECONDS * 1000 - DAY_MS;
  let day = pos?.day ? Date.parse(`${pos.day}T00:00:00.000Z`) : now;
  let before = pos?.before;
  const found: MicroPayEvent[] = [];
  while (found.length <= opts.limit && day >= horizon) {
    const iso = new Date(day).toISOString();
    const got = await newestIn(
      { index: EVENTS_INDEX, partition: eventDayPartition(iso) },
      before,
      opts.type,
      opts.limit + 1 - found.length,
    );
    found.push(...got);
    before = undefined;
    day -= DAY_MS;
  }
  return pageOf(scope, found, opts.limit, (last) => ({ day: last.createdAt.slice(0, 10) }));
}

/** The store side of lib/events/service.ts. */
export const eventDeps: EventDeps = {
  async accountIdsOf(ownerId) {
    const page = await listAccountsOfOwner(ownerId, { limit: 100 });
    return page.data.map((a) => a.id);
  },
  ownersOf: customerOwnersOf,
  getEvent: getEventRecord,
  listForAccounts: listEventsOfAccounts,
  listAll: (scope, input) => listAllEvents(scope, input),
};
