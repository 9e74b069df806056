import { ThrottlingException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import { describe, expect, it } from "vitest";
import { exponentOf, maxAmountMinor } from "../../lib/ledger/currency.ts";
import { paymentStatus, systemAccountId } from "../../lib/ledger/model.ts";
import { refusalOf } from "../../lib/ledger/posting.ts";
import {
  accountRefusal,
  entryPair,
  refundAmount,
  requireActor,
  requireAmount,
  signedAmount,
} from "../../lib/ledger/rules.ts";
import { Refusal, statusOf } from "../../lib/problems.ts";
import { decodeCursor, encodeCursor, setCursorKey } from "../../lib/store/cursor.ts";
import { backoffDelay, isRetryable, withRetry } from "../../lib/store/retry.ts";

const outcomeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof Refusal ? `${statusOf(e.code)} ${e.code}` : String(e);
  }
  return "ok";
};

describe("currency", () => {
  it("uses ISO 4217 exponents and the configured major-unit ceiling", () => {
    expect([exponentOf("USD"), exponentOf("JPY"), exponentOf("BHD")]).toEqual([2, 0, 3]);
    expect(maxAmountMinor("USD")).toBe(100_000_000);
    expect(maxAmountMinor("JPY")).toBe(1_000_000);
    expect(maxAmountMinor("BHD")).toBe(1_000_000_000);
    expect(() => exponentOf("ZZZ")).toThrow();
  });

  it("accepts 1..max integers only", () => {
    expect(outcomeOf(() => requireAmount(1, "USD"))).toBe("ok");
    expect(outcomeOf(() => requireAmount(100_000_000, "USD"))).toBe("ok");
    expect(outcomeOf(() => requireAmount(1_000_001, "JPY"))).toBe("400 validation_failed");
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
      expect(outcomeOf(() => requireAmount(bad, "USD"))).toBe("400 validation_failed");
    }
  });
});

describe("account rules", () => {
  const active = { kind: "customer", status: "active", currency: "USD", balance: 100 };
  it("explains why an account may not take part, in contract order", () => {
    expect(accountRefusal(active, "debit", 100, "USD")).toBeNull();
    expect(accountRefusal(active, "debit", 101, "USD")?.code).toBe("insufficient_funds");
    expect(accountRefusal(active, "credit", 10_000, "USD")).toBeNull();
    expect(accountRefusal({ ...active, status: "frozen" }, "credit", 1, "USD")?.code).toBe(
      "account_frozen",
    );
    expect(accountRefusal(active, "credit", 1, "EUR")?.code).toBe("currency_mismatch");
    expect(accountRefusal(undefined, "debit", 1, "USD")?.code).toBe("not_found");
    expect(accountRefusal({ ...active, kind: "system" }, "debit", 1, "USD")?.code).toBe(
      "not_found",
    );
  });

  it("answers 404 to strangers and 403 to staff who may see but not act", () => {
    const customer = { userId: "u1", roles: ["customer"] as const, tokenId: "t" };
    const admin = { userId: "u2", roles: ["admin"] as const, tokenId: "t" };
    expect(outcomeOf(() => requireActor(customer, ["u9"], ["u9"]))).toBe("404 not_found");
    expect(outcomeOf(() => requireActor(admin, ["u9"], ["u9"]))).toBe("403 forbidden");
    expect(outcomeOf(() => requireActor(customer, ["u1"], ["u1"]))).toBe("ok");
  });
});

