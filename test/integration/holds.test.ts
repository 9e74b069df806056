import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, type RegisteredUser, registerUser, tokenWithRoles } from "../support/auth.ts";
import { type ApiResponse, call } from "../support/http.ts";
import { deposit, expectOk, pay, refund, withdraw } from "../support/ledger.ts";
import { type SpawnedStack, spawnStack } from "../support/spawn-stack.ts";

/**
 * Holds over HTTP (API.md "Holds: authorize now, capture later"): a hold and its
 * capture, a partial capture, a cancel, the idempotency of both, and, on a stack of its
 * own with MICROPAY_HOLD_TTL_SECONDS=1, a hold expiring with no sweeper help needed
 * (waited for by polling the payment, never by a timed assertion).
 */

interface Payment {
  id: string;
  status: string;
  amount: number;
  amountCaptured: number;
  amountCapturable: number;
  amountRefunded: number;
  captureBefore?: string;
  cancellationReason?: string;
  transferId?: string;
}
interface Account {
  balance: number;
  held: number;
  available: number;
}

let admin: string;
let payer: RegisteredUser;
let shop: RegisteredUser;

const key = () => ({ "Idempotency-Key": randomUUID() });
const hold = (who: RegisteredUser, to: string, amount: number, base?: string) =>
  call<Payment>("POST", "/v1/payments", {
    token: who.accessToken,
    headers: key(),
    body: {
      sourceAccountId: who.account.id,
      destinationAccountId: to,
      amount,
      currency: "USD",
      capture: false,
    },
    ...(base ? { base } : {}),
  });
const capture = (token: string, id: string, body: { amount?: number } = {}, k = randomUUID()) =>
  call<Payment>("POST", `/v1/payments/${id}/capture`, {
    token,
    headers: { "Idempotency-Key": k },
    body,
  });
const cancel = (token: string, id: string, base?: string) =>
  call<Payment>("POST", `/v1/payments/${id}/cancel`, {
    token,
    headers: key(),
    ...(base ? { base } : {}),
  });
const account = async (who: RegisteredUser, base?: string) =>
  (
    await call<Account>("GET", `/v1/accounts/${who.account.id}`, {
      token: who.accessToken,
      ...(base ? { base } : {}),
    })
  ).json;
/** Polls an async probe until it gives a value (or 20 s pass: then the last undefined). */
async function waitFor<T>(probe: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}
const money = (a: Account) => ({ balance: a.balance, held: a.held, available: a.available });

beforeAll(async () => {
  admin = await adminToken();
  [payer, shop] = await Promise.all([registerUser(), tokenWithRoles(["merchant"])]);
  expectOk("fund", await deposit({ token: admin }, payer.account.id, 10_000));
}, 120_000);

describe("a hold and its capture", () => {
  it("holds funds without moving them, then captures them as one transfer", async () => {
    const placed = expectOk("hold", await hold(payer, shop.account.id, 2_500)).json as Payment;
    expect(placed).toMatchObject({
      status: "requires_capture",
      amountCapturable: 2_500,
      amountCaptured: 0,
    });
    expect(Date.parse(placed.captureBefore ?? "")).toBeGreaterThan(Date.now() + 6 * 24 * 3600e3);
    expect(money(await account(payer))).toEqual({ balance: 10_000, held: 2_500, available: 7_500 });
    expect(money(await account(shop))).toEqual({ balance: 0, held: 0, available: 0 });

    // The payer cannot spend the held funds meanwhile.
    const over = await withdraw({ token: payer.accessToken }, payer.account.id, 7_501);
    expect(over.status).toBe(402);

    // Only the recipient (merchant) or an admin captures; the payer may not.
    expect((await capture(payer.accessToken, placed.id)).status).toBe(403);

    const k = randomUUID();
    const done = await capture(shop.accessToken, placed.id, {}, k);
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({
      status: "succeeded",
      amountCaptured: 2_500,
      amountCapturable: 0,
    });
    const replay = await capture(shop.accessToken, placed.id, {}, k);
    expect(replay.status).toBe(200);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.text).toBe(done.text);

    const trf = await call<{ kind: string; amount: number }>(
      "GET",
      `/v1/transfers/${done.json.transferId}`,
      { token: shop.accessToken },
    );
    expect(trf.json).toMatchObject({ kind: "capture", amount: 2_500 });
    expect(money(await account(payer))).toEqual({ balance: 7_500, held: 0, available: 7_500 });
    expect(money(await account(shop))).toEqual({ balance: 2_500, held: 0, available: 2_500 });

    const again = await capture(shop.accessToken, placed.id);
    expect(again.status).toBe(409);
    expect((again.json as unknown as { code: string }).code).toBe("payment_not_capturable");
  });

  it("a partial capture releases the rest; refunds stop at the captured amount", async () => {
    const before = await account(payer);
    const placed = expectOk("hold", await hold(payer, shop.account.id, 1_000)).json as Payment;
    const done = await capture(shop.accessToken, placed.id, { amount: 400 });
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ amountCaptured: 400, amountCapturable: 0 });
    expect(money(await account(payer))).toEqual({
      balance: before.balance - 400,
      held: before.held,
      available: before.available - 400,
    });
    expect((await refund({ token: shop.accessToken }, placed.id, { amount: 401 })).status).toBe(
      409,
    );
    expect((await refund({ token: shop.accessToken }, placed.id, { amount: 400 })).status).toBe(
      201,
    );
  });

  it("a capture over amountCapturable is refused and changes nothing", async () => {
    const placed = expectOk("hold", await hold(payer, shop.account.id, 100)).json as Payment;
    expect((await capture(shop.accessToken, placed.id, { amount: 101 })).status).toBe(400);
    const got = await call<Payment>("GET", `/v1/payments/${placed.id}`, {
      token: payer.accessToken,
    });
    expect(got.json.status).toBe("requires_capture");
    expect((await cancel(payer.accessToken, placed.id)).status).toBe(200);
  });
});

