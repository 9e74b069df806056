import { afterEach, describe, expect, it } from "vitest";
import { type Delivery, type Listener, startListener } from "../../lib/webhooks/listen.ts";
import { newWebhookSecret, signatureHeaders } from "../../lib/webhooks/secrets.ts";

/** `npm run webhooks -- listen`'s receiver, on loopback only. */
let listener: Listener | undefined;
afterEach(async () => {
  await listener?.close();
});

describe("the developer webhook receiver", () => {
  it("answers 200 to a delivery signed with its secret and 400 to anything else", async () => {
    const secret = newWebhookSecret();
    const seen: Delivery[] = [];
    listener = await startListener({ port: 0, secret, onDelivery: (d) => seen.push(d) });
    expect(new URL(listener.url).hostname).toBe("127.0.0.1");
    const body = JSON.stringify({
      id: "evt_1",
      type: "payment.succeeded",
      createdAt: new Date().toISOString(),
      data: { object: { id: "pay_1" } },
    });
    const good = await fetch(listener.url, {
      method: "POST",
      headers: signatureHeaders([secret], "evt_1", body, new Date()),
      body,
    });
    expect(good.status).toBe(200);
    const forged = await fetch(listener.url, {
      method: "POST",
      headers: signatureHeaders([newWebhookSecret()], "evt_2", body, new Date()),
      body,
    });
    expect(forged.status).toBe(400);
    expect(seen.map((d) => [d.verified, d.type ?? null, d.id, d.objectId ?? null])).toEqual([
      [true, "payment.succeeded", "evt_1", "pay_1"],
      [false, null, "evt_2", null],
    ]);
  });
});
