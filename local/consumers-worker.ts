import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { type ConsumerSettings, functionHandlers, startConsumers } from "./consumers.ts";

/**
 * The worker thread the local stack runs its stream consumers in (consumers.ts,
 * `startConsumersInWorker`): it starts them, says "ready", and stops them on "stop".
 */
const port = parentPort;
if (!port) throw new Error("consumers-worker.ts runs as a worker thread");
backOfTheQueue();
const consumers = await startConsumers(workerData as ConsumerSettings, await functionHandlers());
port.on("message", (message: unknown) => {
  if (message !== "stop") return;
  void consumers.stop().then(() => {
    port.postMessage("stopped");
    port.close();
  });
});
port.postMessage("ready");

/**
 * This thread at the lowest CPU priority but one (nice 19 is "only when idle"; 10 is
 * about a tenth of a contended core's time). In AWS the consumers run on compute of their
 * own, so their bursts never take CPU from an API request; on a two-core laptop they
 * would, most after a heavy load, when they work through the records it left behind.
 * Linux keeps a nice value per thread: the thread's id is the last part of
 * /proc/thread-self. Elsewhere the thread keeps its priority.
 */
function backOfTheQueue(): void {
  try {
    setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), 10);
  } catch {
    // not Linux (no /proc/thread-self), or not allowed: an even share of the CPU
  }
}
