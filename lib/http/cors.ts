import type middy from "@middy/core";
import httpCors from "@middy/http-cors";
import { config } from "../config.ts";
import type { ApiEvent, ApiResult } from "./types.ts";

/**
 * CORS for the configured origins only (MICROPAY_CORS_ORIGINS, exact matches; the
 * config schema refuses `*` and wildcards). With no origins configured no
 * Access-Control-* header is ever sent, and an unknown Origin is never echoed.
 */
export const CORS_ALLOW_HEADERS = "Authorization,Content-Type,Idempotency-Key,X-Request-Id";
export const CORS_EXPOSE_HEADERS = "X-Request-Id,Idempotent-Replayed,Retry-After";

export function corsMiddleware(): middy.MiddlewareObj<ApiEvent, ApiResult>[] {
  const origins = config().MICROPAY_CORS_ORIGINS;
  if (origins.length === 0) return [];
  return [
    httpCors({
      origins,
      credentials: false,
      headers: CORS_ALLOW_HEADERS,
      methods: "GET,POST,PUT,PATCH,OPTIONS",
      exposeHeaders: CORS_EXPOSE_HEADERS,
      maxAge: 600,
    }) as middy.MiddlewareObj<ApiEvent, ApiResult>,
  ];
}
