import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { adminToken, registerUser, tokenWithRoles } from "../support/auth.ts";
import { call } from "../support/http.ts";
import { balanceOf, deposit, expectOk, fundAndPay, pay, refund } from "../support/ledger.ts";

/** Targeted races on the shared stack (issue 4): the ledger's conditions under contention. */
describe("ledger races", () => {
  let admin: string;
  beforeAll(async () => {
    admin = await adminToken();
  });

  it("50 parallel payments of 30 from a balance of 100: exactly 3 succeed", async () => {
    const [a, b] = await Promise.all([registerUser(), registerUser()]);
    expectOk("fund", await deposit({ token: admin }, a.account.id, 100));
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        pay(
          { token: a.accessToken },
          {
            sourceAccountId: a.account.id,
            destinationAccountId: b.account.id,
            amount: 30,
            currency: "USD",
          },
        ),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 402)).toHaveLength(47);
    expect(await balanceOf({ token: a.accessToken }, a.account.id)).toBe(10);
    expect(await balanceOf({ token: b.accessToken }, b.account.id)).toBe(90);
  });

  it("10 parallel identical requests with one key: one effect, identical bodies", async () => {
    const [a, b] = await Promise.all([registerUser(), registerUser()]);
    expectOk("fund", await deposit({ token: admin }, a.account.id, 1_000));
    const key = randomUUID();
    const body = {
      sourceAccountId: a.account.id,
      destinationAccountId: b.account.id,
      amount: 70,
      currency: "USD",
    };
    const send = () => pay({ token: a.accessToken, key }, body);
    const finals = await Promise.all(Array.from({ length: 10 }, send));
    // API.md: a retry while the first is still running never makes a second effect.
    // The record is written in the movement's own transaction, so every duplicate's
    // transaction fails on it and replays the one result.
    expect(finals.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(finals.filter((r) => r.headers.get("idempotent-replayed") !== "true")).toHaveLength(1);
    expect(new Set(finals.map((r) => r.text)).size).toBe(1);
    expect(await balanceOf({ token: a.accessToken }, a.account.id)).toBe(930);
    const payments = await call<{ data: unknown[] }>(
      "GET",
      `/v1/payments?accountId=${a.account.id}`,
      { token: a.accessToken },
    );
    expect(payments.json.data).toHaveLength(1);
  });

  it("parallel refunds that together exceed the payment: never more than the payment", async () => {
    const [a, m] = await Promise.all([registerUser(), tokenWithRoles(["customer", "merchant"])]);
    const p = await fundAndPay(admin, a, m.account.id, 100, 100);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        refund({ token: i % 2 === 0 ? m.accessToken : admin }, p.id, { amount: 30 }),
      ),
    );
    const ok = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status !== 201);
    expect(ok).toHaveLength(3);
    for (const r of refused) {
      expect(r.status).toBe(409);
      expect((r.json as { code: string }).code).toBe("refund_exceeds_payment");
    }
    const after = await call<{ amountRefunded: number; status: string }>(
      "GET",
      `/v1/payments/${p.id}`,
      { token: a.accessToken },
    );
    expect(after.json).toMatchObject({ amountRefunded: 90, status: "partially_refunded" });
    expect(await balanceOf({ token: a.accessToken }, a.account.id)).toBe(90);
    expect(await balanceOf({ token: m.accessToken }, m.account.id)).toBe(10);
  });
});