describe("payment refusals from the transaction's failed conditions", () => {
  const customer = { userId: "u1", roles: ["customer"] as const, tokenId: "t" };
  const staffPayer = { userId: "u1", roles: ["customer", "admin"] as const, tokenId: "t" };
  const mine = { ownerId: "u1", kind: "customer", status: "active", currency: "USD", balance: 100 };
  const theirs = { ...mine, ownerId: "u9" };
  type Side = "source" | "destination";
  /** The answer when `failed` items failed their conditions (the others said "None"). */
  const answer = (
    p: typeof customer | typeof staffPayer,
    failed: Partial<Record<Side, Record<string, unknown> | undefined>>,
    amount = 10,
  ) => {
    const ctx = {
      principal: p,
      gatewayRequestId: "g",
      requestId: "r",
      sourceIp: "",
      userAgent: "",
    };
    const r = refusalOf(
      ctx,
      {
        debit: {
          label: "source",
          account: { type: "customer", accountId: "acc_a", ownerId: p.userId },
          direction: "debit",
        },
        credit: {
          label: "destination",
          account: { type: "customer", accountId: "acc_b" },
          direction: "credit",
        },
        amount,
        currency: "USD",
      },
      new Map(Object.entries(failed) as [Side, Record<string, unknown> | undefined][]),
    );
    return r ? `${statusOf(r.code)} ${r.code} ${r.detail}` : null;
  };
  const noSource = "404 not_found No such source account.";
  const noDestination = "404 not_found No such destination account.";

  it("a source the caller may not pay from: 404 unseen, 403 for staff, before all else", () => {
    expect(answer(customer, { source: undefined })).toBe(noSource);
    expect(answer(customer, { source: { ...mine, kind: "system" } })).toBe(noSource);
    expect(answer(customer, { source: theirs })).toBe(noSource);
    expect(
      answer(customer, { source: { ...theirs, status: "frozen" }, destination: undefined }),
    ).toBe(noSource);
    expect(answer(staffPayer, { source: undefined })).toBe(noSource);
    expect(answer(staffPayer, { source: { ...theirs, kind: "system" } })).toBe(noSource);
    expect(answer(staffPayer, { source: theirs, destination: undefined })).toMatch(
      /^403 forbidden/,
    );
  });

  it("then a missing or system destination (404), then currency (422) on either side", () => {
    expect(answer(customer, { destination: undefined })).toBe(noDestination);
    expect(answer(customer, { destination: { ...theirs, kind: "system" } })).toBe(noDestination);
    expect(
      answer(customer, { source: { ...mine, status: "frozen" }, destination: undefined }),
    ).toBe(noDestination);
    expect(answer(customer, { source: { ...mine, balance: 0 }, destination: undefined })).toBe(
      noDestination,
    );
    expect(
      answer(customer, {
        source: { ...mine, balance: 0, status: "frozen" },
        destination: { ...theirs, currency: "EUR" },
      }),
    ).toMatch(/^422 currency_mismatch/);
    expect(answer(customer, { source: { ...mine, currency: "EUR" } })).toMatch(
      /^422 currency_mismatch/,
    );
    expect(
      answer(customer, { destination: { ...theirs, currency: "EUR", status: "frozen" } }),
    ).toMatch(/^422 currency_mismatch/);
  });

  it("then the source (frozen 409 before funds 402), then a frozen destination (409)", () => {
    expect(answer(customer, { source: { ...mine, status: "frozen", balance: 0 } })).toMatch(
      /^409 account_frozen/,
    );
    expect(answer(customer, { source: { ...mine, balance: 9 } })).toMatch(
      /^402 insufficient_funds/,
    );
    expect(
      answer(customer, {
        source: { ...mine, balance: 9 },
        destination: { ...theirs, status: "frozen" },
      }),
    ).toMatch(/^402 insufficient_funds/);
    expect(answer(customer, { destination: { ...theirs, status: "frozen" } })).toMatch(
      /^409 account_frozen/,
    );
  });

  it("finds no refusal in an item that satisfies every check (not a business answer)", () => {
    expect(answer(customer, {})).toBeNull();
    expect(answer(customer, { source: mine, destination: theirs })).toBeNull();
  });
});

