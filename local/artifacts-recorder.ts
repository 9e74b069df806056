import fs from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { join, resolve } from "node:path";
import type { RecordedCall, StandIn } from "./artifacts-protocol.ts";

/**
 * IAM by use, inside one function's runtime process (local/artifacts-runtime.ts):
 * notes every AWS call the function makes, as IAM authorizes it, and hands each
 * distinct one to `note`. Nothing here is loaded by production code.
 *
 * - SDK calls: a middleware on every SDK client's middleware stack (added on the
 *   client's first `send`) reads the client, the command and its input.
 * - Stand-ins: where the local stack replaced a resource by a file (the signing key
 *   secret by the key file, the audit log group by the audit log file), reading or
 *   writing that file is noted as the call it stands for (GetSecretValue; FilterLogEvents
 *   / PutLogEvents) on that resource.
 */
export function recordCalls(opts: {
  readonly bundleSource: string;
  readonly sdkRoot: string;
  readonly partitionKey: string;
  readonly standIns: readonly StandIn[];
  readonly note: (call: RecordedCall) => void;
}): void {
  const seen = new Set<string>();
  const note = (call: RecordedCall) => {
    const key = JSON.stringify(call);
    if (seen.has(key)) return;
    seen.add(key);
    opts.note(call);
  };
  recordSdkCalls(opts.bundleSource, opts.sdkRoot, opts.partitionKey, note);
  if (opts.standIns.length > 0) recordStandIns(opts.standIns, note);
}

type Json = Record<string, unknown>;
type Middleware = (
  next: (args: { input: Json }) => Promise<unknown>,
  context: { clientName?: string; commandName?: string },
) => (args: { input: Json }) => Promise<unknown>;
interface Stack {
  add(mw: Middleware, options: { step: string; name: string; priority: string }): void;
}

/** IAM service prefix of each SDK client the project uses. */
const SERVICE_OF: Readonly<Record<string, string>> = {
  DynamoDBClient: "dynamodb",
  DynamoDBStreamsClient: "dynamodb",
  SecretsManagerClient: "secretsmanager",
  CloudWatchLogsClient: "logs",
  SQSClient: "sqs",
  KMSClient: "kms",
};

/**
 * Patches `send` of every SDK client class the bundle can reach (the classes of each
 * `@aws-sdk/*` package it imports, found in its source) so that a client's first call
 * adds the recording middleware to that client's middleware stack. The SDK is
 * CommonJS: the bundle's import of it gets these same, patched classes.
 */
