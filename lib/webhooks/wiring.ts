import { lookup } from "node:dns/promises";
import { lazySecretBox } from "../aws/secret-box.ts";
import { sqsRetryQueue } from "../aws/sqs-retry-queue.ts";
import { config } from "../config.ts";
import { countMetric, logger } from "../observability.ts";
import { getEventRecord } from "../store/events.ts";
import { customerOwnersOf } from "../store/ledger-reads.ts";
import * as store from "../store/webhooks.ts";
import type { DispatchDeps } from "./dispatcher.ts";
import { type RetryQueue, sweepOnlyQueue } from "./retry-queue.ts";
import { WEBHOOK_SECRET_PURPOSE } from "./secrets.ts";
import { send } from "./send.ts";
import type { WebhookDeps } from "./service.ts";
import type { Resolver } from "./url.ts";

/** The system resolver: every address of a name (A and AAAA). */
export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

let box: ReturnType<typeof lazySecretBox> | undefined;
/** Webhook signing secrets' box (one per container). */
function webhookSecretBox() {
  box ??= lazySecretBox(WEBHOOK_SECRET_PURPOSE);
  return box;
}

/** The webhook routes' dependencies in AWS and on the local stack. */
export function webhookDeps(): WebhookDeps {
  const c = config();
  return {
    store,
    policy: { allowLoopback: c.MICROPAY_WEBHOOK_ALLOW_LOOPBACK },
    resolve: systemResolver,
    secretBox: webhookSecretBox(),
    overlapSeconds: c.MICROPAY_WEBHOOK_SECRET_OVERLAP_SECONDS,
  };
}

let localQueue: RetryQueue | undefined;
let awsQueue: { url: string; queue: RetryQueue } | undefined;

/** The local stack's in-process retry queue (local/retry-queue.ts), while it runs. */
export function setLocalRetryQueue(queue: RetryQueue | undefined): void {
  localQueue = queue;
}

/**
 * The retry queue: the SQS queue named by MICROPAY_WEBHOOK_RETRY_QUEUE_URL (AWS), else
 * the local stack's in-process queue, else none (retries wait for the sweep; only a
 * bundle run in its own process by the local artifacts mode has none).
 */
function retryQueue(): RetryQueue {
  const c = config();
  const url = c.MICROPAY_WEBHOOK_RETRY_QUEUE_URL;
  if (url) {
    if (awsQueue?.url !== url) awsQueue = { url, queue: sqsRetryQueue(url) };
    return awsQueue.queue;
  }
  return localQueue ?? sweepOnlyQueue;
}

/** The dispatcher's dependencies (stream handler, retry consumer and sweep alike). */
export function dispatchDeps(): DispatchDeps {
  const c = config();
  return {
    store: {
      ...store,
      ownersOf: customerOwnersOf,
      getEvent: getEventRecord,
    },
    send,
    resolve: systemResolver,
    policy: { allowLoopback: c.MICROPAY_WEBHOOK_ALLOW_LOOPBACK },
    secretBox: webhookSecretBox(),
    queue: retryQueue(),
    sweepGraceSeconds: c.MICROPAY_WEBHOOK_SWEEP_SECONDS,
    schedule: c.MICROPAY_WEBHOOK_RETRY_SCHEDULE,
    timeoutMs: c.MICROPAY_WEBHOOK_TIMEOUT_MS,
    claimSeconds: c.MICROPAY_WEBHOOK_CLAIM_SECONDS,
    disableAfterSeconds: c.MICROPAY_WEBHOOK_DISABLE_AFTER_SECONDS,
    // Ids and outcomes only: never a URL's query, a secret or a body.
    log: (message, extra) => logger.info(message, extra),
    metric: countMetric,
  };
}
