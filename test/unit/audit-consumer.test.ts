import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DynamoDBRecord } from "aws-lambda";
import { describe, expect, it } from "vitest";
import {
  type AuditSink,
  createAuditConsumer,
  type DedupeStore,
  memoryDedupeStore,
} from "../../lib/audit/consumer.ts";
import { METRIC_AUDIT_RECORD_REDACTED } from "../../lib/audit/metrics.ts";
import { auditRecordSchema } from "../../lib/audit/schema.ts";
import { fileSink } from "../../lib/audit/sinks.ts";
import {
  batch,
  insertOf,
  outboxItem,
  readAuditLog,
  sampleEvent,
  streamRecord,
} from "../support/audit.ts";

function setup(opts: { store?: DedupeStore; sink?: (inner: AuditSink) => AuditSink } = {}) {
  const metrics: { name: string; value: number }[] = [];
  const errors: { message: string; extra: Record<string, unknown> | undefined }[] = [];
  const log = join(mkdtempSync(join(tmpdir(), "micropay-audit-unit-")), "audit.log");
  let clock = Date.parse("2025-03-01T12:00:05.000Z");
  const store = opts.store ?? memoryDedupeStore();
  const inner = fileSink(log, "unit", () => clock);
  let n = 0;
  const consume = createAuditConsumer({
    store,
    sink: opts.sink ? opts.sink(inner) : inner,
    owner: () => `owner-${++n}`,
    now: () => clock,
    leaseMs: 60_000,
    metric: (name, value = 1) => metrics.push({ name, value }),
    log: {
      warn: () => undefined,
      error: (message, extra) => errors.push({ message, extra }),
    },
  });
  return {
    log,
    metrics,
    errors,
    consume,
    store,
    advance: (ms: number) => {
      clock += ms;
    },
    records: () => readAuditLog(log).records,
  };
}

