import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { adminToken, type RegisteredUser, registerUser, tokenWithRoles } from "../support/auth.ts";
import { call } from "../support/http.ts";
import {
  balanceOf,
  deposit,
  expectOk,
  fundAndPay,
  pay,
  refund,
  withdraw,
} from "../support/ledger.ts";

/** The Accounts, ledger, payments and refunds contract of API.md, end to end over HTTP. */
type Page<T> = { data: T[]; hasMore: boolean; nextCursor: string | null };
type Entry = { id: string; kind: string; direction: string; amount: number; paymentId?: string };
const code = (r: { json: unknown }) => (r.json as { code?: string }).code;

describe("accounts and ledger", () => {
  let admin: string;
  let a: RegisteredUser;
  let b: RegisteredUser;
  beforeAll(async () => {
    admin = await adminToken();
    [a, b] = await Promise.all([registerUser(), registerUser()]);
  });

  it("opens one account per currency per owner (409 for a second)", async () => {
    const eur = await call("POST", "/v1/accounts", {
      token: a.accessToken,
      body: { currency: "EUR" },
    });
    expect(eur.status).toBe(201);
    expect(eur.json).toMatchObject({ ownerId: a.user.id, currency: "EUR", balance: 0 });
    const again = await call("POST", "/v1/accounts", {
      token: a.accessToken,
      body: { currency: "EUR" },
    });
    expect(again.status).toBe(409);
    const usd = await call("POST", "/v1/accounts", {
      token: a.accessToken,
      body: { currency: "USD" },
    });
    expect(usd.status).toBe(409);
    const bad = await call("POST", "/v1/accounts", {
      token: a.accessToken,
      body: { currency: "XTS" },
    });
    expect(bad.status).toBe(400);
    const list = await call<Page<{ currency: string }>>("GET", "/v1/accounts", {
      token: a.accessToken,
    });
    expect(list.json.data.map((x) => x.currency).sort()).toEqual(["EUR", "USD"]);
  });

  it("deposits enter from the system funding account as an entry pair", async () => {
    const res = expectOk("deposit", await deposit({ token: admin }, a.account.id, 10_000, "w1"));
    const body = res.json as { entries: Entry[] & { accountId?: string }[]; amount: number };
    expect(body.amount).toBe(10_000);
    expect(body.entries.map((e) => e.direction)).toEqual(["debit", "credit"]);
    expect(await balanceOf({ token: a.accessToken }, a.account.id)).toBe(10_000);
    const system = await call<Page<{ kind: string; balance: number; currency: string }>>(
      "GET",
      "/v1/accounts?ownerId=system",
      { token: admin },
    );
    expect(system.status).toBe(200);
    expect(system.json.data.every((s) => s.kind === "system")).toBe(true);
  });

  it("withdrawals leave to the payout account, never overdrawing", async () => {
    const c = await registerUser();
    expectOk("fund", await deposit({ token: admin }, c.account.id, 500));
    expectOk("withdraw", await withdraw({ token: c.accessToken }, c.account.id, 200));
    const over = await withdraw({ token: c.accessToken }, c.account.id, 301);
    expect(over.status).toBe(402);
    expect(code(over)).toBe("insufficient_funds");
    expect(await balanceOf({ token: c.accessToken }, c.account.id)).toBe(300);
  });

  it("pays, refunds partially then fully, and lists both", async () => {
    const m = await tokenWithRoles(["customer", "merchant"]);
    const payer = await registerUser();
    const p = await fundAndPay(admin, payer, m.account.id, 1_200, 5_000);
    expect(p).toMatchObject({ status: "succeeded", amountRefunded: 0, description: null });
    expect(p.id).toMatch(/^pay_/);

    const r1 = expectOk("refund", await refund({ token: m.accessToken }, p.id, { amount: 200 }));
    expect(r1.json).toMatchObject({ paymentId: p.id, amount: 200, reason: null });
    const mid = await call("GET", `/v1/payments/${p.id}`, { token: payer.accessToken });
    expect(mid.json).toMatchObject({ status: "partially_refunded", amountRefunded: 200 });
    const over = await refund({ token: m.accessToken }, p.id, { amount: 1_001 });
    expect(over.status).toBe(409);
    expect(code(over)).toBe("refund_exceeds_payment");
    expectOk("rest", await refund({ token: admin }, p.id, { reason: "all of it" }));
    const end = await call("GET", `/v1/payments/${p.id}`, { token: m.accessToken });
    expect(end.json).toMatchObject({ status: "refunded", amountRefunded: 1_200 });
    const none = await refund({ token: admin }, p.id, {});
    expect(none.status).toBe(409);

    const refunds = await call<Page<{ amount: number }>>("GET", `/v1/payments/${p.id}/refunds`, {
      token: payer.accessToken,
    });
    expect(refunds.json.data.map((r) => r.amount)).toEqual([1_000, 200]);
    for (const who of [payer, m]) {
      const list = await call<Page<{ id: string }>>(
        "GET",
        `/v1/payments?accountId=${who.account.id}`,
        { token: who.accessToken },
      );
      expect(list.json.data.map((x) => x.id)).toEqual([p.id]);
    }
    expect(await balanceOf({ token: payer.accessToken }, payer.account.id)).toBe(5_000);
    expect(await balanceOf({ token: m.accessToken }, m.account.id)).toBe(0);
  });

  it("refuses same account (400), currency mismatch (422), overdraft (402), over max (400)", async () => {
    expectOk("fund", await deposit({ token: admin }, b.account.id, 100));
    const base = { sourceAccountId: b.account.id, amount: 10, currency: "USD" };
    const same = await pay(
      { token: b.accessToken },
      { ...base, destinationAccountId: b.account.id },
    );
    expect(same.status).toBe(400);
    const eurAccount = (
      await call<Page<{ id: string; currency: string }>>("GET", "/v1/accounts", {
        token: a.accessToken,
      })
    ).json.data.find((x) => x.currency === "EUR");
    const mismatch = await pay(
      { token: b.accessToken },
      { ...base, destinationAccountId: String(eurAccount?.id) },
    );
    expect(mismatch.status).toBe(422);
    expect(code(mismatch)).toBe("currency_mismatch");
    const wrongCurrency = await pay(
      { token: b.accessToken },
      { ...base, currency: "EUR", destinationAccountId: a.account.id },
    );
    expect(wrongCurrency.status).toBe(422);
    const broke = await pay(
      { token: b.accessToken },
      { ...base, amount: 101, destinationAccountId: a.account.id },
    );
    expect(broke.status).toBe(402);
    const huge = await pay(
      { token: b.accessToken },
      { ...base, amount: 100_000_001, destinationAccountId: a.account.id },
    );
    expect(huge.status).toBe(400);
    const float = await call("POST", "/v1/payments", {
      token: b.accessToken,
      body: { ...base, amount: 10.5, destinationAccountId: a.account.id },
      headers: { "Idempotency-Key": randomUUID() },
    });
    expect(float.status).toBe(400);
    expect(await balanceOf({ token: b.accessToken }, b.account.id)).toBe(100);
  });

  it("a frozen account neither sends nor receives (409 account_frozen)", async () => {
    const [x, y] = await Promise.all([registerUser(), registerUser()]);
    expectOk("fund", await deposit({ token: admin }, x.account.id, 1_000));
    const freeze = await call("PATCH", `/v1/admin/accounts/${y.account.id}`, {
      token: admin,
      body: { status: "frozen" },
    });
    expect(freeze.status).toBe(200);
    expect(freeze.json).toMatchObject({ status: "frozen" });
    const body = {
      sourceAccountId: x.account.id,
      destinationAccountId: y.account.id,
      amount: 10,
      currency: "USD",
    };
    const toFrozen = await pay({ token: x.accessToken }, body);
    expect(toFrozen.status).toBe(409);
    expect(code(toFrozen)).toBe("account_frozen");
    expect((await deposit({ token: admin }, y.account.id, 5)).status).toBe(409);
    await call("PATCH", `/v1/admin/accounts/${x.account.id}`, {
      token: admin,
      body: { status: "frozen" },
    });
    const fromFrozen = await withdraw({ token: x.accessToken }, x.account.id, 5);
    expect(fromFrozen.status).toBe(409);
    for (const acc of [x, y]) {
      await call("PATCH", `/v1/admin/accounts/${acc.account.id}`, {
        token: admin,
        body: { status: "active" },
      });
    }
    expect((await pay({ token: x.accessToken }, body)).status).toBe(201);
  });

  it("ranks refusals as before: destination 404, then currency 422, then frozen 409, then 402", async () => {
    const [x, y] = await Promise.all([registerUser(), registerUser()]);
    expectOk("fund", await deposit({ token: admin }, x.account.id, 100));
    const eur = (
      await call<Page<{ id: string; currency: string }>>("GET", "/v1/accounts", {
        token: a.accessToken,
      })
    ).json.data.find((acc) => acc.currency === "EUR");
    const body = (destinationAccountId: string, amount: number) => ({
      sourceAccountId: x.account.id,
      destinationAccountId,
      amount,
      currency: "USD",
    });
    const answer = async (destinationAccountId: string, amount: number) => {
      const res = await pay({ token: x.accessToken }, body(destinationAccountId, amount));
      return `${res.status} ${code(res)}`;
    };
    const missing = "acc_01J9Z8Q4N7V3XKQ2T5W6Y8B0CD";
    // Overdrawn and to another currency: the currency answers first.
    expect(await answer(String(eur?.id), 1_000)).toBe("422 currency_mismatch");
    // Overdrawn to a frozen account: the source's refusal answers first.
    await call("PATCH", `/v1/admin/accounts/${y.account.id}`, {
      token: admin,
      body: { status: "frozen" },
    });
    expect(await answer(y.account.id, 1_000)).toBe("402 insufficient_funds");
    expect(await answer(y.account.id, 10)).toBe("409 account_frozen");
    // A frozen and overdrawn source: frozen first; a missing destination before both.
    await call("PATCH", `/v1/admin/accounts/${x.account.id}`, {
      token: admin,
      body: { status: "frozen" },
    });
    expect(await answer(b.account.id, 1_000)).toBe("409 account_frozen");
    expect(await answer(missing, 1_000)).toBe("404 not_found");
    expect(await answer(String(eur?.id), 1_000)).toBe("422 currency_mismatch");
    for (const acc of [x, y]) {
      await call("PATCH", `/v1/admin/accounts/${acc.account.id}`, {
        token: admin,
        body: { status: "active" },
      });
    }
    expect(await balanceOf({ token: x.accessToken }, x.account.id)).toBe(100);
    expect(await balanceOf({ token: y.accessToken }, y.account.id)).toBe(0);
  });

  it("lists entries newest first with cursor pages that cover everything once", async () => {
    const [x, y] = await Promise.all([registerUser(), registerUser()]);
    expectOk("fund", await deposit({ token: admin }, x.account.id, 1_000));
    for (let i = 1; i <= 6; i++) {
      expectOk(
        `pay ${i}`,
        await pay(
          { token: x.accessToken },
          {
            sourceAccountId: x.account.id,
            destinationAccountId: y.account.id,
            amount: i,
            currency: "USD",
          },
        ),
      );
    }
    const seen: Entry[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const res = await call<Page<Entry>>(
        "GET",
        `/v1/accounts/${x.account.id}/entries?limit=3${q}`,
        { token: x.accessToken },
      );
      expect(res.status).toBe(200);
      seen.push(...res.json.data);
      cursor = res.json.nextCursor;
      expect(res.json.hasMore).toBe(cursor !== null);
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen.map((e) => e.amount)).toEqual([6, 5, 4, 3, 2, 1, 1_000]);
    expect(seen.map((e) => e.direction)).toEqual([...Array(6).fill("debit"), "credit"]);
    expect(new Set(seen.map((e) => e.id)).size).toBe(7);
    const small = await call("GET", `/v1/accounts/${x.account.id}/entries?limit=101`, {
      token: x.accessToken,
    });
    expect(small.status).toBe(400);
  });
});

