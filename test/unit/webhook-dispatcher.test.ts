import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { localSecretBox } from "../../lib/crypto/secret-box.ts";
import { type EventRecord, newEvent } from "../../lib/events/model.ts";
import {
  attemptDelivery,
  batchScoped,
  type DispatchDeps,
  type DispatchStore,
  dispatchEvent,
  handleRetryMessage,
  type RetryOutcome,
  sweepDue,
} from "../../lib/webhooks/dispatcher.ts";
import type { AttemptView, DeliveryRecord, EndpointRecord } from "../../lib/webhooks/model.ts";
import { queueDelay, type RetryMessage } from "../../lib/webhooks/retry-queue.ts";
import { newWebhookSecret } from "../../lib/webhooks/secrets.ts";
import type { Sender, SendResult } from "../../lib/webhooks/send.ts";

/**
 * The dispatcher's delivery state machine against an in-memory store with the same
 * conditional semantics as lib/store/webhooks.ts, an in-memory retry queue with SQS's
 * delay cap, a fake clock and a fake sender (no network): retries through the queue on
 * the schedule (long waits chained), give-up after the last entry, stale messages
 * dropped, at least once across a dispatcher that dies mid-attempt or a lost message
 * (the safety-net sweep), only matching endpoints.
 */
const box = localSecretBox(randomBytes(32));

function memoryStore(endpoints: EndpointRecord[], owners: Record<string, string>) {
  const deliveries = new Map<string, DeliveryRecord>();
  const attempts: AttemptView[] = [];
  const events = new Map<string, EventRecord>();
  const k = (e: string, v: string) => `${e}|${v}`;
  const store: DispatchStore = {
    async ownersOf(ids) {
      return ids.flatMap((id) => (owners[id] ? [owners[id]] : []));
    },
    async endpointsOf(ownerId) {
      return endpoints.filter((e) => e.ownerId === ownerId);
    },
    async getEndpoint(ownerId, id) {
      return endpoints.find((e) => e.ownerId === ownerId && e.id === id);
    },
    async getEvent(id) {
      return events.get(id);
    },
    async createDelivery(d, dueAt) {
      if (deliveries.has(k(d.endpointId, d.eventId))) return false;
      deliveries.set(k(d.endpointId, d.eventId), {
        ...d,
        status: "pending",
        attempts: 0,
        nextAttemptAt: dueAt,
      });
      return true;
    },
    async getDelivery(e, v) {
      return deliveries.get(k(e, v));
    },
    async claimDelivery(d, until) {
      const cur = deliveries.get(k(d.endpointId, d.eventId));
      if (cur?.status !== "pending" || cur.nextAttemptAt !== d.nextAttemptAt) return undefined;
      const next = { ...cur, nextAttemptAt: until, attempts: cur.attempts + 1 };
      deliveries.set(k(d.endpointId, d.eventId), next);
      return next;
    },
    async finishAttempt(d, attempt, next, final) {
      const cur = deliveries.get(k(d.endpointId, d.eventId));
      if (!cur || cur.attempts !== d.attempts) return false;
      attempts.push(attempt);
      deliveries.set(k(d.endpointId, d.eventId), {
        ...cur,
        nextAttemptAt: next,
        status: final ?? "pending",
      });
      return true;
    },
    async noteEndpointOutcome(ownerId, endpointId, ok, nowIso, disableIfFailingSince) {
      const i = endpoints.findIndex((e) => e.ownerId === ownerId && e.id === endpointId);
      const e = endpoints[i];
      if (!e) return false;
      if (ok) {
        endpoints[i] = { ...e, failingSince: null };
        return false;
      }
      const since = e.failingSince ?? nowIso;
      const disable = e.status === "enabled" && since <= disableIfFailingSince;
      endpoints[i] = {
        ...e,
        failingSince: since,
        ...(disable ? { status: "disabled", disabledReason: `failing since ${since}` } : {}),
      };
      return disable;
    },
    async listDueDeliveries(nowIso) {
      return [...deliveries.values()].filter(
        (d) => d.status === "pending" && d.nextAttemptAt !== null && d.nextAttemptAt <= nowIso,
      );
    },
  };
  return { store, deliveries, attempts, events };
}

