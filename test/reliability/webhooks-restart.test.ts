import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { afterAll, describe, expect, it } from "vitest";
import { adminToken, loginAs, registerUser } from "../support/auth.ts";
import { call } from "../support/http.ts";
import { deposit, expectOk, pay } from "../support/ledger.ts";
import { type SpawnedStack, spawnStack } from "../support/spawn-stack.ts";
import { type Receiver, startReceiver, waitFor } from "../support/webhooks.ts";

/**
 * At least once across a crash: the stack (dispatcher included) is killed with SIGKILL
 * while a delivery's request is open, then started again on the same data; the
 * delivery's state in DynamoDB brings the event to the receiver after the restart.
 * A refused movement (its transaction cancelled) produces no event and no delivery.
 */
const env = {
  MICROPAY_IN_MEMORY: "0",
  MICROPAY_WEBHOOK_RETRY_SCHEDULE: "1,1",
  MICROPAY_WEBHOOK_SWEEP_SECONDS: "1",
  MICROPAY_WEBHOOK_TIMEOUT_MS: "2000",
  MICROPAY_WEBHOOK_CLAIM_SECONDS: "3",
};

let stack: SpawnedStack | undefined;
let receiver: Receiver | undefined;

afterAll(async () => {
  await receiver?.close();
  await stack?.stop();
});

const killHard = async (s: SpawnedStack) => {
  const closed = new Promise<void>((r) => s.child.once("close", () => r()));
  process.kill(s.info.pid, "SIGKILL");
  if (s.info.dynamodbPid) {
    try {
      process.kill(s.info.dynamodbPid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await closed;
};

describe("webhook delivery survives a dispatcher killed mid-delivery", () => {
  it("delivers the event after a restart, with the same webhook-id", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "micropay-webhooks-"));
    stack = await spawnStack({ ...env, MICROPAY_DATA_DIR: dataDir });
    let base = stack.info.apiUrl;
    const user = await registerUser({ base });
    receiver = await startReceiver(["hang"]);
    const ep = await call<{ id: string; secret: string }>("POST", "/v1/webhook-endpoints", {
      base,
      token: user.accessToken,
      body: { url: receiver.url, enabledEvents: ["transfer.created"] },
    });
    expectOk("endpoint", ep);
    const admin = await adminToken(base);
    expectOk("deposit", await deposit({ token: admin, base }, user.account.id, 500));
    // The first attempt is open at the receiver: kill everything now.
    await waitFor("first attempt", () => receiver?.received.length === 1);
    await killHard(stack);

    stack = await spawnStack({ ...env, MICROPAY_DATA_DIR: dataDir });
    base = stack.info.apiUrl;
    await waitFor("delivery after restart", () => (receiver?.received.length ?? 0) >= 2, 30_000);
    const [first, second] = receiver.received;
    expect(second?.headers["webhook-id"]).toBe(first?.headers["webhook-id"]);
    const event = new Webhook(ep.json.secret).verify(
      second?.body ?? "",
      second?.headers as Record<string, string>,
    ) as { type: string; data: { object: { accountId: string } } };
    expect(event.type).toBe("transfer.created");
    expect(event.data.object.accountId).toBe(user.account.id);

    // The log shows the successful attempt (the killed one never finished).
    const token = (await loginAs(user.email, user.password, base)).accessToken;
    const attempts = await waitFor("recorded attempt", async () => {
      const res = await call<{ data: { outcome: string; attempt: number }[] }>(
        "GET",
        `/v1/webhook-endpoints/${ep.json.id}/deliveries`,
        { base, token },
      );
      return res.json.data.length > 0 ? res.json.data : undefined;
    });
    expect(attempts[0]).toMatchObject({ outcome: "succeeded", attempt: 2 });

    // A refused payment (more than the balance) is cancelled: no event, no delivery.
    const other = await registerUser({ base });
    const refused = await pay(
      { token, base },
      {
        sourceAccountId: user.account.id,
        destinationAccountId: other.account.id,
        amount: 10_000,
        currency: "USD",
      },
    );
    expect(refused.status).toBe(402);
    const events = await call<{ data: { type: string }[] }>("GET", "/v1/events", { base, token });
    expect(events.json.data.map((e) => e.type)).toEqual(["transfer.created"]);
  }, 240_000);
});
