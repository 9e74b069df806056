import { parseArgs } from "node:util";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { AuditLogEvent } from "../lib/audit/log-format.ts";
import { AUDIT_QUERIES } from "../lib/audit/queries.ts";
import { runQuery } from "../tools/audit/insights.ts";
import {
  readLocalAuditLog,
  readLogGroup,
  readStackRecord,
  runCloudQuery,
  scanLedger,
} from "../tools/audit/sources.ts";
import { verifyAudit } from "../tools/audit/verify.ts";

/**
 * `npm run audit -- <command>`: the auditor's tool.
 *
 *   verify                 reconcile the ledger with the audit trail (exit 1 on any mismatch)
 *   query <name> [...]     run one of the saved Logs Insights queries (lib/audit/queries.ts)
 *   queries                list the saved queries
 *
 * Sources: locally, the running stack's MICROPAY_DATA_DIR/stack.json (default
 * `.local`) names the audit log file, the DynamoDB endpoint and the table; flags
 * override it: --audit-log FILE, --endpoint URL, --table NAME. For a deployed stage:
 * --log-group NAME --table NAME [--region R] with the usual AWS credentials.
 *
 * Exit codes: 0 ok, 1 mismatches found, 2 usage or I/O error.
 */

const USAGE = `usage:
  npm run audit -- verify [--audit-log FILE | --log-group NAME] [--endpoint URL] [--table NAME] [--region R] [--json]
  npm run audit -- query <name> [--user ID] [--api-key ID] [--account ID] [--min-amount N] [--since ISO] [--until ISO]
                    [--audit-log FILE | --log-group NAME] [--json]
  npm run audit -- queries`;

class UsageError extends Error {}

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "audit-log": { type: "string" },
    "log-group": { type: "string" },
    endpoint: { type: "string" },
    table: { type: "string" },
    region: { type: "string" },
    "data-dir": { type: "string" },
    user: { type: "string" },
    "api-key": { type: "string" },
    account: { type: "string" },
    "min-amount": { type: "string" },
    since: { type: "string" },
    until: { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

const region = flags.region ?? process.env.AWS_REGION ?? "us-east-1";
const stack = readStackRecord(flags["data-dir"] ?? process.env.MICROPAY_DATA_DIR ?? ".local");
/** Where the CloudWatch Logs requests went, as sent: AWS's regional endpoint unless an
 * AWS SDK endpoint setting (`AWS_ENDPOINT_URL_CLOUDWATCH_LOGS`, for an emulator) says
 * otherwise. Named in the report so an auditor sees which service answered. */
let logsEndpoint: string | undefined;

function logs(): CloudWatchLogsClient {
  const client = new CloudWatchLogsClient({ region });
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { protocol?: unknown; hostname?: unknown; port?: unknown };
      if (typeof req.hostname === "string") {
        const port = typeof req.port === "number" ? `:${req.port}` : "";
        logsEndpoint = `${String(req.protocol ?? "https:")}//${req.hostname}${port}`;
      }
      return next(args);
    },
    { step: "finalizeRequest", name: "recordLogsEndpoint" },
  );
  return client;
}

async function auditEvents(): Promise<{ events: AuditLogEvent[]; source: string }> {
  if (flags["log-group"]) {
    const client = logs();
    const events = await readLogGroup(client, flags["log-group"]);
    client.destroy();
    return { events, source: `log group ${flags["log-group"]} at ${logsEndpoint ?? "?"}` };
  }
  const file = flags["audit-log"] ?? stack?.auditLog;
  if (!file) {
    throw new UsageError(
      "no audit log: start the local stack (npm start), or pass --audit-log FILE or --log-group NAME",
    );
  }
  const { events, badLines } = readLocalAuditLog(file);
  for (const b of badLines) process.stderr.write(`${file}:${b.line}: ${b.error}\n`);
  if (badLines.length > 0) process.exitCode = 1;
  return { events, source: file };
}

