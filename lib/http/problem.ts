import { STATUS_CODES } from "node:http";
import { logger } from "../observability.ts";
import { ApiError, STATUS_TITLES } from "./errors.ts";
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
 * Turns anything thrown into an RFC 9457 answer. An ApiError keeps its status, code
 * and detail. Anything else (a DynamoDB error, a bug) is logged by name only and
 * answered with a generic 500 or, for a dependency outage, a 503 with Retry-After:
 * never a stack trace, a table name or AWS error text.
 */
export function toProblemResult(error: unknown, requestId: string): ApiResult {
  const apiError = error instanceof ApiError ? error : classifyUnexpected(error, requestId);
  const problem: Problem = {
    type: problemTypeUri(apiError.code),
    title: titleOf(apiError),
    status: apiError.status,
    code: apiError.code,
    detail: apiError.detail,
    requestId,
    ...(apiError.errors ? { errors: apiError.errors } : {}),
  };
  return {
    statusCode: apiError.status,
    headers: { "Content-Type": PROBLEM_CONTENT_TYPE, ...apiError.headers },
    body: JSON.stringify(problem),
  };
}

/**
 * The status's reason phrase: STATUS_TITLES' (errors.ts) for the statuses the API
 * documents, else Node's (the local gateway's own 408, 417 and 431).
 */
function titleOf(error: ApiError): string {
  return STATUS_TITLES[error.status] ?? STATUS_CODES[error.status] ?? error.title;
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

function classifyUnexpected(error: unknown, requestId: string): ApiError {
  const name = error instanceof Error ? error.name : typeof error;
  if (isDependencyOutage(error)) {
    logger.warn("dependency unavailable", { requestId, errorName: name });
    return new ApiError(503, "service_unavailable", {
      detail: "A dependency is unavailable; retry later.",
      headers: { "Retry-After": "1" },
    });
  }
  logger.error("unhandled error", {
    requestId,
    errorName: name,
    // The stack stays in our logs, never in the response.
    stack: error instanceof Error ? error.stack : undefined,
  });
  return new ApiError(500, "internal_error", { detail: "An unexpected error occurred." });
}
