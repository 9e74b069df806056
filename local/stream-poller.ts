import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from "@aws-sdk/client-dynamodb-streams";
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from "aws-lambda";
import { AUDIT_STREAM_FILTER } from "../lib/audit/stream-filter.ts";
import { withoutSdkLogger } from "../lib/aws/sdk-client.ts";
import { localClient, localClientConfig } from "./dynamodb.ts";

export type StreamHandler = (
  event: DynamoDBStreamEvent,
) => Promise<DynamoDBBatchResponse | undefined>;

export interface PollerOptions {
  readonly endpoint: string;
  readonly tableName: string;
  readonly handler: StreamHandler;
  /** Where shard positions are kept between runs (persisted mode); none in memory mode. */
  readonly checkpointFile?: string | undefined;
  /** Records that still fail after the retries go here, like the on-failure destination. */
  readonly deadLetterFile: string;
  readonly batchSize?: number;
  readonly maxRetries?: number;
  /**
   * The subscription's Lambda event filter pattern: AUDIT_STREAM_FILTER (the audit
   * consumer, the default) or WEBHOOK_STREAM_FILTER (the webhook dispatcher). Each
   * subscription is its own poller with its own checkpoints, as each event source
   * mapping reads the stream on its own in AWS.
   */
  readonly filter?: unknown;
  readonly intervalMs?: number;
}

export interface Poller {
  stop(): Promise<void>;
  /** Resolves when every record written so far has been handed to the handler. */
  drain(): Promise<void>;
}

/**
 * The SDK's DynamoDB Streams client deserializes an empty map attribute (`{"M":{}}` on
 * the wire) as `{}`, an AttributeValue with no member, which unmarshall rejects. Lambda
 * hands the handler the wire JSON, so restore `{M: {}}` to give the handler exactly
 * what it gets in AWS. Only a member-less attribute value is touched.
 */
export function restoreEmptyMaps<T>(value: T): T {
  const fixAttr = (av: unknown): unknown => {
    if (av === null || typeof av !== "object" || Array.isArray(av)) return av;
    const o = av as Record<string, unknown>;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined);
    if (keys.length === 0) return { M: {} };
    if (o.M && typeof o.M === "object") return { ...o, M: fixImage(o.M) };
    if (Array.isArray(o.L)) return { ...o, L: o.L.map(fixAttr) };
    return av;
  };
  const fixImage = (img: unknown): unknown =>
    img && typeof img === "object"
      ? Object.fromEntries(Object.entries(img).map(([k, v]) => [k, fixAttr(v)]))
      : img;
  if (!value || typeof value !== "object") return value;
  const d = value as Record<string, unknown>;
  return {
    ...d,
    ...(d.NewImage ? { NewImage: fixImage(d.NewImage) } : {}),
    ...(d.OldImage ? { OldImage: fixImage(d.OldImage) } : {}),
  } as T;
}

/**
 * Lambda's event filtering for the subset of the pattern syntax the project uses: an
 * object pattern matches when every key matches, an array lists the exact values
 * allowed. A record the pattern does not match never reaches the handler.
 */
export function matchesFilter(pattern: unknown, value: unknown): boolean {
  if (Array.isArray(pattern)) return pattern.some((allowed) => allowed === value);
  if (pattern === null || typeof pattern !== "object") return false;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return Object.entries(pattern).every(([k, p]) => matchesFilter(p, v[k]));
}

/** Whether a stream record passes the audit consumer's filter (as in the CDK mapping). */
export function invokesAuditConsumer(record: DynamoDBRecord): boolean {
  return matchesFilter(AUDIT_STREAM_FILTER, record);
}

/**
 * The local stand-in for Lambda's DynamoDB event source mapping: reads DynamoDB
 * Local's stream shard by shard, hands batches to the same audit handler that runs
 * in AWS (only the records the filter lets through, as in AWS; with partial batch
 * responses), retries a failed record a bounded number of
 * times from the first reported failure, then parks it in a dead-letter file.
 */
