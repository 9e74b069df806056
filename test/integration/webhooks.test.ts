import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitForAuditLog } from "../support/audit.ts";
import { adminToken, type RegisteredUser, registerUser, tokenWithRoles } from "../support/auth.ts";
import { call } from "../support/http.ts";
import { deposit, expectOk, pay, refund } from "../support/ledger.ts";
import { type SpawnedStack, spawnStack } from "../support/spawn-stack.ts";
import { type Receiver, startReceiver, waitFor } from "../support/webhooks.ts";

/**
 * Events and signed webhooks (API.md, issue 14) on a stack of its own with a short
 * retry schedule, retries coming through the retry queue (the sweep held back): events
 * listed per owner, deliveries to loopback receivers verified with the standardwebhooks
 * package, retries, rotation, isolation.
 */

interface Endpoint {
  id: string;
  url: string;
  enabledEvents: string[];
  status: string;
  secret: string;
}
interface Attempt {
  eventId: string;
  attempt: number;
  outcome: string;
  responseStatus: number | null;
  nextAttemptAt: string | null;
}
interface Event {
  id: string;
  type: string;
  createdAt: string;
  data: { object: { id: string } };
}

let stack: SpawnedStack;
let base: string;
let admin: string;
let alice: RegisteredUser;
let bob: RegisteredUser;
let carol: RegisteredUser;
const receivers: Receiver[] = [];

const register = async (token: string, url: string, enabledEvents: string[] = ["*"]) => {
  const res = await call<Endpoint>("POST", "/v1/webhook-endpoints", {
    base,
    token,
    body: { url, enabledEvents },
  });
  expectOk("register endpoint", res);
  return res.json;
};
/** An admin deposit of `fund` into the payer's account, then a USD payment to `to`. */
const fundAndPay = async (
  adminToken: string,
  payer: RegisteredUser,
  to: string,
  amount: number,
  fund: number,
) => {
  expectOk("fund", await deposit({ token: adminToken, base }, payer.account.id, fund));
  const res = await pay(
    { token: payer.accessToken, base },
    { sourceAccountId: payer.account.id, destinationAccountId: to, amount, currency: "USD" },
  );
  return expectOk("pay", res).json as { id: string };
};
const receiver = async (plan: (number | "hang")[] = []) => {
  const r = await startReceiver(plan);
  receivers.push(r);
  return r;
};
const attemptsOf = async (token: string, endpointId: string) =>
  (
    await call<{ data: Attempt[] }>("GET", `/v1/webhook-endpoints/${endpointId}/deliveries`, {
      base,
      token,
    })
  ).json.data;

beforeAll(async () => {
  stack = await spawnStack({
    MICROPAY_WEBHOOK_RETRY_SCHEDULE: "1,1",
    // The safety-net sweep takes only deliveries overdue by an hour: every retry below
    // comes through the retry queue (the local in-process one, the retry Lambda's handler).
    MICROPAY_WEBHOOK_SWEEP_SECONDS: "3600",
    // "Failing for 3 days in a row" compressed to 20 s (the other tests' receivers fail
    // for a second or two at most).
    MICROPAY_WEBHOOK_DISABLE_AFTER_SECONDS: "20",
    MICROPAY_WEBHOOK_TIMEOUT_MS: "2000",
    MICROPAY_WEBHOOK_CLAIM_SECONDS: "3",
  });
  base = stack.info.apiUrl;
  admin = await adminToken(base);
  [alice, bob, carol] = await Promise.all([
    registerUser({ base }),
    registerUser({ base }),
    registerUser({ base }),
  ]);
});

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await stack?.stop();
});

