import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type * as z from "zod";
import {
  accountStatusBody,
  createAccountBody,
  paymentBody,
  refundBody,
  transferBody,
} from "../../lib/ledger/schemas.ts";
import { adminToken, type RegisteredUser, registerUser, tokenWithRoles } from "../support/auth.ts";
import { call } from "../support/http.ts";
import { fundAndPay } from "../support/ledger.ts";

/**
 * Property-based fuzzing (fast-check) of every money route's body: arbitrary JSON
 * values, and valid bodies with one member mutated, added or removed. Whatever the
 * body, the answer is never a 5xx, and a body the route's schema rejects never
 * changes state (balances, entries, payments and accounts of the users involved).
 */
const RUNS = 40;

const scalar = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1.5, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 2, -0, 2 ** 63),
  fc.string({ maxLength: 40 }),
  fc.constantFrom("", "USD", "usd", "XXX", "acc_", "__proto__", "constructor", "\u0000"),
  fc.boolean(),
  fc.constant(null),
);
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), scalar);

function mutated(valid: Record<string, unknown>) {
  const keys = Object.keys(valid);
  return fc.oneof(
    // one member replaced by anything
    fc
      .record({ k: fc.constantFrom(...keys), v: anyJson })
      .map(({ k, v }) => ({ ...valid, [k]: v })),
    // one member removed
    fc
      .constantFrom(...keys)
      .map((k) => Object.fromEntries(Object.entries(valid).filter(([x]) => x !== k))),
    // an extra member (mass assignment attempts included)
    fc
      .record({
        k: fc.oneof(
          fc.constantFrom("balance", "status", "ownerId", "amountRefunded", "kind", "__proto__"),
          fc.string({ minLength: 1, maxLength: 12 }),
        ),
        v: anyJson,
      })
      .filter(({ k }) => !keys.includes(k))
      .map(({ k, v }) => ({ ...valid, [k]: v })),
  );
}

describe("money route bodies under fuzzing", () => {
  let admin: string;
  let a: RegisteredUser;
  let m: RegisteredUser;
  let paymentId: string;

  beforeAll(async () => {
    admin = await adminToken();
    [a, m] = await Promise.all([registerUser(), tokenWithRoles(["customer", "merchant"])]);
    const p = await fundAndPay(admin, a, m.account.id, 5_000, 50_000);
    paymentId = p.id;
  });

  /** What a rejected body must not change. */
  async function state() {
    const read = async (path: string, token: string) => (await call("GET", path, { token })).text;
    return [
      await read(`/v1/accounts/${a.account.id}`, a.accessToken),
      await read(`/v1/accounts/${m.account.id}`, m.accessToken),
      await read(`/v1/accounts/${a.account.id}/entries?limit=5`, a.accessToken),
      await read(`/v1/accounts/${m.account.id}/entries?limit=5`, m.accessToken),
      await read(`/v1/payments/${paymentId}`, a.accessToken),
      await read(`/v1/payments/${paymentId}/refunds`, a.accessToken),
      await read("/v1/accounts", a.accessToken),
    ].join("\n");
  }

  const routes: {
    name: string;
    method: string;
    path: () => string;
    token: () => string;
    schema: z.ZodType;
    valid: () => Record<string, unknown>;
  }[] = [
    {
      name: "POST /v1/payments",
      method: "POST",
      path: () => "/v1/payments",
      token: () => a.accessToken,
      schema: paymentBody,
      valid: () => ({
        sourceAccountId: a.account.id,
        destinationAccountId: m.account.id,
        amount: 100,
        currency: "USD",
      }),
    },
    {
      name: "POST refunds",
      method: "POST",
      path: () => `/v1/payments/${paymentId}/refunds`,
      token: () => m.accessToken,
      schema: refundBody,
      valid: () => ({ amount: 10, reason: "fuzz" }),
    },
    {
      name: "POST deposits",
      method: "POST",
      path: () => `/v1/accounts/${a.account.id}/deposits`,
      token: () => admin,
      schema: transferBody,
      valid: () => ({ amount: 10, reference: "fuzz" }),
    },
    {
      name: "POST withdrawals",
      method: "POST",
      path: () => `/v1/accounts/${a.account.id}/withdrawals`,
      token: () => a.accessToken,
      schema: transferBody,
      valid: () => ({ amount: 10, reference: "fuzz" }),
    },
    {
      name: "PATCH admin account",
      method: "PATCH",
      path: () => `/v1/admin/accounts/${a.account.id}`,
      token: () => admin,
      schema: accountStatusBody,
      valid: () => ({ status: "frozen" }),
    },
    {
      name: "POST /v1/accounts",
      method: "POST",
      path: () => "/v1/accounts",
      token: () => a.accessToken,
      schema: createAccountBody,
      valid: () => ({ currency: "EUR" }),
    },
  ];

  for (const route of routes) {
    it(`${route.name}: never a 5xx, and a rejected body changes nothing`, async () => {
      const before = await state();
      await fc.assert(
        fc.asyncProperty(fc.oneof(anyJson, mutated(route.valid())), async (body) => {
          // A body that happens to be valid is not what this property is about.
          fc.pre(!route.schema.safeParse(body).success);
          const res = await call(route.method, route.path(), {
            token: route.token(),
            rawBody: JSON.stringify(body) ?? "null",
            headers: { "Content-Type": "application/json", "Idempotency-Key": randomUUID() },
          });
          expect(res.status).toBeLessThan(500);
          expect(res.status).toBe(400);
        }),
        { numRuns: RUNS },
      );
      expect(await state()).toBe(before);
    }, 120_000);
  }
});
