import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, type RegisteredUser, registerUser, stackTable } from "../support/auth.ts";
import { type ApiResponse, call } from "../support/http.ts";
import { deposit, expectOk } from "../support/ledger.ts";
import { type SpawnedStack, spawnStack } from "../support/spawn-stack.ts";

/**
 * Holds under races (issue 13), against the real local stack: exactly one of capture,
 * cancel and expiry settles a hold, the others answer 409 payment_not_capturable, and
 * capture plus release always equals the hold; parallel holds never take more than
 * the available funds. Capture against expiry runs on a stack of its own with
 * MICROPAY_HOLD_TTL_SECONDS=1 and the hold sweeper every second.
 */

interface Payment {
  id: string;
  status: string;
  amountCaptured: number;
  amountCapturable: number;
  captureBefore?: string;
  cancellationReason?: string;
}
interface Account {
  balance: number;
  held: number;
  available: number;
}

const opts = (token: string, base?: string, body?: unknown) => ({
  token,
  headers: { "Idempotency-Key": randomUUID() },
  ...(body !== undefined ? { body } : {}),
  ...(base ? { base } : {}),
});
const hold = (who: RegisteredUser, to: string, amount: number, base?: string) =>
  call<Payment>(
    "POST",
    "/v1/payments",
    opts(who.accessToken, base, {
      sourceAccountId: who.account.id,
      destinationAccountId: to,
      amount,
      currency: "USD",
      capture: false,
    }),
  );
const capture = (token: string, id: string, base?: string, amount?: number) =>
  call<Payment>("POST", `/v1/payments/${id}/capture`, opts(token, base, amount ? { amount } : {}));
const cancel = (token: string, id: string, base?: string) =>
  call<Payment>("POST", `/v1/payments/${id}/cancel`, opts(token, base));
const accountOf = async (who: RegisteredUser, base?: string) =>
  (
    await call<Account>("GET", `/v1/accounts/${who.account.id}`, {
      token: who.accessToken,
      ...(base ? { base } : {}),
    })
  ).json;
const codeOf = (r: ApiResponse) => (r.json as { code?: string }).code;
const outcomes = (rs: ApiResponse[]) => rs.map((r) => `${r.status} ${codeOf(r) ?? ""}`.trim());

async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  ms = 30_000,
): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("holds racing on the shared stack", () => {
  let admin: string;
  let payer: RegisteredUser;
  let shop: RegisteredUser;

  beforeAll(async () => {
    admin = await adminToken();
    [payer, shop] = await Promise.all([registerUser(), registerUser()]);
    expectOk("fund", await deposit({ token: admin }, payer.account.id, 10_000));
  }, 120_000);

  it("10 parallel captures of one hold: one wins, the others answer 409, money moves once", async () => {
    const before = await accountOf(payer);
    const placed = expectOk("hold", await hold(payer, shop.account.id, 1_000)).json as Payment;
    const results = await Promise.all(
      Array.from({ length: 10 }, () => capture(admin, placed.id, undefined, 600)),
    );
    const o = outcomes(results);
    expect(o.filter((x) => x === "200")).toHaveLength(1);
    // The losers: 409, or (a conflict that outlasted the bounded retries) 503, never a second effect.
    expect(
      o.filter(
        (x) => x !== "200" && x !== "409 payment_not_capturable" && x !== "503 service_unavailable",
      ),
    ).toEqual([]);
    const after = await accountOf(payer);
    expect(after).toMatchObject({
      balance: before.balance - 600,
      held: before.held,
      available: before.available - 600,
    });
  });

  it("capture against cancel: exactly one wins; capture plus release equals the hold", async () => {
    for (let round = 0; round < 5; round++) {
      const before = await accountOf(payer);
      const placed = expectOk("hold", await hold(payer, shop.account.id, 500)).json as Payment;
      const [c, x] = await Promise.all([
        capture(admin, placed.id, undefined, 200),
        cancel(payer.accessToken, placed.id),
      ]);
      const o = outcomes([c, x]);
      expect(
        o.filter((s) => s === "200"),
        o.join(", "),
      ).toHaveLength(1);
      expect(
        o.filter((s) => s === "409 payment_not_capturable"),
        o.join(", "),
      ).toHaveLength(1);
      const captured = c.status === 200 ? 200 : 0;
      const after = await accountOf(payer);
      expect(after).toEqual({
        ...after,
        balance: before.balance - captured,
        held: before.held,
        available: before.available - captured,
      });
      const p = await call<Payment>("GET", `/v1/payments/${placed.id}`, {
        token: payer.accessToken,
      });
      expect(p.json.status).toBe(captured ? "succeeded" : "canceled");
    }
  });

  it("20 parallel holds against one balance: no more succeed than the funds allow", async () => {
    const [p2, m2] = await Promise.all([registerUser(), registerUser()]);
    expectOk("fund", await deposit({ token: admin }, p2.account.id, 1_000));
    const results = await Promise.all(
      Array.from({ length: 20 }, () => hold(p2, m2.account.id, 300)),
    );
    const o = outcomes(results);
    const won = o.filter((x) => x === "201").length;
    expect(won).toBeGreaterThan(0);
    expect(won).toBeLessThanOrEqual(3);
    expect(
      o.filter(
        (x) => x !== "201" && x !== "402 insufficient_funds" && x !== "503 service_unavailable",
      ),
    ).toEqual([]);
    expect(await accountOf(p2)).toMatchObject({
      balance: 1_000,
      held: 300 * won,
      available: 1_000 - 300 * won,
    });
  });
});