describe("webhook deliveries", () => {
  it("a payment reaches the payee's loopback receiver, signed so standardwebhooks verifies it", async () => {
    const r = await receiver();
    const ep = await register(bob.accessToken, r.url, ["payment.succeeded"]);
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const payment = await fundAndPay(admin, alice, bob.account.id, 700, 5_000);
    const got = await waitFor("delivery", () =>
      r.received.find((x) => x.body.includes(payment.id)),
    );
    const verified = new Webhook(ep.secret).verify(
      got.body,
      got.headers as Record<string, string>,
    ) as Event;
    expect(verified.type).toBe("payment.succeeded");
    expect(verified.data.object.id).toBe(payment.id);
    expect(got.headers["webhook-id"]).toBe(verified.id);
    // The secret is never shown again.
    const again = await call<Record<string, unknown>>("GET", `/v1/webhook-endpoints/${ep.id}`, {
      base,
      token: bob.accessToken,
    });
    expect(again.status).toBe(200);
    expect(again.json.secret).toBeUndefined();
    // The change is audited by ids; the secret is in no audit record.
    const records = await waitForAuditLog(stack.info.auditLog, (rs) =>
      rs.some((r) => r.action === "webhook_endpoint.created" && r.targets.endpointId === ep.id),
    );
    expect(
      records.find((r) => r.action === "webhook_endpoint.created" && r.targets.endpointId === ep.id)
        ?.targets,
    ).toEqual({ endpointId: ep.id, ownerId: bob.user.id });
    expect(readFileSync(stack.info.auditLog, "utf8")).not.toContain(ep.secret.slice(6));
  });

  it("a receiver failing twice then answering 200 gets the same webhook-id three times; three attempts are listed", async () => {
    const r = await receiver([500, 500]);
    const ep = await register(alice.accessToken, r.url, ["transfer.created"]);
    expectOk("deposit", await deposit({ token: admin, base }, alice.account.id, 1_000));
    await waitFor("three deliveries", () => r.received.length >= 3, 30_000);
    const ids = new Set(r.received.map((x) => x.headers["webhook-id"]));
    expect(ids.size).toBe(1);
    for (const x of r.received) {
      expect(() =>
        new Webhook(ep.secret).verify(x.body, x.headers as Record<string, string>),
      ).not.toThrow();
    }
    const attempts = await waitFor("three recorded attempts", async () => {
      const list = await attemptsOf(alice.accessToken, ep.id);
      return list.length >= 3 ? list : undefined;
    });
    expect(attempts.map((a) => [a.attempt, a.outcome, a.responseStatus])).toEqual([
      [3, "succeeded", 200],
      [2, "failed", 500],
      [1, "failed", 500],
    ]);
    expect(attempts[0]?.nextAttemptAt).toBeNull();
  });

  it("an endpoint failing with no success for the disable period is disabled, says why, and is delivered to again once enabled", async () => {
    const dave = await registerUser({ base });
    const r = await receiver(Array.from({ length: 20 }, () => 503));
    const ep = await register(dave.accessToken, r.url, ["transfer.created"]);
    expectOk("deposit", await deposit({ token: admin, base }, dave.account.id, 10));
    await waitFor("the first event's three failed attempts", () => r.received.length >= 3);
    // Every attempt failed; a failure once the streak is 20 s old disables the endpoint.
    const firstFailure = Date.now();
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, firstFailure + 21_000 - Date.now())),
    );
    expectOk("deposit", await deposit({ token: admin, base }, dave.account.id, 20));
    const disabled = await waitFor(
      "disabled",
      async () => {
        const res = await call<Endpoint & { disabledReason: string | null }>(
          "GET",
          `/v1/webhook-endpoints/${ep.id}`,
          { base, token: dave.accessToken },
        );
        return res.json.status === "disabled" ? res.json : undefined;
      },
      30_000,
    );
    expect(disabled.disabledReason).toMatch(/failed since \d{4}-\d\d-\d\dT/);
    // Enabled again (clearing the reason), with the receiver now answering 200: the next
    // event is delivered.
    r.plan = [];
    const enabled = await call<Endpoint & { disabledReason: string | null }>(
      "PATCH",
      `/v1/webhook-endpoints/${ep.id}`,
      { base, token: dave.accessToken, body: { status: "enabled" } },
    );
    expectOk("enable", enabled, 200);
    expect(enabled.json).toMatchObject({ status: "enabled", disabledReason: null });
    const seen = r.received.length;
    expectOk("deposit", await deposit({ token: admin, base }, dave.account.id, 40));
    await waitFor("a delivery after enabling", () => r.received.length > seen);
    const attempts = await waitFor("its successful attempt", async () => {
      const list = await attemptsOf(dave.accessToken, ep.id);
      return list[0]?.outcome === "succeeded" ? list : undefined;
    });
    expect(attempts.filter((a) => a.outcome === "failed").length).toBeGreaterThanOrEqual(4);
  });

  it("after a rotation each delivery carries two signatures, each verifying with its own secret", async () => {
    const r = await receiver();
    const ep = await register(carol.accessToken, r.url, ["transfer.created"]);
    const rotated = await call<Endpoint>("POST", `/v1/webhook-endpoints/${ep.id}/rotate-secret`, {
      base,
      token: carol.accessToken,
    });
    expectOk("rotate", rotated, 200);
    expect(rotated.json.secret).not.toBe(ep.secret);
    expectOk("deposit", await deposit({ token: admin, base }, carol.account.id, 1_000));
    const got = await waitFor("delivery", () => r.received[0]);
    const sigs = String(got.headers["webhook-signature"]).split(" ");
    expect(sigs).toHaveLength(2);
    for (const secret of [ep.secret, rotated.json.secret]) {
      expect(() =>
        new Webhook(secret).verify(got.body, got.headers as Record<string, string>),
      ).not.toThrow();
    }
  });

  it("an endpoint receives only its owner's events, of its enabled types", async () => {
    const [dave, erin] = await Promise.all([registerUser({ base }), registerUser({ base })]);
    const daveAll = await receiver();
    const daveRefunds = await receiver();
    const erinAll = await receiver();
    await register(dave.accessToken, daveAll.url, ["*"]);
    await register(dave.accessToken, daveRefunds.url, ["refund.succeeded"]);
    await register(erin.accessToken, erinAll.url, ["*"]);
    await fundAndPay(admin, dave, alice.account.id, 100, 1_000);
    // dave: transfer.created (deposit) and payment.succeeded, in either order.
    await waitFor("dave's two events", () => daveAll.received.length >= 2);
    const types = daveAll.received.map((x) => (JSON.parse(x.body) as Event).type).sort();
    expect(types).toEqual(["payment.succeeded", "transfer.created"]);
    // A later event for erin proves her endpoint is served; dave's refunds-only saw nothing.
    expectOk("erin deposit", await deposit({ token: admin, base }, erin.account.id, 10));
    await waitFor("erin's event", () => erinAll.received.length >= 1);
    expect(erinAll.received.map((x) => (JSON.parse(x.body) as Event).data.object.id)).toHaveLength(
      1,
    );
    expect(erinAll.received.some((x) => x.body.includes(dave.account.id))).toBe(false);
    expect(daveRefunds.received).toHaveLength(0);
  });

  it("refuses URLs outside the rules with 400 invalid_webhook_url", async () => {
    for (const url of [
      "http://example.com/hook",
      "https://10.0.0.5/hook",
      "https://169.254.169.254/latest/meta-data",
      "https://[fd00:ec2::254]/",
      "http://192.168.1.10:8080/",
      "https://user:pw@127.0.0.1:8443/",
    ]) {
      const res = await call<{ code: string }>("POST", "/v1/webhook-endpoints", {
        base,
        token: alice.accessToken,
        body: { url, enabledEvents: ["*"] },
      });
      expect([url, res.status, res.json.code]).toEqual([url, 400, "invalid_webhook_url"]);
    }
  });

  it("another owner's endpoint is a 404 for every verb", async () => {
    const r = await receiver();
    const ep = await register(alice.accessToken, r.url);
    for (const [method, path] of [
      ["GET", `/v1/webhook-endpoints/${ep.id}`],
      ["PATCH", `/v1/webhook-endpoints/${ep.id}`],
      ["DELETE", `/v1/webhook-endpoints/${ep.id}`],
      ["POST", `/v1/webhook-endpoints/${ep.id}/rotate-secret`],
      ["GET", `/v1/webhook-endpoints/${ep.id}/deliveries`],
    ] as const) {
      const res = await call(method, path, {
        base,
        token: bob.accessToken,
        ...(method === "PATCH" ? { body: { status: "disabled" } } : {}),
      });
      expect([method, path, res.status]).toEqual([method, path, 404]);
    }
    const list = await call<{ data: Endpoint[] }>("GET", "/v1/webhook-endpoints", {
      base,
      token: bob.accessToken,
    });
    expect(list.json.data.some((e) => e.id === ep.id)).toBe(false);
  });
});

