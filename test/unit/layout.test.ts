import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The relative imports of every .ts file under `dir`, as `file: specifier`. */
function importsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const file of readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })) {
    if (!file.endsWith(".ts")) continue;
    const text = readFileSync(join(root, dir, file), "utf8");
    for (const m of text.matchAll(/\bfrom\s+"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/g)) {
      out.push(`${dir}/${file}: ${m[1] ?? m[2]}`);
    }
  }
  return out;
}

describe("layout", () => {
  it("the Lambda runtime (lib/, functions/) and the CDK app never import the offline tools/", () => {
    const imports = ["lib", "functions", "infra"].flatMap(importsUnder);
    expect(imports.length).toBeGreaterThan(100);
    expect(imports.filter((i) => /\/tools\//.test(i.split(": ")[1] ?? ""))).toEqual([]);
  });

  it("the offline auditor tooling is imported from tools/ by the audit command", () => {
    expect(importsUnder("scripts")).toContain("scripts/audit.ts: ../tools/audit/verify.ts");
  });

  it("README.md and SECURITY.md link only to files inside the repository that exist", () => {
    const links = ["README.md", "SECURITY.md"].flatMap((doc) =>
      [...readFileSync(join(root, doc), "utf8").matchAll(/\]\(([^)\s]+)\)/g)]
        .map((m) => m[1] ?? "")
        .filter((target) => !/^(https?:|mailto:|#)/.test(target))
        .map((target) => ({ doc, target })),
    );
    expect(links.length).toBeGreaterThan(0);
    const bad = links.filter(({ target }) => {
      const path = resolve(root, target.split("#")[0] ?? "");
      return relative(root, path).startsWith("..") || !existsSync(path);
    });
    expect(bad).toEqual([]);
  });
});
