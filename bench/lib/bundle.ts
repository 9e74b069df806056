import { spawnSync } from "node:child_process";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { median } from "./stats.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const TMP = join(root, "bench/results/tmp");

/**
 * Bundles one entry the way the house NodejsFunction does (ESM, minified, node24,
 * AWS SDK v3 left to the Lambda runtime) and returns the bundle path and size.
 */
export async function bundle(
  entry: string,
  name: string,
): Promise<{ file: string; bytes: number }> {
  mkdirSync(TMP, { recursive: true });
  const file = join(TMP, `${name}.mjs`);
  await build({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node24",
    mainFields: ["module", "main"],
    external: ["@aws-sdk/*"],
    banner: {
      js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);",
    },
    logLevel: "silent",
  });
  return { file, bytes: statSync(file).size };
}

/** The baseline: a bundle that only creates a DynamoDB client. */
export async function baselineBundle(): Promise<{ file: string; bytes: number }> {
  mkdirSync(TMP, { recursive: true });
  const entry = join(TMP, "baseline-entry.ts");
  writeFileSync(
    entry,
    [
      'import { DynamoDBClient } from "@aws-sdk/client-dynamodb";',
      "const client = new DynamoDBClient({});",
      "export const handler = async () => ({ statusCode: 200, body: String(Boolean(client)) });",
      "",
    ].join("\n"),
  );
  return bundle(entry, "baseline");
}

/**
 * Time for a fresh Node process to import a bundle and run its first invocation,
 * measured inside that process from its own start (performance.now() is relative
 * to the process's time origin). Median of `runs` fresh processes, in ms.
 */
export function coldStartMs(
  file: string,
  event: unknown,
  env: Record<string, string>,
  runs: number,
): number {
  const script = `
    const t0 = performance.now();
    const mod = await import(${JSON.stringify(file)});
    const ctx = { awsRequestId: "bench", getRemainingTimeInMillis: () => 10000, functionName: "bench" };
    try { await mod.handler(${JSON.stringify(event)}, ctx); } catch {}
    process.stdout.write(String(performance.now()));
  `;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, ...env },
      encoding: "utf8",
      cwd: root,
    });
    const value = Number(out.stdout.trim().split("\n").at(-1));
    if (Number.isFinite(value)) times.push(value);
  }
  return median(times);
}