async function verify(): Promise<number> {
  const table = flags.table ?? stack?.tableName;
  if (!table) throw new UsageError("no table: start the local stack or pass --table NAME");
  const endpoint = flags.endpoint ?? (flags["log-group"] ? undefined : stack?.dynamodbEndpoint);
  const ddb = new DynamoDBClient({
    region,
    ...(endpoint
      ? { endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } }
      : {}),
  });
  const { events, source } = await auditEvents();
  const ledger = await scanLedger(ddb, table);
  ddb.destroy();
  const report = verifyAudit({ logEvents: events, ...ledger });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ source, table, ...report }, null, 2)}\n`);
  } else {
    const s = report.stats;
    process.stdout.write(
      `audit log: ${source}\nledger: table ${table}${endpoint ? ` at ${endpoint}` : ""}\n` +
        `${s.records} audit records (${s.redacted} with redacted text), ${s.movements} movements, ${s.accounts} accounts, ${s.entries} entries\n`,
    );
    for (const p of report.problems) process.stdout.write(`MISMATCH ${p}\n`);
    process.stdout.write(
      report.ok ? "verify: OK\n" : `verify: FAILED (${report.problems.length} mismatches)\n`,
    );
  }
  return report.ok && process.exitCode !== 1 ? 0 : 1;
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;

function parseTime(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(v) || Number.isNaN(ms)) {
    throw new UsageError(`--${flag} needs an RFC 3339 time, e.g. 2025-03-01T00:00:00Z`);
  }
  return ms;
}

/**
 * The query text to run: the saved query with its placeholders filled from the flags
 * (<userId>, <accountId>, <from>, <to>, the amount threshold). A flag the query has no
 * placeholder for narrows it with a leading `filter` stage, which Insights accepts too.
 */
function effectiveQuery(saved: string): string {
  let text = saved;
  const extra: string[] = [];
  const fill = (placeholder: string, value: string | undefined, extraFilter: string) => {
    if (value === undefined) return;
    if (text.includes(placeholder)) text = text.replaceAll(placeholder, value);
    else extra.push(extraFilter);
  };
  for (const [flag, v] of [
    ["user", flags.user],
    ["api-key", flags["api-key"]],
    ["account", flags.account],
  ] as const) {
    if (v !== undefined && !SAFE_ID.test(v)) throw new UsageError(`--${flag} is not an id`);
  }
  fill("<userId>", flags.user, `actor.userId == "${flags.user}"`);
  fill("<apiKeyId>", flags["api-key"], `actor.apiKeyId == "${flags["api-key"]}"`);
  fill(
    "<accountId>",
    flags.account,
    `targets.accountId == "${flags.account}" or money.debitAccountId == "${flags.account}" or money.creditAccountId == "${flags.account}"`,
  );
  const since = parseTime("since", flags.since);
  const until = parseTime("until", flags.until);
  if (since !== undefined && text.includes("<from>")) {
    text = text.replaceAll("<from>", new Date(since).toISOString());
  }
  if (until !== undefined && text.includes("<to>")) {
    text = text.replaceAll("<to>", new Date(until).toISOString());
  }
  const min = flags["min-amount"];
  if (min !== undefined) {
    if (!/^\d{1,15}$/.test(min))
      throw new UsageError("--min-amount needs an integer (minor units)");
    const threshold = /money\.amount\s*>=?\s*\d+/;
    if (threshold.test(text)) text = text.replace(threshold, `money.amount >= ${min}`);
    else extra.push(`money.amount >= ${min}`);
  }
  const missing = /<(userId|apiKeyId|accountId|from|to)>/.exec(text);
  if (missing) {
    const flag = {
      userId: "--user",
      apiKeyId: "--api-key",
      accountId: "--account",
      from: "--since",
      to: "--until",
    }[missing[1] as "userId" | "apiKeyId" | "accountId" | "from" | "to"];
    throw new UsageError(`this query needs ${flag}`);
  }
  return extra.length > 0 ? `filter ${extra.map((e) => `(${e})`).join(" and ")}\n| ${text}` : text;
}

async function query(name: string | undefined): Promise<number> {
  const saved = AUDIT_QUERIES.find((q) => q.name === name);
  if (!saved) {
    throw new UsageError(
      `unknown query ${JSON.stringify(name ?? "")}; one of: ${AUDIT_QUERIES.map((q) => q.name).join(", ")}`,
    );
  }
  const text = effectiveQuery(saved.query);
  const startTime = parseTime("since", flags.since);
  const endTime = parseTime("until", flags.until);
  let rows: Record<string, unknown>[];
  let source: string;
  if (flags["log-group"]) {
    source = flags["log-group"];
    rows = await runCloudQuery(logs(), source, text, {
      startTime: startTime ?? 0,
      endTime: endTime ?? Date.now(),
    });
  } else {
    const { events, source: file } = await auditEvents();
    source = file;
    rows = runQuery(text, events, {
      ...(startTime !== undefined ? { startTime } : {}),
      ...(endTime !== undefined ? { endTime } : {}),
    });
  }
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ name: saved.name, source, query: text, rows }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(`# ${saved.name}: ${saved.description}\n# source: ${source}\n`);
    process.stdout.write(`${text.replace(/^/gm, "#   ")}\n`);
    for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
    process.stdout.write(`# ${rows.length} rows\n`);
  }
  return 0;
}

async function main(): Promise<number> {
  const [command, ...rest] = positionals;
  if (flags.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  switch (command) {
    case "verify":
      return verify();
    case "query":
      return query(rest[0]);
    case "queries":
      for (const q of AUDIT_QUERIES) {
        process.stdout.write(
          `${q.name}\n  ${q.description}\n${q.query.replace(/^/gm, "    ")}\n\n`,
        );
      }
      return 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  // Names and messages only: never an AWS response body or a stack trace.
  process.stderr.write(
    `audit: ${error instanceof UsageError ? error.message : `${(error as Error).name}: ${(error as Error).message}`}\n`,
  );
  process.exitCode = 2;
}
