import { monotonicFactory } from "ulid";
import type { SecretBox } from "../crypto/secret-box.ts";
import { type EventRecord, type MicroPayEvent, typeEnabled } from "../events/model.ts";
import { METRIC_WEBHOOK_ATTEMPT_FAILED, METRIC_WEBHOOK_ATTEMPT_SUCCEEDED } from "./metrics.ts";
import type { AttemptView, DeliveryRecord, EndpointRecord } from "./model.ts";
import type { RetryMessage, RetryQueue } from "./retry-queue.ts";
import { signatureHeaders } from "./secrets.ts";
import type { Sender } from "./send.ts";
import { liveSecrets } from "./service.ts";
import { checkWebhookTarget, type Resolver, type UrlPolicy } from "./url.ts";

/**
 * The webhook dispatcher: the same code in AWS (a Lambda on the table stream, filtered to
 * event items; a Lambda on the SQS retry queue; a scheduled safety-net sweep) and
 * locally (the stream poller, an in-process retry queue and a sweep timer in
 * local/stack.ts).
 *
 * At least once, never for an uncommitted change:
 * - it starts only from committed event items (the stream carries only committed writes);
 * - for each matching endpoint it first writes a pending delivery due now (idempotent:
 *   a replayed stream record finds it and leaves it alone), then attempts it;
 * - an attempt first claims the delivery (conditional update: still pending and due as
 *   read) by moving its due time `claimSeconds` ahead, so two consumers never attempt
 *   one delivery at once;
 * - the attempt and the delivery's next state are one transaction; a 2xx ends delivery,
 *   anything else schedules the next attempt from the retry schedule (the delivery's
 *   `nextAttemptAt`), or gives up after its last entry.
 *
 * Retries (the primary path): once the failed attempt and the next due time are
 * recorded, a message naming the delivery and that due time goes to the retry queue
 * with that delay (SQS caps a delay at 15 minutes: a message received before its due
 * time is sent again with the remaining delay, `handleRetryMessage`). The consumer
 * attempts the delivery only if it is still pending and due; anything else (attempted
 * meanwhile, ended) drops the message, so a duplicate message is harmless.
 *
 * Durability (the safety net): the delivery record, not the message, is the source of
 * truth. A delivery stays in the due index of the table while pending, so whatever the
 * queue path loses (a process that died mid-attempt, whose claim then ends; a message
 * that could not be sent; the local in-process queue of a killed `npm start`) is
 * overdue there, and the sweep, run rarely, attempts every delivery overdue by more
 * than `sweepGraceSeconds` (the sweep's own period: a message on time is never raced).
 *
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
  /** Opens endpoints' sealed signing secrets (the endpoint id as the subject). */
  readonly secretBox: SecretBox;
  /** Where a failed attempt's next attempt waits (SQS in AWS, in-process locally). */
  readonly queue: RetryQueue;
  /** The sweep takes only deliveries overdue by more than this (the queue's are on time). */
  readonly sweepGraceSeconds: number;
  /** Seconds to wait after failed attempt n (index n-1); its length bounds the attempts. */
  readonly schedule: readonly number[];
  readonly timeoutMs: number;
  readonly claimSeconds: number;
  /** An endpoint failing with no success for this long is disabled. */
  readonly disableAfterSeconds: number;
  readonly now?: () => Date;
  readonly log?: (message: string, extra: Record<string, unknown>) => void;
  /** Counts one data point (the failure-rate alarm's metrics, lib/webhooks/metrics.ts). */
  readonly metric?: (name: string) => void;
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

/**
 * The dependencies for one stream batch: each owner's endpoints are read once for the
 * batch, not once per event (a batch of a busy account's events asked the same question
 * a hundred times). The one read starts after every event of the batch has committed,
 * so it finds every endpoint a read per event would have found.
 */
export function batchScoped(deps: DispatchDeps): DispatchDeps {
  const endpoints = new Map<string, Promise<EndpointRecord[]>>();
  return {
    ...deps,
    store: {
      ...deps.store,
      endpointsOf(ownerId) {
        let found = endpoints.get(ownerId);
        if (!found) {
          found = deps.store.endpointsOf(ownerId);
          endpoints.set(ownerId, found);
        }
        return found;
      },
    },
  };
}

/**
 * The safety-net sweep: attempts every delivery overdue by more than
 * `sweepGraceSeconds` (what the queue path lost). Returns how many it tried.
 */
export async function sweepDue(deps: DispatchDeps, limit = 100): Promise<number> {
  const bound = iso(nowMs(deps) - deps.sweepGraceSeconds * 1000);
  const due = await deps.store.listDueDeliveries(bound, limit);
  await Promise.all(due.map((d) => attemptDelivery(d, deps)));
  return due.length;
}

export type RetryOutcome = "requeued" | "attempted" | "dropped";

/**
 * One retry queue message: early (the queue's delay is bounded) -> sent again with the
 * remaining delay; the delivery still pending and due -> attempted; otherwise dropped.
 */
export async function handleRetryMessage(
  message: RetryMessage,
  deps: DispatchDeps,
): Promise<RetryOutcome> {
  const now = nowMs(deps);
  const remainingMs = Date.parse(message.dueAt) - now;
  if (remainingMs > 0) {
    await deps.queue.send(message, remainingMs / 1000);
    return "requeued";
  }
  const d = await deps.store.getDelivery(message.endpointId, message.eventId);
  if (d?.status !== "pending" || d.nextAttemptAt === null || d.nextAttemptAt > iso(now)) {
    return "dropped";
  }
  await attemptDelivery(d, deps);
  return "attempted";
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
    const recorded = await deps.store.finishAttempt(
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
    if (recorded && next) await enqueueRetry(deps, claimed, next);
    deps.metric?.(
      outcome === "succeeded" ? METRIC_WEBHOOK_ATTEMPT_SUCCEEDED : METRIC_WEBHOOK_ATTEMPT_FAILED,
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
  const secrets = await Promise.all(
    liveSecrets(endpoint, started).map((s) => deps.secretBox.open(s.sealed, endpoint.id)),
  );
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

/** The next attempt on the queue; a failed send leaves it to the sweep (it is recorded). */
async function enqueueRetry(deps: DispatchDeps, d: DeliveryRecord, dueAt: string): Promise<void> {
  try {
    await deps.queue.send(
      { endpointId: d.endpointId, eventId: d.eventId, dueAt },
      (Date.parse(dueAt) - nowMs(deps)) / 1000,
    );
  } catch (error) {
    deps.log?.("webhook retry not queued; the sweep will attempt it", {
      endpointId: d.endpointId,
      eventId: d.eventId,
      errorName: error instanceof Error ? error.name : typeof error,
    });
  }
}
