import type { Principal } from "./routes/types.ts";

/**
 * Who is calling and from where: what a domain operation (lib/ledger, lib/auth) needs
 * of a request besides its input, for ownership checks and the audit actor. The HTTP
 * chain builds it (lib/http/handler.ts); CLI scripts and tests build their own. It
 * carries no HTTP types, so domain code never imports lib/http.
 */
export interface CallContext<P extends Principal | null = Principal> {
  readonly principal: P;
  /** The gateway's own id of the request (never caller-chosen): what the audit trail records. */
  readonly gatewayRequestId: string;
  /** The well-formed `X-Request-Id` the caller sent, if any (caller-controlled text). */
  readonly clientRequestId?: string | undefined;
  /** The id the caller sees on its response (its own, else the gateway's). */
  readonly requestId: string;
  readonly sourceIp: string;
  readonly userAgent: string;
}

/**
 * The call context of a request (or any object carrying one, such as lib/http's
 * request): only the fields a domain operation may know, never the request itself.
 */
export function ctxOf<P extends Principal | null>(req: CallContext<P>): CallContext<P> {
  return {
    principal: req.principal,
    gatewayRequestId: req.gatewayRequestId,
    clientRequestId: req.clientRequestId,
    requestId: req.requestId,
    sourceIp: req.sourceIp,
    userAgent: req.userAgent,
  };
}
