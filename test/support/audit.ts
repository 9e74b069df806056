import { readFileSync } from "node:fs";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import type { AuditEvent } from "../../lib/audit/events.ts";
import { type AuditLogEvent, parseAuditLogFile } from "../../lib/audit/log-format.ts";
import type { AuditRecord } from "../../lib/audit/schema.ts";
import { newId } from "../../lib/ids.ts";

/** A well-formed audit event for tests (a payment by a customer unless overridden). */
export function sampleEvent(over: Partial<AuditEvent> = {}): AuditEvent {
  const src = newId("acc");
  const dst = newId("acc");
  const pay = newId("pay");
  return {
    eventId: newId("evt"),
    action: "payment.created",
    outcome: "success",
    at: "2025-03-01T12:00:00.000Z",
    actor: {
      userId: newId("usr"),
      roles: ["customer"],
      sourceIp: "203.0.113.7",
      userAgent: "curl/8.5.0",
      requestId: "req-0001",
    },
    targets: { paymentId: pay, sourceAccountId: src, destinationAccountId: dst },
    money: { amount: 1250, currency: "USD", debitAccountId: src, creditAccountId: dst },
    ...over,
  };
}

let seq = 1000;

/** A DynamoDB stream record (as Lambda delivers it) for an item. */
export function streamRecord(
  eventName: "INSERT" | "MODIFY" | "REMOVE",
  item: Record<string, unknown>,
  extra: Partial<DynamoDBRecord> = {},
): DynamoDBRecord {
  seq += 1;
  const image = marshall(item, { removeUndefinedValues: true }) as NonNullable<
    NonNullable<DynamoDBRecord["dynamodb"]>["NewImage"]
  >;
  const keys = marshall({ pk: item.pk, sk: item.sk }) as NonNullable<
    NonNullable<DynamoDBRecord["dynamodb"]>["Keys"]
  >;
  return {
    eventID: `e${seq}`,
    eventName,
    eventVersion: "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: "us-east-1",
    dynamodb: {
      Keys: keys,
      ...(eventName === "REMOVE" ? { OldImage: image } : { NewImage: image }),
      ...(eventName === "MODIFY" ? { OldImage: image } : {}),
      SequenceNumber: String(seq).padStart(21, "0"),
      StreamViewType: "NEW_AND_OLD_IMAGES",
    },
    ...extra,
  };
}

/** The outbox item an event is stored as (lib/audit/events.ts auditItem, without config). */
export function outboxItem(event: unknown): Record<string, unknown> {
  const id = (event as { eventId?: string }).eventId ?? "x";
  return { pk: `AUDIT#${id}`, sk: "AUDIT", type: "audit_event", event, expiresAt: 1_900_000_000 };
}

export function insertOf(event: unknown): DynamoDBRecord {
  return streamRecord("INSERT", outboxItem(event));
}

export function batch(...records: DynamoDBRecord[]): DynamoDBStreamEvent {
  return { Records: records };
}

/** The records in a local audit log file (empty when it does not exist yet). */
export function readAuditLog(path: string): { events: AuditLogEvent[]; records: AuditRecord[] } {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { events: [], records: [] };
  }
  const { events } = parseAuditLogFile(text);
  return { events, records: events.map((e) => JSON.parse(e.message) as AuditRecord) };
}

/**
 * Polls the audit log until `done(records)` holds or the deadline passes; returns the
 * last records read either way (the caller asserts on them). No fixed sleeps.
 */
export async function waitForAuditLog(
  path: string,
  done: (records: AuditRecord[]) => boolean,
  timeoutMs = 20_000,
): Promise<AuditRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { records } = readAuditLog(path);
    if (done(records) || Date.now() > deadline) return records;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Strings that must never appear in an audit log. */
export const SECRET_PATTERNS: readonly RegExp[] = [
  /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\./,
  /\$2[aby]\$\d{2}\$/,
  /-----BEGIN/,
  /"d"\s*:\s*"/,
  /password/i,
  /refreshToken/i,
  /bearer\s/i,
];

/** Runs `npm run audit -- <args>` (scripts/audit.ts) as a child process. */
export async function runAuditCli(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { spawn } = await import("node:child_process");
  const { dirname, join, resolve } = await import("node:path");
  const { fileURLToPath } = await import("node:url");
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
  return new Promise((resolveRun, reject) => {
    const child = spawn(
      join(root, "node_modules/.bin/tsx"),
      [join(root, "scripts/audit.ts"), ...args],
      {
        cwd: root,
        env: { ...process.env, MICROPAY_LOG_LEVEL: "SILENT", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
  });
}

/** Ids of the movement a committed money response created (payment, refund, entries). */
export function movementIdsOf(path: string, text: string): string[] {
  const body = JSON.parse(text) as { id?: string; entries?: { id: string }[] };
  if (path.includes("/deposits") || path.includes("/withdrawals")) {
    return (body.entries ?? []).map((e) => e.id);
  }
  return body.id ? [body.id] : [];
}

/** Polls `probe` until it returns a truthy value or the deadline passes (then returns it). */
export async function pollUntil<T>(probe: () => T, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}
