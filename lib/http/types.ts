import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import type { Principal, RouteDef } from "../routes/types.ts";

/** What a route implementation receives: parsed, validated and authenticated input. */
export interface HttpRequest<B = unknown, Q = unknown, P = unknown> {
  readonly route: RouteDef;
  readonly body: B;
  readonly query: Q;
  readonly params: P;
  readonly principal: Principal | null;
  readonly requestId: string;
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
  requestId: string;
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
