import middy from "@middy/core";
import { logger } from "../observability.ts";
import { Refusal, unauthorized } from "../problems.ts";
import type { RouteDef } from "../routes/types.ts";
import { authenticate } from "./auth.ts";
import { parseJsonBody } from "./body.ts";
import { corsMiddleware } from "./cors.ts";
import { runIdempotent } from "./idempotency.ts";
import { toProblemResult } from "./problem.ts";
import { clientRequestIdOf, gatewayRequestIdOf, lowerCaseHeaders } from "./request-id.ts";
import { securityHeaders } from "./security-headers.ts";
import type {
  ApiEvent,
  ApiResult,
  ChainState,
  Context,
  HttpResult,
  RouteRequest,
} from "./types.ts";
import { validate } from "./validate.ts";

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

type MiddyRequest = middy.Request<ApiEvent, ApiResult, Error, Context>;

/**
 * The one carrier of per-invocation state: keyed by the invocation's event object,
 * which every middleware and the route core see, so no cast into middy's untyped
 * `internal` or into the Lambda context is needed.
 */
const chainStates = new WeakMap<ApiEvent, ChainState>();

/**
 * The shared Middy chain, in this order (after/onError hooks run in reverse):
 *
 *   1. request id      the gateway's id (audited) and a well-formed caller id (echoed
 *                      in X-Request-Id on every response, else the gateway's)
 *   2. security headers  HSTS, nosniff, frame/CSP, no-store, no-referrer (errors too)
 *   3. CORS            only for MICROPAY_CORS_ORIGINS; never `*`, never an echoed stranger
 *   4. problem+json    turns anything thrown below into RFC 9457 (runs first on error,
 *                      so 1-3 still decorate the error response)
 *   5. auth + roles    bearer token verified; the route's roles enforced
 *   6. body            JSON only, 16 KiB, parsed
 *   7. validation      zod schemas for body, query and path; Idempotency-Key format
 *   8. idempotency     every `idempotent` row runs under its key (lib/http/idempotency.ts):
 *                      the operation gets the claim and records its answer with its
 *                      effect; duplicates replay it
 *
 * Then the route implementation runs with typed, trusted input.
 */
export function httpHandler<R extends RouteDef>(
  route: R,
  impl: (req: RouteRequest<R>) => Promise<HttpResult>,
) {
  const core = async (event: ApiEvent): Promise<ApiResult> => {
    const state = stateOf(event);
    // The auth middleware refused a route with `auth` and no principal already.
    if (route.auth !== "none" && !state.principal) throw unauthorized();
    const idempotencyKey = state.headers["idempotency-key"];
    const req: RouteRequest<R> = {
      route,
      // Validated by the row's own schemas in the middleware below.
      body: state.body as RouteRequest<R>["body"],
      query: state.query as RouteRequest<R>["query"],
      params: state.params as RouteRequest<R>["params"],
      principal: state.principal as RouteRequest<R>["principal"],
      requestId: state.requestId,
      gatewayRequestId: state.gatewayRequestId,
      clientRequestId: state.clientRequestId,
      sourceIp: event.requestContext?.identity?.sourceIp ?? "unknown",
      userAgent: state.headers["user-agent"] ?? "",
      headers: state.headers,
      idempotencyKey,
      rawBody: state.rawBody,
    };
    // Every idempotent row runs under its key (lib/http/idempotency.ts).
    const result = route.idempotent ? await runIdempotent(req, impl) : await impl(req);
    const body = result.rawBody ?? (result.body === undefined ? "" : JSON.stringify(result.body));
    return {
      statusCode: result.status,
      headers: {
        ...(body.length > 0 ? { "Content-Type": result.contentType ?? "application/json" } : {}),
        ...result.headers,
      },
      body,
    };
  };

  return middy<ApiEvent, ApiResult, Error, Context>(core)
    .use(requestIdMiddleware())
    .use(securityHeaders())
    .use(corsMiddleware())
    .use(problemMiddleware())
    .use({
      before: async (request: MiddyRequest) => {
        const state = stateOf(request.event);
        state.principal = await authenticate(route, state.headers, {
          // The audit trail records the gateway's id, never the caller's.
          requestId: state.gatewayRequestId,
          clientRequestId: state.clientRequestId,
          sourceIp: request.event.requestContext?.identity?.sourceIp,
        });
        const parsed = parseJsonBody(
          route.method,
          state.headers,
          request.event.body,
          request.event.isBase64Encoded,
        );
        state.rawBody = parsed.raw;
        state.body = validate(route.body, parsed.value, "body");
        state.query = validate(route.query, request.event.queryStringParameters ?? {}, "query");
        state.params = validate(route.params, request.event.pathParameters ?? {}, "path");
        if (route.idempotent) {
          const key = state.headers["idempotency-key"];
          if (!key || !IDEMPOTENCY_KEY.test(key)) {
            throw new Refusal(
              "validation_failed",
              "An Idempotency-Key header (1..255 printable ASCII characters) is required.",
              {
                errors: [
                  { path: "header.Idempotency-Key", message: "required, 1..255 printable ASCII" },
                ],
              },
            );
          }
        }
      },
    });
}

/**
 * `httpHandler` for an operation that returns a view: answered with the row's success
 * status and the view as its JSON body.
 */
export function viewHandler<R extends RouteDef>(
  route: R,
  impl: (req: RouteRequest<R>) => Promise<unknown>,
) {
  return httpHandler(route, async (req) => ({
    status: route.successStatus,
    body: await impl(req),
  }));
}

function stateOf(event: ApiEvent): ChainState {
  let state = chainStates.get(event);
  if (!state) {
    const headers = lowerCaseHeaders(event);
    const gatewayRequestId = gatewayRequestIdOf(event);
    const clientRequestId = clientRequestIdOf(headers);
    state = {
      requestId: clientRequestId ?? gatewayRequestId,
      gatewayRequestId,
      clientRequestId,
      principal: null,
      body: undefined,
      rawBody: "",
      query: {},
      params: {},
      headers,
    };
    chainStates.set(event, state);
  }
  return state;
}

function requestIdMiddleware(): middy.MiddlewareObj<ApiEvent, ApiResult> {
  const started = new WeakMap<object, number>();
  const stamp = async (request: MiddyRequest) => {
    const state = stateOf(request.event);
    if (request.response) {
      request.response.headers = { ...request.response.headers, "X-Request-Id": state.requestId };
      logger.info("request", {
        requestId: state.requestId,
        gatewayRequestId: state.gatewayRequestId,
        method: request.event.httpMethod,
        resource: request.event.resource,
        status: request.response.statusCode,
        userId: state.principal?.userId,
        apiKeyId: state.principal?.apiKeyId,
        ms: Date.now() - (started.get(request) ?? Date.now()),
      });
    }
  };
  return {
    before: async (request: MiddyRequest) => {
      started.set(request, Date.now());
      stateOf(request.event);
    },
    after: stamp,
    onError: stamp,
  };
}

function problemMiddleware(): middy.MiddlewareObj<ApiEvent, ApiResult> {
  return {
    onError: async (request: MiddyRequest) => {
      request.response = toProblemResult(request.error, stateOf(request.event).requestId);
    },
  };
}