describe("the audit stream consumer", () => {
  it("writes one CloudWatch-format line per audit event and ignores everything else", async () => {
    const t = setup();
    const e1 = sampleEvent();
    const e2 = sampleEvent({ action: "auth.login_failed", outcome: "failure", money: undefined });
    const account = { pk: "ACC#acc_1", sk: "ACCOUNT", type: "account", balance: 5 };
    const res = await t.consume(
      batch(
        insertOf(e1),
        streamRecord("MODIFY", account),
        streamRecord("REMOVE", outboxItem(e1), {
          userIdentity: { type: "Service", principalId: "dynamodb.amazonaws.com" },
        }),
        insertOf(e2),
      ),
    );
    expect(res.batchItemFailures).toEqual([]);
    const { records } = readAuditLog(t.log);
    expect(records.map((r) => r.eventId)).toEqual([e1.eventId, e2.eventId]);
    const lines = readFileSync(t.log, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    for (const [i, line] of lines.entries()) {
      const ev = JSON.parse(line) as Record<string, unknown>;
      // Exactly the FilteredLogEvent members CloudWatch returns (less its own opaque eventId).
      expect(Object.keys(ev).sort()).toEqual([
        "ingestionTime",
        "logStreamName",
        "message",
        "timestamp",
      ]);
      expect(ev.logStreamName).toBe("2025/03/01/audit-unit");
      expect(ev.timestamp).toBe(Date.parse(records[i]?.at ?? ""));
      expect(auditRecordSchema.safeParse(JSON.parse(String(ev.message))).success).toBe(true);
    }
  });

  it("reports a malformed event (poison) as a batch item failure and writes the rest", async () => {
    const t = setup();
    const good1 = insertOf(sampleEvent());
    const poison = insertOf({ ...sampleEvent(), outcome: "unknown" });
    const good2 = insertOf(sampleEvent());
    const res = await t.consume(batch(good1, poison, good2));
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: poison.dynamodb?.SequenceNumber }]);
    expect(t.records()).toHaveLength(2);
  });

  it("writes a record the guard refuses in redacted form, counts it and never retries it", async () => {
    const t = setup();
    const good = sampleEvent();
    const secretEvent = sampleEvent({ reason: "Bearer abcdefghijklmnopqrstuvwxyz" });
    const res = await t.consume(batch(insertOf(good), insertOf(secretEvent)));
    expect(res.batchItemFailures).toEqual([]);
    const written = t.records();
    expect(written.map((r) => r.eventId)).toEqual([good.eventId, secretEvent.eventId]);
    expect(written[1]?.redacted).toEqual(["reason"]);
    expect(written[1]?.reason).toBe("[REDACTED]");
    expect(written[0]).not.toHaveProperty("redacted");
    const text = readAuditLog(t.log)
      .events.map((e) => e.message)
      .join("");
    expect(text).not.toMatch(/Bearer/);
    expect(t.metrics).toEqual([{ name: METRIC_AUDIT_RECORD_REDACTED, value: 1 }]);
    expect(t.errors).toEqual([
      {
        message: "audit record redacted by the guard",
        extra: { eventId: secretEvent.eventId, fields: ["reason"] },
      },
    ]);
    expect(JSON.stringify(t.errors)).not.toMatch(/Bearer/);
    // A redelivery finds it written: no second record, no second count.
    await t.consume(batch(insertOf(secretEvent)));
    expect(t.records()).toHaveLength(2);
    expect(t.metrics).toHaveLength(1);
  });

  it("writes caller-poisoned actor text redacted without counting it as a guard refusal", async () => {
    const t = setup();
    const base = sampleEvent();
    const poisoned = { ...base, actor: { ...base.actor, userAgent: "curl $2b$10$ x" } };
    const res = await t.consume(batch(insertOf(poisoned)));
    expect(res.batchItemFailures).toEqual([]);
    expect(t.records()).toHaveLength(1);
    expect(t.records()[0]?.redacted).toEqual(["actor.userAgent"]);
    expect(t.records()[0]?.actor.userAgent).toBe("curl [REDACTED] x");
    expect(t.metrics).toEqual([]);
  });

  it("writes nothing twice when a batch is replayed, whole or from the poison record on", async () => {
    const t = setup();
    const records = [insertOf(sampleEvent()), insertOf(sampleEvent()), insertOf(sampleEvent())];
    const [r0, r1, r2] = records as [DynamoDBRecord, DynamoDBRecord, DynamoDBRecord];
    const poison = insertOf({ ...sampleEvent(), money: { amount: "1", currency: "USD" } });
    const first = await t.consume(batch(r0, poison, r1, r2));
    expect(first.batchItemFailures).toHaveLength(1);
    // What Lambda (and the local poller) do next: retry from the reported item.
    await t.consume(batch(poison, r1, r2));
    // And a full replay later (bisected batch, on-failure queue redrive).
    await t.consume(batch(r0, poison, r1, r2));
    t.advance(24 * 3600_000);
    await t.consume(batch(...records));
    const ids = t.records().map((r) => r.eventId);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
  });

  it("the same event twice in one batch is written once", async () => {
    const t = setup();
    const r = insertOf(sampleEvent());
    await t.consume(batch(r, { ...r, dynamodb: { ...r.dynamodb, SequenceNumber: "9" } }));
    expect(t.records()).toHaveLength(1);
  });

  it("parallel invocations with the same records write each event once", async () => {
    const store = memoryDedupeStore();
    const t = setup({ store });
    const records = Array.from({ length: 20 }, () => insertOf(sampleEvent()));
    const results = await Promise.all([t.consume(batch(...records)), t.consume(batch(...records))]);
    // The loser of each claim reports it (busy) so it is retried, not dropped.
    const failures = results.flatMap((r) => r.batchItemFailures);
    await t.consume(batch(...records));
    expect(t.records()).toHaveLength(20);
    expect(failures.length).toBeLessThanOrEqual(20);
    expect([...store.markers.values()].every((m) => m.state === "written")).toBe(true);
  });

  it("a crash between writing and marking never yields a second record", async () => {
    const store = memoryDedupeStore();
    const crashing: DedupeStore = {
      ...store,
      markWritten: async () => {
        throw new Error("process died");
      },
    };
    const t1 = setup({ store: crashing });
    const r = insertOf(sampleEvent());
    await t1.consume(batch(r));
    expect(t1.records()).toHaveLength(1);
    // Redelivered within the lease: reported busy, retried later.
    const busy = await t1.consume(batch(r));
    expect(busy.batchItemFailures).toHaveLength(1);
    // After the lease the redelivery reclaims it, finds it in the log, only marks it.
    const t2 = setup({ store });
    // Same log file as t1: point t2's sink at it.
    const sink = fileSink(t1.log, "unit2");
    const consume = createAuditConsumer({
      store,
      sink,
      owner: () => "owner-after-crash",
      now: () => Date.parse("2025-03-01T13:00:00.000Z"),
      leaseMs: 60_000,
    });
    const res = await consume(batch(r));
    expect(res.batchItemFailures).toEqual([]);
    expect(t1.records()).toHaveLength(1);
    expect(t2.records()).toHaveLength(0);
    expect(store.markers.get(t1.records()[0]?.eventId ?? "")?.state).toBe("written");
  });

  it("a failed write reports every claimed record and releases its claims", async () => {
    let down = true;
    const t = setup({
      sink: (inner) => ({
        contains: inner.contains,
        write: async (rs) => {
          if (down) throw new Error("CloudWatch Logs unavailable");
          await inner.write(rs);
        },
      }),
    });
    const records = [insertOf(sampleEvent()), insertOf(sampleEvent())];
    const res = await t.consume(batch(...records));
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
      records.map((r) => r.dynamodb?.SequenceNumber),
    );
    expect(t.records()).toHaveLength(0);
    down = false;
    const retry = await t.consume(batch(...records));
    expect(retry.batchItemFailures).toEqual([]);
    expect(t.records()).toHaveLength(2);
  });

  it("a failing dedupe store fails only the records it could not claim", async () => {
    const store = memoryDedupeStore();
    let calls = 0;
    const flaky: DedupeStore = {
      ...store,
      claim: async (...args) => {
        calls += 1;
        if (calls === 2) throw new Error("ProvisionedThroughputExceededException");
        return store.claim(...args);
      },
    };
    const t = setup({ store: flaky });
    const records = [insertOf(sampleEvent()), insertOf(sampleEvent()), insertOf(sampleEvent())];
    const res = await t.consume(batch(...records));
    expect(res.batchItemFailures).toEqual([
      { itemIdentifier: records[1]?.dynamodb?.SequenceNumber },
    ]);
    expect(t.records()).toHaveLength(2);
  });
});
