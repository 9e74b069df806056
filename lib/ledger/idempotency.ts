import { PROBLEM_CONTENT_TYPE, toProblemResult } from "../http/problem.ts";
import type { HttpRequest, HttpResult } from "../http/types.ts";
import { Refusal, statusOf, unauthorized } from "../problems.ts";
import type { Principal } from "../routes/types.ts";
import {
  acquire,
  fingerprint,
  type IdemRecord,
  type Lease,
  readRecord,
  release,
  storeOutcome,
} from "../store/idempotency.ts";

/**
 * Runs a money-moving request under its Idempotency-Key (API.md "Idempotency"). The
 * record protocol and why it never separates a key from its effect are described in
 * lib/store/idempotency.ts; this is the request-level flow:
 *
 *   - a completed record with the same fingerprint: replay its status and body byte
 *     for byte with `Idempotent-Replayed: true`;
 *   - any record with another fingerprint: 422 idempotency_key_reused;
 *   - a record still in progress: wait a moment (up to WAIT_MS) for it to complete
 *     and replay it, else 409 idempotency_in_progress;
 *   - otherwise take the lease and run the operation, whose transaction completes
 *     the record (`completeItem`) together with the movement.
 *
 * Business refusals (402, 409, 422) are results too: stored and replayed like a
 * success. Request errors (400, 403, 404) and outages release the key instead, so
 * a corrected or later retry with the same key runs.
 */

const WAIT_MS = 1_500;
const STORED_REFUSALS = new Set([402, 409, 422]);

/** Thrown by an operation whose transaction found the record no longer ours. */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
}

export interface Completed {
  readonly status: number;
  readonly body: string;
}

export const keyReused = () =>
  new Refusal("idempotency_key_reused", "This Idempotency-Key was used with a different request.");
export const inProgress = () =>
  new Refusal(
    "idempotency_in_progress",
    "A request with this Idempotency-Key is still being processed; retry shortly.",
  );

export function principalOf(req: Pick<HttpRequest, "principal">): Principal {
  if (!req.principal) throw unauthorized();
  return req.principal;
}

/** The concrete request path (route template with the validated path parameters). */
export function requestPath(req: Pick<HttpRequest, "route" | "params">): string {
  const params = (req.params ?? {}) as Record<string, string>;
  return req.route.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => params[name] ?? "");
}

function replay(record: IdemRecord): HttpResult {
  return {
    status: record.status ?? 500,
    rawBody: record.body ?? "",
    contentType: record.contentType ?? "application/json",
    headers: { "Idempotent-Replayed": "true" },
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runIdempotent(
  req: HttpRequest,
  op: (lease: Lease) => Promise<Completed>,
): Promise<HttpResult> {
  const principal = principalOf(req);
  const key = req.idempotencyKey;
  if (!key) throw new Refusal("validation_failed", "Idempotency-Key required.");
  const fp = fingerprint(req.route.method, requestPath(req), req.rawBody);
  const deadline = Date.now() + WAIT_MS;

  let got = await acquire(principal.userId, key, fp, req.route.id);
  while ("existing" in got) {
    const rec = got.existing;
    if (rec.fingerprint !== fp) throw keyReused();
    if (rec.state === "completed") return replay(rec);
    if (Date.now() > deadline) throw inProgress();
    await sleep(40 + Math.floor(Math.random() * 40));
    const now = await readRecord(principal.userId, key);
    if (!now || (now.state === "in_progress" && now.leaseUntil < Date.now())) {
      got = await acquire(principal.userId, key, fp, req.route.id);
    } else {
      got = { existing: now };
    }
  }
  const lease = got.lease;

  try {
    const done = await op(lease);
    return { status: done.status, rawBody: done.body, contentType: "application/json" };
  } catch (error) {
    if (error instanceof Refusal && STORED_REFUSALS.has(statusOf(error.code))) {
      const problem = toProblemResult(error, req.requestId);
      if (await storeOutcome(lease, problem.statusCode, problem.body, PROBLEM_CONTENT_TYPE)) {
        return {
          status: problem.statusCode,
          rawBody: problem.body,
          contentType: PROBLEM_CONTENT_TYPE,
          headers: problem.headers as Record<string, string>,
        };
      }
      return afterLostLease(principal.userId, key, fp);
    }
    if (error instanceof LeaseLostError) return afterLostLease(principal.userId, key, fp);
    await release(lease);
    throw error;
  }
}

/** Our lease lapsed and someone else holds (or completed) the key. */
async function afterLostLease(userId: string, key: string, fp: string): Promise<HttpResult> {
  const rec = await readRecord(userId, key);
  if (rec?.state === "completed") {
    if (rec.fingerprint !== fp) throw keyReused();
    return replay(rec);
  }
  throw inProgress();
}
