import { randomUUID } from "node:crypto";
import type { ApiEvent } from "./types.ts";

/** A caller-supplied id is echoed only when it is short and plain; anything else is replaced. */
const WELL_FORMED = /^[A-Za-z0-9._-]{8,128}$/;

export function pickRequestId(event: ApiEvent, headers: Record<string, string>): string {
  const incoming = headers["x-request-id"];
  if (incoming && WELL_FORMED.test(incoming)) return incoming;
  const gateway = event.requestContext?.requestId;
  if (gateway && WELL_FORMED.test(gateway)) return gateway;
  return randomUUID();
}

/** Header names lower-cased; the last value wins for repeated headers. */
export function lowerCaseHeaders(event: ApiEvent): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (typeof v === "string") out[k.toLowerCase()] = v;
  }
  return out;
}
