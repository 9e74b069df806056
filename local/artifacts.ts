import { type ChildProcess, fork, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type {
  ChildMessage,
  InitMessage,
  InvokeMessage,
  RecordedCall,
  StandIn,
} from "./artifacts-protocol.ts";

/**
 * The artifacts mode of the local stack (`npm start -- --artifacts`, or
 * `MICROPAY_ARTIFACTS=1`): instead of importing the TypeScript sources, every Lambda
 * function is loaded from its bundle in a synthesized `cdk.out`, with the handler and
 * the environment variables its template gives it, and run on the pinned Node 24.
 *
 * One process per function (local/artifacts-runtime.ts), forked with the function's
 * own environment and its asset folder as working directory: a process's environment
 * is only its own, as a Lambda container's is (every module that reads process.env at
 * load, like lib/config.ts, sees exactly that function's variables), a crash or a
 * module-scope side effect stays in its function, and the process runs the pinned
 * Node binary (node_modules/.bin/node) with no tsx loader, whatever runs the stack.
 * Worker threads would share one process's working directory, execArgv (tsx) and
 * Node binary. The cost is memory: about 100 MB per function (2.5 GB for the stack).
 */

/** Synthesized CloudFormation is untyped JSON; this module walks it. */
// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation JSON has no static type
type Json = any;

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** The pinned Node 24 (the `node` devDependency), the Lambda runtime's major version. */
export const PINNED_NODE = join(root, "node_modules", ".bin", "node");
const RUNTIME = join(root, "local", "artifacts-runtime.ts");

/** What the local stack offers in place of the deployed resources. */
export interface LocalEquivalents {
  readonly region: string;
  readonly tableName: string;
  readonly dynamodbEndpoint: string;
  readonly signingKeyFile: string;
  readonly secretBoxKeyFile: string;
  readonly auditLog: string;
}

/** One AWS::Lambda::Function of the template, with what is needed to run it. */
export interface FunctionArtifact {
  /** Local name: the route id for API functions (`Api/Fn-<id>`), `audit`, else the construct path. */
  readonly name: string;
  readonly logicalId: string;
  /** Construct path inside the stack, e.g. `Api/Fn-health/Fn`. */
  readonly path: string;
  readonly assetDir: string;
  readonly handler: string;
  readonly runtime: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  /** Environment.Variables as the template writes them (literals and intrinsics). */
  readonly variables: Readonly<Record<string, unknown>>;
  readonly logFormat: string;
  readonly roleId: string | undefined;
  readonly logGroupId: string | undefined;
}

export interface Assembly {
  readonly dir: string;
  readonly stackName: string;
  readonly template: Json;
  readonly functions: readonly FunctionArtifact[];
  /** Construct path (inside the stack) of a resource, from the assembly's metadata. */
  pathOf(logicalId: string): string | undefined;
}

/** Reads a cloud assembly (`cdk.out`) with one stack: template, asset folders, construct paths. */
export function readAssembly(cdkOut: string): Assembly {
  const manifest = readJson(join(cdkOut, "manifest.json"));
  const stacks = Object.entries(manifest.artifacts ?? {}).filter(
    ([, a]) => (a as Json).type === "aws:cloudformation:stack",
  ) as [string, Json][];
  const [stackName, stack] = stacks[0] ?? [];
  if (stacks.length !== 1 || !stackName) {
    throw new Error(`${cdkOut}: expected one stack in the assembly, found ${stacks.length}`);
  }
  const template = readJson(join(cdkOut, stack.properties.templateFile));
  const metadata: Record<string, Json[]> = stack.additionalMetadataFile
    ? readJson(join(cdkOut, stack.additionalMetadataFile))
    : (stack.metadata ?? {});
  const paths = new Map<string, string>();
  for (const [path, entries] of Object.entries(metadata)) {
    for (const e of entries) {
      if (e.type === "aws:cdk:logicalId") {
        paths.set(String(e.data), path.replace(`/${stackName}/`, "").replace(/\/Resource$/, ""));
      }
    }
  }
  const assetFiles: Record<string, Json> = {};
  for (const a of Object.values(manifest.artifacts ?? {}) as Json[]) {
    if (a.type === "cdk:asset-manifest") {
      Object.assign(assetFiles, readJson(join(cdkOut, a.properties.file)).files ?? {});
    }
  }

  const functions: FunctionArtifact[] = [];
  for (const [logicalId, r] of Object.entries(template.Resources ?? {}) as [string, Json][]) {
    if (r.Type !== "AWS::Lambda::Function") continue;
    const p = r.Properties ?? {};
    const path = paths.get(logicalId) ?? logicalId;
    const s3Key = typeof p.Code?.S3Key === "string" ? p.Code.S3Key : undefined;
    const asset = s3Key ? assetFiles[s3Key.replace(/\.zip$/, "")] : undefined;
    if (!asset)
      throw new Error(`function ${path} (${logicalId}): its code is not an asset of ${cdkOut}`);
    functions.push({
      name: functionName(path),
      logicalId,
      path,
      assetDir: join(cdkOut, asset.source.path),
      handler: String(p.Handler),
      runtime: String(p.Runtime),
      timeoutSeconds: Number(p.Timeout ?? 3),
      memorySize: Number(p.MemorySize ?? 128),
      variables: p.Environment?.Variables ?? {},
      logFormat: String(p.LoggingConfig?.LogFormat ?? "Text"),
      roleId: p.Role?.["Fn::GetAtt"]?.[0],
      logGroupId: p.LoggingConfig?.LogGroup?.Ref,
    });
  }
  return { dir: cdkOut, stackName, template, functions, pathOf: (id) => paths.get(id) };
}

/** `Api/Fn-<route id>/Fn` -> the route id; `Audit/Consumer/Fn` -> `audit`; else the path. */
export function functionName(path: string): string {
  const api = /^Api\/Fn-([^/]+)\/Fn$/.exec(path);
  if (api?.[1]) return api[1];
  if (path === "Audit/Consumer/Fn") return "audit";
  return path.replace(/\/Fn$/, "");
}

/**
 * Template variables that name another resource, and what stands for that resource
 * locally. A reference not listed here cannot be run locally, and says so.
 */
const LOCAL_EQUIVALENTS: readonly {
  readonly variable: string;
  readonly type: string;
  readonly local: (l: LocalEquivalents) => Record<string, string>;
  readonly why: string;
  /** A file that replaces the resource: reading / writing it stands for these IAM actions. */
  readonly standIn?: {
    readonly file: (l: LocalEquivalents) => string;
    readonly reads: readonly string[];
    readonly writes: readonly string[];
  };
}[] = [
  {
    variable: "MICROPAY_TABLE_NAME",
    type: "AWS::DynamoDB::Table",
    local: (l) => ({ MICROPAY_TABLE_NAME: l.tableName }),
    why: "the table in DynamoDB Local (the SDK reaches it through AWS_ENDPOINT_URL_DYNAMODB)",
  },
  {
    variable: "MICROPAY_SIGNING_KEY_SECRET_ID",
    type: "AWS::SecretsManager::Secret",
    local: (l) => ({ MICROPAY_SIGNING_KEY_FILE: l.signingKeyFile }),
    why: "the local signing key file (MICROPAY_DATA_DIR/keys), as `npm start` uses",
    standIn: {
      file: (l) => l.signingKeyFile,
      reads: ["secretsmanager:GetSecretValue"],
      writes: [],
    },
  },
  {
    variable: "MICROPAY_SECRET_BOX_KEY_ID",
    type: "AWS::KMS::Key",
    local: (l) => ({ MICROPAY_SECRET_BOX_KEY_FILE: l.secretBoxKeyFile }),
    why: "the local secret-box key file (MICROPAY_DATA_DIR/keys), as `npm start` uses",
    // The box reads its key once per container, then seals (Encrypt) and opens (Decrypt).
    standIn: {
      file: (l) => l.secretBoxKeyFile,
      reads: ["kms:Encrypt", "kms:Decrypt"],
      writes: [],
    },
  },
  {
    variable: "MICROPAY_WEBHOOK_RETRY_QUEUE_URL",
    type: "AWS::SQS::Queue",
    local: () => ({}),
    why: "none: a bundle runs in its own process, apart from the stack's in-process retry queue, so its retries wait in their delivery records for the safety-net sweep",
  },
  {
    variable: "MICROPAY_AUDIT_LOG_GROUP",
    type: "AWS::Logs::LogGroup",
    local: (l) => ({ MICROPAY_AUDIT_LOG: l.auditLog }),
    why: "the local audit log file, the stand-in for the audit log group",
    standIn: {
      file: (l) => l.auditLog,
      reads: ["logs:FilterLogEvents"],
      writes: ["logs:PutLogEvents"],
    },
  },
];

/**
 * Stage settings the local stack runs with a local value when the template sets them:
 * webhook receivers on a developer's machine (and in tests) listen on loopback, which
 * the AWS stages refuse.
 */
const LOCAL_STAGE_SETTINGS: Readonly<Record<string, string>> = {
  MICROPAY_WEBHOOK_ALLOW_LOOPBACK: "1",
};

/** What the Lambda service sets in every function's environment (reserved names). */
export function lambdaServiceEnvironment(
  fn: FunctionArtifact,
  locals: LocalEquivalents,
): Record<string, string> {
  return {
    AWS_REGION: locals.region,
    AWS_DEFAULT_REGION: locals.region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.logicalId}`,
    AWS_LAMBDA_LOG_STREAM_NAME: "local",
    AWS_LAMBDA_LOG_FORMAT: fn.logFormat,
    LAMBDA_TASK_ROOT: fn.assetDir,
    _HANDLER: fn.handler,
    TZ: ":UTC",
    LANG: "en_US.UTF-8",
    PATH: "/usr/local/bin:/usr/bin:/bin",
    // The execution role's session stands here; DynamoDB Local accepts any key. Not secrets.
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_SESSION_TOKEN: "local",
    AWS_EC2_METADATA_DISABLED: "true",
    // The SDK's own endpoint settings: DynamoDB goes to DynamoDB Local; any other AWS
    // service to a closed loopback port (it fails at once, never leaves the machine).
    AWS_ENDPOINT_URL_DYNAMODB: locals.dynamodbEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB_STREAMS: locals.dynamodbEndpoint,
    AWS_ENDPOINT_URL: "http://127.0.0.1:9",
  };
}

const PSEUDO: Readonly<Record<string, (l: LocalEquivalents) => string>> = {
  "AWS::Region": (l) => l.region,
  "AWS::AccountId": () => "000000000000",
  "AWS::Partition": () => "aws",
  "AWS::URLSuffix": () => "amazonaws.com",
};

/** A function's environment, and the files that stand in for resources it names. */
export interface ResolvedFunction {
  readonly env: Record<string, string>;
  readonly standIns: readonly StandIn[];
}

/**
 * The environment a function runs with: the template's variables, literals as they
 * are and references to other resources replaced by their local equivalents, then
 * what the Lambda service sets. A reference with no local equivalent, or a template
 * variable with a name the service reserves, is an error naming the function and
 * the variable.
 */
export function functionEnvironment(
  fn: FunctionArtifact,
  assembly: Pick<Assembly, "template">,
  locals: LocalEquivalents,
): Record<string, string> {
  return resolveFunction(fn, assembly, locals).env;
}

export function resolveFunction(
  fn: FunctionArtifact,
  assembly: Pick<Assembly, "template">,
  locals: LocalEquivalents,
): ResolvedFunction {
  const service = lambdaServiceEnvironment(fn, locals);
  const env: Record<string, string> = {};
  const standIns: StandIn[] = [];
  for (const [variable, value] of Object.entries(fn.variables)) {
    const where = `function ${fn.name}: ${variable}`;
    if (variable in service) throw new Error(`${where} is a name the Lambda service reserves`);
    const localValue = LOCAL_STAGE_SETTINGS[variable];
    if (localValue !== undefined) {
      env[variable] = localValue;
      continue;
    }
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      env[variable] = String(value);
      continue;
    }
    const ref = (value as Json)?.Ref;
    if (typeof ref === "string" && PSEUDO[ref]) {
      env[variable] = PSEUDO[ref](locals);
      continue;
    }
    if (typeof ref !== "string") {
      const intrinsic = Object.keys((value as Json) ?? {})[0] ?? typeof value;
      throw new Error(
        `${where} is ${intrinsic} ${JSON.stringify(value)}, which has no local equivalent`,
      );
    }
    const type = assembly.template.Resources?.[ref]?.Type ?? "an unknown resource";
    const equivalent = LOCAL_EQUIVALENTS.find((e) => e.variable === variable && e.type === type);
    if (!equivalent) {
      throw new Error(`${where} refers to ${type} ${ref}, which has no local equivalent`);
    }
    Object.assign(env, equivalent.local(locals));
    const standIn = equivalent.standIn;
    if (standIn) {
      const calls = (actions: readonly string[]): RecordedCall[] =>
        actions.map((a) => {
          const [svc = "", action = ""] = a.split(":");
          return { service: svc, action, standInFor: ref };
        });
      standIns.push({
        file: standIn.file(locals),
        reads: calls(standIn.reads),
        writes: calls(standIn.writes),
      });
    }
  }
  return { env: { ...env, ...service }, standIns };
}

/**
 * Synthesizes the app (infra/app.ts's buildApp: the stack with its cdk-nag packs,
 * bundled for real by esbuild) into `outDir`, in a child process on the pinned Node.
 * The Control Tower guard rules of `cdk synth` are left to CI (a minute of CPU, and
 * nothing they check changes what runs). About 30-40 s here.
 */
export async function synthesize(outDir: string, stage = "dev"): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  const child = spawn(
    PINNED_NODE,
    ["--import", "tsx", join(root, "local", "artifacts-synth.ts"), outDir, stage],
    {
      cwd: root,
      env: { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}` },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  if (code !== 0) throw new Error(`synthesis failed (exit ${code}):\n${output.slice(-4000)}`);
}