export async function startStreamPoller(opts: PollerOptions): Promise<Poller> {
  const ddb = localClient(opts.endpoint);
  const streams = withoutSdkLogger(new DynamoDBStreamsClient(localClientConfig(opts.endpoint)));
  const table = await ddb.send(new DescribeTableCommand({ TableName: opts.tableName }));
  const streamArn = table.Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${opts.tableName} has no stream`);

  const checkpoints: Record<string, string> =
    opts.checkpointFile && existsSync(opts.checkpointFile)
      ? (JSON.parse(readFileSync(opts.checkpointFile, "utf8")) as Record<string, string>)
      : {};
  const iterators = new Map<string, string | null>();
  const batchSize = opts.batchSize ?? 100;
  const maxRetries = opts.maxRetries ?? 3;
  let stopped = false;
  let idleSince = 0;
  let drainWaiters: (() => void)[] = [];

  const saveCheckpoint = (shardId: string, seq: string) => {
    checkpoints[shardId] = seq;
    if (opts.checkpointFile) writeFileSync(opts.checkpointFile, JSON.stringify(checkpoints));
  };

  async function refreshShards(): Promise<void> {
    let start: string | undefined;
    do {
      const d = await streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }),
      );
      for (const shard of d.StreamDescription?.Shards ?? []) {
        const id = shard.ShardId;
        if (!id || iterators.has(id)) continue;
        const after = checkpoints[id];
        const it = await streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: id,
            ...(after
              ? { ShardIteratorType: "AFTER_SEQUENCE_NUMBER", SequenceNumber: after }
              : { ShardIteratorType: "TRIM_HORIZON" }),
          }),
        );
        iterators.set(id, it.ShardIterator ?? null);
      }
      start = d.StreamDescription?.LastEvaluatedShardId;
    } while (start);
  }

  /** The record as Lambda hands it to the handler. */
  const asLambdaRecord = (r: _Record): DynamoDBRecord => ({
    eventID: r.eventID,
    eventName: r.eventName as "INSERT" | "MODIFY" | "REMOVE",
    eventVersion: r.eventVersion ?? "1.1",
    eventSource: "aws:dynamodb",
    awsRegion: "us-east-1",
    eventSourceARN: streamArn,
    dynamodb: restoreEmptyMaps(r.dynamodb) as NonNullable<DynamoDBRecord["dynamodb"]>,
    ...(r.userIdentity ? { userIdentity: r.userIdentity } : {}),
  });

  async function deliver(shardId: string, records: DynamoDBRecord[]): Promise<void> {
    let pending = records;
    let attempt = 0;
    while (pending.length > 0) {
      const event: DynamoDBStreamEvent = { Records: pending };
      let failedSeq: string | undefined;
      try {
        const result = await opts.handler(event);
        failedSeq = result?.batchItemFailures?.[0]?.itemIdentifier;
      } catch {
        failedSeq = pending[0]?.dynamodb?.SequenceNumber;
      }
      const failedAt = failedSeq
        ? pending.findIndex((r) => r.dynamodb?.SequenceNumber === failedSeq)
        : -1;
      const done = failedAt === -1 ? pending : pending.slice(0, failedAt);
      const lastDone = done.at(-1)?.dynamodb?.SequenceNumber;
      if (lastDone) saveCheckpoint(shardId, lastDone);
      if (failedAt === -1) return;
      pending = pending.slice(failedAt);
      attempt += 1;
      if (attempt > maxRetries) {
        const poison = pending[0];
        appendFileSync(
          opts.deadLetterFile,
          `${JSON.stringify({ shardId, sequenceNumber: poison?.dynamodb?.SequenceNumber, eventID: poison?.eventID, at: new Date().toISOString() })}\n`,
        );
        const seq = poison?.dynamodb?.SequenceNumber;
        if (seq) saveCheckpoint(shardId, seq);
        pending = pending.slice(1);
        attempt = 0;
      }
    }
  }

  const interval = opts.intervalMs ?? 200;
  let refreshedAt = 0;
  /** One pass: records seen, and whether it also looked for new shards. */
  async function pollOnce(): Promise<{ seen: number; refreshed: boolean }> {
    let refreshed = false;
    // New shards are looked for once per interval, not on every pass of a busy loop
    // (Lambda's mapping, too, discovers shards on its own clock): a DescribeStream per
    // GetRecords was a third of what the two pollers asked of DynamoDB Local under load.
    if (Date.now() - refreshedAt >= interval) {
      await refreshShards();
      refreshedAt = Date.now();
      refreshed = true;
    }
    let seen = 0;
    for (const [shardId, iterator] of iterators) {
      if (!iterator) continue;
      const out = await streams.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize }),
      );
      iterators.set(shardId, out.NextShardIterator ?? null);
      const records = out.Records ?? [];
      if (records.length > 0) {
        seen += records.length;
        const matching = records
          .map(asLambdaRecord)
          .filter((r) => matchesFilter(opts.filter ?? AUDIT_STREAM_FILTER, r));
        if (matching.length > 0) await deliver(shardId, matching);
        // Records the filter drops are consumed all the same.
        const last = records.at(-1)?.dynamodb?.SequenceNumber;
        if (last) saveCheckpoint(shardId, last);
      }
    }
    return { seen, refreshed };
  }

  const loop = (async () => {
    while (!stopped) {
      let pass = { seen: 0, refreshed: true };
      try {
        pass = await pollOnce();
      } catch {
        // DynamoDB Local restarting or briefly unreachable: try again next tick (after
        // the interval's sleep below, with a fresh look for shards).
        iterators.clear();
        refreshedAt = 0;
      }
      const { seen } = pass;
      if (seen === 0 && !pass.refreshed) {
        // Nothing in the shards known: idle only once a pass that also looked for new
        // shards finds nothing (what `drain` waits for), so look again now.
        refreshedAt = 0;
      } else if (seen === 0) {
        idleSince ||= Date.now();
        const waiters = drainWaiters;
        drainWaiters = [];
        for (const w of waiters) w();
        await new Promise((r) => setTimeout(r, interval));
      } else {
        idleSince = 0;
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      await loop;
      for (const w of drainWaiters) w();
      ddb.destroy();
      streams.destroy();
    },
    drain: () =>
      new Promise<void>((resolve) => {
        // Wait for a full pass that starts after this call and finds nothing new.
        const start = Date.now();
        const check = () => {
          if (stopped || (idleSince && idleSince > start)) resolve();
          else drainWaiters.push(check);
        };
        drainWaiters.push(check);
      }),
  };
}
