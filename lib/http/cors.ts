import type middy from "@middy/core";
import httpCors from "@middy/http-cors";
import { config } from "../config.ts";
import type { ApiEvent, ApiResult } from "./types.ts";

/**
 * CORS for the configured origins only (MICROPAY_CORS_ORIGINS, exact matches; the
 * config schema refuses `*` and wildcards). With no origins configured no
 * Access-Control-* header is ever sent, and an unknown Origin is never echoed.
 *
 * Where CORS applies, every answer depends on the request's Origin (an allowed one is
 * echoed, any other gets no Access-Control-Allow-Origin), so every answer says
 * `Vary: Origin`, errors and refused origins included: a shared cache must not hand
 * one origin's answer to another. @middy/http-cors adds it only for two or more
 * origins.
 */
export const CORS_ALLOW_HEADERS = "Authorization,Content-Type,Idempotency-Key,X-Request-Id";
export const CORS_EXPOSE_HEADERS = "X-Request-Id,Idempotent-Replayed,Retry-After";

export function corsMiddleware(): middy.MiddlewareObj<ApiEvent, ApiResult>[] {
  const origins = config().MICROPAY_CORS_ORIGINS;
  if (origins.length === 0) return [];
  const allowed = new Set(origins);
  return [
    // Listed first so that its after/onError hook runs after @middy/http-cors's.
    { after: varyOnOrigin, onError: varyOnOrigin },
    httpCors({
      origins,
      // Exact, own-entry matching: middy's own lookup is a plain object, so an Origin
      // such as `constructor` or `toString` would find an inherited member and be
      // echoed. An empty string means "no Access-Control-Allow-Origin" to middy.
      getOrigin: (incoming: string) => (allowed.has(incoming) ? incoming : ""),
      credentials: false,
      headers: CORS_ALLOW_HEADERS,
      methods: "GET,POST,PUT,PATCH,OPTIONS",
      exposeHeaders: CORS_EXPOSE_HEADERS,
      maxAge: 600,
    }) as middy.MiddlewareObj<ApiEvent, ApiResult>,
  ];
}

/** Adds `Origin` to the response's Vary list once (header name in any case). */
async function varyOnOrigin(request: { response: ApiResult | undefined | null }): Promise<void> {
  const response = request.response;
  if (!response) return;
  response.headers ??= {};
  const headers = response.headers;
  const name = Object.keys(headers).find((k) => k.toLowerCase() === "vary") ?? "Vary";
  const current = String(headers[name] ?? "");
  const parts = current
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.some((p) => p === "*" || p.toLowerCase() === "origin")) return;
  headers[name] = [...parts, "Origin"].join(", ");
}
