import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { countMetric } from "../observability.ts";
import { METRIC_AUDIT_RECORD_REDACTED } from "./metrics.ts";
import { AuditRecordError, mapStreamRecord } from "./record.ts";
import type { AuditRecord } from "./schema.ts";

/**
 * The audit stream consumer's core, free of AWS: the Lambda (functions/audit.ts) and
 * the tests wire it to a dedupe store and a sink.
 *
 * Exactly once, by event id. A stream is at-least-once (retries, bisected batches,
 * replays from the on-failure queue), so every record is guarded by a marker keyed by
 * its event id, with two states:
 *
 *   1. claim: create the marker `pending` (owner, claimedAt) unless one exists; a
 *      `written` marker means the record is already in the log (skip it); a fresh
 *      `pending` one means another invocation is writing it right now (report a
 *      batch item failure, the retry will find it `written`).
 *   2. write the claimed records to the log;
 *   3. mark them `written`.
 *
 * A crash between 2 and 3 leaves a `pending` marker that nobody refreshes. After the
 * lease (longer than the Lambda timeout) a redelivery reclaims it and, before writing,
 * asks the sink whether the record is already there (`contains`): if so it only marks
 * it. Marker-then-write alone would lose a record on a crash; write-then-mark alone
 * would duplicate it; the lease plus the check does neither. If even that check were
 * wrong (CloudWatch indexes new events within seconds; the lease is minutes), the
 * verifier still counts records per event id and names any duplicate.
 *
 * What a record holds never fails it: caller-supplied text is redacted in place, and
 * a record the redaction guard refuses is written in redacted form (flagged in its
 * `redacted` member), logged by event id and field path (never the value) and counted
 * (METRIC_AUDIT_RECORD_REDACTED, alarmed). Only an item that is not a well-formed
 * audit event at all (a code bug) is a poison record: reported as a batch item
 * failure, never written; the rest of the batch is written; after the bounded retries
 * it is parked on the on-failure queue. A failed sink write releases its claims and
 * reports those records.
 */

export type ClaimResult =
  /** Newly claimed: write it. */
  | "claimed"
  /** Reclaimed from a stale `pending` marker: check the sink before writing. */
  | "reclaimed"
  /** Already written: skip. */
  | "written"
  /** Another invocation holds a fresh claim: retry later. */
  | "busy";

export interface DedupeStore {
  claim(eventId: string, owner: string, nowMs: number, leaseMs: number): Promise<ClaimResult>;
  /** Unconditional: whoever wrote it, the record is in the log now. */
  markWritten(eventId: string, owner: string, nowMs: number): Promise<void>;
  /** Drops a `pending` claim this owner holds (after a failed write). */
  release(eventId: string, owner: string): Promise<void>;
}

export interface AuditSink {
  /** Writes the records, in the order given, as one log event each. */
  write(records: readonly AuditRecord[]): Promise<void>;
  /** True when a record with this event id is already in the log. */
  contains(record: AuditRecord): Promise<boolean>;
}

