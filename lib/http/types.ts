import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type { Principal, RouteDef } from "../routes/types.ts";

/** What a route implementation receives: parsed, validated and authenticated input. */
export interface HttpRequest<B = unknown, Q = unknown, P = unknown> {
  readonly route: RouteDef;
  readonly body: B;
  readonly query: Q;
  readonly params: P;
  readonly principal: Principal | null;
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
}

export interface HttpResult {
  readonly status: number;
  readonly body?: unknown;
  /** A body already serialised (idempotent replays are byte for byte). */
  readonly rawBody?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly contentType?: string;
}

/** Per-invocation state the middlewares share (middy's request.internal is untyped). */
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
