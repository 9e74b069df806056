import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { routes } from "../../lib/routes/index.ts";
import { baselineBundle, bundle, coldStartMs } from "./bundle.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface ColdStartRow {
  readonly fn: string;
  readonly bytes: number;
  readonly initMs: number;
  readonly ratio: number;
}

/**
 * For every function: minified bundle size, and the time for a fresh Node process
 * to import it and run a first invocation, over the same for a bundle that only
 * creates a DynamoDB client.
 */
export async function measureColdStarts(
  env: Record<string, string>,
  runs: number,
  progress: (msg: string) => void,
): Promise<{ baseline: ColdStartRow; rows: ColdStartRow[] }> {
  const base = await baselineBundle();
  const baseMs = coldStartMs(base.file, {}, env, runs);
  const baseline = {
    fn: "(baseline: DynamoDB client only)",
    bytes: base.bytes,
    initMs: baseMs,
    ratio: 1,
  };
  const rows: ColdStartRow[] = [];
  const entries = [
    ...routes.map((r) => ({ id: r.id, event: firstEvent(r.method, r.path) })),
    { id: "audit", event: { Records: [] } },
  ];
  for (const { id, event } of entries) {
    progress(`cold start: ${id}`);
    const b = await bundle(join(root, "functions", `${id}.ts`), id);
    const ms = coldStartMs(b.file, event, env, runs);
    rows.push({ fn: id, bytes: b.bytes, initMs: ms, ratio: ms / baseMs });
  }
  return { baseline, rows };
}

/** A representative first request: the route's method and path, no token, no body. */
function firstEvent(method: string, path: string): unknown {
  const concrete = path.replace(/\{[^}]+\}/g, "x");
  return {
    httpMethod: method,
    path: concrete,
    resource: path,
    headers: {},
    queryStringParameters: null,
    pathParameters: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: "bench-cold-start-1", identity: { sourceIp: "127.0.0.1" } },
  };
}
