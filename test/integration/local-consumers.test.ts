import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, inject, it } from "vitest";
import { registerUser } from "../support/auth.ts";
import { apiUrl } from "../support/http.ts";

/** Each thread of the stack process: its name and nice value (Linux /proc, as on CI). */
function threadsOf(pid: number): { tid: number; name: string; nice: number }[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      tid: Number(tid),
      name: readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim(),
      nice: Number(fields[16]),
    };
  });
}

describe("the local stack's stream consumers (local/consumers.ts)", () => {
  it("run on a worker thread of their own, behind the gateway's thread for the CPU", async () => {
    const { pid } = inject("stack");
    const threads = threadsOf(pid);
    const gateway = threads.find((t) => t.tid === pid);
    // Node names every worker's OS thread "WorkerThread" (module-hook threads too, so
    // there may be more than one): the consumers' is the one at nice 10.
    const workers = threads.filter((t) => t.name === "WorkerThread");
    expect(gateway?.nice).toBe(0);
    expect(workers.filter((t) => t.nice === 10)).toHaveLength(1);
  });

  it("still turn a change into its audit record from there", async () => {
    const user = await registerUser({ base: apiUrl() });
    const { auditLog } = inject("stack");
    await expect
      .poll(() => readFileSync(auditLog, "utf8").includes(user.user.id), { timeout: 15_000 })
      .toBe(true);
  });
});
