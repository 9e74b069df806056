import { randomUUID } from "node:crypto";
import type { ApiEvent } from "./types.ts";

/** A request id is used only when it is short and plain; anything else is replaced. */
export const WELL_FORMED_REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

/**
 * The caller's `X-Request-Id` when it is well formed, else undefined. Still the
 * caller's text: the audit trail keeps it apart (`clientRequestId`) and redacts it.
 */
export function clientRequestIdOf(headers: Record<string, string>): string | undefined {
  const incoming = headers["x-request-id"];
  return incoming && WELL_FORMED_REQUEST_ID.test(incoming) ? incoming : undefined;
}

/** The gateway's own id of the request (API Gateway's, or the local gateway's), else a new one. */
export function gatewayRequestIdOf(event: ApiEvent): string {
  const gateway = event.requestContext?.requestId;
  return gateway && WELL_FORMED_REQUEST_ID.test(gateway) ? gateway : randomUUID();
}

/** The id a response carries: a well-formed caller id echoed, else the gateway's. */
export function pickRequestId(event: ApiEvent, headers: Record<string, string>): string {
  return clientRequestIdOf(headers) ?? gatewayRequestIdOf(event);
}

/**
 * Header names lower-cased; the last value wins for repeated headers. The map has no
 * prototype, so a header named `__proto__` or `constructor` is an ordinary entry.
 */
export function lowerCaseHeaders(event: ApiEvent): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (typeof v === "string") out[k.toLowerCase()] = v;
  }
  return out;
}
