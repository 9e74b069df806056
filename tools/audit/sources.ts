import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  type CloudWatchLogsClient,
  FilterLogEventsCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { type AuditLogEvent, parseAuditLogFile } from "../../lib/audit/log-format.ts";
import type { LedgerAccount, LedgerEntry, LedgerHoldPayment, LedgerOpenHold } from "./verify.ts";

/**
 * Where `npm run audit` reads from: the local audit log file or a deployed log group
 * (audit records), and the table (ledger). Offline audit tooling only: nothing here
 * runs on a request path.
 */

/** What a running local stack wrote to `MICROPAY_DATA_DIR/stack.json` (local/stack.ts). */
export interface StackRecord {
  readonly apiUrl?: string;
  readonly dynamodbEndpoint: string;
  readonly tableName: string;
  readonly auditLog: string;
}

export function readStackRecord(dataDir: string): StackRecord | undefined {
  const file = join(resolve(dataDir), "stack.json");
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as StackRecord;
}

/** The local audit log's events; a missing file is an empty log. Bad lines are reported. */
export function readLocalAuditLog(path: string): {
  events: AuditLogEvent[];
  badLines: { line: number; error: string }[];
} {
  if (!existsSync(path)) return { events: [], badLines: [] };
  return parseAuditLogFile(readFileSync(path, "utf8"));
}

/** Every log event of a deployed audit log group (FilterLogEvents, all pages). */
export async function readLogGroup(
  logs: CloudWatchLogsClient,
  logGroupName: string,
  range: { startTime?: number; endTime?: number } = {},
): Promise<AuditLogEvent[]> {
  const events: AuditLogEvent[] = [];
  let nextToken: string | undefined;
  do {
    const out = await logs.send(new FilterLogEventsCommand({ logGroupName, nextToken, ...range }));
    for (const e of out.events ?? []) {
      if (typeof e.message === "string" && typeof e.timestamp === "number") {
        events.push({
          logStreamName: e.logStreamName,
          timestamp: e.timestamp,
          ingestionTime: e.ingestionTime,
          message: e.message,
          eventId: e.eventId,
        });
      }
    }
    nextToken = out.nextToken;
  } while (nextToken);
  return events;
}

/**
 * The ledger: every account and entry item. A full Scan (strongly consistent, paged)
 * is right here and only here: this is an offline reconciliation over all the data,
 * run by an auditor, never a request path (the API itself never scans).
 */
