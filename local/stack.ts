import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { config } from "../lib/config.ts";
import type { RouteDef } from "../lib/routes/types.ts";
import { TABLE } from "../lib/store/table.ts";
import { type LoadedArtifacts, loadArtifacts, synthesize } from "./artifacts.ts";
import {
  type ConsumerHandlers,
  type ConsumerSettings,
  functionHandler,
  type SweepHandler,
  startConsumers,
  startConsumersInWorker,
} from "./consumers.ts";
import { type DynamoLocal, ensureTable, startDynamoLocal } from "./dynamodb.ts";
import { type Gateway, type LambdaHandler, startGateway } from "./gateway.ts";
import {
  prepareLocalIdentity,
  secretBoxKeyFile,
  seedLocalAdmin,
  signingKeyFile,
} from "./identity.ts";
import type { RetryHandler } from "./retry-queue.ts";
import type { LocalSettings } from "./settings.ts";
import type { StreamHandler } from "./stream-poller.ts";

/** `npm start`'s webhook retry schedule (seconds): the 3-day one, compressed. */
export const LOCAL_WEBHOOK_RETRY_SCHEDULE = "2,10,30,120,600,1800";

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
  /** Present in artifacts mode: the cloud assembly run and where each function logs. */
  readonly artifacts?: {
    readonly cdkOut: string;
    readonly functionLogs: string;
    /** The IAM-by-use record: each function's distinct AWS calls so far (JSON). */
    readonly callsFile: string;
  };
}

export interface LocalStack {
  readonly info: StackInfo;
  readonly dynamo: DynamoLocal;
  readonly gateway: Gateway;
  stop(): Promise<void>;
}

/**
 * Brings up the whole local stack: DynamoDB Local, the table, identity bootstrap,
 * the gateway with the real handlers, and the stream consumers and schedules on a
 * worker thread (local/consumers.ts). Handlers read their configuration from
 * process.env, set here first (the worker gets a copy of it).
 *
 * In artifacts mode (MICROPAY_ARTIFACTS) the handlers are the synthesized bundles
 * instead, each in its own process with its template environment (local/artifacts.ts);
 * the gateway and the pollers are the same.
 */
export async function startLocalStack(
  settings: LocalSettings,
  progress: (line: string) => void = () => undefined,
): Promise<LocalStack> {
  mkdirSync(settings.dataDir, { recursive: true });
  mkdirSync(dirname(settings.auditLog), { recursive: true });
  let artifacts: LoadedArtifacts | undefined;
  let artifactInfo: StackInfo["artifacts"];
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
      // Local receivers (npm run webhooks, tests) listen on loopback.
      MICROPAY_WEBHOOK_ALLOW_LOOPBACK: process.env.MICROPAY_WEBHOOK_ALLOW_LOOPBACK ?? "1",
      // The retry schedule compressed from 3 days to about 45 minutes (unless set).
      MICROPAY_WEBHOOK_RETRY_SCHEDULE:
        process.env.MICROPAY_WEBHOOK_RETRY_SCHEDULE ?? LOCAL_WEBHOOK_RETRY_SCHEDULE,
    });
    const identity = await prepareLocalIdentity(settings);
    Object.assign(process.env, identity.env);
    await seedLocalAdmin(settings, progress);

    if (settings.MICROPAY_CONTENTION_MODEL && !settings.MICROPAY_ARTIFACTS) {
      await installLocalContentionModel(settings.dataDir, settings.MICROPAY_CONTENTION_HOLD_MS);
    }
    const { routes } = await import("../lib/routes/index.ts");
    if (settings.MICROPAY_ARTIFACTS) {
      const cdkOut = settings.MICROPAY_ARTIFACTS_CDK_OUT
        ? resolve(settings.MICROPAY_ARTIFACTS_CDK_OUT)
        : join(settings.dataDir, "cdk.out");
      if (!settings.MICROPAY_ARTIFACTS_CDK_OUT) {
        progress(`Synthesizing the CDK app into ${cdkOut} (about 30-40 s)...`);
        await synthesize(cdkOut);
      }
      const functionLogs = join(settings.dataDir, "functions");
      const callsFile = join(settings.dataDir, "artifacts-calls.json");
      progress(`Loading every function from its bundle in ${cdkOut} (logs: ${functionLogs})...`);
      artifacts = await loadArtifacts({
        cdkOut,
        logDir: functionLogs,
        callsFile,
        partitionKey: TABLE.partitionKey,
        locals: {
          region: process.env.AWS_REGION ?? "us-east-1",
          tableName: settings.MICROPAY_TABLE_NAME,
          dynamodbEndpoint: dynamo.endpoint,
          signingKeyFile: signingKeyFile(settings),
          secretBoxKeyFile: secretBoxKeyFile(settings),
          auditLog: settings.auditLog,
        },
      });
      artifactInfo = { cdkOut, functionLogs, callsFile };
    }
    const gateway = await startGateway({
      routes,
      functionsDir: join(root, "functions"),
      ...(artifacts ? { handlers: routeHandlers(artifacts, routes) } : {}),
      host: settings.MICROPAY_HOST,
      port: settings.PORT,
      throttleRate: settings.MICROPAY_THROTTLE_RATE,
      throttleBurst: settings.MICROPAY_THROTTLE_BURST,
      apiKeyRateLimit: settings.MICROPAY_API_KEY_RATE_LIMIT,
      apiKeyWindowSeconds: settings.MICROPAY_API_KEY_RATE_WINDOW_SECONDS,
    });
    const consumerSettings: ConsumerSettings = {
      endpoint: dynamo.endpoint,
      tableName: settings.MICROPAY_TABLE_NAME,
      dataDir: settings.dataDir,
      inMemory: settings.MICROPAY_IN_MEMORY,
      webhookSweepSeconds: config().MICROPAY_WEBHOOK_SWEEP_SECONDS,
      holdSweepSeconds: config().MICROPAY_HOLD_SWEEP_SECONDS,
    };
    // The stream consumers and schedules run on a worker thread of their own, as each is
    // its own Lambda in AWS (consumers.ts). In artifacts mode their handlers already run
    // in the bundles' own processes, reached from this thread: only the polling stays here.
    const consumers = artifacts
      ? await startConsumers(consumerSettings, await artifactConsumers(artifacts))
      : await startConsumersInWorker(consumerSettings);
    const info: StackInfo = {
      apiUrl: gateway.url,
      dynamodbEndpoint: dynamo.endpoint,
      tableName: settings.MICROPAY_TABLE_NAME,
      auditLog: settings.auditLog,
      dataDir: settings.dataDir,
      pid: process.pid,
      dynamodbPid: dynamo.process.pid,
      inMemory: settings.MICROPAY_IN_MEMORY,
      ...(artifactInfo ? { artifacts: artifactInfo } : {}),
    };
    writeFileSync(settings.stackFile, `${JSON.stringify(info, null, 2)}\n`);
    return {
      info,
      dynamo,
      gateway,
      async stop() {
        await gateway.close();
        await consumers.stop();
        await artifacts?.stop();
        await dynamo.stop();
        rmSync(settings.stackFile, { force: true });
      },
    };
  } catch (error) {
    await artifacts?.stop();
    await dynamo.stop();
    throw error;
  }
}

