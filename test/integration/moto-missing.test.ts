import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { startMoto } from "../support/moto.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A PATH with Node 24 and Java (what `npm test` checks first) but no moto_server. */
function pathWithoutMoto(): string {
  const bin = mkdtempSync(join(tmpdir(), "micropay-nomoto-"));
  symlinkSync(resolve(root, "node_modules/.bin/node"), join(bin, "node"));
  symlinkSync("/usr/bin/java", join(bin, "java"));
  return bin;
}

describe("without moto_server", () => {
  it("`npm test`'s environment check says what to install and exits non-zero", () => {
    const bin = pathWithoutMoto();
    const out = spawnSync(
      join(bin, "node"),
      [join(root, "node_modules/tsx/dist/cli.mjs"), "scripts/check-env.ts", "--test"],
      { cwd: root, env: { PATH: bin, HOME: tmpdir() }, encoding: "utf8", timeout: 60_000 },
    );
    rmSync(bin, { recursive: true });
    expect(out.stderr).toContain("moto_server not found");
    expect(out.stderr).toContain("pip install 'moto[server]'");
    expect(out.status).toBe(1);
  });

  it("the tests' moto starter fails with the same install hint", async () => {
    const saved = process.env.PATH;
    const bin = pathWithoutMoto();
    process.env.PATH = bin;
    try {
      await expect(startMoto()).rejects.toThrow(/moto_server not found[\s\S]*pip install/);
    } finally {
      rmSync(bin, { recursive: true });
      process.env.PATH = saved;
    }
  });
});
