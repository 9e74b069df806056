import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type * as z from "zod";
import type { IdempotencyClaim } from "../idempotency.ts";
import type { Principal, RouteDef } from "../routes/types.ts";

/** What a route implementation receives: parsed, validated and authenticated input. */
export interface HttpRequest<B = unknown, Q = unknown, P = unknown, A = Principal | null> {
  readonly route: RouteDef;
  readonly body: B;
  readonly query: Q;
  readonly params: P;
  /** Never null on a route with `auth` (the chain refused the request before). */
  readonly principal: A;
  /**
   * This request's id as its responses and log lines carry it (`X-Request-Id`, the
   * problem body's `requestId`): a well-formed id the caller sent, echoed, else the
   * gateway's own.
   */
  readonly requestId: string;
  /** The gateway's own id of this request, never caller-chosen: what the audit trail records. */
  readonly gatewayRequestId: string;
  /** The well-formed `X-Request-Id` the caller sent, if any (caller-controlled text). */
  readonly clientRequestId: string | undefined;
  readonly sourceIp: string;
  readonly userAgent: string;
  /** Header names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  readonly idempotencyKey: string | undefined;
  /** The raw body text (exactly as received), for idempotency fingerprints. */
  readonly rawBody: string;
  /** On `idempotent` routes: the key's claim the operation records with its effect. */
  readonly idempotency?: IdempotencyClaim | undefined;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

/**
 * The request a route row types: body, query and path parameters as its schemas
 * parse them, and a non-null principal when the row requires auth. So a handler whose
 * input does not match its row fails `tsc`.
 */
export type RouteRequest<R extends RouteDef> = HttpRequest<
  Parsed<R["body"]>,
  Parsed<R["query"]>,
  Parsed<R["params"]>,
  R["auth"] extends "none" ? Principal | null : Principal
>;

export interface HttpResult {
  readonly status: number;
  readonly body?: unknown;
  /** A body already serialised (idempotent replays are byte for byte). */
  readonly rawBody?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly contentType?: string;
}

/** Per-invocation state the middlewares and the route share (lib/http/handler.ts). */
export interface ChainState {
  /** See HttpRequest: the response id, the gateway's id, the caller's id. */
  requestId: string;
  gatewayRequestId: string;
  clientRequestId: string | undefined;
  principal: Principal | null;
  body: unknown;
  rawBody: string;
  query: unknown;
  params: unknown;
  headers: Record<string, string>;
}

export type ApiEvent = APIGatewayProxyEvent;
export type ApiResult = APIGatewayProxyResult;
export type { Context };
