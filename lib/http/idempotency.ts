import { type CallContext, ctxOf as callContextOf } from "../context.ts";
import {
  AlreadyAnswered,
  answerBody,
  type IdempotencyClaim,
  isRecorded,
  type StoredAnswer,
} from "../idempotency.ts";
import { Refusal, statusOf, unauthorized } from "../problems.ts";
import type { Principal } from "../routes/types.ts";
import { fingerprint, readAnswer, storeAnswer } from "../store/idempotency.ts";
import { PROBLEM_CONTENT_TYPE, toProblemResult } from "./problem.ts";
import type { HttpRequest, HttpResult } from "./types.ts";

/**
 * Idempotency as a step of the chain (API.md "Idempotency"): lib/http/handler.ts runs
 * it for every route row with `idempotent: true`, so no route can forget it. The
 * records are described in lib/store/idempotency.ts. Per request:
 *
 *   - The operation gets a claim (caller, key, request fingerprint) in its context and
 *     writes the completed record (exact status and body) in the SAME transaction as
 *     its movement, under attribute_not_exists: the happy path is one round trip.
 *   - A concurrent or later duplicate's transaction fails on that record, which comes
 *     back with the failure (ALL_OLD): replayed byte for byte with
 *     `Idempotent-Replayed: true`, or 422 idempotency_key_reused when the stored
 *     request differs (another fingerprint).
 *   - A refusal (402, 409, 422) is stored after the failed transaction by a conditional
 *     Put and answered; if a record already stands, that one is replayed instead.
 *   - Any other error (400, 403, 404, an outage) stores nothing, so a corrected or later
 *     retry runs; but if the key already has a completed answer (say the first attempt
 *     committed and its response was lost) that answer is replayed rather than the
 *     error. Only this error path reads the record.
 */

const STORED_REFUSALS = new Set([402, 409, 422]);

export const keyReused = () =>
  new Refusal("idempotency_key_reused", "This Idempotency-Key was used with a different request.");

/** The concrete request path (route template with the validated path parameters). */
export function requestPath(req: Pick<HttpRequest, "route" | "params">): string {
  const params = (req.params ?? {}) as Record<string, string>;
  return req.route.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => params[name] ?? "");
}

function replay(answer: StoredAnswer, claim: IdempotencyClaim): HttpResult {
  if (answer.fingerprint !== claim.fingerprint) throw keyReused();
  return {
    status: answer.status,
    rawBody: answer.body,
    contentType: answer.contentType,
    headers: { "Idempotent-Replayed": "true" },
  };
}

/** The claim of a request on an idempotent route (the chain validated the key's format). */
export function claimOf(req: HttpRequest): IdempotencyClaim {
  if (!req.principal) throw unauthorized();
  return {
    scope: req.principal.userId,
    key: req.idempotencyKey ?? "",
    fingerprint: fingerprint(req.route.method, requestPath(req), req.rawBody),
    routeId: req.route.id,
    status: req.route.successStatus,
  };
}

export async function runIdempotent<Q extends HttpRequest>(
  req: Q,
  impl: (req: Q) => Promise<HttpResult>,
): Promise<HttpResult> {
  const claim = claimOf(req);
  try {
    const result = await impl({ ...req, idempotency: claim });
    if (isRecorded(claim)) return result;
    // The operation wrote no record with its effect: store its answer now.
    const body = result.rawBody ?? answerBody(result.body);
    const standing = await storeAnswer(claim, {
      status: result.status,
      body,
      contentType: result.contentType ?? "application/json",
    });
    return standing ? replay(standing, claim) : result;
  } catch (error) {
    if (error instanceof AlreadyAnswered) return replay(error.answer, claim);
    if (error instanceof Refusal && STORED_REFUSALS.has(statusOf(error.code))) {
      const problem = toProblemResult(error, req.requestId);
      const standing = await storeAnswer(claim, {
        status: problem.statusCode,
        body: problem.body,
        contentType: PROBLEM_CONTENT_TYPE,
      });
      if (standing) return replay(standing, claim);
      return {
        status: problem.statusCode,
        rawBody: problem.body,
        contentType: PROBLEM_CONTENT_TYPE,
        headers: problem.headers as Record<string, string>,
      };
    }
    let standing: StoredAnswer | undefined;
    try {
      standing = await readAnswer(claim.scope, claim.key);
    } catch {
      throw error; // the store is down too: the original answer stands
    }
    if (standing) return replay(standing, claim);
    throw error;
  }
}

/** What a domain operation knows of a request: its caller, ids, source and claim. */
export function ctxOf(
  req: HttpRequest<unknown, unknown, unknown, Principal>,
): CallContext & { readonly idempotency?: IdempotencyClaim | undefined } {
  return {
    ...callContextOf(req),
    ...(req.idempotency ? { idempotency: req.idempotency } : {}),
  };
}