describe("double entry", () => {
  it("makes one balanced debit/credit pair", () => {
    let n = 0;
    const [d, c] = entryPair({
      kind: "payment",
      debitAccountId: "acc_a",
      creditAccountId: "acc_b",
      amount: 250,
      currency: "USD",
      now: "2026-01-01T00:00:00.000Z",
      newEntryId: () => `ent_${n++}`,
      transferId: "trf_1",
      paymentId: "pay_1",
    });
    expect(d).toMatchObject({ accountId: "acc_a", direction: "debit", amount: 250 });
    expect(c).toMatchObject({ accountId: "acc_b", direction: "credit", amount: 250 });
    expect([d.transferId, c.transferId]).toEqual(["trf_1", "trf_1"]);
    expect(signedAmount(d) + signedAmount(c)).toBe(0);
    expect(d.counterpartyAccountId).toBe("acc_b");
  });

  it("derives payment status and refund amounts", () => {
    expect(paymentStatus(100, 0)).toBe("succeeded");
    expect(paymentStatus(100, 40)).toBe("partially_refunded");
    expect(paymentStatus(100, 100)).toBe("refunded");
    expect(refundAmount(undefined, 60)).toBe(60);
    expect(refundAmount(10, 60)).toBe(10);
    expect(outcomeOf(() => refundAmount(61, 60))).toBe("409 refund_exceeds_payment");
    expect(outcomeOf(() => refundAmount(undefined, 0))).toBe("409 refund_exceeds_payment");
  });

  it("names system accounts deterministically with well-formed ids", () => {
    const id = systemAccountId("funding", "USD");
    expect(id).toMatch(/^acc_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(systemAccountId("funding", "USD")).toBe(id);
    expect(systemAccountId("payout", "USD")).not.toBe(id);
    expect(systemAccountId("funding", "EUR")).not.toBe(id);
  });
});

describe("cursors", () => {
  setCursorKey("unit-test-key-material");
  it("round-trips and binds to the list scope", () => {
    const c = encodeCursor("entries:acc_1", { pk: "ACC#acc_1", sk: "ENT#ent_9" });
    expect(decodeCursor("entries:acc_1", c)).toEqual({ pk: "ACC#acc_1", sk: "ENT#ent_9" });
    expect(outcomeOf(() => decodeCursor("entries:acc_2", c))).toBe("400 validation_failed");
  });

  it("refuses edited, forged and malformed cursors", () => {
    const c = encodeCursor("s", { pk: "a", sk: "b" });
    const [payload, sig] = c.split(".");
    const forged = Buffer.from(JSON.stringify({ pk: "x", sk: "y" })).toString("base64url");
    for (const bad of [`${forged}.${sig}`, `${payload}.${sig}A`, "", ".", "a.b.c", `${payload}`]) {
      expect(outcomeOf(() => decodeCursor("s", bad))).toBe("400 validation_failed");
    }
    setCursorKey("another key");
    expect(outcomeOf(() => decodeCursor("s", c))).toBe("400 validation_failed");
  });
});

describe("retry", () => {
  const cancelled = (...codes: string[]) =>
    new TransactionCanceledException({
      message: "cancelled",
      $metadata: {},
      CancellationReasons: codes.map((Code) => ({ Code })),
    });

  it("retries conflicts and throttling, never a condition failure", () => {
    expect(isRetryable(cancelled("None", "TransactionConflict"))).toBe(true);
    expect(isRetryable(cancelled("ThrottlingError"))).toBe(true);
    expect(isRetryable(cancelled("ProvisionedThroughputExceeded", "None"))).toBe(true);
    expect(isRetryable(cancelled("ConditionalCheckFailed", "TransactionConflict"))).toBe(false);
    expect(isRetryable(cancelled("ConditionalCheckFailed"))).toBe(false);
    expect(isRetryable(new ThrottlingException({ message: "slow down", $metadata: {} }))).toBe(
      true,
    );
    // Only the SDK's classes count: an error merely named like one is not retried.
    expect(isRetryable(Object.assign(new Error(), { name: "ThrottlingException" }))).toBe(false);
    expect(isRetryable(Object.assign(new Error(), { name: "ValidationException" }))).toBe(false);
  });

  it("backs off with full jitter under a cap", () => {
    expect(backoffDelay(0, 20, 500, () => 0.999)).toBe(19);
    expect(backoffDelay(10, 20, 500, () => 0.999)).toBe(499);
    expect(backoffDelay(3, 20, 500, () => 0)).toBe(0);
  });

  it("gives up after the bound with a 503 and Retry-After; passes other errors through", async () => {
    const sleeps: number[] = [];
    let calls = 0;
    const outcome = await withRetry(
      async () => {
        calls++;
        throw cancelled("TransactionConflict");
      },
      { attempts: 4, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(sleeps).toHaveLength(3);
    expect(outcome).toBeInstanceOf(Refusal);
    expect((outcome as Refusal).code).toBe("service_unavailable");
    expect((outcome as Refusal).retryAfter).toBe(1);

    let n = 0;
    await expect(
      withRetry(
        async () => {
          n++;
          throw cancelled("ConditionalCheckFailed");
        },
        { sleep: async () => undefined },
      ),
    ).rejects.toMatchObject({ name: "TransactionCanceledException" });
    expect(n).toBe(1);

    let m = 0;
    const ok = await withRetry(
      async () => {
        if (m++ < 2) throw cancelled("ThrottlingError");
        return "done";
      },
      { sleep: async () => undefined },
    );
    expect(ok).toBe("done");
  });
});
