import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { ContentionStats } from "../../lib/store/contention-model.ts";
import type { SpawnedStack } from "./spawn-stack.ts";

/**
 * Reading the contention model of a stack spawned with MICROPAY_CONTENTION_MODEL=1
 * (lib/store/contention-model.ts, installed by local/stack.ts): `resetContention`
 * starts a new measurement, `contentionStats` reads the counts since then.
 */
export function resetContention(stack: SpawnedStack): void {
  process.kill(stack.info.pid, "SIGUSR2");
}

export async function contentionStats(stack: SpawnedStack): Promise<ContentionStats> {
  const file = join(stack.info.dataDir, "contention-model.json");
  rmSync(file, { force: true });
  process.kill(stack.info.pid, "SIGUSR1");
  for (let i = 0; i < 200; i++) {
    if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as ContentionStats;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("the stack wrote no contention-model.json (MICROPAY_CONTENTION_MODEL=1?)");
}
