import { appendFileSync, existsSync, readFileSync } from "node:fs";
import {
  type CloudWatchLogsClient,
  CreateLogStreamCommand,
  FilterLogEventsCommand,
  type InputLogEvent,
  PutLogEventsCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
} from "@aws-sdk/client-cloudwatch-logs";
import type { AuditSink } from "./consumer.ts";
import { eventIdOf, logStreamNameFor, parseAuditLogFile, toLogEvent } from "./log-format.ts";
import type { AuditRecord } from "./schema.ts";

/**
 * The local audit log: appends one FilteredLogEvent-shaped line per record
 * (lib/audit/log-format.ts) to `MICROPAY_AUDIT_LOG`. One appendFileSync per batch,
 * with whole lines, so a reader never sees half a batch line.
 */
export function fileSink(path: string, containerId: string, now = Date.now): AuditSink {
  return {
    async write(records) {
      if (records.length === 0) return;
      const ingestion = now();
      const stream = logStreamNameFor(new Date(ingestion), containerId);
      const text = records
        .map((r) => `${JSON.stringify(toLogEvent(r, stream, ingestion))}\n`)
        .join("");
      appendFileSync(path, text, { encoding: "utf8", mode: 0o600 });
    },
    async contains(record) {
      if (!existsSync(path)) return false;
      const text = readFileSync(path, "utf8");
      if (!text.includes(record.eventId)) return false;
      return parseAuditLogFile(text).events.some((e) => eventIdOf(e) === record.eventId);
    },
  };
}

/** PutLogEvents limits: 10,000 events and 1 MiB (with 26 bytes per event) per call,
 * and no more than 24 hours between the first and last event of a call. */
const MAX_EVENTS = 10_000;
const MAX_BYTES = 1_000_000;
const MAX_SPAN_MS = 23 * 3600_000;

export function chunkLogEvents(events: readonly InputLogEvent[]): InputLogEvent[][] {
  const sorted = [...events].sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
  const chunks: InputLogEvent[][] = [];
  let current: InputLogEvent[] = [];
  let bytes = 0;
  for (const e of sorted) {
    const size = Buffer.byteLength(e.message ?? "", "utf8") + 26;
    const first = current[0];
    if (
      first &&
      (current.length >= MAX_EVENTS ||
        bytes + size > MAX_BYTES ||
        (e.timestamp ?? 0) - (first.timestamp ?? 0) > MAX_SPAN_MS)
    ) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(e);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * The audit log group in CloudWatch Logs: PutLogEvents to a stream per UTC day and
 * container (`YYYY/MM/DD/audit-<container>`), created on first use. Events within a
 * call are in timestamp order, as PutLogEvents requires. An event CloudWatch rejects
 * (too old, too new) fails the whole batch rather than vanish silently.
 */
export function cloudWatchSink(
  logs: CloudWatchLogsClient,
  logGroupName: string,
  containerId: string,
  now = Date.now,
): AuditSink {
  const created = new Set<string>();

  async function ensureStream(logStreamName: string): Promise<void> {
    try {
      await logs.send(new CreateLogStreamCommand({ logGroupName, logStreamName }));
    } catch (error) {
      if (!(error instanceof ResourceAlreadyExistsException)) throw error;
    }
    created.add(logStreamName);
  }

  async function put(logStreamName: string, logEvents: InputLogEvent[]): Promise<void> {
    const send = () =>
      logs.send(new PutLogEventsCommand({ logGroupName, logStreamName, logEvents }));
    let out: Awaited<ReturnType<typeof send>>;
    try {
      out = await send();
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      await ensureStream(logStreamName);
      out = await send();
    }
    const rejected = out.rejectedLogEventsInfo;
    if (
      rejected &&
      (rejected.tooOldLogEventEndIndex !== undefined ||
        rejected.tooNewLogEventStartIndex !== undefined ||
        rejected.expiredLogEventEndIndex !== undefined)
    ) {
      throw new Error("CloudWatch Logs rejected audit events (outside its accepted time range)");
    }
  }

  return {
    async write(records) {
      if (records.length === 0) return;
      const logStreamName = logStreamNameFor(new Date(now()), containerId);
      if (!created.has(logStreamName)) await ensureStream(logStreamName);
      const events = records.map((r) => ({
        timestamp: Date.parse(r.at),
        message: JSON.stringify(r),
      }));
      for (const chunk of chunkLogEvents(events)) await put(logStreamName, chunk);
    },
    async contains(record: AuditRecord) {
      const ts = Date.parse(record.at);
      let nextToken: string | undefined;
      do {
        const out = await logs.send(
          new FilterLogEventsCommand({
            logGroupName,
            startTime: ts,
            endTime: ts + 1,
            filterPattern: `{ $.eventId = "${record.eventId}" }`,
            nextToken,
          }),
        );
        if ((out.events ?? []).some((e) => e.message?.includes(record.eventId))) return true;
        nextToken = out.nextToken;
      } while (nextToken);
      return false;
    },
  };
}
