import { monotonicFactory } from "ulid";
import { type EventRecord, type MicroPayEvent, typeEnabled } from "../events/model.ts";
import type { AttemptView, DeliveryRecord, EndpointRecord } from "./model.ts";
import { openSecret, signatureHeaders } from "./secrets.ts";
import type { Sender } from "./send.ts";
import { liveSecrets } from "./service.ts";
import { checkWebhookTarget, type Resolver, type UrlPolicy } from "./url.ts";

/**
 * The webhook dispatcher: the same code in AWS (a Lambda on the table stream, filtered to
 * event items, plus a scheduled Lambda for due retries) and locally (the stream poller
 * and a timer in local/stack.ts).
 *
 * At least once, never for an uncommitted change:
 * - it starts only from committed event items (the stream carries only committed writes);
 * - for each matching endpoint it first writes a pending delivery due now (idempotent:
 *   a replayed stream record finds it and leaves it to the sweep), then attempts it;
 * - an attempt first claims the delivery (conditional update: still pending and due as
 *   read) by moving its due time `claimSeconds` ahead, so a dispatcher that dies mid-
 *   attempt leaves a delivery the sweep takes again once the claim ends;
 * - the attempt and the delivery's next state are one transaction; a 2xx ends delivery,
 *   anything else schedules the next attempt from the retry schedule, or gives up after
 *   its last entry.
 * The URL is checked again (after DNS resolution) before every attempt; a refused URL
 * counts as a failed attempt (`forbidden_address`).
 */
export interface DispatchStore {
  /** Owners of these accounts (system accounts and unknown ids left out). */
  ownersOf(accountIds: readonly string[]): Promise<string[]>;
  endpointsOf(ownerId: string): Promise<EndpointRecord[]>;
  getEndpoint(ownerId: string, endpointId: string): Promise<EndpointRecord | undefined>;
  getEvent(eventId: string): Promise<EventRecord | undefined>;
  createDelivery(
    d: Pick<DeliveryRecord, "endpointId" | "ownerId" | "eventId">,
    dueAt: string,
  ): Promise<boolean>;
  getDelivery(endpointId: string, eventId: string): Promise<DeliveryRecord | undefined>;
  claimDelivery(d: DeliveryRecord, claimUntil: string): Promise<DeliveryRecord | undefined>;
  finishAttempt(
    d: DeliveryRecord,
    attempt: AttemptView,
    next: string | null,
    final: "succeeded" | "failed" | null,
  ): Promise<boolean>;
  listDueDeliveries(nowIso: string, limit: number): Promise<DeliveryRecord[]>;
  /** Success clears the endpoint's failing streak; a failure disables it once it is long enough. */
  noteEndpointOutcome(
    ownerId: string,
    endpointId: string,
    ok: boolean,
    nowIso: string,
    disableIfFailingSince: string,
  ): Promise<boolean>;
}

export interface DispatchDeps {
  readonly store: DispatchStore;
  readonly send: Sender;
  readonly resolve: Resolver;
  readonly policy: UrlPolicy;
  readonly sealingKey: () => Promise<Buffer>;
  /** Seconds to wait after failed attempt n (index n-1); its length bounds the attempts. */
  readonly schedule: readonly number[];
  readonly timeoutMs: number;
  readonly claimSeconds: number;
  /** An endpoint failing with no success for this long is disabled. */
  readonly disableAfterSeconds: number;
  readonly now?: () => Date;
  readonly log?: (message: string, extra: Record<string, unknown>) => void;
}

const ulid = monotonicFactory();
const iso = (ms: number) => new Date(ms).toISOString();

/** Fans one committed event out to its owners' matching endpoints and attempts each. */
export async function dispatchEvent(record: EventRecord, deps: DispatchDeps): Promise<void> {
  const { event } = record;
  const owners = [...new Set(await deps.store.ownersOf(record.accountIds))];
  const created: DeliveryRecord[] = [];
  for (const ownerId of owners) {
    for (const ep of await deps.store.endpointsOf(ownerId)) {
      if (ep.status !== "enabled" || !typeEnabled(ep.enabledEvents, event.type)) continue;
      const dueAt = iso(nowMs(deps));
      const d = { endpointId: ep.id, ownerId, eventId: event.id };
      if (await deps.store.createDelivery(d, dueAt)) {
        created.push({ ...d, status: "pending", attempts: 0, nextAttemptAt: dueAt });
      }
    }
  }
  // Every delivery is recorded before the first attempt: dying from here on loses nothing.
  await Promise.all(created.map((d) => attemptDelivery(d, deps, event)));
}