async function endpoint(
  id: string,
  ownerId: string,
  secret: string,
  enabled = ["*"],
): Promise<EndpointRecord> {
  return {
    id,
    ownerId,
    url: "https://hooks.example.com/x",
    enabledEvents: enabled,
    description: null,
    status: "enabled",
    disabledReason: null,
    failingSince: null,
    secrets: [{ sealed: await box.seal(secret, id), createdAt: "2026-01-01T00:00:00.000Z" }],
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
  };
}

interface Sent {
  headers: Record<string, string>;
  body: string;
}

async function setup(answers: (SendResult | "hang")[], enabled = ["*"], schedule = [5, 60]) {
  const secret = newWebhookSecret();
  const ep = await endpoint("we_a", "usr_a", secret, enabled);
  const other = await endpoint("we_b", "usr_b", newWebhookSecret());
  const endpoints = [ep, other];
  const mem = memoryStore(endpoints, { acc_a: "usr_a", acc_b: "usr_b" });
  let clock = Date.parse("2026-11-26T12:00:00.000Z");
  const sent: Sent[] = [];
  const send: Sender = (_t, headers, body) => {
    sent.push({ headers, body });
    const a = answers.shift() ?? { status: 200, ok: true, excerpt: "", durationMs: 1 };
    return a === "hang" ? new Promise<SendResult>(() => undefined) : Promise.resolve(a);
  };
  const queued: { message: RetryMessage; delay: number; visibleAt: number }[] = [];
  let queueDown = false;
  const deps: DispatchDeps = {
    store: mem.store,
    queue: {
      async send(message, delaySeconds) {
        if (queueDown) throw new Error("queue unavailable");
        const delay = queueDelay(delaySeconds);
        queued.push({ message, delay, visibleAt: clock + delay * 1000 });
      },
    },
    sweepGraceSeconds: 60,
    send,
    resolve: async () => ["93.184.216.34"],
    policy: { allowLoopback: false },
    secretBox: box,
    schedule,
    timeoutMs: 10_000,
    claimSeconds: 30,
    disableAfterSeconds: 60,
    now: () => new Date(clock),
  };
  return {
    ...mem,
    endpoints,
    deps,
    sent,
    secret,
    queued,
    setQueueDown: (down: boolean) => {
      queueDown = down;
    },
    advance: (s: number) => {
      clock += s * 1000;
    },
    /** Hands every visible message to the consumer once; their outcomes. */
    async runQueue(): Promise<RetryOutcome[]> {
      const visible = queued.filter((q) => q.visibleAt <= clock);
      for (const q of visible) queued.splice(queued.indexOf(q), 1);
      const out: RetryOutcome[] = [];
      for (const q of visible) out.push(await handleRetryMessage(q.message, deps));
      return out;
    },
  };
}

const fail = (status: number): SendResult => ({ status, ok: false, excerpt: "", durationMs: 1 });

