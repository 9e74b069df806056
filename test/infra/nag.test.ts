import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Bucket, BucketEncryption } from "aws-cdk-lib/aws-s3";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../infra/app.ts";

/**
 * cdk-nag gate: both stages, the three packs registered by infra/app.ts, and the
 * builtin CloudFormation schema check, exactly as `cdk synth` runs them. Any
 * unacknowledged finding (error or warning) fails here; acknowledgements live only
 * in infra/nag.ts.
 */
interface Report {
  pluginReports: {
    pluginName: string;
    violations?: { ruleName: string; acknowledged?: unknown; suppressed?: unknown }[];
  }[];
}

function synthReport(app: App): Report {
  const assembly = app.synth();
  return JSON.parse(readFileSync(join(assembly.directory, "validation-report.json"), "utf8"));
}

describe("cdk-nag (AwsSolutions, PCI DSS 3.2.1, Serverless)", () => {
  for (const stage of ["dev", "prod"] as const) {
    it(`${stage}: synthesizes with zero unacknowledged findings`, () => {
      const app = new App({ context: { stage, "aws:cdk:bundling-stacks": [] } });
      buildApp(app);
      const report = synthReport(app);
      const open = report.pluginReports.flatMap((r) =>
        (r.violations ?? []).map((v) => `${r.pluginName}: ${v.ruleName}`),
      );
      expect(open).toEqual([]);
    });
  }

  it("the three packs are registered on the app", () => {
    const app = new App({ context: { stage: "dev", "aws:cdk:bundling-stacks": [] } });
    buildApp(app);
    const plugins = (app as unknown as { _validationPlugins: { name: string }[] })
      ._validationPlugins;
    const names = plugins.map((p) => p.name);
    expect(names).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/AwsSolutions/),
        expect.stringMatching(/PCI/),
        expect.stringMatching(/Serverless/),
      ]),
    );
  });

  it("fails synthesis when a new finding appears (an unencrypted, unlogged bucket)", () => {
    const previous = process.env.CDK_VALIDATION;
    process.env.CDK_VALIDATION = "false";
    try {
      const app = new App({ context: { stage: "dev", "aws:cdk:bundling-stacks": [] } });
      const { stack } = buildApp(app);
      new Bucket(stack, "Unreviewed", { encryption: BucketEncryption.UNENCRYPTED });
      expect(() => app.synth()).toThrow(/AwsSolutions-S1|AwsSolutions-S10|S3Bucket/);
    } finally {
      if (previous === undefined) delete process.env.CDK_VALIDATION;
      else process.env.CDK_VALIDATION = previous;
    }
  });

  it("a fresh stack with the same finding fails too, and an acknowledgement with a reason clears exactly that rule", () => {
    const build = (ack: boolean) => {
      const app = new App();
      const stack = new Stack(app, "Probe");
      const bucket = new Bucket(stack, "Logs", {
        encryption: BucketEncryption.S3_MANAGED,
        enforceSSL: true,
      });
      if (ack) {
        Validations.of(bucket).acknowledge({
          id: "AwsSolutions-S1",
          reason: "probe: access logs of the log bucket itself",
        });
      }
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      return app;
    };
    const previous = process.env.CDK_VALIDATION;
    process.env.CDK_VALIDATION = "false";
    try {
      expect(() => build(false).synth()).toThrow(/AwsSolutions-S1\b/);
      expect(() => build(true).synth()).not.toThrow();
    } finally {
      if (previous === undefined) delete process.env.CDK_VALIDATION;
      else process.env.CDK_VALIDATION = previous;
    }
  });
});
