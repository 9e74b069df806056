import { randomUUID } from "node:crypto";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { isBuiltin, registerHooks } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ChildMessage, InitMessage, ParentMessage } from "./artifacts-protocol.ts";
import { recordCalls } from "./artifacts-recorder.ts";

/**
 * One Lambda function's runtime, as the artifacts mode of the local stack runs it
 * (local/artifacts.ts forks one such process per function, on the pinned Node 24):
 *
 * - Its environment is exactly what the loader gives it (the template's variables
 *   with references replaced by their local equivalents, plus what the Lambda service
 *   sets); its working directory is the function's asset folder, like `/var/task`.
 * - Every AWS call it makes is noted for the IAM-by-use record
 *   (local/artifacts-recorder.ts) and reported to the loader.
 * - The bundle may import Node built-ins and `@aws-sdk/*`, which the Lambda runtime
 *   provides and which resolve here from the project's node_modules. Any other
 *   package it did not bundle is refused, wherever cdk.out lies, so a bundle that
 *   leans on node_modules fails here as it would in AWS.
 *
 * Cold start (module load, including whatever the bundle runs at module scope) happens
 * on `init`; a failure there is reported as `init-error` and the process exits.
 * This file runs without tsx: Node built-ins and type-only imports only.
 */

function send(message: ChildMessage): void {
  process.send?.(message);
}

let init: InitMessage | undefined;
let handler: ((event: unknown, context: unknown) => Promise<unknown>) | undefined;
const queued: ParentMessage[] = [];

// The loader went away (the stack stopped or died): so does this function.
process.on("disconnect", () => process.exit(0));

process.on("message", (message: ParentMessage) => {
  if (message.type === "init") {
    init = message;
    void start(message);
  } else if (handler) {
    void invoke(message);
  } else {
    queued.push(message);
  }
});

async function start(msg: InitMessage): Promise<void> {
  const started = Date.now();
  try {
    confineResolution(msg.assetDir, msg.sdkRoot);
    const file = handlerFile(msg.assetDir, msg.handler);
    recordCalls({
      bundleSource: readFileSync(file, "utf8"),
      sdkRoot: msg.sdkRoot,
      partitionKey: msg.partitionKey,
      standIns: msg.standIns,
      note: (call) => send({ type: "call", call }),
    });
    const exportName = msg.handler.slice(msg.handler.lastIndexOf(".") + 1);
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const fn = mod[exportName];
    if (typeof fn !== "function") {
      throw new Error(`the bundle exports no function named ${exportName}`);
    }
    handler = fn as typeof handler;
  } catch (error) {
    send({ type: "init-error", message: describe(error) });
    // Let the message leave before exiting.
    process.channel?.unref();
    setImmediate(() => process.exit(1));
    return;
  }
  send({ type: "ready", initMs: Date.now() - started, node: process.versions.node });
  for (const message of queued.splice(0)) {
    if (message.type === "invoke") void invoke(message);
  }
}

async function invoke(msg: ParentMessage): Promise<void> {
  if (msg.type !== "invoke" || !handler || !init) return;
  try {
    const value = await handler(msg.event, lambdaContext(init, msg.awsRequestId));
    send({ type: "result", id: msg.id, value: value ?? null });
  } catch (error) {
    send({ type: "error", id: msg.id, message: describe(error) });
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The file the Lambda Node.js runtime would load for `file.export`: .js, .mjs, then .cjs. */
function handlerFile(assetDir: string, handlerSpec: string): string {
  const dot = handlerSpec.lastIndexOf(".");
  if (dot <= 0) throw new Error(`handler ${handlerSpec} is not <file>.<export>`);
  const base = join(assetDir, handlerSpec.slice(0, dot));
  for (const ext of [".js", ".mjs", ".cjs"]) {
    if (existsSync(base + ext)) return base + ext;
  }
  throw new Error(`handler ${handlerSpec}: no ${base}.js, .mjs or .cjs in the asset`);
}

/**
 * Module resolution as in Lambda: what the bundle imports from a package must be in
 * the bundle, except `@aws-sdk/*` (the runtime's) and Node built-ins. Applies to
 * `import`, `require` and `require.resolve` of code inside the asset folder.
 */
function confineResolution(assetDir: string, sdkRoot: string): void {
  // Modules are known by their real path (a symlinked cdk.out resolves through).
  const assetUrl = pathToFileURL(join(realpathSync(assetDir), "/")).href;
  const sdkParent = pathToFileURL(join(sdkRoot, "package.json")).href;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const fromAsset = context.parentURL?.startsWith(assetUrl) ?? false;
      const bare = !/^(\.|\/|file:|node:|data:)/.test(specifier) && !isBuiltin(specifier);
      if (!fromAsset || !bare) return nextResolve(specifier, context);
      if (specifier.startsWith("@aws-sdk/")) {
        return nextResolve(specifier, { ...context, parentURL: sdkParent });
      }
      const error = new Error(
        `Cannot find package '${specifier}': it is not in the bundle and the Lambda runtime does not provide it`,
      );
      throw Object.assign(error, { code: "ERR_MODULE_NOT_FOUND" });
    },
  });
}

function lambdaContext(msg: InitMessage, awsRequestId: string) {
  const deadline = Date.now() + msg.timeoutSeconds * 1000;
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME ?? "local";
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:${name}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? "128",
    awsRequestId: awsRequestId || randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
