import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ThrottlingException,
  TransactionCanceledException,
  TransactionConflictException,
  TransactionInProgressException,
} from "@aws-sdk/client-dynamodb";
import { config } from "../config.ts";
import { logger } from "../observability.ts";
import { serviceUnavailable } from "../problems.ts";

/**
 * Bounded, jittered retries for DynamoDB's transient refusals.
 *
 * Retried: a TransactWriteItems cancelled only because of TransactionConflict,
 * ThrottlingError or ProvisionedThroughputExceeded (CancellationReasons), and the
 * whole-request throttling/conflict errors. A cancelled transaction has no effect at
 * all, so running it again can never double a movement.
 *
 * Never retried: a ConditionalCheckFailed. That is the business answer (insufficient
 * funds, frozen, refund exceeds payment, idempotency key held by someone else), and
 * the caller maps it to 402/409/422.
 *
 * When the attempts run out the request answers 503 service_unavailable with
 * Retry-After: nothing was written.
 */

const RETRYABLE_REASONS = new Set([
  "TransactionConflict",
  "ThrottlingError",
  "ProvisionedThroughputExceeded",
  "RequestLimitExceeded",
]);

const RETRYABLE_ERRORS = [
  TransactionConflictException,
  ProvisionedThroughputExceededException,
  ThrottlingException,
  RequestLimitExceeded,
  TransactionInProgressException,
];

/**
 * The CancellationReasons of a TransactionCanceledException, or undefined. SDK errors
 * are told apart here and below by class (`instanceof`), never by name.
 */
export function cancellationReasons(
  error: unknown,
): NonNullable<TransactionCanceledException["CancellationReasons"]> | undefined {
  if (!(error instanceof TransactionCanceledException)) return undefined;
  return error.CancellationReasons ?? [];
}

/** True when a single-item conditional write lost its condition. */
export function isConditionFailure(error: unknown): error is ConditionalCheckFailedException {
  return error instanceof ConditionalCheckFailedException;
}

/** True when the error is a transient refusal worth another attempt. */
export function isRetryable(error: unknown): boolean {
  const reasons = cancellationReasons(error);
  if (reasons) {
    const codes = reasons.map((r) => r.Code ?? "None");
    if (codes.includes("ConditionalCheckFailed")) return false;
    return codes.some((c) => RETRYABLE_REASONS.has(c));
  }
  return RETRYABLE_ERRORS.some((type) => error instanceof type);
}

export interface RetryOptions {
  /** Total attempts including the first (default MICROPAY_DYNAMODB_RETRY_ATTEMPTS, 5). */
  readonly attempts?: number;
  /** Base delay in ms of full-jitter exponential backoff (MICROPAY_DYNAMODB_RETRY_BASE_MS, 20). */
  readonly baseMs?: number;
  /** Cap of one delay in ms (MICROPAY_DYNAMODB_RETRY_CAP_MS, 500). */
  readonly capMs?: number;
  /** Random source in [0, 1) (tests). */
  readonly random?: () => number;
  /** Sleep (tests). */
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Full-jitter backoff delay for attempt n (0-based): random in [0, min(cap, base*2^n)). */
export function backoffDelay(n: number, baseMs: number, capMs: number, random: () => number) {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** n));
}

/**
 * Runs `fn` (which receives the 0-based attempt number), retrying transient refusals
 * a bounded number of times; then throws 503 service_unavailable. Any other error is
 * rethrown untouched.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const c = config();
  const attempts = opts.attempts ?? c.MICROPAY_DYNAMODB_RETRY_ATTEMPTS;
  const baseMs = opts.baseMs ?? c.MICROPAY_DYNAMODB_RETRY_BASE_MS;
  const capMs = opts.capMs ?? c.MICROPAY_DYNAMODB_RETRY_CAP_MS;
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? defaultSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetryable(error)) throw error;
      if (attempt + 1 >= attempts) {
        logger.warn("transient DynamoDB refusals exhausted retries", {
          attempts,
          errorName: (error as { name?: string }).name,
        });
        throw serviceUnavailable();
      }
      await sleep(backoffDelay(attempt, baseMs, capMs, random));
    }
  }
}