/** Attempts every delivery that is due (the scheduled sweep). Returns how many it tried. */
export async function sweepDue(deps: DispatchDeps, limit = 100): Promise<number> {
  const due = await deps.store.listDueDeliveries(iso(nowMs(deps)), limit);
  await Promise.all(due.map((d) => attemptDelivery(d, deps)));
  return due.length;
}

function nowMs(deps: DispatchDeps): number {
  return (deps.now?.() ?? new Date()).getTime();
}

/** One claimed attempt of one delivery (false when another dispatcher had it). */
export async function attemptDelivery(
  d: DeliveryRecord,
  deps: DispatchDeps,
  knownEvent?: MicroPayEvent,
): Promise<boolean> {
  const claimed = await deps.store.claimDelivery(d, iso(nowMs(deps) + deps.claimSeconds * 1000));
  if (!claimed) return false;
  const n = claimed.attempts;
  const started = new Date(nowMs(deps));
  const endpoint = await deps.store.getEndpoint(claimed.ownerId, claimed.endpointId);
  const event = knownEvent ?? (await deps.store.getEvent(claimed.eventId))?.event;
  const attemptId = ulid();
  const record = async (
    outcome: "succeeded" | "failed",
    responseStatus: number | null,
    error: string | null,
    durationMs: number,
  ) => {
    const wait = outcome === "failed" ? deps.schedule[n - 1] : undefined;
    const next = wait !== undefined ? iso(nowMs(deps) + wait * 1000) : null;
    const final = next ? null : outcome;
    await deps.store.finishAttempt(
      claimed,
      {
        id: attemptId,
        eventId: claimed.eventId,
        attempt: n,
        outcome,
        responseStatus,
        error,
        durationMs,
        attemptedAt: started.toISOString(),
        nextAttemptAt: next,
      },
      next,
      final,
    );
    const disabled = await deps.store.noteEndpointOutcome(
      claimed.ownerId,
      claimed.endpointId,
      outcome === "succeeded",
      iso(nowMs(deps)),
      iso(nowMs(deps) - deps.disableAfterSeconds * 1000),
    );
    if (disabled) {
      deps.log?.("webhook endpoint disabled", { endpointId: claimed.endpointId });
    }
    deps.log?.("webhook attempt", {
      endpointId: claimed.endpointId,
      eventId: claimed.eventId,
      attempt: n,
      outcome,
      responseStatus,
      error,
    });
  };
  // Deleted or disabled endpoint, expired event: delivery ends without a request.
  if (endpoint?.status !== "enabled" || !event) {
    await deps.store.finishAttempt(
      claimed,
      {
        id: attemptId,
        eventId: claimed.eventId,
        attempt: n,
        outcome: "failed",
        responseStatus: null,
        error: !event ? "event_expired" : "endpoint_unavailable",
        durationMs: 0,
        attemptedAt: started.toISOString(),
        nextAttemptAt: null,
      },
      null,
      "failed",
    );
    return true;
  }
  let target: Awaited<ReturnType<typeof checkWebhookTarget>>;
  try {
    target = await checkWebhookTarget(endpoint.url, deps.policy, deps.resolve);
  } catch {
    await record("failed", null, "forbidden_address", 0);
    return true;
  }
  const body = JSON.stringify(event);
  const key = await deps.sealingKey();
  const secrets = liveSecrets(endpoint, started).map((s) => openSecret(key, endpoint.id, s.sealed));
  const headers = signatureHeaders(secrets, event.id, body, started);
  const result = await deps.send(target, headers, body, deps.timeoutMs);
  await record(
    result.ok ? "succeeded" : "failed",
    result.status,
    result.error ?? null,
    result.durationMs,
  );
  return true;
}
