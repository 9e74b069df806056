import type { AuditRecord } from "./schema.ts";

/**
 * The audit log's on-disk/in-cloud format.
 *
 * In AWS each audit record is one log event in the audit log group: its `message` is
 * the record's JSON (one object, no newlines) and its `timestamp` is the record's
 * `at` in epoch milliseconds. Locally, `MICROPAY_AUDIT_LOG` holds the same events,
 * one per line, each line being the JSON object CloudWatch Logs' FilterLogEvents
 * returns for that event (`FilteredLogEvent`):
 *
 *   {"logStreamName":"2025/01/31/audit-3f9c...","timestamp":1738281600123,
 *    "ingestionTime":1738281600456,"message":"{\"v\":1,\"eventId\":\"evt_...\",...}"}
 *
 * (CloudWatch also returns its own opaque `eventId` per log event; the local sink
 * does not invent one, and readers never need it: the audit `eventId` is inside the
 * message.) So `npm run audit` reads the local file and a FilterLogEvents page with
 * the same parser.
 */
export interface AuditLogEvent {
  readonly logStreamName?: string | undefined;
  readonly timestamp: number;
  readonly ingestionTime?: number | undefined;
  readonly message: string;
  readonly eventId?: string | undefined;
}

/** The log stream a container writes to on a given UTC day: `YYYY/MM/DD/audit-<container>`. */
export function logStreamNameFor(when: Date, containerId: string): string {
  const day = when.toISOString().slice(0, 10).replaceAll("-", "/");
  return `${day}/audit-${containerId}`;
}

/** The log event of one record (what PutLogEvents receives, plus stream and ingestion). */
export function toLogEvent(
  record: AuditRecord,
  logStreamName: string,
  ingestionTime: number,
): AuditLogEvent {
  return {
    logStreamName,
    timestamp: Date.parse(record.at),
    ingestionTime,
    message: JSON.stringify(record),
  };
}

export interface ParsedLog {
  readonly events: AuditLogEvent[];
  /** Lines that are not a log event at all (1-based line numbers). */
  readonly badLines: { readonly line: number; readonly error: string }[];
}

/** Parses a local audit log file (one FilteredLogEvent JSON object per line). */
export function parseAuditLogFile(text: string): ParsedLog {
  const events: AuditLogEvent[] = [];
  const badLines: { line: number; error: string }[] = [];
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    if (raw.trim() === "") return;
    try {
      const v = JSON.parse(raw) as Partial<AuditLogEvent>;
      if (typeof v.message !== "string" || typeof v.timestamp !== "number") {
        badLines.push({ line: i + 1, error: "not a log event (needs timestamp and message)" });
        return;
      }
      events.push({
        logStreamName: v.logStreamName,
        timestamp: v.timestamp,
        ingestionTime: v.ingestionTime,
        message: v.message,
        eventId: v.eventId,
      });
    } catch {
      badLines.push({ line: i + 1, error: "not JSON" });
    }
  });
  return { events, badLines };
}

/** The audit eventId inside a log event's message, without validating anything else. */
export function eventIdOf(e: AuditLogEvent): string | undefined {
  try {
    const m = JSON.parse(e.message) as { eventId?: unknown };
    return typeof m.eventId === "string" ? m.eventId : undefined;
  } catch {
    return undefined;
  }
}
