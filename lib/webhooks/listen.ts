import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

/**
 * A loopback webhook receiver for developers (`npm run webhooks -- listen`), the way
 * `stripe listen` works: every POST is verified with the standardwebhooks package;
 * verified deliveries answer 200 and are reported, anything else answers 400. It binds
 * 127.0.0.1 only and reads at most 64 KiB of a request.
 */
export interface Delivery {
  readonly verified: boolean;
  readonly id: string | undefined;
  readonly type: string | undefined;
  readonly objectId: string | undefined;
  readonly error?: string;
}

export interface Listener {
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

export async function startListener(opts: {
  readonly port: number;
  readonly secret: string;
  readonly onDelivery: (d: Delivery) => void;
}): Promise<Listener> {
  const wh = new Webhook(opts.secret);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      try {
        if (req.method !== "POST" || size > MAX_BODY) throw new Error("not a delivery");
        const event = wh.verify(body, headers) as {
          id?: string;
          type?: string;
          data?: { object?: { id?: string } };
        };
        opts.onDelivery({
          verified: true,
          id: event.id,
          type: event.type,
          objectId: event.data?.object?.id,
        });
        res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      } catch (error) {
        opts.onDelivery({
          verified: false,
          id: headers["webhook-id"],
          type: undefined,
          objectId: undefined,
          error: error instanceof Error ? error.message : "unverifiable",
        });
        res.writeHead(400, { "content-type": "text/plain" }).end("signature not verified");
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
