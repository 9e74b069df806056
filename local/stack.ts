import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type DynamoLocal, ensureTable, startDynamoLocal } from "./dynamodb.ts";
import { type Gateway, startGateway } from "./gateway.ts";
import { prepareLocalIdentity, seedLocalAdmin } from "./identity.ts";
import type { LocalSettings } from "./settings.ts";
import { type Poller, type StreamHandler, startStreamPoller } from "./stream-poller.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** What a running local stack records for local tools (`npm run audit`, tests, bench). */
export interface StackInfo {
  readonly apiUrl: string;
  readonly dynamodbEndpoint: string;
  readonly tableName: string;
  readonly auditLog: string;
  readonly dataDir: string;
  readonly pid: number;
  readonly dynamodbPid: number | undefined;
  readonly inMemory: boolean;
}

export interface LocalStack {
  readonly info: StackInfo;
  readonly dynamo: DynamoLocal;
  readonly gateway: Gateway;
  readonly poller: Poller;
  stop(): Promise<void>;
}

/**
 * Brings up the whole local stack: DynamoDB Local, the table, identity bootstrap,
 * the gateway with the real handlers, and the stream poller feeding the audit
 * handler. Handlers read their configuration from process.env, set here first.
 */
export async function startLocalStack(settings: LocalSettings): Promise<LocalStack> {
  mkdirSync(settings.dataDir, { recursive: true });
  mkdirSync(dirname(settings.auditLog), { recursive: true });
  const dynamo = await startDynamoLocal({
    dbPath: settings.MICROPAY_IN_MEMORY ? undefined : join(settings.dataDir, "dynamodb"),
  });
  try {
    await ensureTable(dynamo.endpoint, settings.MICROPAY_TABLE_NAME);
    Object.assign(process.env, {
      MICROPAY_DYNAMODB_ENDPOINT: dynamo.endpoint,
      MICROPAY_TABLE_NAME: settings.MICROPAY_TABLE_NAME,
      MICROPAY_AUDIT_LOG: settings.auditLog,
      AWS_REGION: process.env.AWS_REGION ?? "us-east-1",
    });
    const identity = await prepareLocalIdentity(settings);
    Object.assign(process.env, identity.env);
    await seedLocalAdmin(settings);

    const { routes } = await import("../lib/routes/index.ts");
    const gateway = await startGateway({
      routes,
      functionsDir: join(root, "functions"),
      host: settings.MICROPAY_HOST,
      port: settings.PORT,
      throttleRate: settings.MICROPAY_THROTTLE_RATE,
      throttleBurst: settings.MICROPAY_THROTTLE_BURST,
    });
    const audit = (await import("../functions/audit.ts")) as { handler: StreamHandler };
    const poller = await startStreamPoller({
      endpoint: dynamo.endpoint,
      tableName: settings.MICROPAY_TABLE_NAME,
      handler: audit.handler,
      checkpointFile: settings.MICROPAY_IN_MEMORY
        ? undefined
        : join(settings.dataDir, "stream-checkpoints.json"),
      deadLetterFile: join(settings.dataDir, "audit-dead-letter.jsonl"),
    });
    const info: StackInfo = {
      apiUrl: gateway.url,
      dynamodbEndpoint: dynamo.endpoint,
      tableName: settings.MICROPAY_TABLE_NAME,
      auditLog: settings.auditLog,
      dataDir: settings.dataDir,
      pid: process.pid,
      dynamodbPid: dynamo.process.pid,
      inMemory: settings.MICROPAY_IN_MEMORY,
    };
    writeFileSync(settings.stackFile, `${JSON.stringify(info, null, 2)}\n`);
    return {
      info,
      dynamo,
      gateway,
      poller,
      async stop() {
        await gateway.close();
        await poller.stop();
        await dynamo.stop();
        rmSync(settings.stackFile, { force: true });
      },
    };
  } catch (error) {
    await dynamo.stop();
    throw error;
  }
}