describe("idempotency", () => {
  let admin: string;
  let a: RegisteredUser;
  let b: RegisteredUser;
  beforeAll(async () => {
    admin = await adminToken();
    [a, b] = await Promise.all([registerUser(), registerUser()]);
    expectOk("fund", await deposit({ token: admin }, a.account.id, 1_000));
  });
  const body = () => ({
    sourceAccountId: a.account.id,
    destinationAccountId: b.account.id,
    amount: 100,
    currency: "USD",
  });

  it("replays the first result byte for byte with Idempotent-Replayed: true", async () => {
    const key = randomUUID();
    const first = await pay({ token: a.accessToken, key }, body());
    expect(first.status).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const second = await pay({ token: a.accessToken, key }, body());
    expect(second.status).toBe(201);
    expect(second.text).toBe(first.text);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(await balanceOf({ token: a.accessToken }, a.account.id)).toBe(900);
  });

  it("refuses the same key with a different body (422 idempotency_key_reused)", async () => {
    const key = randomUUID();
    expectOk("first", await pay({ token: a.accessToken, key }, body()));
    const other = await pay({ token: a.accessToken, key }, { ...body(), amount: 101 });
    expect(other.status).toBe(422);
    expect(code(other)).toBe("idempotency_key_reused");
  });

  it("replays a business refusal too, and scopes keys to the caller", async () => {
    const key = randomUUID();
    const broke = await pay({ token: a.accessToken, key }, { ...body(), amount: 999_999 });
    expect(broke.status).toBe(402);
    const again = await pay({ token: a.accessToken, key }, { ...body(), amount: 999_999 });
    expect(again.text).toBe(broke.text);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    // The same key text from another caller is another key.
    expectOk("b funds", await deposit({ token: admin }, b.account.id, 50));
    const theirs = await pay(
      { token: b.accessToken, key },
      {
        sourceAccountId: b.account.id,
        destinationAccountId: a.account.id,
        amount: 50,
        currency: "USD",
      },
    );
    expect(theirs.status).toBe(201);
  });

  it("requires a well-formed Idempotency-Key on every money-moving POST (400)", async () => {
    const paths: [string, unknown, string][] = [
      ["/v1/payments", body(), a.accessToken],
      [`/v1/accounts/${a.account.id}/withdrawals`, { amount: 1, reference: "x" }, a.accessToken],
      [`/v1/accounts/${a.account.id}/deposits`, { amount: 1, reference: "x" }, admin],
    ];
    for (const [path, b2, token] of paths) {
      const res = await call("POST", path, { token, body: b2 });
      expect(res.status, path).toBe(400);
      const long = await call("POST", path, {
        token,
        body: b2,
        headers: { "Idempotency-Key": "x".repeat(256) },
      });
      expect(long.status, path).toBe(400);
    }
  });
});
