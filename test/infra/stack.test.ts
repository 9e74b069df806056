import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { methodThrottle } from "../../infra/constructs/api.ts";
import { GATEWAY_PROBLEMS } from "../../infra/constructs/gateway-responses.ts";
import { STAGES } from "../../infra/stage.ts";
import { METRIC_AUDIT_RECORD_REDACTED } from "../../lib/audit/metrics.ts";
import { AUDIT_QUERIES } from "../../lib/audit/queries.ts";
import { API_SECURITY_HEADERS } from "../../lib/http/security-headers.ts";
import { METRIC_LOGIN_FAILED, METRIC_NAMESPACE } from "../../lib/observability.ts";
import { routes } from "../../lib/routes/index.ts";
import {
  METRIC_WEBHOOK_ATTEMPT_FAILED,
  METRIC_WEBHOOK_ATTEMPT_SUCCEEDED,
} from "../../lib/webhooks/metrics.ts";
import { idOf, type Json, synth } from "./support.ts";

// The builtin CloudFormation schema check takes ~20 s per template; test/infra/nag.test.ts
// runs it (as `cdk synth` does). Here only the cdk-nag packs run with each synth.
process.env.CDK_VALIDATION = "false";

let dev: ReturnType<typeof synth>;
let template: Template;
let resources: Record<string, Json>;

const ofType = (type: string) =>
  Object.entries(resources).filter(([, r]) => r.Type === type) as [string, Json][];

beforeAll(() => {
  dev = synth({ stage: "dev" });
  template = dev.template;
  resources = template.toJSON().Resources;
});

describe("data", () => {
  it("has the table: on-demand, stream, PITR, deletion protection, RETAIN, TTL, customer-managed KMS key", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: Match.objectLike({
        BillingMode: "PAY_PER_REQUEST",
        StreamSpecification: { StreamViewType: "NEW_AND_OLD_IMAGES" },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        TimeToLiveSpecification: { AttributeName: "expiresAt", Enabled: true },
        SSESpecification: {
          SSEEnabled: true,
          SSEType: "KMS",
          KMSMasterKeyId: {
            "Fn::GetAtt": [idOf(dev.stack, dev.stack.keys.table), "Arn"],
          },
        },
      }),
    });
  });

  it("every KMS key rotates and is retained", () => {
    const keys = ofType("AWS::KMS::Key");
    expect(keys.length).toBe(4);
    for (const [, k] of keys) {
      expect(k.Properties.EnableKeyRotation).toBe(true);
      expect(k.DeletionPolicy).toBe("Retain");
    }
  });
});

