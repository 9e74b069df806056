import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { WEBHOOK_STREAM_FILTER } from "../lib/audit/stream-filter.ts";
import { type RetryHandler, startLocalRetryQueue } from "./retry-queue.ts";
import { type StreamHandler, startStreamPoller } from "./stream-poller.ts";

export type SweepHandler = () => Promise<unknown>;

/** The handlers the stream consumers and the schedules invoke. */
export interface ConsumerHandlers {
  readonly audit: StreamHandler;
  readonly dispatcher: StreamHandler;
  readonly retries: RetryHandler;
  readonly webhookSweeper: SweepHandler;
  readonly holdSweeper: SweepHandler;
}

/** Where the consumers read and keep their state (plain data: it crosses to a worker). */
export interface ConsumerSettings {
  readonly endpoint: string;
  readonly tableName: string;
  readonly dataDir: string;
  readonly inMemory: boolean;
  readonly webhookSweepSeconds: number;
  readonly holdSweepSeconds: number;
}

export interface Consumers {
  stop(): Promise<void>;
}

/** One function's own handler, as its Lambda runs it (`functions/<file>.ts`). */
export async function functionHandler<H>(file: string): Promise<H> {
  return ((await import(`../functions/${file}.ts`)) as { handler: H }).handler;
}

/** The functions' own handlers of every consumer and schedule. */
export async function functionHandlers(): Promise<ConsumerHandlers> {
  return {
    audit: await functionHandler<StreamHandler>("audit"),
    dispatcher: await functionHandler<StreamHandler>("webhook-dispatcher"),
    retries: await functionHandler<RetryHandler>("webhook-retries"),
    webhookSweeper: await functionHandler<SweepHandler>("webhook-sweeper"),
    holdSweeper: await functionHandler<SweepHandler>("hold-sweeper"),
  };
}

/**
 * Everything that runs in AWS off the request path, started the local way: the audit
 * consumer's and the webhook dispatcher's stream subscriptions (local/stream-poller.ts,
 * each with its own checkpoints and filter, as each event source mapping reads the
 * stream on its own), the in-process stand-in for the SQS retry queue and its consumer,
 * and the two schedules (the webhook safety-net sweep, the expired-hold sweep).
 */
export async function startConsumers(
  s: ConsumerSettings,
  handlers: ConsumerHandlers,
): Promise<Consumers> {
  const checkpoints = (file: string) => (s.inMemory ? undefined : join(s.dataDir, file));
  const poller = await startStreamPoller({
    endpoint: s.endpoint,
    tableName: s.tableName,
    handler: handlers.audit,
    checkpointFile: checkpoints("stream-checkpoints.json"),
    deadLetterFile: join(s.dataDir, "audit-dead-letter.jsonl"),
  });
  // Webhook retries: the in-process stand-in for the SQS retry queue and its consumer
  // (the retry Lambda's handler). Bundles run by the artifacts mode live in their own
  // processes and cannot reach it: their retries wait for the safety-net sweep.
  const { setLocalRetryQueue } = await import("../lib/webhooks/wiring.ts");
  const retryQueue = startLocalRetryQueue({
    handler: handlers.retries,
    deadLetterFile: join(s.dataDir, "webhook-retry-dead-letter.jsonl"),
  });
  setLocalRetryQueue(retryQueue);
  // The webhook dispatcher: its own subscription (event items only) and the due sweep.
  const webhookPoller = await startStreamPoller({
    endpoint: s.endpoint,
    tableName: s.tableName,
    filter: WEBHOOK_STREAM_FILTER,
    handler: handlers.dispatcher,
    checkpointFile: checkpoints("webhook-stream-checkpoints.json"),
    deadLetterFile: join(s.dataDir, "webhook-dead-letter.jsonl"),
  });
  const sweeper = startSweepTimer(handlers.webhookSweeper, s.webhookSweepSeconds);
  // The expired-hold sweep (lib/ledger/expiry.ts): the local stand-in for its schedule.
  const holdSweeper = startSweepTimer(handlers.holdSweeper, s.holdSweepSeconds);
  return {
    async stop() {
      await sweeper.stop();
      await holdSweeper.stop();
      await webhookPoller.stop();
      setLocalRetryQueue(undefined);
      await retryQueue.stop();
      await poller.stop();
    },
  };
}

/**
 * The local stand-in for an EventBridge schedule (the webhook safety-net sweep every
 * MICROPAY_WEBHOOK_SWEEP_SECONDS, the hold sweeper every MICROPAY_HOLD_SWEEP_SECONDS):
 * never two runs at once; stop() waits for a run.
 */
function startSweepTimer(handler: SweepHandler, seconds: number): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = handler()
      .catch(() => undefined)
      .finally(() => {
        running = undefined;
      });
  }, seconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * The consumers on a worker thread of their own (consumers-worker.ts), off the gateway's
 * event loop. In AWS each consumer is a Lambda on its own compute: a burst of stream
 * records never delays an API request. In one thread it did here: a poller waking to a
 * few hundred records held the loop while requests waited (at one client, about 3 ms
 * per payment of the gap to the DynamoDB floor). Resolves once they are started.
 */
export async function startConsumersInWorker(s: ConsumerSettings): Promise<Consumers> {
  // The worker loads its TypeScript through tsx, registered in it first, whatever the
  // parent runs under (tsx for `npm start`; vitest, for the tests that start a stack in
  // process, passes workers no loader and Node's own type stripping does not cover it).
  const entry = new URL("./consumers-worker.ts", import.meta.url).href;
  const bootstrap = `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(entry)}); });`;
  const worker = new Worker(bootstrap, { eval: true, execArgv: [], workerData: s });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    worker.once("exit", () => {
      exited = true;
      resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", reject);
    void exit.then(() =>
      reject(new Error("the stream consumers' worker exited before it was ready")),
    );
  });
  worker.on("error", (error) => {
    // A bug past every handler's own error handling: say so, and fail the stack's exit.
    process.stderr.write(`MicroPay local stack: the stream consumers stopped: ${error.message}\n`);
    process.exitCode = 1;
  });
  return {
    async stop() {
      if (exited) return;
      const stopped = new Promise<void>((resolve) => {
        worker.on("message", (message: unknown) => {
          if (message === "stopped") resolve();
        });
      });
      worker.postMessage("stop");
      await Promise.race([stopped, exit]);
      await worker.terminate();
    },
  };
}
