import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import type { CheckedTarget } from "./url.ts";

/**
 * One delivery POST to a checked target (lib/webhooks/url.ts): the connection goes to
 * the address that was checked (a pinned `lookup`, so no second DNS answer can rebind
 * it), TLS still verifies the URL's host name. No redirect is followed (a 3xx is a
 * failed attempt), the whole attempt is bounded by `timeoutMs`, and at most 1 KiB of the
 * answer is read and kept.
 */
export interface SendResult {
  /** The answer's status, or null when there was none (refused, timed out, reset). */
  readonly status: number | null;
  readonly ok: boolean;
  /** At most 1 KiB of the answer (kept for the deliveries log; never logged). */
  readonly excerpt: string;
  /** Why there was no answer: `timeout`, `connection_refused`, `network_error`. */
  readonly error?: string;
  readonly durationMs: number;
}

export const MAX_ANSWER_BYTES = 1024;

export type Sender = (
  target: CheckedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
) => Promise<SendResult>;

export const send: Sender = (target, headers, body, timeoutMs) =>
  new Promise((resolve) => {
    const started = Date.now();
    const lookup: LookupFunction = (_host, opts, cb) => {
      if ((opts as { all?: boolean }).all) {
        (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
          { address: target.address, family: target.family },
        ]);
      } else cb(null, target.address, target.family);
    };
    const url = target.url;
    const make = url.protocol === "https:" ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (r: Omit<SendResult, "durationMs">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, durationMs: Date.now() - started });
    };
    const req = make(
      url,
      {
        method: "POST",
        lookup,
        headers: {
          ...headers,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          "user-agent": "MicroPay-Webhooks/1",
        },
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          const excerpt = Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString("utf8");
          finish({ status, ok: status >= 200 && status < 300, excerpt });
          res.destroy();
        };
        res.on("data", (c: Buffer) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(c);
          size += c.length;
          if (size >= MAX_ANSWER_BYTES) done();
        });
        res.on("end", done);
        res.on("error", done);
      },
    );
    const timer = setTimeout(() => {
      finish({ status: null, ok: false, excerpt: "", error: "timeout" });
      req.destroy();
    }, timeoutMs);
    req.on("error", (e: NodeJS.ErrnoException) => {
      finish({
        status: null,
        ok: false,
        excerpt: "",
        error: e.code === "ECONNREFUSED" ? "connection_refused" : "network_error",
      });
    });
    req.end(body);
  });
