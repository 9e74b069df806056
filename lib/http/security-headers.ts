import type { MiddlewareObj } from "@middy/core";
import httpSecurityHeaders from "@middy/http-security-headers";
import type { ApiEvent, ApiResult } from "./types.ts";

/**
 * The headers API.md requires on every response, errors included.
 *
 * @middy/http-security-headers sets HSTS, nosniff and Referrer-Policy on every
 * response, but (7.9) writes Content-Security-Policy and X-Frame-Options only when
 * the Content-Type is text/html, and never sets Cache-Control. A JSON API that moves
 * money must not be framed or cached either, so `apiHeaders` below adds those three
 * to every response. The values live here once; the CDK gateway responses reuse them.
 */
export const API_SECURITY_HEADERS = {
  "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
} as const;

export function securityHeaders(): MiddlewareObj<ApiEvent, ApiResult>[] {
  const middy = httpSecurityHeaders({
    // middy would overwrite any route's CSP on text/html with its own script-blocking
    // policy; ours below is set on every response unless the route (e.g. /docs) set one.
    contentSecurityPolicy: false,
    strictTransportSecurity: {
      maxAge: 365 * 24 * 60 * 60,
      includeSubDomains: true,
      preload: false,
    },
  });
  const add = async (request: { response: ApiResult | undefined | null }) => {
    if (!request.response) return;
    request.response.headers ??= {};
    const headers = request.response.headers;
    for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) {
      // A route may set a stricter or page-specific CSP (the /docs page does).
      if (name === "Content-Security-Policy" && headers[name] !== undefined) continue;
      headers[name] = value;
    }
    // middy writes an empty Reporting-Endpoints header when no endpoint is configured.
    if (headers["Reporting-Endpoints"] === "") delete headers["Reporting-Endpoints"];
  };
  // `add` is listed first so that its after/onError hook runs after middy's.
  return [{ after: add, onError: add }, middy as MiddlewareObj<ApiEvent, ApiResult>];
}