export interface LoadedFunction {
  readonly artifact: FunctionArtifact;
  /** Milliseconds its cold start (bundle load) took. */
  readonly initMs: number;
  invoke(event: unknown, awsRequestId?: string): Promise<unknown>;
}

export interface LoadedArtifacts {
  readonly assembly: Assembly;
  readonly functions: ReadonlyMap<string, LoadedFunction>;
  /** Every distinct AWS call each function made so far (IAM by use), by function name. */
  calls(): Record<string, RecordedCall[]>;
  stop(): Promise<void>;
}

export interface LoadOptions {
  readonly cdkOut: string;
  readonly locals: LocalEquivalents;
  /** Each function's stdout and stderr (its log group, locally) go to `<logDir>/<name>.log`. */
  readonly logDir: string;
  /** Load only these functions (by local name); default all. */
  readonly only?: readonly string[];
  /** The table's partition key attribute name. */
  readonly partitionKey?: string;
  /** Keep the IAM-by-use record (`calls()`) in this JSON file too, updated on each new call. */
  readonly callsFile?: string;
}

/**
 * Loads every function of a cloud assembly, each in its own process, and waits for
 * each cold start. Any function whose bundle fails to load, misses a file it reads
 * at load, runs on another Node major than its template's runtime, or rejects its
 * environment fails the whole load with one error listing every such function.
 */
