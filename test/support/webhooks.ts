import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback webhook receiver for tests: records every request and answers with the
 * next planned status (200 once the plan runs out). `hang` answers nothing (the
 * request stays open until the server closes).
 */
export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Statuses to answer in order ("hang": never answer). */
  plan: (number | "hang")[];
  close(): Promise<void>;
}

export async function startReceiver(plan: (number | "hang")[] = []): Promise<Receiver> {
  const received: Received[] = [];
  const r = { plan } as { plan: (number | "hang")[] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const next = r.plan.shift() ?? 200;
      if (next === "hang") return;
      res.writeHead(next, { "content-type": "text/plain" }).end(next < 300 ? "ok" : "nope");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    get plan() {
      return r.plan;
    },
    set plan(p) {
      r.plan = p;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `probe` until it returns a truthy value (or fails after `timeoutMs`). */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