describe("capture against expiry (MICROPAY_HOLD_TTL_SECONDS=1, sweeper every second)", () => {
  let stack: SpawnedStack;
  let base: string;
  let admin: string;
  let payer: RegisteredUser;
  let shop: RegisteredUser;

  beforeAll(async () => {
    stack = await spawnStack({ MICROPAY_HOLD_TTL_SECONDS: "1", MICROPAY_HOLD_SWEEP_SECONDS: "1" });
    base = stack.info.apiUrl;
    admin = await adminToken(base);
    [payer, shop] = await Promise.all([registerUser({ base }), registerUser({ base })]);
    expectOk("fund", await deposit({ base, token: admin }, payer.account.id, 10_000));
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("each hold is captured or expired, never both; the sweeper releases the rest for the books", async () => {
    const table = stackTable(stack.info);
    const holds = await Promise.all(
      Array.from({ length: 6 }, async () =>
        expectOk("hold", await hold(payer, shop.account.id, 100, base)),
      ),
    );
    // Fire each capture around its hold's deadline: some land before, some after.
    const results = await Promise.all(
      holds.map(async (h, i) => {
        const p = h.json as Payment;
        const at = Date.parse(p.captureBefore ?? "") - 150 + i * 60;
        await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
        return { id: p.id, res: await capture(admin, p.id, base) };
      }),
    );
    let captured = 0;
    for (const { id, res } of results) {
      expect([200, 409]).toContain(res.status);
      const got = await call<Payment>("GET", `/v1/payments/${id}`, {
        base,
        token: payer.accessToken,
      });
      if (res.status === 200) {
        captured += 100;
        expect(got.json).toMatchObject({ status: "succeeded", amountCaptured: 100 });
      } else {
        expect(codeOf(res)).toBe("payment_not_capturable");
        expect(got.json).toMatchObject({ status: "canceled", cancellationReason: "expired" });
      }
    }
    // The books: the sweeper (every second) releases every expired hold.
    const settled = await waitFor(async () => {
      const item = await table.get({ pk: `ACC#${payer.account.id}`, sk: "ACCOUNT" });
      return item && item.held === 0 ? item : undefined;
    });
    expect(settled).toMatchObject({
      balance: 10_000 - captured,
      held: 0,
      available: 10_000 - captured,
    });
    for (const { id, res } of results) {
      const item = await table.get({ pk: `PAY#${id}`, sk: "PAYMENT" });
      expect(item?.captureState).toBe(res.status === 200 ? "captured" : "canceled");
    }
  });
});
