import { describe, expect, it } from "vitest";
import { AUDIT_QUERIES } from "../../lib/audit/queries.ts";

/** The audit queries stay in the subset both CloudWatch Logs Insights and the local audit tool run. */
describe("audit Logs Insights queries (lib/audit/queries.ts)", () => {
  it("covers the required questions with unique names", () => {
    const names = AUDIT_QUERIES.map((q) => q.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(
      expect.arrayContaining([
        "actions-by-user",
        "failed-logins",
        "admin-actions",
        "movements-over-amount",
        "account-activity",
        "time-window",
      ]),
    );
  });

  for (const q of AUDIT_QUERIES) {
    it(`${q.name} uses only fields/filter/sort/limit with ==, >, <, like, and, or`, () => {
      expect(q.description.length).toBeGreaterThan(10);
      const commands = q.query.split("\n").map((l) => l.replace(/^\|\s*/, "").trim());
      for (const c of commands) expect(c).toMatch(/^(fields|filter|sort|limit) /);
      expect(commands[0]).toMatch(/^fields /);
      for (const c of commands.filter((x) => x.startsWith("filter "))) {
        const rest = c
          .slice("filter ".length)
          .replace(/"[^"]*"/g, "S")
          .replace(/\b\d+\b/g, "N");
        for (const token of rest.split(/\s+/)) {
          expect(token, `${q.name}: ${token}`).toMatch(/^(==|>|<|like|and|or|S|N|[a-zA-Z][\w.]*)$/);
        }
      }
      const limit = commands.find((c) => c.startsWith("limit "));
      expect(Number(limit?.split(" ")[1])).toBeLessThanOrEqual(10_000);
    });
  }
});