function recordSdkCalls(
  bundleSource: string,
  sdkRoot: string,
  partitionKey: string,
  note: (call: RecordedCall) => void,
): void {
  const requireSdk = createRequire(join(sdkRoot, "package.json"));
  const recorder: Middleware = (next, context) => async (args) => {
    const client = context.clientName ?? "UnknownClient";
    const service = SERVICE_OF[client] ?? client.replace(/Client$/, "").toLowerCase();
    const action = (context.commandName ?? "Unknown").replace(/Command$/, "");
    for (const call of callsOf(service, action, args.input, partitionKey)) note(call);
    return next(args);
  };
  const stacks = new WeakSet<object>();
  const patched = new WeakSet<object>();
  const specifiers = new Set(
    [...bundleSource.matchAll(/["'](@aws-sdk\/[a-z0-9-]+)["']/g)].map((m) => m[1] ?? ""),
  );
  for (const specifier of specifiers) {
    const exports = requireSdk(specifier) as Json;
    for (const value of Object.values(exports)) {
      if (typeof value !== "function") continue;
      let proto: object | null = (value as { prototype?: object }).prototype ?? null;
      while (proto && !Object.hasOwn(proto, "send")) proto = Object.getPrototypeOf(proto);
      if (proto && !patched.has(proto)) patchSend(proto);
    }
  }

  function patchSend(proto: object): void {
    patched.add(proto);
    const holder = proto as {
      send: (this: { middlewareStack?: Stack }, ...a: unknown[]) => unknown;
    };
    const original = holder.send;
    holder.send = function (this: { middlewareStack?: Stack }, ...args: unknown[]) {
      const stack = this.middlewareStack;
      if (stack && !stacks.has(stack)) {
        stacks.add(stack);
        stack.add(recorder, {
          step: "serialize",
          name: "micropayArtifactsIamRecorder",
          priority: "high",
        });
      }
      return original.apply(this, args);
    };
  }
}

/** The partition key prefix of an item key or item (`AUDIT#`), never the key itself. */
function leadingKeyOf(item: unknown, partitionKey: string): string {
  const attr = (item as Json | undefined)?.[partitionKey];
  const value =
    typeof attr === "string" ? attr : typeof (attr as Json)?.S === "string" ? (attr as Json).S : "";
  const text = String(value);
  const hash = text.indexOf("#");
  return hash > 0 ? text.slice(0, hash + 1) : "(none)";
}

const TRANSACT_ACTIONS: Readonly<Record<string, string>> = {
  Put: "PutItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  ConditionCheck: "ConditionCheckItem",
  Get: "GetItem",
};

/** The calls IAM sees in one SDK command (DynamoDB transactions and batches by item). */
function callsOf(service: string, action: string, input: Json, pk: string): RecordedCall[] {
  if (service !== "dynamodb") {
    const resource = input.SecretId ?? input.logGroupName ?? input.QueueUrl ?? input.KeyId;
    return [{ service, action, ...(typeof resource === "string" ? { resource } : {}) }];
  }
  const table = typeof input.TableName === "string" ? input.TableName : undefined;
  switch (action) {
    case "TransactWriteItems":
    case "TransactGetItems":
      return ((input.TransactItems ?? []) as Json[]).flatMap((entry) =>
        Object.entries(entry).map(([kind, op]) => {
          const o = op as Json;
          return {
            service,
            action: TRANSACT_ACTIONS[kind] ?? kind,
            table: String(o.TableName),
            leadingKey: leadingKeyOf(o.Key ?? o.Item, pk),
          };
        }),
      );
    case "BatchGetItem":
      return Object.keys((input.RequestItems ?? {}) as Json).map((t) => ({
        service,
        action,
        table: t,
      }));
    case "BatchWriteItem":
      return Object.entries((input.RequestItems ?? {}) as Record<string, Json[]>).flatMap(
        ([t, requests]) =>
          requests.map((r) => ({
            service,
            action,
            table: t,
            leadingKey: leadingKeyOf(
              (r.PutRequest as Json | undefined)?.Item ??
                (r.DeleteRequest as Json | undefined)?.Key,
              pk,
            ),
          })),
      );
    case "GetItem":
    case "DeleteItem":
    case "UpdateItem":
      return [
        { service, action, ...(table ? { table } : {}), leadingKey: leadingKeyOf(input.Key, pk) },
      ];
    case "PutItem":
      return [
        { service, action, ...(table ? { table } : {}), leadingKey: leadingKeyOf(input.Item, pk) },
      ];
    default: {
      const index = typeof input.IndexName === "string" ? input.IndexName : undefined;
      const stream = typeof input.StreamArn === "string" ? input.StreamArn : undefined;
      return [
        {
          service,
          action,
          ...(table ? { table } : {}),
          ...(index ? { index } : {}),
          ...(stream ? { resource: stream } : {}),
        },
      ];
    }
  }
}

/** Notes each read or write of a stand-in file as the call it stands for. */
function recordStandIns(standIns: readonly StandIn[], note: (call: RecordedCall) => void): void {
  const byFile = new Map(standIns.map((s) => [resolve(s.file), s]));
  const watch = (
    name: "readFileSync" | "writeFileSync" | "appendFileSync",
    kind: "reads" | "writes",
  ) => {
    const original = fs[name] as (...args: unknown[]) => unknown;
    const wrapped = function (this: unknown, ...args: unknown[]) {
      const target = args[0];
      if (typeof target === "string" || target instanceof URL) {
        const standIn = byFile.get(resolve(target instanceof URL ? target.pathname : target));
        for (const call of standIn?.[kind] ?? []) note(call);
      }
      return original.apply(this, args);
    };
    Object.assign(fs, { [name]: wrapped });
  };
  watch("readFileSync", "reads");
  watch("writeFileSync", "writes");
  watch("appendFileSync", "writes");
  // Named imports of node:fs (the bundles are ESM) see the wrapped functions too.
  syncBuiltinESMExports();
}
