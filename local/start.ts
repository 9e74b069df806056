import { requireJava } from "./java.ts";
import { parseLocalSettings } from "./settings.ts";
import { startLocalStack } from "./stack.ts";

/** `npm start`: the local stack in the foreground; Ctrl-C stops it and its Java process. */
requireJava();
// `npm start -- --artifacts`: the same as MICROPAY_ARTIFACTS=1.
if (process.argv.slice(2).includes("--artifacts")) process.env.MICROPAY_ARTIFACTS = "1";
const settings = parseLocalSettings(process.env);
process.env.MICROPAY_LOG_LEVEL ??= "WARN";
const stack = await startLocalStack(settings, (line) => process.stdout.write(`${line}\n`));

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: stopping MicroPay local stack...\n`);
  await stack.stop();
  process.stdout.write("Stopped (DynamoDB Local exited).\n");
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
// Last resort if Node dies another way: never leave Java behind.
process.on("exit", () => {
  if (stack.dynamo.process.exitCode === null) stack.dynamo.process.kill("SIGKILL");
});

const { info } = stack;
process.stdout.write(
  [
    `DynamoDB Local: ${info.dynamodbEndpoint} (${info.inMemory ? "in memory" : `data in ${info.dataDir}/dynamodb`})`,
    `Audit log: ${info.auditLog}`,
    ...(info.artifacts
      ? [
          `Functions: from their bundles in ${info.artifacts.cdkOut} (logs in ${info.artifacts.functionLogs})`,
        ]
      : []),
    `MicroPay local API listening on ${info.apiUrl} (Ctrl-C to stop)`,
    "",
  ].join("\n"),
);
