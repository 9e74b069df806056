/** Percentile of a sample (nearest-rank on a sorted copy), in the sample's unit. */
export function percentile(sample: readonly number[], p: number): number {
  if (sample.length === 0) return Number.NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export const median = (sample: readonly number[]) => percentile(sample, 50);

export interface LoadResult {
  readonly concurrency: number;
  readonly operations: number;
  readonly errors: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

interface RawLoad {
  readonly latencies: number[];
  readonly errors: number;
  readonly seconds: number;
  readonly operations: number;
}

async function runRaw(
  concurrency: number,
  total: number,
  op: (i: number) => Promise<boolean>,
): Promise<RawLoad> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const t0 = performance.now();
        const ok = await op(i).catch(() => false);
        if (ok) latencies.push(performance.now() - t0);
        else errors++;
      }
    }),
  );
  return { latencies, errors, seconds: (performance.now() - started) / 1000, operations: total };
}

function summarize(concurrency: number, runs: readonly RawLoad[]): LoadResult {
  const latencies = runs.flatMap((r) => r.latencies);
  const operations = runs.reduce((n, r) => n + r.operations, 0);
  const errors = runs.reduce((n, r) => n + r.errors, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  return {
    concurrency,
    operations,
    errors,
    seconds,
    perSecond: (operations - errors) / seconds,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
  };
}

/**
 * Runs `op` from `concurrency` clients until `total` operations are done and
 * returns throughput and latency percentiles (milliseconds). `op(i)` returns true
 * on success; failures are counted, not timed.
 */
export async function runLoad(
  concurrency: number,
  total: number,
  op: (i: number) => Promise<boolean>,
): Promise<LoadResult> {
  return summarize(concurrency, [await runRaw(concurrency, total, op)]);
}

/** `total` split into `rounds` slices of `ceil(total / rounds)`, the last one shorter. */
export function slices(total: number, rounds: number): number[] {
  const slice = Math.ceil(total / rounds);
  const sizes: number[] = [];
  for (let done = 0; done < total; done += slice) sizes.push(Math.min(slice, total - done));
  return sizes;
}

/**
 * Two workloads compared as a ratio, run in alternating slices (a, b, a, b, ...) of
 * `total / rounds` operations each and summed per side: both then see the same machine
 * state (JIT warmth, table size, GC, the stream consumers' backlog), where running all
 * of one and then all of the other hands whatever drifts during the run to one side.
 */
export async function runAlternating(
  concurrency: number,
  total: number,
  rounds: number,
  a: (i: number) => Promise<boolean>,
  b: (i: number) => Promise<boolean>,
): Promise<[LoadResult, LoadResult]> {
  const runsA: RawLoad[] = [];
  const runsB: RawLoad[] = [];
  for (const n of slices(total, rounds)) {
    runsA.push(await runRaw(concurrency, n, a));
    runsB.push(await runRaw(concurrency, n, b));
  }
  return [summarize(concurrency, runsA), summarize(concurrency, runsB)];
}