describe("functions", () => {
  it("one Node.js 24 arm64 traced function per route, plus the audit consumer, the key generator, the webhook dispatcher, retries and sweeper and the hold sweeper", () => {
    const fns = template.findResources("AWS::Lambda::Function", {
      Properties: {
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        TracingConfig: { Mode: "Active" },
      },
    });
    expect(Object.keys(fns).length).toBe(routes.length + 6);
    expect(ofType("AWS::Lambda::Function").length).toBe(routes.length + 6);
    for (const fn of Object.values(fns)) {
      expect(fn.Properties.LoggingConfig?.LogGroup).toBeDefined();
      expect(fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe("micropay");
    }
  });

  it("every log group is KMS-encrypted and has a retention", () => {
    const groups = ofType("AWS::Logs::LogGroup");
    expect(groups.length).toBeGreaterThanOrEqual(routes.length + 6);
    for (const [, g] of groups) {
      expect(g.Properties.KmsKeyId).toBeDefined();
      expect(g.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });
});

describe("edge: REST API", () => {
  it("exposes every route of the route table as a validated API Gateway method", () => {
    const methods = ofType("AWS::ApiGateway::Method");
    expect(methods.length).toBe(routes.length);
    const validators = ofType("AWS::ApiGateway::RequestValidator");
    expect(validators.length).toBe(1);
    expect(validators[0]?.[1].Properties).toMatchObject({
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
    const validatorId = validators[0]?.[0];
    for (const route of routes) {
      const m = methods.find(([, r]) => r.Properties.OperationName === route.id);
      expect(m, route.id).toBeDefined();
      const props = m?.[1].Properties;
      expect(props.HttpMethod).toBe(route.method);
      expect(props.RequestValidatorId).toEqual({ Ref: validatorId });
      for (const p of route.path.matchAll(/\{(\w+)\}/g)) {
        expect(props.RequestParameters[`method.request.path.${p[1]}`], route.id).toBe(true);
      }
      // A request model exactly when the route has a body, both ways.
      expect(props.RequestModels !== undefined, route.id).toBe(route.body !== undefined);
    }
    template.resourceCountIs("AWS::ApiGateway::RestApi", 1);
  });

  it("request models are JSON Schema draft 4 without refs", () => {
    for (const [, m] of ofType("AWS::ApiGateway::Model")) {
      expect(m.Properties.ContentType).toBe("application/json");
      expect(m.Properties.Schema.$schema).toBe("http://json-schema.org/draft-04/schema#");
      expect(JSON.stringify(m.Properties.Schema)).not.toContain("$ref");
    }
  });

  it("throttles the stage, stricter on /v1/auth/*, logs ERROR without data traces, X-Ray on", () => {
    const stage = ofType("AWS::ApiGateway::Stage")[0]?.[1].Properties;
    expect(stage.TracingEnabled).toBe(true);
    const settings = stage.MethodSettings as Json[];
    const all = settings.find((s) => s.ResourcePath === "/*" && s.HttpMethod === "*");
    expect(all).toMatchObject({
      DataTraceEnabled: false,
      LoggingLevel: "ERROR",
      MetricsEnabled: true,
      ThrottlingRateLimit: STAGES.dev.throttleRate,
      ThrottlingBurstLimit: STAGES.dev.throttleBurst,
    });
    const authRoutes = routes.filter((r) => r.path.startsWith("/v1/auth/"));
    for (const route of authRoutes) {
      const path = `/~1${route.path.slice(1).replaceAll("/", "~1")}`;
      const s = settings.find((x) => x.ResourcePath === path && x.HttpMethod === route.method);
      expect(s, route.id).toBeDefined();
      expect(s.ThrottlingRateLimit).toBeLessThanOrEqual(STAGES.dev.authThrottleRate);
      expect(s.ThrottlingBurstLimit).toBeLessThanOrEqual(STAGES.dev.authThrottleBurst);
      expect(s.ThrottlingRateLimit).toBeLessThan(all.ThrottlingRateLimit);
      expect(methodThrottle(route, STAGES.dev)).toBeDefined();
    }
    for (const s of settings) expect(s.DataTraceEnabled).toBe(false);
  });

  it("prod: each /v1/auth/* method throttle is a capacity guard far above honest load (README: Auth capacity)", () => {
    const prod = synth({ stage: "prod" });
    const stage = (Object.values(prod.template.findResources("AWS::ApiGateway::Stage"))[0] as Json)
      .Properties;
    const settings = stage.MethodSettings as Json[];
    const all = settings.find((s) => s.ResourcePath === "/*" && s.HttpMethod === "*");
    const expected: Record<string, { rate: number; burst: number }> = {
      "auth-register": { rate: 200, burst: 400 },
      "auth-login": { rate: 200, burst: 400 },
      "auth-refresh": { rate: 400, burst: 800 },
      "auth-logout": { rate: 400, burst: 800 },
      "auth-mfa": { rate: 400, burst: 800 },
    };
    const authRoutes = routes.filter((r) => r.path.startsWith("/v1/auth/"));
    expect(authRoutes.map((r) => r.id).sort()).toEqual(Object.keys(expected).sort());
    // One honest client under the WAF's per-IP /v1/auth/ rule sends at most this many per second.
    const perIpPerSecond = STAGES.prod.wafAuthRatePerIp / 300;
    const synthesized = new Map<string, number>();
    for (const route of authRoutes) {
      const path = `/~1${route.path.slice(1).replaceAll("/", "~1")}`;
      const s = settings.find((x) => x.ResourcePath === path && x.HttpMethod === route.method);
      expect(s, route.id).toBeDefined();
      synthesized.set(route.id, s.ThrottlingRateLimit);
      const want = expected[route.id];
      expect({ rate: s.ThrottlingRateLimit, burst: s.ThrottlingBurstLimit }, route.id).toEqual(
        want,
      );
      // The prod ceiling does not cut the rows, so the local gateway (which reads the rows) matches prod.
      expect(route.throttle, route.id).toEqual(want);
      expect(methodThrottle(route, STAGES.prod), route.id).toEqual(want);
      // Still under the stage's per-method default, which stays the outer bound.
      expect(s.ThrottlingRateLimit).toBeLessThan(all.ThrottlingRateLimit);
      // Saturating it from behind the WAF takes hundreds of source IPs (was 15 at 5/s).
      expect(s.ThrottlingRateLimit / perIpPerSecond, route.id).toBeGreaterThanOrEqual(500);
    }
    const rate = (id: string) => synthesized.get(id) ?? 0;
    // Refresh: 100,000 active sessions refreshing every 15 minutes (111/s) with 3x headroom.
    expect(rate("auth-refresh")).toBeGreaterThanOrEqual((100_000 / 900) * 3);
    // Login: bcrypt cost 12 takes ~0.42 s per vCPU, ~0.73 s on a 1,024 MB Lambda (0.58 vCPU);
    // the rate bounds login's concurrency to under a fifth of the default 1,000 executions,
    // and is 6x a peak of 10,000 sign-ins in 5 minutes (33/s).
    expect(rate("auth-login") * 0.73).toBeLessThanOrEqual(200);
    expect(rate("auth-login")).toBeGreaterThanOrEqual((10_000 / 300) * 6);
  });

  it("writes JSON access logs to a KMS-encrypted log group", () => {
    const stage = ofType("AWS::ApiGateway::Stage")[0]?.[1].Properties;
    const format = stage.AccessLogSetting.Format as string;
    const parsed = JSON.parse(format) as Record<string, string>;
    expect(parsed.requestId).toBe("$context.requestId");
    expect(parsed.status).toBe("$context.status");
    expect(format).not.toMatch(/authorization|\$input|body/i);
    const groupId = idOf(dev.stack, dev.stack.api.accessLogs);
    expect(stage.AccessLogSetting.DestinationArn).toEqual({ "Fn::GetAtt": [groupId, "Arn"] });
    expect(resources[groupId].Properties.KmsKeyId).toBeDefined();
  });

  it("gateway responses carry the security headers and the problem+json shape", () => {
    const responses = ofType("AWS::ApiGateway::GatewayResponse");
    const required = [
      "DEFAULT_4XX",
      "DEFAULT_5XX",
      "THROTTLED",
      "WAF_FILTERED",
      "UNAUTHORIZED",
      "ACCESS_DENIED",
      "MISSING_AUTHENTICATION_TOKEN",
      "REQUEST_TOO_LARGE",
    ];
    for (const type of required) {
      expect(
        responses.some(([, r]) => r.Properties.ResponseType === type),
        type,
      ).toBe(true);
    }
    expect(responses.length).toBe(GATEWAY_PROBLEMS.length);
    for (const [, r] of responses) {
      const p = r.Properties;
      for (const [name, value] of Object.entries(API_SECURITY_HEADERS)) {
        expect(
          p.ResponseParameters[`gatewayresponse.header.${name}`],
          `${p.ResponseType} ${name}`,
        ).toBe(`'${value}'`);
      }
      expect(p.ResponseParameters["gatewayresponse.header.Content-Type"]).toBe(
        "'application/problem+json'",
      );
      const body = JSON.parse(
        (p.ResponseTemplates["application/json"] as string).replace("$context.requestId", "abc"),
      );
      expect(Object.keys(body).sort()).toEqual([
        "code",
        "detail",
        "requestId",
        "status",
        "title",
        "type",
      ]);
      expect(body.requestId).toBe("abc");
      expect(String(body.status)).toBe(p.StatusCode);
      expect(body.type).toBe(`urn:micropay:problem:${body.code}`);
    }
    const byType = (t: string) =>
      responses.find(([, r]) => r.Properties.ResponseType === t)?.[1].Properties;
    expect(byType("THROTTLED")).toMatchObject({ StatusCode: "429" });
    expect(byType("THROTTLED").ResponseParameters["gatewayresponse.header.Retry-After"]).toBe(
      "'1'",
    );
    expect(byType("THROTTLED").ResponseTemplates["application/json"]).toContain(
      '"code":"rate_limited"',
    );
    expect(byType("MISSING_AUTHENTICATION_TOKEN")).toMatchObject({ StatusCode: "404" });
    expect(byType("MISSING_AUTHENTICATION_TOKEN").ResponseTemplates["application/json"]).toContain(
      '"code":"not_found"',
    );
    expect(byType("REQUEST_TOO_LARGE")).toMatchObject({ StatusCode: "413" });
    expect(byType("UNAUTHORIZED")).toMatchObject({ StatusCode: "401" });
    expect(byType("WAF_FILTERED")).toMatchObject({ StatusCode: "403" });
  });

  it("uses its own least-privilege CloudWatch role (no AWS managed policy)", () => {
    const account = ofType("AWS::ApiGateway::Account")[0]?.[1];
    const roleId = idOf(dev.stack, dev.stack.api.cloudWatchRole);
    expect(account.Properties.CloudWatchRoleArn).toEqual({ "Fn::GetAtt": [roleId, "Arn"] });
  });

  it("has no custom domain unless one is given in context", () => {
    template.resourceCountIs("AWS::ApiGateway::DomainName", 0);
    const api = ofType("AWS::ApiGateway::RestApi")[0]?.[1];
    expect(api.Properties.DisableExecuteApiEndpoint).toBeFalsy();
  });
});

describe("edge: WAF", () => {
  it("has the managed rule groups, per-IP and stricter /v1/auth/ rate rules and the 16 KiB body limit", () => {
    const acl = ofType("AWS::WAFv2::WebACL")[0]?.[1].Properties;
    expect(acl.Scope).toBe("REGIONAL");
    const rules = acl.Rules as Json[];
    const managed = rules.map((r) => r.Statement.ManagedRuleGroupStatement?.Name).filter(Boolean);
    expect(managed).toEqual(
      expect.arrayContaining([
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesSQLiRuleSet",
      ]),
    );
    const rate = rules.filter((r) => r.Statement.RateBasedStatement);
    const general = rate.find((r) => !r.Statement.RateBasedStatement.ScopeDownStatement);
    const auth = rate.find((r) => r.Name === "auth-rate-per-ip");
    expect(general.Statement.RateBasedStatement).toMatchObject({
      AggregateKeyType: "IP",
      Limit: STAGES.dev.wafRatePerIp,
    });
    expect(auth.Statement.RateBasedStatement.AggregateKeyType).toBe("IP");
    expect(auth.Statement.RateBasedStatement.Limit * 5).toBeLessThanOrEqual(
      general.Statement.RateBasedStatement.Limit,
    );
    const scope = JSON.stringify(auth.Statement.RateBasedStatement.ScopeDownStatement);
    expect(scope).toContain('"SearchString":"/v1/auth/"');
    expect(scope).toContain('"PositionalConstraint":"STARTS_WITH"');
    expect(auth.Action.Block.CustomResponse.ResponseCode).toBe(429);
    const size = rules.find((r) => r.Statement.SizeConstraintStatement);
    expect(size.Statement.SizeConstraintStatement).toMatchObject({
      ComparisonOperator: "GT",
      Size: 16 * 1024,
      FieldToMatch: { Body: { OversizeHandling: "MATCH" } },
    });
    expect(size.Action.Block.CustomResponse.ResponseCode).toBe(413);
  });

  it("limits each API key on its own, aggregated on the Authorization header of key requests", () => {
    const rules = ofType("AWS::WAFv2::WebACL")[0]?.[1].Properties.Rules as Json[];
    const perKey = rules.find((r) => r.Name === "rate-per-api-key");
    expect(perKey.Statement.RateBasedStatement).toMatchObject({
      Limit: STAGES.dev.wafRatePerApiKey,
      EvaluationWindowSec: 300,
      AggregateKeyType: "CUSTOM_KEYS",
      CustomKeys: [
        { Header: { Name: "authorization", TextTransformations: [{ Priority: 0, Type: "NONE" }] } },
      ],
      ScopeDownStatement: {
        ByteMatchStatement: {
          SearchString: "Bearer mp_live_",
          FieldToMatch: { SingleHeader: { Name: "authorization" } },
          PositionalConstraint: "STARTS_WITH",
        },
      },
    });
    expect(perKey.Action.Block.CustomResponse.ResponseCode).toBe(429);
    // Evaluated before the managed groups, beside the per-IP rules.
    const priorities = rules.map((r) => r.Priority as number);
    expect(new Set(priorities).size).toBe(priorities.length);
  });

  it("is associated with the stage and logs to a KMS-encrypted aws-waf-logs- group", () => {
    const assoc = ofType("AWS::WAFv2::WebACLAssociation")[0]?.[1].Properties;
    expect(JSON.stringify(assoc.ResourceArn)).toContain(
      idOf(dev.stack, dev.stack.api.api.deploymentStage),
    );
    const group = idOf(dev.stack, dev.stack.waf.logGroup);
    expect(resources[group].Properties.LogGroupName).toMatch(/^aws-waf-logs-/);
    expect(resources[group].Properties.KmsKeyId).toBeDefined();
    const logging = ofType("AWS::WAFv2::LoggingConfiguration")[0]?.[1].Properties;
    expect(JSON.stringify(logging.LogDestinationConfigs)).toContain(`{"Ref":"${group}"}`);
    expect(JSON.stringify(logging.RedactedFields).toLowerCase()).toContain("authorization");
  });
});

describe("secrets", () => {
  it("the signing key secret is KMS-encrypted and generated by a custom resource, never in the template", () => {
    const secret = ofType("AWS::SecretsManager::Secret")[0]?.[1].Properties;
    expect(secret.KmsKeyId).toEqual({
      "Fn::GetAtt": [idOf(dev.stack, dev.stack.keys.secrets), "Arn"],
    });
    expect(secret.SecretString).toBeUndefined();
    const cr = ofType("Custom::MicroPaySigningKey")[0]?.[1].Properties;
    expect(cr.SecretId).toEqual({
      Ref: idOf(dev.stack, dev.stack.signingKey.secret),
    });
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/BEGIN (EC )?PRIVATE KEY|"d":"/);
  });

  it("MICROPAY_SIGNING_KEY_SECRET_ID is set only on functions whose row uses the signing key", () => {
    for (const route of routes) {
      const fn = dev.stack.api.functions.get(route.id);
      if (!fn) throw new Error(`no function for ${route.id}`);
      const id = idOf(dev.stack, fn.fn);
      const env = resources[id].Properties.Environment.Variables;
      expect(env.MICROPAY_SIGNING_KEY_SECRET_ID !== undefined, route.id).toBe(route.usesSigningKey);
    }
  });
});

describe("audit", () => {
  it("the stream event source mapping parks failures in a KMS-encrypted queue", () => {
    const esm = ofType("AWS::Lambda::EventSourceMapping")[0]?.[1].Properties;
    const queueId = idOf(dev.stack, dev.stack.audit.deadLetters);
    expect(esm.DestinationConfig.OnFailure.Destination).toEqual({ "Fn::GetAtt": [queueId, "Arn"] });
    expect(esm).toMatchObject({
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    expect(esm.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(resources[queueId].Properties.KmsMasterKeyId).toBeDefined();
  });

  it("only audit outbox INSERTs invoke the audit function (the stream mapping's filter)", () => {
    const mappings = ofType("AWS::Lambda::EventSourceMapping").filter(([id]) =>
      id.startsWith("Audit"),
    );
    expect(mappings).toHaveLength(1);
    const filters = mappings[0]?.[1].Properties.FilterCriteria.Filters;
    expect(filters).toHaveLength(1);
    expect(JSON.parse(filters[0].Pattern)).toEqual({
      eventName: ["INSERT"],
      dynamodb: { NewImage: { type: { S: ["audit_event"] } } },
    });
  });

  it("the audit log group is KMS-encrypted, kept a year by default, and RETAINed even in dev", () => {
    const id = idOf(dev.stack, dev.stack.audit.logGroup);
    expect(resources[id].Properties.KmsKeyId).toBeDefined();
    expect(resources[id].Properties.RetentionInDays).toBe(365);
    expect(resources[id].DeletionPolicy).toBe("Retain");
  });

  it("saves every query of lib/audit/queries.ts as a Logs Insights query definition on the audit log group", () => {
    const defs = ofType("AWS::Logs::QueryDefinition");
    expect(defs.length).toBe(AUDIT_QUERIES.length);
    const groupRef = {
      Ref: idOf(dev.stack, dev.stack.audit.logGroup),
    };
    for (const q of AUDIT_QUERIES) {
      const d = defs.find(([, r]) => String(r.Properties.Name).endsWith(`/audit/${q.name}`));
      expect(d, q.name).toBeDefined();
      expect(d?.[1].Properties.QueryString).toBe(q.query);
      expect(d?.[1].Properties.LogGroupNames).toEqual([groupRef]);
    }
  });

  it("the audit retention comes from context and must be at least a year", () => {
    const { stack, template: t } = synth({ stage: "dev", auditRetentionDays: "1827" });
    const id = idOf(stack, stack.audit.logGroup);
    expect(t.toJSON().Resources[id].Properties.RetentionInDays).toBe(1827);
    expect(() => synth({ stage: "dev", auditRetentionDays: "30" })).toThrow(/at least one year/);
  });
});

describe("observability", () => {
  it("has the fifteen alarms, each notifying the created encrypted topic", () => {
    const alarms = ofType("AWS::CloudWatch::Alarm");
    const names = alarms.map(([, a]) =>
      String(a.Properties.AlarmName).replace("micropay-dev-", ""),
    );
    expect(names.sort()).toEqual(
      [
        "api-5xx-rate",
        "api-p99-latency",
        "api-throttled",
        "audit-dlq-not-empty",
        "audit-iterator-age",
        "audit-record-redacted",
        "login-failed-spike",
        "waf-blocked-spike",
        "webhooks-dlq-not-empty",
        "webhooks-dispatcher-errors",
        "webhooks-failure-rate",
        "webhooks-retries-errors",
        "webhooks-retry-dlq-not-empty",
        "webhooks-sweeper-errors",
        "holds-sweeper-errors",
      ].sort(),
    );
    const topics = ofType("AWS::SNS::Topic");
    expect(topics.length).toBe(1);
    expect(topics[0]?.[1].Properties.KmsMasterKeyId).toBeDefined();
    for (const [, a] of alarms)
      expect(a.Properties.AlarmActions).toEqual([{ Ref: topics[0]?.[0] }]);
    const login = alarms.find(([, a]) =>
      String(a.Properties.AlarmName).endsWith("login-failed-spike"),
    )?.[1];
    expect(login.Properties).toMatchObject({
      Namespace: METRIC_NAMESPACE,
      MetricName: METRIC_LOGIN_FAILED,
    });
    const p99 = alarms.find(([, a]) => String(a.Properties.AlarmName).endsWith("p99-latency"))?.[1];
    expect(p99.Properties.ExtendedStatistic).toBe("p99");
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    template.hasResourceProperties("AWS::Logs::MetricFilter", {
      FilterPattern: Match.stringLikeRegexp("status.*429"),
    });
  });

  it("alarms on any audit record the redaction guard had to write in redacted form", () => {
    const redacted = ofType("AWS::CloudWatch::Alarm").find(([, a]) =>
      String(a.Properties.AlarmName).endsWith("-audit-record-redacted"),
    )?.[1];
    expect(redacted?.Properties).toMatchObject({
      Namespace: METRIC_NAMESPACE,
      MetricName: METRIC_AUDIT_RECORD_REDACTED,
      Dimensions: expect.arrayContaining([{ Name: "stage", Value: "dev" }]),
      Statistic: "Sum",
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
    });
  });

  it("uses the alarm topic given at deploy time and a TLS 1.2 custom domain from context", () => {
    const arn = "arn:aws:sns:eu-west-1:123456789012:ops-alarms";
    const { template: t } = synth({
      stage: "prod",
      alarmTopicArn: arn,
      domainName: "api.example.com",
      certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/abcd-1234",
    });
    t.resourceCountIs("AWS::SNS::Topic", 0);
    for (const a of Object.values(t.findResources("AWS::CloudWatch::Alarm"))) {
      expect(a.Properties.AlarmActions).toEqual([arn]);
    }
    t.hasResourceProperties("AWS::ApiGateway::DomainName", {
      DomainName: "api.example.com",
      SecurityPolicy: "TLS_1_2",
      EndpointConfiguration: { Types: ["REGIONAL"] },
    });
    t.resourceCountIs("AWS::ApiGateway::BasePathMapping", 1);
    t.hasResourceProperties("AWS::ApiGateway::RestApi", { DisableExecuteApiEndpoint: true });
    t.hasOutput("ApiUrl", { Value: "https://api.example.com/" });
    expect(() => synth({ stage: "dev", domainName: "api.example.com" })).toThrow(/certificateArn/);
  });
});

describe("stages and outputs", () => {
  it("prod has higher limits and retains operational resources; dev destroys them", () => {
    const prod = synth({ stage: "prod" });
    const stageOf = (t: Template) =>
      (Object.values(t.findResources("AWS::ApiGateway::Stage"))[0] as Json).Properties;
    const all = (t: Template) =>
      (stageOf(t).MethodSettings as Json[]).find((s) => s.ResourcePath === "/*");
    expect(all(prod.template).ThrottlingRateLimit).toBe(STAGES.prod.throttleRate);
    expect(all(template).ThrottlingRateLimit).toBe(STAGES.dev.throttleRate);
    expect(STAGES.prod.throttleRate).not.toBe(STAGES.dev.throttleRate);
    expect(stageOf(prod.template).StageName).toBe("prod");
    const fnLog = (s: typeof dev) => {
      const health = s.stack.api.functions.get("health");
      if (!health) throw new Error("no health function");
      return s.template.toJSON().Resources[idOf(s.stack, health.logGroup)];
    };
    expect(fnLog(prod).DeletionPolicy).toBe("Retain");
    expect(fnLog(dev).DeletionPolicy).toBe("Delete");
    prod.template.hasResource("AWS::DynamoDB::Table", { DeletionPolicy: "Retain" });
  });

  it("outputs the API URL and the audit log group", () => {
    template.hasOutput("ApiUrl", {});
    template.hasOutput("AuditLogGroup", {
      Value: { Ref: idOf(dev.stack, dev.stack.audit.logGroup) },
    });
  });

  it("no function is granted a control-plane table action (health probes with GetItem)", () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/dynamodb:(DescribeTable|CreateTable|UpdateTable|DeleteTable)/);
  });
});

describe("webhooks", () => {
  const mappingsOf = (prefix: string) =>
    ofType("AWS::Lambda::EventSourceMapping").filter(([id]) => id.startsWith(prefix));

  const onStream = (m: [string, { Properties: { EventSourceArn: unknown } }]) =>
    JSON.stringify(m[1].Properties.EventSourceArn).includes("StreamArn");

  it("the table stream has two consumers: the audit consumer and the webhook dispatcher", () => {
    const mappings = ofType("AWS::Lambda::EventSourceMapping");
    expect(mappings.filter(onStream)).toHaveLength(2);
    expect(mappings).toHaveLength(3); // and the retry queue's
  });

  it("only event-item INSERTs invoke the dispatcher, failed batches go to its encrypted queue", () => {
    const mapping = mappingsOf("Webhooks").find(onStream);
    const props = mapping?.[1].Properties;
    expect(JSON.parse(props.FilterCriteria.Filters[0].Pattern)).toEqual({
      eventName: ["INSERT"],
      dynamodb: { NewImage: { type: { S: ["event"] } } },
    });
    expect(props.FunctionResponseTypes).toEqual(["ReportBatchItemFailures"]);
    expect(props.BisectBatchOnFunctionError).toBe(true);
    expect(props.DestinationConfig.OnFailure.Destination).toBeDefined();
    const queueId = idOf(dev.stack, dev.stack.webhooks.deadLetters);
    expect(resources[queueId].Properties.KmsMasterKeyId).toBeDefined();
  });

  it("retries go through a KMS-encrypted SQS queue, consumed with partial batch responses, dead-lettered after 5 receives into a KMS-encrypted, alarmed queue", () => {
    const w = dev.stack.webhooks;
    const queueId = idOf(dev.stack, w.retryQueue);
    const dlqId = idOf(dev.stack, w.retryDeadLetters);
    const queue = resources[queueId].Properties;
    expect(queue.KmsMasterKeyId).toBeDefined();
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: { "Fn::GetAtt": [dlqId, "Arn"] },
      maxReceiveCount: 5,
    });
    expect(resources[dlqId].Properties.KmsMasterKeyId).toBeDefined();
    const mapping = mappingsOf("Webhooks").find((m) => !onStream(m));
    expect(mapping?.[1].Properties).toMatchObject({
      EventSourceArn: { "Fn::GetAtt": [queueId, "Arn"] },
      FunctionName: { Ref: idOf(dev.stack, w.retries.fn) },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
    });
    // Every delivering function knows the queue (a failed attempt queues its next one).
    for (const fn of [w.dispatcher, w.retries, w.sweeper]) {
      const vars = resources[idOf(dev.stack, fn.fn)].Properties.Environment.Variables;
      expect(vars.MICROPAY_WEBHOOK_RETRY_QUEUE_URL).toEqual({ Ref: queueId });
    }
    const alarms = ofType("AWS::CloudWatch::Alarm").map(([, a]) => a.Properties);
    const dlqAlarm = alarms.find((a) =>
      String(a.AlarmName).endsWith("webhooks-retry-dlq-not-empty"),
    );
    expect(JSON.stringify(dlqAlarm?.Dimensions)).toContain(dlqId);
    const rate = alarms.find((a) => String(a.AlarmName).endsWith("webhooks-failure-rate"));
    const metricNames = JSON.stringify(rate?.Metrics);
    expect(metricNames).toContain(METRIC_WEBHOOK_ATTEMPT_FAILED);
    expect(metricNames).toContain(METRIC_WEBHOOK_ATTEMPT_SUCCEEDED);
  });

  it("an EventBridge rule runs the safety-net sweeper every ten minutes, overdue by that long", () => {
    const id = idOf(dev.stack, dev.stack.webhooks.sweepRule);
    expect(resources[id].Properties.ScheduleExpression).toBe("rate(10 minutes)");
    const fnId = idOf(dev.stack, dev.stack.webhooks.sweeper.fn);
    expect(JSON.stringify(resources[id].Properties.Targets)).toContain(fnId);
    expect(resources[fnId].Properties.Environment.Variables.MICROPAY_WEBHOOK_SWEEP_SECONDS).toBe(
      "600",
    );
  });

  it("an EventBridge rule runs the hold sweeper every minute", () => {
    const id = idOf(dev.stack, dev.stack.holds.rule);
    expect(resources[id].Properties.ScheduleExpression).toBe("rate(1 minute)");
    const fnId = idOf(dev.stack, dev.stack.holds.sweeper.fn);
    expect(JSON.stringify(resources[id].Properties.Targets)).toContain(fnId);
  });
});