export async function scanLedger(
  ddb: DynamoDBClient,
  tableName: string,
): Promise<{
  accounts: LedgerAccount[];
  entries: LedgerEntry[];
  holds: { payments: LedgerHoldPayment[]; open: LedgerOpenHold[] };
}> {
  const doc = DynamoDBDocumentClient.from(ddb);
  const accounts: LedgerAccount[] = [];
  const entries: LedgerEntry[] = [];
  const holds = { payments: [] as LedgerHoldPayment[], open: [] as LedgerOpenHold[] };
  const shards: {
    accountId: string;
    balance: number;
    currency: string;
    kind: string;
    held: number | undefined;
    available: number | undefined;
  }[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        FilterExpression: "#type IN (:account, :shard, :entry, :payment, :hold)",
        ExpressionAttributeNames: { "#type": "type" },
        ExpressionAttributeValues: {
          ":account": "account",
          ":shard": "account_shard",
          ":entry": "entry",
          ":payment": "payment",
          ":hold": "hold",
        },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) {
      const pk = String(item.pk ?? "");
      const sk = String(item.sk ?? "");
      if (item.type === "account" && pk.startsWith("ACC#") && sk === "ACCOUNT") {
        accounts.push({
          id: String(item.id),
          balance: Number(item.balance ?? 0),
          currency: String(item.currency),
          kind: String(item.kind),
          held: typeof item.held === "number" ? item.held : undefined,
          available: typeof item.available === "number" ? item.available : undefined,
        });
      } else if (item.type === "payment" && typeof item.captureBefore === "string") {
        holds.payments.push({
          id: String(item.id),
          sourceAccountId: String(item.sourceAccountId),
          amount: Number(item.amount),
          amountCaptured: Number(item.amountCaptured ?? 0),
          amountCapturable: Number(item.amountCapturable ?? 0),
          captureState: String(item.captureState),
        });
      } else if (item.type === "hold" && sk.startsWith("HOLD#")) {
        holds.open.push({
          paymentId: String(item.paymentId),
          accountId: String(item.accountId),
          amount: Number(item.amount),
        });
      } else if (item.type === "account_shard" && pk.startsWith("ACC#") && sk === "SHARD") {
        shards.push({
          accountId: String(item.accountId),
          balance: Number(item.balance ?? 0),
          currency: String(item.currency),
          kind: String(item.kind),
          held: typeof item.held === "number" ? item.held : undefined,
          available: typeof item.available === "number" ? item.available : undefined,
        });
      } else if (item.type === "entry" && pk.startsWith("ACC#") && sk.startsWith("ENT#")) {
        entries.push({
          id: String(item.id),
          accountId: String(item.accountId),
          transferId: typeof item.transferId === "string" ? item.transferId : undefined,
          paymentId: typeof item.paymentId === "string" ? item.paymentId : undefined,
          refundId: typeof item.refundId === "string" ? item.refundId : undefined,
          kind: String(item.kind),
          direction: item.direction === "debit" ? "debit" : "credit",
          amount: Number(item.amount),
          currency: String(item.currency),
          counterpartyAccountId:
            typeof item.counterpartyAccountId === "string" ? item.counterpartyAccountId : undefined,
          reference: typeof item.reference === "string" ? item.reference : undefined,
          createdAt: String(item.createdAt),
        });
      }
    }
    start = out.LastEvaluatedKey;
  } while (start);
  // Balance shards (issue 18): an account's balance, held and available are the sums
  // over its account item and its shards; a system account whose movements all went to
  // other shards has no item.
  const add = (x: number | undefined, y: number | undefined) =>
    x === undefined && y === undefined ? undefined : (x ?? 0) + (y ?? 0);
  const byId = new Map(accounts.map((a, i) => [a.id, i]));
  for (const sh of shards) {
    const i = byId.get(sh.accountId);
    const a = i === undefined ? undefined : accounts[i];
    if (a && i !== undefined) {
      accounts[i] = {
        ...a,
        balance: a.balance + sh.balance,
        held: add(a.held, sh.held),
        available: add(a.available, sh.available),
      };
    } else {
      byId.set(sh.accountId, accounts.length);
      accounts.push({
        id: sh.accountId,
        balance: sh.balance,
        currency: sh.currency,
        kind: sh.kind,
        held: sh.held,
        available: sh.available,
      });
    }
  }
  return { accounts, entries, holds };
}

/** Runs a query in CloudWatch Logs Insights itself (the deployed counterpart of insights.ts). */
export async function runCloudQuery(
  logs: CloudWatchLogsClient,
  logGroupName: string,
  queryString: string,
  range: { startTime: number; endTime: number },
  deadlineMs = 120_000,
): Promise<Record<string, string>[]> {
  const started = await logs.send(
    new StartQueryCommand({
      logGroupName,
      queryString,
      // StartQuery takes seconds.
      startTime: Math.floor(range.startTime / 1000),
      endTime: Math.ceil(range.endTime / 1000),
    }),
  );
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const out = await logs.send(new GetQueryResultsCommand({ queryId: started.queryId }));
    if (out.status === "Complete") {
      return (out.results ?? []).map((row) =>
        Object.fromEntries(
          row
            .filter((f) => f.field && f.field !== "@ptr")
            .map((f) => [f.field as string, f.value ?? ""]),
        ),
      );
    }
    if (out.status !== "Running" && out.status !== "Scheduled") {
      throw new Error(`Logs Insights query ended ${out.status ?? "without a status"}`);
    }
    if (Date.now() > deadline) throw new Error("Logs Insights query did not finish in time");
    await new Promise((r) => setTimeout(r, 1000));
  }
}
