import { describe, expect, it } from "vitest";
import { synth } from "./support.ts";

// Builtin CloudFormation schema validation runs in nag.test.ts.
process.env.CDK_VALIDATION = "false";

/**
 * The synthesized prod template, normalized, as a committed snapshot
 * (test/infra/__snapshots__/), so every template change shows up in review. Volatile
 * parts are normalized: asset hashes (code bundles) and the API deployment's
 * content-hash logical id. After an intended change (a new route, a new resource),
 * regenerate it with `npx vitest run --project infra -u` and review the diff.
 */
function normalize(template: unknown): unknown {
  const text = JSON.stringify(template)
    .replace(/[0-9a-f]{64}(\.zip|\.json)?/g, "<asset-hash>$1")
    .replace(/(Deployment[0-9A-F]{8})[0-9a-f]{32}/g, "$1<content-hash>");
  const parsed = JSON.parse(text) as { Resources: Record<string, { Type: string }> };
  for (const [id, r] of Object.entries(parsed.Resources)) {
    if (r.Type === "AWS::CDK::Metadata") delete parsed.Resources[id];
  }
  return parsed;
}

describe("template snapshot", () => {
  it("prod template matches the committed snapshot", () => {
    const { template } = synth({ stage: "prod" });
    expect(normalize(template.toJSON())).toMatchSnapshot();
  });
});