export interface ConsumerLog {
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export interface ConsumerDeps {
  readonly store: DedupeStore;
  readonly sink: AuditSink;
  /** Identifies this invocation's claims. */
  readonly owner: () => string;
  readonly now?: () => number;
  /** How long a `pending` claim is honoured; must exceed the function timeout. */
  readonly leaseMs?: number;
  readonly log?: ConsumerLog;
  /** Counts one metric data point (default: lib/observability.ts countMetric). */
  readonly metric?: (name: string, value?: number) => void;
}

export const DEFAULT_LEASE_MS = 5 * 60_000;

interface Candidate {
  readonly index: number;
  readonly record: AuditRecord;
  /** Paths the redaction guard had to redact (empty for a normal record). */
  readonly guardRedacted: readonly string[];
}

/** The batch item identifier Lambda expects for a DynamoDB stream record. */
function itemId(r: DynamoDBRecord): string {
  return r.dynamodb?.SequenceNumber ?? r.eventID ?? "";
}

export function createAuditConsumer(deps: ConsumerDeps) {
  const now = deps.now ?? Date.now;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const log = deps.log;
  const metric = deps.metric ?? countMetric;

  return async function consume(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
    const owner = deps.owner();
    const failed = new Set<number>();
    const fail = (i: number) => failed.add(i);

    // 1. Map every record; poison ones fail alone.
    const candidates: Candidate[] = [];
    const inBatch = new Set<string>();
    event.Records.forEach((r, index) => {
      try {
        const mapped = mapStreamRecord(r);
        if (mapped.kind === "ignored") return;
        // The same event twice in one batch (a replay glued to a retry): keep the first.
        if (inBatch.has(mapped.record.eventId)) return;
        inBatch.add(mapped.record.eventId);
        candidates.push({ index, record: mapped.record, guardRedacted: mapped.guardRedacted });
      } catch (error) {
        fail(index);
        log?.error("audit record refused", {
          sequenceNumber: itemId(r),
          error: error instanceof AuditRecordError ? error.message : "unexpected mapping error",
        });
      }
    });

    // 2. Claim them (in parallel; each claim is one conditional write).
    const toWrite: Candidate[] = [];
    await Promise.all(
      candidates.map(async (c) => {
        try {
          const claim = await deps.store.claim(c.record.eventId, owner, now(), leaseMs);
          if (claim === "written") return;
          if (claim === "busy") {
            fail(c.index);
            return;
          }
          if (claim === "reclaimed" && (await deps.sink.contains(c.record))) {
            await deps.store.markWritten(c.record.eventId, owner, now());
            return;
          }
          toWrite.push(c);
        } catch (error) {
          fail(c.index);
          log?.warn("audit dedupe claim failed", {
            eventId: c.record.eventId,
            error: (error as Error).name,
          });
        }
      }),
    );
    toWrite.sort((a, b) => a.index - b.index);

    // 3. Write, then mark.
    if (toWrite.length > 0) {
      try {
        await deps.sink.write(toWrite.map((c) => c.record));
      } catch (error) {
        log?.error("audit sink write failed", {
          records: toWrite.length,
          error: (error as Error).name,
        });
        await Promise.all(
          toWrite.map(async (c) => {
            fail(c.index);
            await deps.store.release(c.record.eventId, owner).catch(() => undefined);
          }),
        );
        return response(event, failed);
      }
      const redacted = toWrite.filter((c) => c.guardRedacted.length > 0);
      for (const c of redacted) {
        log?.error("audit record redacted by the guard", {
          eventId: c.record.eventId,
          fields: c.guardRedacted,
        });
      }
      if (redacted.length > 0) metric(METRIC_AUDIT_RECORD_REDACTED, redacted.length);
      await Promise.all(
        toWrite.map(async (c) => {
          try {
            await deps.store.markWritten(c.record.eventId, owner, now());
          } catch (error) {
            // Written but not marked: a redelivery after the lease checks the sink first.
            log?.warn("audit marker not updated", {
              eventId: c.record.eventId,
              error: (error as Error).name,
            });
          }
        }),
      );
    }
    return response(event, failed);
  };
}

function response(event: DynamoDBStreamEvent, failed: Set<number>): DynamoDBBatchResponse {
  // In stream order: Lambda (and the local poller) resume from the first one reported.
  return {
    batchItemFailures: [...failed]
      .sort((a, b) => a - b)
      .map((i) => ({ itemIdentifier: itemId(event.Records[i] as DynamoDBRecord) })),
  };
}

/** An in-process dedupe store (tests; a single local process). */
export function memoryDedupeStore(): DedupeStore & {
  readonly markers: Map<string, { state: "pending" | "written"; owner: string; at: number }>;
} {
  const markers = new Map<string, { state: "pending" | "written"; owner: string; at: number }>();
  return {
    markers,
    async claim(eventId, owner, nowMs, lease) {
      const m = markers.get(eventId);
      if (m?.state === "written") return "written";
      if (m && nowMs - m.at < lease) return "busy";
      markers.set(eventId, { state: "pending", owner, at: nowMs });
      return m ? "reclaimed" : "claimed";
    },
    async markWritten(eventId, owner, nowMs) {
      markers.set(eventId, { state: "written", owner, at: nowMs });
    },
    async release(eventId, owner) {
      const m = markers.get(eventId);
      if (m && m.owner === owner && m.state === "pending") markers.delete(eventId);
    },
  };
}
