import {
  cpSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { TABLE } from "../../lib/store/table.ts";
import { type LocalEquivalents, loadArtifacts, readAssembly } from "../../local/artifacts.ts";
import { spawnStack } from "../support/spawn-stack.ts";

/**
 * A function that cannot cold-start from its bundle fails the artifacts tier: the
 * loader refuses the whole load, naming the function and why, and a stack whose load
 * fails exits during start (so the tier's global setup, and every test, fails). Each
 * broken assembly here is the synthesized one (the tier's own cdk.out) with one
 * deliberate fault; the unchanged one loads, so the fault is the cause.
 */

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

function artifactsOf() {
  const stack = inject("stack");
  if (!stack.artifacts) throw new Error("the artifacts tier's stack is not in artifacts mode");
  const locals: LocalEquivalents = {
    region: "us-east-1",
    tableName: stack.tableName,
    dynamodbEndpoint: stack.dynamodbEndpoint,
    signingKeyFile: join(stack.dataDir, "keys", "signing-key.jwk.json"),
    secretBoxKeyFile: join(stack.dataDir, "keys", "secret-box.key"),
    auditLog: stack.auditLog,
  };
  return { cdkOut: stack.artifacts.cdkOut, locals };
}

/**
 * A copy of the cloud assembly (asset folders linked, not copied) with one fault:
 * one function's environment variable set to another value, or one function's asset
 * folder copied and edited.
 */
function brokenAssembly(fault: {
  readonly variable?: {
    readonly fn: string;
    readonly name: string;
    readonly value: (resources: Record<string, { Type: string }>) => unknown;
  };
  readonly asset?: { readonly fn: string; readonly edit: (dir: string) => void };
}): string {
  const { cdkOut } = artifactsOf();
  const assembly = readAssembly(cdkOut);
  const artifact = (name: string) => {
    const fn = assembly.functions.find((f) => f.name === name);
    if (!fn) throw new Error(`no function ${name}`);
    return fn;
  };
  const brokenAsset = fault.asset ? artifact(fault.asset.fn).assetDir : undefined;
  const dir = mkdtempSync(join(tmpdir(), "micropay-broken-cdkout-"));
  scratch.push(dir);
  for (const entry of readdirSync(cdkOut, { withFileTypes: true })) {
    const from = join(cdkOut, entry.name);
    const to = join(dir, entry.name);
    if (!entry.isDirectory()) cpSync(from, to);
    else if (from === brokenAsset) cpSync(from, to, { recursive: true });
    else symlinkSync(from, to);
  }
  if (fault.asset && brokenAsset) fault.asset.edit(join(dir, brokenAsset.slice(cdkOut.length)));
  if (fault.variable) {
    const file = join(dir, `${assembly.stackName}.template.json`);
    const template = JSON.parse(readFileSync(file, "utf8"));
    const { fn, name, value } = fault.variable;
    const variables = template.Resources[artifact(fn).logicalId].Properties.Environment.Variables;
    variables[name] = value(template.Resources);
    writeFileSync(file, JSON.stringify(template));
  }
  return dir;
}

function load(cdkOut: string, only: string[]) {
  const logDir = mkdtempSync(join(tmpdir(), "micropay-broken-logs-"));
  scratch.push(logDir);
  return loadArtifacts({
    cdkOut,
    only,
    logDir,
    locals: artifactsOf().locals,
    partitionKey: TABLE.partitionKey,
  });
}

const healthEvent = {
  httpMethod: "GET",
  path: "/v1/health",
  resource: "/v1/health",
  headers: {},
  requestContext: { requestId: "load-failures", identity: { sourceIp: "127.0.0.1" } },
};

describe("a function that fails its cold start fails the artifacts tier", () => {
  it("the unchanged assembly loads health and docs-asset, and health answers", async () => {
    const loaded = await load(artifactsOf().cdkOut, ["health", "docs-asset"]);
    try {
      expect([...loaded.functions.keys()].sort()).toEqual(["docs-asset", "health"]);
      const answer = await loaded.functions.get("health")?.invoke(healthEvent);
      expect(answer).toMatchObject({ statusCode: 200, body: JSON.stringify({ status: "ok" }) });
    } finally {
      await loaded.stop();
    }
  });

  it("refuses a function whose environment its config rejects, naming it and the variable", async () => {
    const cdkOut = brokenAssembly({
      variable: { fn: "health", name: "MICROPAY_LOG_LEVEL", value: () => "LOUD" },
    });
    await expect(load(cdkOut, ["health"])).rejects.toThrow(
      /health \(Api\/Fn-health\/Fn\): .*MICROPAY_LOG_LEVEL/,
    );
  });

  it("refuses a function whose asset lacks a file it reads at load (no fallback to node_modules)", async () => {
    const cdkOut = brokenAssembly({
      asset: { fn: "docs-asset", edit: (dir) => rmSync(join(dir, "scalar-standalone.js")) },
    });
    await expect(load(cdkOut, ["docs-asset"])).rejects.toThrow(
      /docs-asset .*'@scalar\/api-reference\/browser\/standalone\.js': it is not in the bundle/,
    );
  });

  it("refuses a bundle that imports a package it did not bundle (only @aws-sdk is provided)", async () => {
    const cdkOut = brokenAssembly({
      asset: {
        fn: "health",
        edit: (dir) => {
          const file = join(dir, "index.mjs");
          writeFileSync(file, `import "jose";\n${readFileSync(file, "utf8")}`);
        },
      },
    });
    await expect(load(cdkOut, ["health"])).rejects.toThrow(/health .*Cannot find package 'jose'/);
  });

  it("a stack whose function names a resource with no local equivalent does not start", async () => {
    const cdkOut = brokenAssembly({
      variable: {
        fn: "payments-create",
        name: "MICROPAY_DEAD_LETTERS",
        value: (resources) => {
          const queue = Object.keys(resources).find(
            (id) => resources[id]?.Type === "AWS::SQS::Queue",
          );
          return { Ref: queue };
        },
      },
    });
    await expect(
      spawnStack(
        { MICROPAY_ARTIFACTS: "1", MICROPAY_ARTIFACTS_CDK_OUT: cdkOut },
        { readyTimeoutMs: 180_000 },
      ),
    ).rejects.toThrow(
      /stack exited \(1\) during start:[\s\S]*payments-create .*MICROPAY_DEAD_LETTERS refers to AWS::SQS::Queue \w+, which has no local equivalent/,
    );
  });
});
