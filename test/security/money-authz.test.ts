import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { systemAccountId } from "../../lib/ledger/model.ts";
import { adminToken, type RegisteredUser, registerUser, tokenWithRoles } from "../support/auth.ts";
import { type ApiResponse, call } from "../support/http.ts";
import { balanceOf, fundAndPay, pay } from "../support/ledger.ts";

/**
 * Authorization of the money routes (API.md "Roles"): what the caller may not see is a
 * 404 exactly like what does not exist; a known action its role may not take is a 403.
 */
const idem = () => ({ "Idempotency-Key": randomUUID() });
const code = (r: ApiResponse) => (r.json as { code?: string } | undefined)?.code;

describe("money authorization", () => {
  let admin: string;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let mallory: RegisteredUser;
  let auditor: RegisteredUser;
  let merchant: RegisteredUser;
  let paymentId: string;
  const missingAccount = "acc_01J9Z8Q4N7V3XKQ2T5W6Y8B0CD";

  beforeAll(async () => {
    admin = await adminToken();
    [alice, bob, mallory, auditor, merchant] = await Promise.all([
      registerUser(),
      registerUser(),
      registerUser(),
      tokenWithRoles(["auditor"]),
      tokenWithRoles(["customer", "merchant"]),
    ]);
    const p = await fundAndPay(admin, alice, bob.account.id, 1_000, 10_000);
    paymentId = p.id;
  });

  it("a user never reads another's account, entries, payments or refunds (404 like missing)", async () => {
    const t = mallory.accessToken;
    const reads = [
      `/v1/accounts/${alice.account.id}`,
      `/v1/accounts/${alice.account.id}/entries`,
      `/v1/payments?accountId=${alice.account.id}`,
      `/v1/payments/${paymentId}`,
      `/v1/payments/${paymentId}/refunds`,
    ];
    for (const path of reads) {
      const res = await call("GET", path, { token: t });
      expect(res.status, path).toBe(404);
      expect(code(res)).toBe("not_found");
    }
    const mine = await call("GET", `/v1/accounts/${missingAccount}`, { token: t });
    const theirs = await call("GET", `/v1/accounts/${alice.account.id}`, { token: t });
    const strip = (r: ApiResponse) => ({ ...(r.json as object), requestId: "" });
    expect(strip(theirs)).toEqual(strip(mine));
    const others = await call("GET", `/v1/accounts?ownerId=${alice.user.id}`, { token: t });
    expect(others.status).toBe(403);
  });

  it("a user never moves another's money (404), and nothing moves", async () => {
    const t = mallory.accessToken;
    const steal = await pay(
      { token: t },
      {
        sourceAccountId: alice.account.id,
        destinationAccountId: mallory.account.id,
        amount: 500,
        currency: "USD",
      },
    );
    expect(steal.status).toBe(404);
    const withdraw = await call("POST", `/v1/accounts/${alice.account.id}/withdrawals`, {
      token: t,
      body: { amount: 500, reference: "x" },
      headers: idem(),
    });
    expect(withdraw.status).toBe(404);
    expect(await balanceOf({ token: alice.accessToken }, alice.account.id)).toBe(9_000);
    expect(await balanceOf({ token: t }, mallory.account.id)).toBe(0);
  });

  it("a merchant cannot refund a payment it did not receive (404 unseen, 403 as payer)", async () => {
    const unseen = await call("POST", `/v1/payments/${paymentId}/refunds`, {
      token: merchant.accessToken,
      body: { amount: 10 },
      headers: idem(),
    });
    expect(unseen.status).toBe(404);
    // The merchant pays bob, then tries to refund its own outgoing payment.
    const out = await fundAndPay(admin, merchant, bob.account.id, 50, 100);
    const own = await call("POST", `/v1/payments/${out.id}/refunds`, {
      token: merchant.accessToken,
      body: {},
      headers: idem(),
    });
    expect(own.status).toBe(403);
    expect(code(own)).toBe("forbidden");
  });

  it("an auditor reads everything and can never write (403)", async () => {
    const t = auditor.accessToken;
    expect((await call("GET", `/v1/accounts/${alice.account.id}`, { token: t })).status).toBe(200);
    expect((await call("GET", `/v1/payments/${paymentId}`, { token: t })).status).toBe(200);
    expect((await call("GET", `/v1/accounts?ownerId=${alice.user.id}`, { token: t })).status).toBe(
      200,
    );
    const writes: [string, string, unknown][] = [
      ["POST", "/v1/accounts", { currency: "EUR" }],
      [
        "POST",
        "/v1/payments",
        {
          sourceAccountId: alice.account.id,
          destinationAccountId: bob.account.id,
          amount: 1,
          currency: "USD",
        },
      ],
      ["POST", `/v1/accounts/${alice.account.id}/deposits`, { amount: 1, reference: "x" }],
      ["POST", `/v1/accounts/${alice.account.id}/withdrawals`, { amount: 1, reference: "x" }],
      ["POST", `/v1/payments/${paymentId}/refunds`, { amount: 1 }],
      ["PATCH", `/v1/admin/accounts/${alice.account.id}`, { status: "frozen" }],
    ];
    for (const [method, path, body] of writes) {
      const res = await call(method, path, { token: t, body, headers: idem() });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(code(res)).toBe("forbidden");
    }
    expect(await balanceOf({ token: t }, alice.account.id)).toBe(9_000);
  });

  it("a customer cannot deposit, refund or freeze (403)", async () => {
    const t = bob.accessToken;
    const tries: [string, string, unknown][] = [
      ["POST", `/v1/accounts/${bob.account.id}/deposits`, { amount: 1_000, reference: "x" }],
      ["POST", `/v1/payments/${paymentId}/refunds`, { amount: 10 }],
      ["PATCH", `/v1/admin/accounts/${bob.account.id}`, { status: "frozen" }],
    ];
    for (const [method, path, body] of tries) {
      const res = await call(method, path, { token: t, body, headers: idem() });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
  });

  it("an admin cannot pay out of a customer's account (403)", async () => {
    const res = await call("POST", "/v1/payments", {
      token: admin,
      body: {
        sourceAccountId: alice.account.id,
        destinationAccountId: bob.account.id,
        amount: 1,
        currency: "USD",
      },
      headers: idem(),
    });
    expect(res.status).toBe(403);
  });

  // Payments read no account before their transaction: the source's debit is
  // conditioned on belonging to the caller, and the refusal is explained from the
  // failed conditions. These hold that to the same answers a read gave.
  it("paying from another's, a system or a missing account is one 404; the key is released", async () => {
    const t = mallory.accessToken;
    const from = (sourceAccountId: string, key: string = randomUUID()) =>
      pay(
        { token: t, key },
        { sourceAccountId, destinationAccountId: mallory.account.id, amount: 5, currency: "USD" },
      );
    const strip = (r: ApiResponse) => ({ ...(r.json as object), requestId: "" });
    const key = randomUUID();
    const theirs = await from(alice.account.id, key);
    expect(theirs.status).toBe(404);
    expect((theirs.json as { detail?: string }).detail).toBe("No such source account.");
    for (const other of [missingAccount, systemAccountId("funding", "USD")]) {
      const res = await from(other);
      expect(res.status, other).toBe(404);
      expect(strip(res)).toEqual(strip(theirs));
    }
    // A 404 releases the key: the same request runs again, it is not a replay.
    const again = await from(alice.account.id, key);
    expect(again.status).toBe(404);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    expect(await balanceOf({ token: alice.accessToken }, alice.account.id)).toBe(9_000);
    expect(await balanceOf({ token: t }, mallory.account.id)).toBe(0);
  });

  it("a missing or system destination is a 404 for the destination, and nothing moves", async () => {
    const t = alice.accessToken;
    for (const destinationAccountId of [missingAccount, systemAccountId("payout", "USD")]) {
      const res = await pay(
        { token: t },
        { sourceAccountId: alice.account.id, destinationAccountId, amount: 5, currency: "USD" },
      );
      expect(res.status, destinationAccountId).toBe(404);
      expect((res.json as { detail?: string }).detail).toBe("No such destination account.");
    }
    expect(await balanceOf({ token: t }, alice.account.id)).toBe(9_000);
  });

  it("a customer who is also an admin pays only from their own account (403), nothing moves", async () => {
    const both = await tokenWithRoles(["customer", "admin"]);
    const res = await pay(
      { token: both.accessToken },
      {
        sourceAccountId: alice.account.id,
        destinationAccountId: both.account.id,
        amount: 5,
        currency: "USD",
      },
    );
    expect(res.status).toBe(403);
    expect(code(res)).toBe("forbidden");
    const missing = await pay(
      { token: both.accessToken },
      {
        sourceAccountId: missingAccount,
        destinationAccountId: both.account.id,
        amount: 5,
        currency: "USD",
      },
    );
    expect(missing.status).toBe(404);
    expect(await balanceOf({ token: admin }, alice.account.id)).toBe(9_000);
    expect(await balanceOf({ token: admin }, both.account.id)).toBe(0);
  });

  it("cursors are tamper-proof and bound to their list", async () => {
    const page = await call<{ nextCursor: string | null }>(
      "GET",
      `/v1/accounts/${alice.account.id}/entries?limit=1`,
      { token: alice.accessToken },
    );
    const cursor = page.json.nextCursor;
    expect(cursor).toBeTypeOf("string");
    const [payload, sig] = String(cursor).split(".");
    const forged = Buffer.from(
      JSON.stringify({ pk: `ACC#${bob.account.id}`, sk: "ENT#~" }),
    ).toString("base64url");
    for (const bad of [`${forged}.${sig}`, `${payload}.${sig}x`, "garbage", `${payload}`]) {
      const res = await call(
        "GET",
        `/v1/accounts/${alice.account.id}/entries?cursor=${encodeURIComponent(bad)}`,
        { token: alice.accessToken },
      );
      expect(res.status).toBe(400);
    }
    // Alice's cursor on Bob's entries (as an admin, who may read both) is refused too.
    const foreign = await call(
      "GET",
      `/v1/accounts/${bob.account.id}/entries?cursor=${encodeURIComponent(String(cursor))}`,
      { token: admin },
    );
    expect(foreign.status).toBe(400);
  });
});