describe("webhook dispatcher", () => {
  it("delivers to the owner's matching endpoints only, signed for verification", async () => {
    const t = await setup([]);
    const rec = newEvent("payment.succeeded", { id: "pay_1" }, ["acc_a"]);
    await dispatchEvent(rec, t.deps);
    expect(t.sent).toHaveLength(1);
    const only = t.sent[0] as Sent;
    expect(only.headers["webhook-id"]).toBe(rec.event.id);
    // The fake clock is in the past, so compare with the package's own signature.
    const ts = new Date(Number(only.headers["webhook-timestamp"]) * 1000);
    expect(new Webhook(t.secret).sign(rec.event.id, ts, only.body)).toBe(
      only.headers["webhook-signature"],
    );
    expect([...t.deliveries.values()].map((d) => [d.endpointId, d.status])).toEqual([
      ["we_a", "succeeded"],
    ]);
  });

  it("a batch reads each owner's endpoints once and still delivers every event", async () => {
    const t = await setup([]);
    const reads: string[] = [];
    const counting = {
      ...t.deps,
      store: {
        ...t.deps.store,
        endpointsOf: (ownerId: string) => {
          reads.push(ownerId);
          return t.deps.store.endpointsOf(ownerId);
        },
      },
    };
    const batch = batchScoped(counting);
    const records = [1, 2, 3].map((n) =>
      newEvent("payment.succeeded", { id: `pay_${n}` }, ["acc_a", "acc_b"]),
    );
    await Promise.all(records.map((r) => dispatchEvent(r, batch)));
    expect(reads.sort()).toEqual(["usr_a", "usr_b"]);
    expect(t.sent.map((s) => s.headers["webhook-id"]).sort()).toEqual(
      records.flatMap((r) => [r.event.id, r.event.id]).sort(),
    );
    // The next batch reads again: an endpoint added since is seen.
    await dispatchEvent(
      newEvent("payment.succeeded", { id: "pay_4" }, ["acc_a"]),
      batchScoped(counting),
    );
    expect(reads).toHaveLength(3);
  });

  it("skips endpoints not enabled for the type", async () => {
    const t = await setup([], ["refund.succeeded"]);
    await dispatchEvent(newEvent("payment.succeeded", { id: "pay_1" }, ["acc_a"]), t.deps);
    expect(t.sent).toHaveLength(0);
  });

  it("retries through the queue on the schedule with the same webhook-id, then gives up after the last entry", async () => {
    const t = await setup([fail(500), fail(503), fail(500)]);
    const rec = newEvent("transfer.created", { id: "trf_1" }, ["acc_a"]);
    t.events.set(rec.event.id, rec);
    await dispatchEvent(rec, t.deps);
    expect(t.queued.map((q) => q.delay)).toEqual([5]);
    expect(await t.runQueue()).toEqual([]); // not visible yet
    t.advance(5);
    expect(await t.runQueue()).toEqual(["attempted"]);
    expect(t.queued.map((q) => q.delay)).toEqual([60]);
    t.advance(60);
    expect(await t.runQueue()).toEqual(["attempted"]);
    expect(t.queued).toEqual([]); // the last entry's attempt failed: given up
    t.advance(3600);
    expect(await sweepDue(t.deps)).toBe(0);
    expect(new Set(t.sent.map((s) => s.headers["webhook-id"]))).toEqual(new Set([rec.event.id]));
    expect(t.attempts.map((a) => [a.attempt, a.outcome, a.responseStatus])).toEqual([
      [1, "failed", 500],
      [2, "failed", 503],
      [3, "failed", 500],
    ]);
    expect(t.attempts.at(-1)?.nextAttemptAt).toBeNull();
    expect([...t.deliveries.values()][0]?.status).toBe("failed");
    // Failing with no success for longer than disableAfterSeconds (60): disabled, with why.
    expect(t.endpoints[0]).toMatchObject({
      status: "disabled",
      failingSince: "2026-11-26T12:00:00.000Z",
    });
    expect(t.endpoints[0]?.disabledReason).toContain("2026-11-26T12:00:00.000Z");
  });

  it("a wait longer than the queue's 15-minute delay is chained: re-sent with the remaining delay", async () => {
    const t = await setup([fail(500)], ["*"], [2000]);
    const rec = newEvent("transfer.created", { id: "trf_3" }, ["acc_a"]);
    t.events.set(rec.event.id, rec);
    await dispatchEvent(rec, t.deps);
    expect(t.queued.map((q) => q.delay)).toEqual([900]);
    t.advance(900);
    expect(await t.runQueue()).toEqual(["requeued"]);
    expect(t.queued.map((q) => q.delay)).toEqual([900]);
    t.advance(900);
    expect(await t.runQueue()).toEqual(["requeued"]);
    expect(t.queued.map((q) => q.delay)).toEqual([200]);
    expect(t.sent).toHaveLength(1);
    t.advance(200);
    expect(await t.runQueue()).toEqual(["attempted"]);
    expect(t.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, "failed"],
      [2, "succeeded"],
    ]);
  });

  it("a duplicate or stale message is dropped: one attempt per due time", async () => {
    const t = await setup([fail(500)]);
    const rec = newEvent("transfer.created", { id: "trf_4" }, ["acc_a"]);
    t.events.set(rec.event.id, rec);
    await dispatchEvent(rec, t.deps);
    const first = t.queued[0];
    if (!first) throw new Error("no retry queued");
    t.queued.push({ ...first }); // SQS delivers at least once
    t.advance(5);
    expect((await t.runQueue()).sort()).toEqual(["attempted", "dropped"]);
    expect(t.sent).toHaveLength(2);
    expect([...t.deliveries.values()][0]?.status).toBe("succeeded");
  });

  it("a retry whose message was never queued is attempted by the sweep once overdue", async () => {
    const t = await setup([fail(500)]);
    t.setQueueDown(true);
    const rec = newEvent("transfer.created", { id: "trf_5" }, ["acc_a"]);
    t.events.set(rec.event.id, rec);
    await dispatchEvent(rec, t.deps);
    expect(t.queued).toEqual([]);
    t.advance(5);
    expect(await sweepDue(t.deps)).toBe(0); // due, but the queue path gets its grace
    t.advance(61);
    expect(await sweepDue(t.deps)).toBe(1);
    expect([...t.deliveries.values()][0]?.status).toBe("succeeded");
  });

  it("a success clears the failing streak, so the endpoint stays enabled", async () => {
    const t = await setup([fail(500)]);
    const rec = newEvent("transfer.created", { id: "trf_2" }, ["acc_a"]);
    t.events.set(rec.event.id, rec);
    await dispatchEvent(rec, t.deps);
    expect(t.endpoints[0]?.failingSince).not.toBeNull();
    t.advance(5);
    await t.runQueue();
    expect(t.endpoints[0]).toMatchObject({ status: "enabled", failingSince: null });
  });

  it("at least once: a dispatcher that dies mid-attempt leaves the delivery to the sweep once the claim ends", async () => {
    const t = await setup(["hang"]);
    const rec = newEvent("payment.succeeded", { id: "pay_9" }, ["acc_a"]);
    t.events.set(rec.event.id, rec);
    // The first dispatcher never finishes its attempt (it "died" with the request open).
    void dispatchEvent(rec, t.deps);
    await new Promise((r) => setTimeout(r, 10));
    expect(t.sent).toHaveLength(1);
    expect(await sweepDue(t.deps)).toBe(0); // claimed: nobody else takes it
    t.advance(31);
    expect(await sweepDue(t.deps)).toBe(0); // the claim ended, the grace has not
    t.advance(60);
    expect(await sweepDue(t.deps)).toBe(1);
    expect(t.sent).toHaveLength(2);
    expect(t.sent[1]?.headers["webhook-id"]).toBe(rec.event.id);
    expect([...t.deliveries.values()][0]?.status).toBe("succeeded");
    expect(t.attempts.map((a) => [a.attempt, a.outcome])).toEqual([[2, "succeeded"]]);
  });

  it("a replayed stream record does not deliver twice; two consumers never attempt one delivery at once", async () => {
    const t = await setup([]);
    const rec = newEvent("payment.succeeded", { id: "pay_2" }, ["acc_a"]);
    t.events.set(rec.event.id, rec);
    await dispatchEvent(rec, t.deps);
    await dispatchEvent(rec, t.deps);
    expect(t.sent).toHaveLength(1);
    const due: DeliveryRecord = {
      endpointId: "we_a",
      ownerId: "usr_a",
      eventId: "evt_x",
      status: "pending",
      attempts: 0,
      nextAttemptAt: "2026-11-26T12:00:00.000Z",
    };
    await t.store.createDelivery(due, due.nextAttemptAt as string);
    const results = await Promise.all([attemptDelivery(due, t.deps), attemptDelivery(due, t.deps)]);
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it("a URL that now resolves to a forbidden address is not contacted; the attempt fails and is retried", async () => {
    const t = await setup([]);
    const deps = { ...t.deps, resolve: async () => ["10.0.0.8"] };
    await dispatchEvent(newEvent("payment.succeeded", { id: "pay_3" }, ["acc_a"]), deps);
    expect(t.sent).toHaveLength(0);
    expect(t.attempts.map((a) => [a.outcome, a.error])).toEqual([["failed", "forbidden_address"]]);
    expect(t.attempts[0]?.nextAttemptAt).not.toBeNull();
  });
});
