import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../infra/app.ts";
import { routes } from "../../lib/routes/index.ts";

let template: Template;

beforeAll(() => {
  // Bundling is skipped here (asset hashes only); `cdk synth` bundles for real.
  const app = new App({ context: { stage: "dev", "aws:cdk:bundling-stacks": [] } });
  template = Template.fromStack(buildApp(app).stack);
});

describe("the synthesized stack", () => {
  it("has the table: on-demand, NEW_AND_OLD_IMAGES stream, PITR, deletion protection, RETAIN, TTL", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: Match.objectLike({
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: { StreamViewType: "NEW_AND_OLD_IMAGES" },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      }),
    });
  });

  it("builds one Node.js 24 arm64 traced function per route, plus the audit consumer and the key generator", () => {
    const fns = template.findResources("AWS::Lambda::Function", {
      Properties: {
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        TracingConfig: { Mode: "Active" },
      },
    });
    expect(Object.keys(fns).length).toBe(routes.length + 2);
    for (const fn of Object.values(fns)) {
      expect(fn.Properties.LoggingConfig?.LogGroup).toBeDefined();
    }
  });

  it("exposes every route of the route table as an API Gateway method", () => {
    const methods = template.findResources("AWS::ApiGateway::Method");
    const verbs = Object.values(methods).map((m) => m.Properties.HttpMethod as string);
    for (const route of routes) expect(verbs).toContain(route.method);
    expect(verbs.length).toBeGreaterThanOrEqual(routes.length);
    template.resourceCountIs("AWS::ApiGateway::RestApi", 1);
  });

  it("throttles the stage and keeps data traces off", () => {
    template.hasResourceProperties("AWS::ApiGateway::Stage", {
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          DataTraceEnabled: false,
          ThrottlingRateLimit: Match.anyValue(),
          ThrottlingBurstLimit: Match.anyValue(),
        }),
      ]),
    });
  });
});
