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

  it("registers, funds, pays, refunds, reads the statement and finds the audit record", async () => {
    const stack = inject("stack");
    const out = await walkthrough({
      baseUrl: stack.apiUrl,
      admin: { ...TEST_ADMIN, code: () => adminTotpCode(stack.apiUrl) },
      auditLog: stack.auditLog,
    });
    expect(out.payment).toMatchObject({ status: "succeeded", amount: 2500, currency: "USD" });
    expect(out.refund).toMatchObject({ paymentId: out.payment.id, amount: 500 });
    expect(out.balance).toBe(10_000 - 2_500 + 500);
    const kinds = out.statement?.data.map((e) => `${e.kind}:${e.direction}:${e.amount}`);
    expect(kinds).toEqual(["refund:credit:500", "payment:debit:2500", "deposit:credit:10000"]);
    expect(out.auditRecord).toMatchObject({
      action: "payment.created",
      outcome: "success",
      targets: { paymentId: out.payment.id },
      money: { amount: 2500, currency: "USD" },
    });
    expect(out.auditRecord.digest).toMatch(/^[0-9a-f]{64}$/);
  });
});
