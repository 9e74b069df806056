import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { walkthrough } from "../../examples/walkthrough.ts";
import { adminTotpCode } from "../support/auth.ts";
import { TEST_ADMIN } from "../support/spawn-stack.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

describe("the README walkthrough", () => {
  it("is the file the test runs, verbatim", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const file = readFileSync(join(root, "examples/walkthrough.ts"), "utf8");
    expect(readme).toContain(`\`\`\`ts\n${file}\`\`\``);
  });

  it("registers, funds, gets the payment's signed webhook, pays, refunds, holds and captures, reads the statement and finds the audit record", async () => {
    const stack = inject("stack");
    const out = await walkthrough({
      baseUrl: stack.apiUrl,
      admin: { ...TEST_ADMIN, code: () => adminTotpCode(stack.apiUrl) },
      auditLog: stack.auditLog,
    });
    expect(out.payment).toMatchObject({ status: "succeeded", amount: 2500, currency: "USD" });
    // The shop's receiver (npm run webhooks -- listen's code) verified the delivery.
    expect(out.webhook).toMatchObject({
      verified: true,
      type: "payment.succeeded",
      objectId: out.payment.id,
    });
    expect(out.refund).toMatchObject({ paymentId: out.payment.id, amount: 500 });
    expect(out.hold).toMatchObject({ status: "requires_capture", amountCapturable: 3000 });
    expect(out.captured).toMatchObject({
      status: "succeeded",
      amountCaptured: 2000,
      amountCapturable: 0,
    });
    expect(out.balance).toBe(10_000 - 2_500 + 500 - 2_000);
    expect(out.available).toBe(out.balance);
    const kinds = out.statement?.data.map((e) => `${e.kind}:${e.direction}:${e.amount}`);
    expect(kinds).toEqual([
      "capture:debit:2000",
      "refund:credit:500",
      "payment:debit:2500",
      "deposit:credit:10000",
    ]);
    expect(out.auditRecord).toMatchObject({
      action: "payment.created",
      outcome: "success",
      targets: { paymentId: out.payment.id },
      money: { amount: 2500, currency: "USD" },
    });
    expect(out.auditRecord.digest).toMatch(/^[0-9a-f]{64}$/);
  });
});
