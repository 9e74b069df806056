import { existsSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { App, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Key } from "aws-cdk-lib/aws-kms";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { describe, expect, it } from "vitest";
import { HouseFunction } from "../../infra/constructs/house-function.ts";
import { routes } from "../../lib/routes/index.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

describe("function assets", () => {
  it("every asset a route row declares resolves to a file", () => {
    const declared = routes.flatMap((r) => r.assets ?? []);
    expect(declared.length).toBeGreaterThan(0);
    for (const a of declared) {
      expect(existsSync(createRequire(import.meta.url).resolve(a.module)), a.module).toBe(true);
    }
  });

  it("the docs-asset Lambda bundle carries the Scalar script beside index.mjs", () => {
    const route = routes.find((r) => r.id === "docs-asset");
    const asset = route?.assets?.[0];
    if (!route || !asset) throw new Error("docs-asset row with an asset is missing");
    const outdir = mkdtempSync(join(tmpdir(), "micropay-asset-"));
    const app = new App({ outdir });
    const stack = new Stack(app, "AssetProbe");
    new HouseFunction(stack, "Docs", {
      entry: join(root, "functions", `${route.id}.ts`),
      description: "probe",
      environment: {},
      logRetention: RetentionDays.ONE_DAY,
      removalPolicy: RemovalPolicy.DESTROY,
      logsKey: new Key(stack, "Logs"),
      assets: [{ source: createRequire(import.meta.url).resolve(asset.module), file: asset.file }],
    });
    app.synth();
    const dirs = readdirSync(outdir).filter((d) => d.startsWith("asset."));
    const withScript = dirs.filter((d) => existsSync(join(outdir, d, asset.file)));
    expect(withScript).toHaveLength(1);
    const dir = join(outdir, withScript[0] as string);
    expect(existsSync(join(dir, "index.mjs"))).toBe(true);
    expect(statSync(join(dir, asset.file)).size).toBeGreaterThan(1_000_000);
  });
});
