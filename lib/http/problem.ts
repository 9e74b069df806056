import { logger } from "../observability.ts";
import { problemSpec, Refusal, statusOf, titleOf } from "../problems.ts";
import type { ApiResult } from "./types.ts";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  requestId: string;
  errors?: { path: string; message: string }[];
}

export function problemTypeUri(code: string): string {
  return `urn:micropay:problem:${code}`;
}

/**
 * Turns anything thrown into an RFC 9457 answer. A Refusal's code gives the status,
 * title and protocol headers (lib/problems.ts); its detail and field errors are kept.
 * Anything else (a DynamoDB error, a bug) is logged by name only and answered with a
 * generic 500 or, for a dependency outage, a 503 with Retry-After: never a stack
 * trace, a table name or AWS error text.
 */
export function toProblemResult(error: unknown, requestId: string): ApiResult {
  const refusal = error instanceof Refusal ? error : classifyUnexpected(error, requestId);
  const status = statusOf(refusal.code);
  const problem: Problem = {
    type: problemTypeUri(refusal.code),
    title: titleOf(refusal.code),
    status,
    code: refusal.code,
    detail: refusal.detail,
    requestId,
    ...(refusal.errors ? { errors: refusal.errors } : {}),
  };
  const headers: Record<string, string> = { "Content-Type": PROBLEM_CONTENT_TYPE };
  if (problemSpec(refusal.code).challenge) headers["WWW-Authenticate"] = "Bearer";
  if (refusal.retryAfter !== undefined) headers["Retry-After"] = String(refusal.retryAfter);
  return {
    statusCode: status,
    headers: { ...headers, ...refusal.headers },
    body: JSON.stringify(problem),
  };
}

const OUTAGE_NAMES = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "TransactionConflictException",
  "InternalServerError",
  "ServiceUnavailable",
  "TimeoutError",
  "RequestTimeout",
  "ResourceNotFoundException",
]);

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH"]);

export function isDependencyOutage(error: unknown): boolean {
  if (!error || typeof error !== "object") return false;
  const e = error as { name?: string; code?: string; $metadata?: unknown; cause?: unknown };
  if (e.name && OUTAGE_NAMES.has(e.name)) return true;
  if (e.code && NETWORK_CODES.has(e.code)) return true;
  if (e.name === "AggregateError" || e.name === "TimeoutError") return true;
  if (e.cause && e.cause !== error) return isDependencyOutage(e.cause);
  // The SDK marks connection failures with these names in its errors list.
  const errs = (error as { errors?: unknown[] }).errors;
  return Array.isArray(errs) && errs.some(isDependencyOutage);
}

function classifyUnexpected(error: unknown, requestId: string): Refusal {
  const name = error instanceof Error ? error.name : typeof error;
  if (isDependencyOutage(error)) {
    logger.warn("dependency unavailable", { requestId, errorName: name });
    return new Refusal("service_unavailable", "A dependency is unavailable; retry later.");
  }
  logger.error("unhandled error", {
    requestId,
    errorName: name,
    // The stack stays in our logs, never in the response.
    stack: error instanceof Error ? error.stack : undefined,
  });
  return new Refusal("internal_error", "An unexpected error occurred.");
}
