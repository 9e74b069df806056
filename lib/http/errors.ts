/**
 * Typed HTTP errors. Middlewares and domain code throw these; the problem+json
 * middleware (lib/http/problem.ts) is the one place that turns them into RFC 9457
 * responses. Anything that is not an ApiError becomes a bare 500 with no detail.
 */
export interface FieldError {
  path: string;
  message: string;
}

export interface ApiErrorInit {
  detail?: string;
  errors?: FieldError[];
  headers?: Record<string, string>;
}

/** RFC 9110 reason phrases of the statuses MicroPay answers: problem titles and OpenAPI text. */
export const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export class ApiError extends Error {
  override name = "ApiError";
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, init: ApiErrorInit = {}) {
    super(`${status} ${code}`);
    this.status = status;
    this.code = code;
    this.detail = init.detail ?? STATUS_TITLES[status] ?? "Error";
    this.errors = init.errors;
    this.headers = init.headers ?? {};
  }

  get title(): string {
    return STATUS_TITLES[this.status] ?? "Error";
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) =>
  new ApiError(400, "validation_failed", { detail, ...(errors ? { errors } : {}) });
export const unauthorized = (detail = "Authentication is required.") =>
  new ApiError(401, "unauthorized", { detail, headers: { "WWW-Authenticate": "Bearer" } });
export const forbidden = (detail = "Your role may not take this action.") =>
  new ApiError(403, "forbidden", { detail });
export const notFound = (detail = "No such resource.") =>
  new ApiError(404, "not_found", { detail });
export const conflict = (code: string, detail: string) => new ApiError(409, code, { detail });
export const serviceUnavailable = (detail = "A dependency is unavailable; retry later.") =>
  new ApiError(503, "service_unavailable", { detail, headers: { "Retry-After": "1" } });
