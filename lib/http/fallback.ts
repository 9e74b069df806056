import middy from "@middy/core";
import type { Refusal } from "../problems.ts";
import { corsMiddleware } from "./cors.ts";
import { toProblemResult } from "./problem.ts";
import { lowerCaseHeaders, pickRequestId } from "./request-id.ts";
import { securityHeaders } from "./security-headers.ts";
import type { ApiEvent, ApiResult, Context } from "./types.ts";

/**
 * Answers for requests that reach no route handler (unknown path 404, wrong method
 * 405, CORS preflight, local throttling 429, oversized body 413), decorated by the
 * same request-id, security-header and CORS middlewares as every route. The local
 * gateway uses it; in AWS, API Gateway's gateway responses play this part.
 */
export function fallbackHandler() {
  const core = async (event: ApiEvent, context: Context): Promise<ApiResult> => {
    const headers = lowerCaseHeaders(event);
    const requestId = pickRequestId(event, headers);
    const error = (context as unknown as { fallbackError?: Refusal }).fallbackError;
    const result: ApiResult = error
      ? toProblemResult(error, requestId)
      : { statusCode: 204, headers: {}, body: "" };
    result.headers = { ...result.headers, "X-Request-Id": requestId };
    return result;
  };
  return middy<ApiEvent, ApiResult, Error, Context>(core)
    .use(securityHeaders())
    .use(corsMiddleware());
}