export async function loadArtifacts(opts: LoadOptions): Promise<LoadedArtifacts> {
  const assembly = readAssembly(opts.cdkOut);
  mkdirSync(opts.logDir, { recursive: true });
  const wanted = assembly.functions.filter((f) => !opts.only || opts.only.includes(f.name));
  // Every environment first: a reference with no local equivalent fails before any process starts.
  const unresolved = wanted.flatMap((fn) => {
    try {
      resolveFunction(fn, assembly, opts.locals);
      return [];
    } catch (error) {
      return [`  ${fn.name} (${fn.path}): ${errorText(error)}`];
    }
  });
  if (unresolved.length > 0) {
    throw new Error(
      `${unresolved.length} function(s) cannot run locally from ${opts.cdkOut}:\n${unresolved.join("\n")}`,
    );
  }
  const record: Record<string, RecordedCall[]> = {};
  const onCall = (fn: FunctionArtifact, call: RecordedCall) => {
    const list = record[fn.name] ?? [];
    list.push(call);
    record[fn.name] = list;
    if (opts.callsFile) writeFileSync(opts.callsFile, `${JSON.stringify(record, null, 1)}\n`);
  };
  const started = await Promise.allSettled(
    wanted.map((fn) => startFunction(fn, assembly, opts, onCall)),
  );
  const loaded = new Map<string, RunningFunction>();
  const failures: string[] = [];
  for (const [i, result] of started.entries()) {
    const fn = wanted[i];
    if (!fn) continue;
    if (result.status === "fulfilled") loaded.set(fn.name, result.value);
    else failures.push(`  ${fn.name} (${fn.path}): ${errorText(result.reason)}`);
  }
  const stop = async () => {
    await Promise.all([...loaded.values()].map((f) => f.stop()));
  };
  if (failures.length > 0) {
    await stop();
    throw new Error(
      `${failures.length} function(s) failed to load from ${opts.cdkOut}:\n${failures.join("\n")}`,
    );
  }
  return { assembly, functions: loaded, calls: () => structuredClone(record), stop };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface RunningFunction extends LoadedFunction {
  stop(): Promise<void>;
}

/**
 * One function: a container (process) that runs one invocation at a time, as a
 * Lambda container does, and a queue in front of it (the function behaves like one
 * with reserved concurrency 1: concurrent requests wait, never interleave in one
 * process). An invocation that outlives the template's Timeout fails and its
 * container is killed; the next invocation cold-starts a new one, as in Lambda.
 */
async function startFunction(
  fn: FunctionArtifact,
  assembly: Assembly,
  opts: LoadOptions,
  onCall: (fn: FunctionArtifact, call: RecordedCall) => void,
): Promise<RunningFunction> {
  const { env, standIns } = resolveFunction(fn, assembly, opts.locals);
  const expectedMajor = /^nodejs(\d+)\.x$/.exec(fn.runtime)?.[1];
  if (!expectedMajor) throw new Error(`runtime ${fn.runtime} is not a Node.js runtime`);
  if (!existsSync(fn.assetDir)) throw new Error(`asset folder ${fn.assetDir} is missing`);
  const logFile = join(opts.logDir, `${fn.name.replaceAll("/", "-")}.log`);
  const init: InitMessage = {
    type: "init",
    assetDir: fn.assetDir,
    handler: fn.handler,
    sdkRoot: root,
    partitionKey: opts.partitionKey ?? "pk",
    timeoutSeconds: fn.timeoutSeconds,
    standIns,
  };
  const coldStart = async (): Promise<Container> => {
    const container = await startContainer(fn, env, init, logFile, (call) => onCall(fn, call));
    if (container.node.split(".")[0] !== expectedMajor) {
      await container.kill();
      throw new Error(`ran on Node ${container.node}, its runtime is ${fn.runtime}`);
    }
    return container;
  };

  let container: Container | undefined = await coldStart();
  const initMs = container.initMs;
  const queue: {
    readonly event: unknown;
    readonly requestId: string;
    readonly resolve: (v: unknown) => void;
    readonly reject: (e: Error) => void;
  }[] = [];
  let busy = false;
  let stopped = false;
  const pump = async () => {
    if (busy || stopped) return;
    const job = queue.shift();
    if (!job) return;
    busy = true;
    try {
      if (!container || container.dead) container = await coldStart();
      job.resolve(await container.run(job.event, job.requestId));
    } catch (error) {
      job.reject(error instanceof Error ? error : new Error(String(error)));
    } finally {
      busy = false;
      void pump();
    }
  };
  return {
    artifact: fn,
    initMs,
    invoke(event, awsRequestId) {
      if (stopped) return Promise.reject(new Error(`function ${fn.name} is stopped`));
      return new Promise((resolve, reject) => {
        queue.push({ event, requestId: awsRequestId ?? randomUUID(), resolve, reject });
        void pump();
      });
    },
    async stop() {
      stopped = true;
      for (const job of queue.splice(0)) job.reject(new Error(`function ${fn.name} stopped`));
      await container?.kill();
    },
  };
}

interface Container {
  readonly initMs: number;
  /** `process.versions.node` of the container's process. */
  readonly node: string;
  readonly dead: boolean;
  run(event: unknown, awsRequestId: string): Promise<unknown>;
  kill(): Promise<void>;
}

/** Forks one container on the pinned Node and waits for its cold start. */
async function startContainer(
  fn: FunctionArtifact,
  env: Record<string, string>,
  init: InitMessage,
  logFile: string,
  onCall: (call: RecordedCall) => void,
): Promise<Container> {
  const log = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = fork(RUNTIME, [], {
      execPath: PINNED_NODE,
      execArgv: [],
      cwd: fn.assetDir,
      env,
      stdio: ["ignore", log, log, "ipc"],
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  let dead: string | undefined;
  let current:
    | { id: number; resolve: (v: unknown) => void; reject: (e: Error) => void }
    | undefined;
  let nextId = 1;

  const ready = new Promise<{ initMs: number; node: string }>((resolveReady, rejectReady) => {
    let initError: string | undefined;
    child.on("message", (message: ChildMessage) => {
      switch (message.type) {
        case "ready":
          resolveReady({ initMs: message.initMs, node: message.node });
          break;
        case "init-error":
          initError = message.message;
          break;
        case "call":
          onCall(message.call);
          break;
        case "result":
        case "error": {
          if (current?.id !== message.id) break;
          const waiter = current;
          current = undefined;
          if (message.type === "result") waiter.resolve(message.value);
          else waiter.reject(new Error(`function ${fn.name}: ${message.message}`));
          break;
        }
        default:
          break;
      }
    });
    child.once("exit", (code, signal) => {
      dead ??= `exited (${signal ?? code})`;
      rejectReady(new Error(initError ?? `${dead} before its cold start finished; see ${logFile}`));
      current?.reject(new Error(`function ${fn.name} ${dead} during an invocation`));
      current = undefined;
    });
  });
  child.send(init);
  const { initMs, node } = await ready;

  const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      await exited;
    }
  };
  return {
    initMs,
    node,
    get dead() {
      return dead !== undefined;
    },
    run(event, awsRequestId) {
      if (dead) return Promise.reject(new Error(`function ${fn.name} ${dead}`));
      const id = nextId++;
      const message: InvokeMessage = { type: "invoke", id, event, awsRequestId };
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          current = undefined;
          dead = `timed out after ${fn.timeoutSeconds} seconds`;
          reject(
            new Error(`function ${fn.name}: Task timed out after ${fn.timeoutSeconds} seconds`),
          );
          void kill("SIGKILL");
        }, fn.timeoutSeconds * 1000);
        current = {
          id,
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        child.send(message);
      });
    },
    kill: () => kill(),
  };
}

function readJson(file: string): Json {
  return JSON.parse(readFileSync(file, "utf8"));
}
