import { spawnSync } from "node:child_process";
import { mkdtempSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

describe("npm start without Java", () => {
  it("says exactly what to install and exits non-zero", () => {
    // A PATH that has Node (and nothing else): no `java` anywhere on it.
    const bin = mkdtempSync(join(tmpdir(), "micropay-nojava-"));
    symlinkSync(process.execPath, join(bin, "node"));
    const out = spawnSync(
      process.execPath,
      [join(root, "node_modules/tsx/dist/cli.mjs"), "local/start.ts"],
      {
        cwd: root,
        env: { PATH: bin, HOME: tmpdir(), MICROPAY_DATA_DIR: bin },
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    expect(out.status).toBe(1);
    expect(out.stderr).toContain("Java was not found.");
    expect(out.stderr).toMatch(/apt-get install -y openjdk-17-jre-headless/);
    expect(out.stderr).toMatch(/brew install openjdk@17/);
    expect(out.stdout).not.toContain("listening on");
  });
});
