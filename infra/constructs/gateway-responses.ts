import { ResponseType, type RestApi } from "aws-cdk-lib/aws-apigateway";
import { API_SECURITY_HEADERS } from "../../lib/http/security-headers.ts";

/**
 * The answers API Gateway gives by itself (before or instead of a handler): the same
 * security headers (lib/http/security-headers.ts) and the same RFC 9457
 * problem+json shape `{type,title,status,code,detail,requestId}` as the Middy chain,
 * `requestId` being API Gateway's own `$context.requestId`.
 */
export interface GatewayProblem {
  readonly type: ResponseType;
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export const GATEWAY_PROBLEMS: readonly GatewayProblem[] = [
  {
    type: ResponseType.DEFAULT_4XX,
    status: 400,
    code: "bad_request",
    title: "Bad Request",
    detail: "The request was rejected.",
  },
  {
    type: ResponseType.DEFAULT_5XX,
    status: 500,
    code: "internal_error",
    title: "Internal Server Error",
    detail: "Something went wrong on our side.",
  },
  {
    type: ResponseType.THROTTLED,
    status: 429,
    code: "rate_limited",
    title: "Too Many Requests",
    detail: "Too many requests; retry later.",
    headers: { "Retry-After": "1" },
  },
  {
    type: ResponseType.QUOTA_EXCEEDED,
    status: 429,
    code: "rate_limited",
    title: "Too Many Requests",
    detail: "Too many requests; retry later.",
    headers: { "Retry-After": "60" },
  },
  {
    type: ResponseType.WAF_FILTERED,
    status: 403,
    code: "forbidden",
    title: "Forbidden",
    detail: "The request was blocked.",
  },
  {
    type: ResponseType.UNAUTHORIZED,
    status: 401,
    code: "unauthorized",
    title: "Unauthorized",
    detail: "Authentication is required.",
    headers: { "WWW-Authenticate": "Bearer" },
  },
  {
    type: ResponseType.ACCESS_DENIED,
    status: 403,
    code: "forbidden",
    title: "Forbidden",
    detail: "Your role may not take this action.",
  },
  {
    // API Gateway answers an unknown route or method with this (403 by default).
    type: ResponseType.MISSING_AUTHENTICATION_TOKEN,
    status: 404,
    code: "not_found",
    title: "Not Found",
    detail: "No such resource.",
  },
  {
    type: ResponseType.RESOURCE_NOT_FOUND,
    status: 404,
    code: "not_found",
    title: "Not Found",
    detail: "No such resource.",
  },
  {
    type: ResponseType.REQUEST_TOO_LARGE,
    status: 413,
    code: "payload_too_large",
    title: "Content Too Large",
    detail: "The request body is larger than 16 KiB.",
  },
  {
    type: ResponseType.UNSUPPORTED_MEDIA_TYPE,
    status: 415,
    code: "unsupported_media_type",
    title: "Unsupported Media Type",
    detail: "Send application/json.",
  },
  {
    type: ResponseType.BAD_REQUEST_BODY,
    status: 400,
    code: "validation_failed",
    title: "Bad Request",
    detail: "The request body is invalid.",
  },
  {
    type: ResponseType.BAD_REQUEST_PARAMETERS,
    status: 400,
    code: "validation_failed",
    title: "Bad Request",
    detail: "The request parameters are invalid.",
  },
];

/** The response template: valid JSON once API Gateway substitutes `$context.requestId`. */
export function problemTemplate(p: GatewayProblem): string {
  return `{"type":"urn:micropay:problem:${p.code}","title":"${p.title}","status":${p.status},"code":"${p.code}","detail":"${p.detail}","requestId":"$context.requestId"}`;
}

/** Static header values are single-quoted for API Gateway; `context.*` is a mapping. */
export function gatewayHeaders(p: GatewayProblem): Record<string, string> {
  const statics: Record<string, string> = {
    ...API_SECURITY_HEADERS,
    "Content-Type": "application/problem+json",
    ...(p.headers ?? {}),
  };
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(statics)) out[name] = `'${value}'`;
  out["X-Request-Id"] = "context.requestId";
  return out;
}

export function addGatewayResponses(api: RestApi): void {
  for (const p of GATEWAY_PROBLEMS) {
    api.addGatewayResponse(`Gw${p.type.responseType}`, {
      type: p.type,
      statusCode: String(p.status),
      responseHeaders: gatewayHeaders(p),
      templates: { "application/json": problemTemplate(p) },
    });
  }
}