/**
 * The loaded function of each route row; a row without a function in the template,
 * or an API function no row names, is an error (the template and the table drifted).
 */
function routeHandlers(
  artifacts: LoadedArtifacts,
  routes: readonly RouteDef[],
): Map<string, LambdaHandler> {
  const handlers = new Map<string, LambdaHandler>();
  for (const route of routes) handlers.set(route.id, artifactHandler(artifacts, route.id));
  const apiFunctions = artifacts.assembly.functions.filter((f) => f.path.startsWith("Api/"));
  const strays = apiFunctions.filter((f) => !handlers.has(f.name)).map((f) => f.path);
  if (strays.length > 0) throw new Error(`API functions without a route row: ${strays.join(", ")}`);
  return handlers;
}

function artifactHandler<H>(artifacts: LoadedArtifacts, name: string): H {
  const fn = artifacts.functions.get(name);
  if (!fn) throw new Error(`the cloud assembly has no function ${name}`);
  const handler = (event: unknown, context?: { awsRequestId?: string }) =>
    fn.invoke(event, context?.awsRequestId);
  return handler as H;
}

/**
 * The consumers' handlers from the cloud assembly where it has them (the stream
 * functions), else the functions' own (the retry consumer: the artifacts mode's bundles
 * cannot reach the in-process retry queue, see consumers.ts).
 */
async function artifactConsumers(artifacts: LoadedArtifacts): Promise<ConsumerHandlers> {
  // Only a handler the assembly lacks is imported into this process.
  const loaded = async <H>(name: string, file: string): Promise<H> =>
    artifacts.functions.has(name) ? artifactHandler<H>(artifacts, name) : functionHandler<H>(file);
  return {
    audit: artifactHandler<StreamHandler>(artifacts, "audit"),
    dispatcher: await loaded<StreamHandler>("Webhooks/Dispatcher", "webhook-dispatcher"),
    retries: await functionHandler<RetryHandler>("webhook-retries"),
    webhookSweeper: await loaded<SweepHandler>("Webhooks/Sweeper", "webhook-sweeper"),
    holdSweeper: await loaded<SweepHandler>("Holds/Sweeper", "hold-sweeper"),
  };
}

/**
 * The contention model in front of the handlers' DynamoDB client (this process). Its
 * counts are read from outside by signal: SIGUSR2 starts a new measurement, SIGUSR1
 * writes the counts to <dataDir>/contention-model.json (test/support/contention.ts).
 */
async function installLocalContentionModel(dataDir: string, holdMs: number): Promise<void> {
  const { rawClient } = await import("../lib/store/client.ts");
  const { ContentionModel, installContentionModel } = await import(
    "../lib/store/contention-model.ts"
  );
  const model = installContentionModel(rawClient(), new ContentionModel({ holdMs }));
  const file = join(dataDir, "contention-model.json");
  process.on("SIGUSR2", () => model.reset());
  process.on("SIGUSR1", () => {
    writeFileSync(`${file}.tmp`, JSON.stringify(model.stats()));
    renameSync(`${file}.tmp`, file);
  });
}