describe("cancel", () => {
  it("releases the whole hold; the payment reads canceled", async () => {
    const before = await account(payer);
    const placed = expectOk("hold", await hold(payer, shop.account.id, 700)).json as Payment;
    const res = await cancel(shop.accessToken, placed.id);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: "canceled", cancellationReason: "requested" });
    expect(money(await account(payer))).toEqual(money(before));
    expect((await capture(shop.accessToken, placed.id)).status).toBe(409);
    const list = await call<{ data: { type: string; data: { object: { id: string } } }[] }>(
      "GET",
      "/v1/events?type=payment.canceled",
      { token: payer.accessToken },
    );
    expect(list.json.data.some((e) => e.data.object.id === placed.id)).toBe(true);
  });

  it("immediate payments read amountCaptured and cannot be captured or canceled", async () => {
    const res = expectOk(
      "pay",
      await pay(
        { token: payer.accessToken },
        {
          sourceAccountId: payer.account.id,
          destinationAccountId: shop.account.id,
          amount: 10,
          currency: "USD",
        },
      ),
    );
    const p = res.json as Payment;
    expect(p).toMatchObject({ status: "succeeded", amountCaptured: 10, amountCapturable: 0 });
    expect((await cancel(payer.accessToken, p.id)).status).toBe(409);
  });
});

describe("expiry (MICROPAY_HOLD_TTL_SECONDS=1, sweeper idle)", () => {
  let stack: SpawnedStack;
  let base: string;
  let a: RegisteredUser;
  let m: RegisteredUser;

  beforeAll(async () => {
    // The sweeper runs rarely here: expiry must show without it.
    stack = await spawnStack({
      MICROPAY_HOLD_TTL_SECONDS: "1",
      MICROPAY_HOLD_SWEEP_SECONDS: "3600",
    });
    base = stack.info.apiUrl;
    [a, m] = await Promise.all([registerUser({ base }), registerUser({ base })]);
    const token = await adminToken(base);
    expectOk("fund", await deposit({ base, token }, a.account.id, 1_000));
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("an expired hold reads canceled (expired), cannot be captured, and its funds are available", async () => {
    const placed = expectOk("hold", await hold(a, m.account.id, 800, base)).json as Payment;
    const expired = await waitFor(async () => {
      const r = await call<Payment>("GET", `/v1/payments/${placed.id}`, {
        base,
        token: a.accessToken,
      });
      return r.json.status === "canceled" ? r.json : undefined;
    });
    expect(expired).toMatchObject({ cancellationReason: "expired", amountCapturable: 0 });
    expect(money(await account(a, base))).toEqual({ balance: 1_000, held: 0, available: 1_000 });
    const c = await call<Payment>("POST", `/v1/payments/${placed.id}/capture`, {
      base,
      token: await adminToken(base),
      headers: key(),
      body: {},
    });
    expect(c.status).toBe(409);
    expect((await cancel(a.accessToken, placed.id, base)).status).toBe(409);

    // A withdrawal of everything goes through: it releases the expired hold first.
    const w: ApiResponse = await withdraw({ base, token: a.accessToken }, a.account.id, 1_000);
    expect(w.status).toBe(201);
    expect(money(await account(a, base))).toEqual({ balance: 0, held: 0, available: 0 });
  });
});