describe("GET /v1/events", () => {
  it("shows events about the caller's accounts (either side), staff see all, others get 404", async () => {
    const [payer, payee, outsider] = await Promise.all([
      registerUser({ base }),
      tokenWithRoles(["merchant"], { base }),
      registerUser({ base }),
    ]);
    const payment = await fundAndPay(admin, payer, payee.account.id, 300, 1_000);
    expectOk(
      "refund",
      await refund({ token: payee.accessToken, base }, payment.id, { amount: 100 }),
      201,
    ).json;
    const list = async (token: string, query = "") =>
      (
        await call<{ data: Event[]; hasMore: boolean; nextCursor: string | null }>(
          "GET",
          `/v1/events${query}`,
          { base, token },
        )
      ).json;
    const payerEvents = await list(payer.accessToken);
    expect(payerEvents.data.map((e) => e.type)).toEqual([
      "refund.succeeded",
      "payment.succeeded",
      "transfer.created",
    ]);
    const payeeEvents = await list(payee.accessToken);
    expect(payeeEvents.data.map((e) => e.type)).toEqual(["refund.succeeded", "payment.succeeded"]);
    expect((await list(outsider.accessToken)).data).toEqual([]);
    // Paging with a type filter.
    const first = await list(payer.accessToken, "?limit=1");
    expect(first.hasMore).toBe(true);
    const second = await list(
      payer.accessToken,
      `?limit=1&cursor=${encodeURIComponent(first.nextCursor ?? "")}`,
    );
    expect(second.data[0]?.type).toBe("payment.succeeded");
    const refunds = await list(payer.accessToken, "?type=refund.succeeded");
    expect(refunds.data.map((e) => e.type)).toEqual(["refund.succeeded"]);
    // By id: both sides and staff; 404 for anyone else.
    const eventId = payeeEvents.data[1]?.id as string;
    for (const token of [payer.accessToken, payee.accessToken, admin]) {
      expect((await call("GET", `/v1/events/${eventId}`, { base, token })).status).toBe(200);
    }
    expect(
      (await call("GET", `/v1/events/${eventId}`, { base, token: outsider.accessToken })).status,
    ).toBe(404);
    // Staff list: every event, newest first, the payment among them.
    const all = await list(admin, "?type=payment.succeeded&limit=100");
    expect(all.data.some((e) => e.data.object.id === payment.id)).toBe(true);
  });
});
