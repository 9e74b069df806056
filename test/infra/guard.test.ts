import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Key } from "aws-cdk-lib/aws-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliApp, GUARD_DISABLED_RULES, guardRules } from "../../infra/app.ts";
import { HouseFunction } from "../../infra/constructs/house-function.ts";
import { Keys } from "../../infra/constructs/keys.ts";
import { type Json, mentions, idOf as stackIdOf, synth } from "./support.ts";

/**
 * AWS Control Tower's proactive guard rules (@cdklabs/cdk-validator-cfnguard) as the
 * CLI app registers them, the fixes they asked for, and what backs each waiver in
 * infra/app.ts. The full-stack guard run is `cdk synth` itself (CI, and
 * scripts/check-templates.sh): about a minute of CPU per template, too slow to repeat
 * in every test synth, so the rules run here on small apps only.
 */

// Builtin CloudFormation schema validation runs in nag.test.ts.
process.env.CDK_VALIDATION = "false";

const guardPackage = dirname(
  createRequire(import.meta.url).resolve("@cdklabs/cdk-validator-cfnguard/package.json"),
);
const ruleFiles = readdirSync(join(guardPackage, "rules/control-tower/cfn-guard"), {
  recursive: true,
  encoding: "utf8",
})
  .filter((f) => f.endsWith(".guard"))
  .map((f) => f.replace(/^.*\//, "").replace(/\.guard$/, ""));

interface Report {
  pluginReports: {
    pluginName: string;
    violations?: { ruleName: string; description?: string }[];
  }[];
}

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** Synthesizes a one-stack app with only the guard rules; returns their findings. */
function guardFindings(build: (stack: Stack) => void): string[] {
  const outdir = mkdtempSync(join(tmpdir(), "micropay-guard-"));
  outdirs.push(outdir);
  const app = new App({ outdir });
  Validations.of(app).addPlugins(guardRules("prod"));
  build(new Stack(app, "Probe"));
  let failed = false;
  try {
    app.synth();
  } catch (error) {
    failed = true;
    expect(String(error)).toMatch(/Validation ?failed/i);
  }
  const reportFile = join(outdir, "validation-report.json");
  const report: Report = existsSync(reportFile)
    ? JSON.parse(readFileSync(reportFile, "utf8"))
    : { pluginReports: [] };
  const findings = report.pluginReports.flatMap((r) =>
    (r.violations ?? []).map((v) => `${v.ruleName} ${v.description ?? ""}`),
  );
  // Synthesis fails exactly when there is a finding.
  expect(failed).toBe(findings.length > 0);
  return findings;
}

describe("Control Tower guard rules on the CLI app", () => {
  it("are registered by cliApp (what `cdk synth` runs), beside the cdk-nag packs", () => {
    const app = new App({ context: { stage: "dev", "aws:cdk:bundling-stacks": [] } });
    cliApp(app);
    const plugins = (app as unknown as { _validationPlugins: { name: string }[] })
      ._validationPlugins;
    const names = plugins.map((p) => p.name);
    expect(names).toContain("cdk-validator-cfnguard");
    expect(names.filter((n) => /AwsSolutions|PCI|Serverless/.test(n))).toHaveLength(3);
  });

  it("disable only rules that exist, each with its reason, for the stages named", () => {
    expect(ruleFiles.length).toBeGreaterThan(100);
    for (const [rule, { reason }] of Object.entries(GUARD_DISABLED_RULES)) {
      expect(ruleFiles, rule).toContain(rule);
      expect(reason.length, rule).toBeGreaterThan(80);
      const control = rule.replace(/^ct-/, "CT.").replace(/-/g, ".").toUpperCase();
      expect(reason.startsWith(`${control} `), `${rule} reason names ${control}`).toBe(true);
    }
    // The plugin lists the rules it runs (ids without the ct- prefix and dashes).
    const running = (stage: "dev" | "prod") =>
      (guardRules(stage) as unknown as { ruleIds: string[] }).ruleIds;
    for (const stage of ["dev", "prod"] as const) {
      expect(running(stage)).not.toContain("lambdapr3");
      expect(running(stage)).toContain("kmspr3");
    }
    // Log retention of a year is waived for the disposable dev stage only.
    expect(running("dev")).not.toContain("cloudwatchpr2");
    expect(running("prod")).toContain("cloudwatchpr2");
  });

  it("fail synthesis on a finding: a key with aws-cdk-lib's default policy breaks CT.KMS.PR.3", () => {
    const findings = guardFindings((stack) => new Key(stack, "Plain"));
    expect(findings.join("\n")).toContain("CT.KMS.PR.3");
  });

  it("pass the stack's KMS keys (CT.KMS.PR.1-3: rotation, deletion window, CreateGrant)", () => {
    expect(guardFindings((stack) => new Keys(stack, "Keys", { stageName: "test" }))).toEqual([]);
  });
});

describe("the fixes and the waivers, on the dev template", () => {
  let dev: ReturnType<typeof synth>;
  let resources: Record<string, Json>;
  beforeAll(() => {
    dev = synth({ stage: "dev" });
    resources = dev.template.toJSON().Resources;
  });
  const ofType = (type: string) =>
    Object.entries(resources).filter(([, r]) => (r as Json).Type === type) as [string, Json][];

  it("every KMS key policy denies kms:CreateGrant unless kms:GrantIsForAWSResource (or an AWS service)", () => {
    const keys = ofType("AWS::KMS::Key");
    expect(keys).toHaveLength(4);
    for (const [id, key] of keys) {
      const deny = (key.Properties.KeyPolicy.Statement as Json[]).filter(
        (s) => s.Effect === "Deny" && s.Action === "kms:CreateGrant",
      );
      expect(deny, id).toEqual([
        {
          Sid: "DenyCreateGrantUnlessForAwsResource",
          Effect: "Deny",
          Principal: { AWS: "*" },
          Action: "kms:CreateGrant",
          Resource: "*",
          Condition: {
            BoolIfExists: {
              "kms:GrantIsForAWSResource": "false",
              "aws:PrincipalIsAWSService": "false",
            },
          },
        },
      ]);
    }
  });

  it("CT.LAMBDA.PR.2 waiver: every Lambda permission is API Gateway's, scoped by SourceArn to this API (the webhook and hold sweepers': EventBridge's, scoped to their rules)", () => {
    const restApiId = stackIdOf(dev.stack, dev.stack.api.api);
    const ruleIds = [dev.stack.webhooks.sweepRule, dev.stack.holds.rule].map((r) =>
      stackIdOf(dev.stack, r),
    );
    const all = ofType("AWS::Lambda::Permission");
    const fromEvents = all.filter(([, p]) => p.Properties.Principal === "events.amazonaws.com");
    expect(fromEvents).toHaveLength(2);
    for (const [id, p] of fromEvents) {
      expect(p.Properties.Action, id).toBe("lambda:InvokeFunction");
      expect(ruleIds.map((r) => ({ "Fn::GetAtt": [r, "Arn"] }))).toContainEqual(
        p.Properties.SourceArn,
      );
    }
    const permissions = all.filter(([, p]) => p.Properties.Principal !== "events.amazonaws.com");
    expect(permissions.length).toBeGreaterThan(20);
    for (const [id, p] of permissions) {
      expect(p.Properties.Principal, id).toBe("apigateway.amazonaws.com");
      expect(p.Properties.Action, id).toBe("lambda:InvokeFunction");
      expect(p.Properties.FunctionUrlAuthType, id).toBeUndefined();
      const arn = JSON.stringify(p.Properties.SourceArn);
      expect(arn, id).toContain(":execute-api:");
      expect(mentions(p.Properties.SourceArn, restApiId), id).toBe(true);
      expect(arn, id).not.toMatch(/\/\*\/\*"|":\*"/); // never every stage and method of every API
    }
  });

  it("cfn-lint W3005 fix: no function DependsOn its own role or policy, which its Role GetAtt already orders", () => {
    const functions = dev.stack.node
      .findAll()
      .filter((c): c is HouseFunction => c instanceof HouseFunction);
    expect(functions.length).toBeGreaterThan(20);
    for (const hf of functions) {
      const fnId = stackIdOf(dev.stack, hf.fn);
      const roleId = stackIdOf(dev.stack, hf.role);
      const policyId = stackIdOf(dev.stack, hf.role.policy);
      const fn = resources[fnId] as Json;
      expect(fn.DependsOn ?? [], fnId).not.toContain(roleId);
      expect(fn.DependsOn ?? [], fnId).not.toContain(policyId);
      // The order CloudFormation still follows: function -> role -> its managed policy.
      expect(fn.Properties.Role, fnId).toEqual({ "Fn::GetAtt": [roleId, "Arn"] });
      expect(resources[roleId].Properties.ManagedPolicyArns, roleId).toContainEqual({
        Ref: policyId,
      });
    }
  });
});
