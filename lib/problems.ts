/**
 * The problem catalogue: every refusal MicroPay can answer, by code. Domain code
 * (lib/ledger, lib/auth) throws a `Refusal` that carries a code and no HTTP status;
 * the HTTP layer (lib/http/problem.ts) looks the status and title up here, and the
 * OpenAPI document (lib/openapi.ts) documents each route's codes from the same table.
 * So a code cannot be answered with one status and documented with another.
 *
 * `retryAfter`: the answer carries `Retry-After` (seconds). `challenge`: the answer
 * carries `WWW-Authenticate: Bearer`. Codes that only the local gateway's HTTP parser
 * answers (408, 417, 431) are here too: they are answers a caller can see.
 */
export const PROBLEMS = {
  // 400
  validation_failed: { status: 400 },
  bad_request: { status: 400 },
  invalid_webhook_url: { status: 400 },
  // 401
  unauthorized: { status: 401, challenge: true },
  invalid_credentials: { status: 401, challenge: true },
  invalid_refresh_token: { status: 401, challenge: true },
  invalid_mfa_token: { status: 401, challenge: true },
  // 402
  insufficient_funds: { status: 402 },
  // 403
  forbidden: { status: 403 },
  insufficient_scope: { status: 403 },
  mfa_required: { status: 403 },
  reauthentication_required: { status: 403 },
  same_approver: { status: 403 },
  self_dealing: { status: 403 },
  // 404, 405
  not_found: { status: 404 },
  method_not_allowed: { status: 405 },
  // 408
  request_timeout: { status: 408 },
  // 409
  account_exists: { status: 409 },
  account_frozen: { status: 409 },
  api_key_limit: { status: 409 },
  approval_expired: { status: 409 },
  approval_not_pending: { status: 409 },
  concurrent_update: { status: 409 },
  email_taken: { status: 409 },
  idempotency_in_progress: { status: 409, retryAfter: 1 },
  last_admin: { status: 409 },
  mfa_already_enabled: { status: 409 },
  mfa_not_pending: { status: 409 },
  payment_not_capturable: { status: 409 },
  refund_exceeds_payment: { status: 409 },
  // 413, 415, 417
  payload_too_large: { status: 413 },
  unsupported_media_type: { status: 415 },
  expectation_failed: { status: 417 },
  // 422
  currency_mismatch: { status: 422 },
  idempotency_key_reused: { status: 422 },
  // 429, 431
  rate_limited: { status: 429, retryAfter: 1 },
  headers_too_large: { status: 431 },
  // 500, 503
  internal_error: { status: 500 },
  service_unavailable: { status: 503, retryAfter: 1 },
} as const satisfies Record<string, ProblemSpec>;

export interface ProblemSpec {
  readonly status: number;
  readonly retryAfter?: number;
  readonly challenge?: boolean;
}

export type ProblemCode = keyof typeof PROBLEMS;

/** RFC 9110 reason phrases: the problem `title` of each status MicroPay answers. */
export const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  417: "Expectation Failed",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function isProblemCode(code: string): code is ProblemCode {
  return Object.hasOwn(PROBLEMS, code);
}

export function problemSpec(code: ProblemCode): ProblemSpec {
  return PROBLEMS[code];
}

export function statusOf(code: ProblemCode): number {
  return PROBLEMS[code].status;
}

export function titleOf(code: ProblemCode): string {
  return STATUS_TITLES[statusOf(code)] ?? "Error";
}

export interface FieldError {
  path: string;
  message: string;
}

export interface RefusalInit {
  readonly errors?: FieldError[] | undefined;
  /** Overrides the catalogue's Retry-After seconds. */
  readonly retryAfter?: number | undefined;
  /**
   * Protocol headers only the HTTP layer sets (`Allow` on a 405, a token error in
   * `WWW-Authenticate`); domain code never passes any.
   */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * A refusal: the one error type domain code and the HTTP chain throw for an answer
 * the caller should see. It names a catalogue code and a human detail, never a status.
 * Anything thrown that is not a Refusal becomes a bare 500 (or a 503 for an outage).
 */
export class Refusal extends Error {
  override name = "Refusal";
  readonly code: ProblemCode;
  readonly detail: string;
  readonly errors: FieldError[] | undefined;
  readonly retryAfter: number | undefined;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ProblemCode, detail?: string, init: RefusalInit = {}) {
    super(code);
    const spec: ProblemSpec = PROBLEMS[code];
    this.code = code;
    this.detail = detail ?? titleOf(code);
    this.errors = init.errors;
    this.retryAfter = init.retryAfter ?? spec.retryAfter;
    this.headers = init.headers ?? {};
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) =>
  new Refusal("validation_failed", detail, { errors });
export const unauthorized = (detail = "Authentication is required.") =>
  new Refusal("unauthorized", detail);
export const forbidden = (detail = "Your role may not take this action.") =>
  new Refusal("forbidden", detail);
export const notFound = (detail = "No such resource.") => new Refusal("not_found", detail);
export const serviceUnavailable = (detail = "A dependency is unavailable; retry later.") =>
  new Refusal("service_unavailable", detail);
