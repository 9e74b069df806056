import type { CallContext } from "../context.ts";
import { isStaff } from "../ledger/rules.ts";
import { notFound } from "../problems.ts";
import type { EventRecord, MicroPayEvent } from "./model.ts";

/**
 * GET /v1/events and GET /v1/events/{eventId}: events about the caller's accounts
 * (either side of a movement); admins and auditors see all. An event the caller may
 * not see is a 404, like one that does not exist (or has expired).
 */
export interface EventPage {
  readonly data: MicroPayEvent[];
  readonly hasMore: boolean;
  readonly nextCursor: string | null;
}

export interface ListEventsInput {
  readonly type?: string | undefined;
  readonly limit: number;
  readonly cursor?: string | undefined;
}

export interface EventDeps {
  /** Ids of the accounts `ownerId` owns. */
  accountIdsOf(ownerId: string): Promise<string[]>;
  /** Owners of these accounts (unknown accounts left out). */
  ownersOf(accountIds: readonly string[]): Promise<string[]>;
  getEvent(eventId: string): Promise<EventRecord | undefined>;
  listForAccounts(
    scope: string,
    accountIds: readonly string[],
    input: ListEventsInput,
  ): Promise<EventPage>;
  listAll(scope: string, input: ListEventsInput): Promise<EventPage>;
}

export async function listEvents(
  ctx: CallContext,
  input: ListEventsInput,
  deps: EventDeps,
): Promise<EventPage> {
  const p = ctx.principal;
  if (isStaff(p)) return deps.listAll("events:all", input);
  const accounts = await deps.accountIdsOf(p.userId);
  if (accounts.length === 0) {
    return { data: [], hasMore: false, nextCursor: null };
  }
  // The cursor is bound to the caller, not to its account list: a new account
  // opened between pages simply joins the next page's queries.
  return deps.listForAccounts(`events:${p.userId}`, accounts, input);
}

export async function getEvent(
  ctx: CallContext,
  eventId: string,
  deps: EventDeps,
): Promise<MicroPayEvent> {
  const record = await deps.getEvent(eventId);
  if (!record) throw notFound("No such event.");
  if (isStaff(ctx.principal)) return record.event;
  const owners = await deps.ownersOf(record.accountIds);
  if (!owners.includes(ctx.principal.userId)) throw notFound("No such event.");
  return record.event;
}
