/**
 * `npm run webhooks -- listen --port 4000 [--secret whsec_…]`: a loopback receiver that
 * verifies each delivery with the standardwebhooks package and prints one line per
 * delivery (time, verified or not, event type, event id, object id). The secret may
 * also come from MICROPAY_WEBHOOK_SECRET (better: argv shows up in `ps`). Register
 * http://127.0.0.1:<port>/ as an endpoint on the local stack (README, "Events and
 * webhooks"); Ctrl-C stops it.
 */
import { parseArgs } from "node:util";
import { startListener } from "../lib/webhooks/listen.ts";

const USAGE =
  "usage: npm run webhooks -- listen [--port 4000] [--secret whsec_…]  (or MICROPAY_WEBHOOK_SECRET)";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { port: { type: "string", default: "4000" }, secret: { type: "string" } },
});
const secret = values.secret ?? process.env.MICROPAY_WEBHOOK_SECRET;
const port = Number(values.port);
if (positionals[0] !== "listen" || !secret?.startsWith("whsec_") || !Number.isInteger(port)) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
const listener = await startListener({
  port,
  secret,
  onDelivery: (d) =>
    process.stdout.write(
      `${new Date().toISOString()} ${d.verified ? "verified" : `REFUSED (${d.error})`} ${d.type ?? "-"} ${d.id ?? "-"} ${d.objectId ?? ""}\n`,
    ),
});
process.stdout.write(`Listening for MicroPay webhooks on ${listener.url} (Ctrl-C to stop)\n`);
const stop = () => void listener.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
