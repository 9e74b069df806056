import { readFileSync } from "node:fs";

/** CPU seconds a process has used (user + system, /proc/<pid>/stat); 0 when unreadable. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
  } catch {
    return 0;
  }
}

/**
 * Waits until the processes (the local stack and its DynamoDB Local) are quiet: together
 * under `share` of one core over a `windowMs` window, or until `maxMs` have passed.
 * Returns the milliseconds waited.
 *
 * Each section starts from a quiet machine. The stream consumers work through the records
 * a heavy section wrote for a while after it ends (the 32-client payments leave tens of
 * thousands); on this two-core machine that work would otherwise land on whichever
 * section comes next and weigh on its end-to-end side, which needs more CPU than its floor.
 * Where /proc is missing (not Linux) every process reads as idle and nothing waits.
 */
export async function waitForQuiet(
  pids: readonly number[],
  { share = 0.1, windowMs = 1_000, maxMs = 180_000 } = {},
): Promise<number> {
  const started = performance.now();
  const total = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  let before = total();
  while (performance.now() - started < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const now = total();
    if (now - before < (share * windowMs) / 1000) break;
    before = now;
  }
  return performance.now() - started;
}
