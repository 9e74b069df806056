import { createRequire } from "node:module";
import { join } from "node:path";
import { type RemovalPolicy, Stack } from "aws-cdk-lib";
import {
  AccessLogFormat,
  CfnAccount,
  DomainName,
  EndpointType,
  type IModel,
  type IResource,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RequestValidator,
  RestApi,
  SecurityPolicy,
} from "aws-cdk-lib/aws-apigateway";
import { Certificate } from "aws-cdk-lib/aws-certificatemanager";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { problemCodesOf } from "../../lib/openapi.ts";
import type { RouteDef } from "../../lib/routes/types.ts";
import { requestModelSchema } from "../models.ts";
import type { StageSettings } from "../stage.ts";
import type { Data } from "./data.ts";
import { addGatewayResponses } from "./gateway-responses.ts";
import { HouseFunction } from "./house-function.ts";
import { ManagedPolicyRole } from "./managed-role.ts";
import type { SigningKey } from "./signing-key.ts";

export interface ApiProps {
  readonly routes: readonly RouteDef[];
  readonly functionsDir: string;
  readonly data: Data;
  readonly signingKey: SigningKey;
  readonly signingKeyKey: IKey;
  readonly logsKey: IKey;
  readonly stage: StageSettings;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly domain?: { readonly domainName: string; readonly certificateArn: string };
}

/** The per-method throttle of a route: its row's own, capped by the stage's auth ceiling. */
export function methodThrottle(
  route: RouteDef,
  stage: StageSettings,
): { rate: number; burst: number } | undefined {
  const isAuth = route.path.startsWith("/v1/auth/");
  if (!route.throttle && !isAuth) return undefined;
  const own = route.throttle ?? { rate: stage.authThrottleRate, burst: stage.authThrottleBurst };
  return isAuth
    ? {
        rate: Math.min(own.rate, stage.authThrottleRate),
        burst: Math.min(own.burst, stage.authThrottleBurst),
      }
    : own;
}

/**
 * Can the route refuse a request with 401 or 403? Those are the routes with a bearer
 * token (the auth middleware's denials) and those whose own problem codes include one
 * (login's `invalid_credentials`, refresh's `invalid_refresh_token`): the same answer
 * the OpenAPI document gives. Each of them writes a security event on a refusal.
 */
export function canDeny(route: RouteDef): boolean {
  const statuses = problemCodesOf(route);
  return statuses.has(401) || statuses.has(403);
}

/** Access log record: JSON, one line per request, no bodies, no headers but the user agent. */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: "$context.requestId",
  extendedRequestId: "$context.extendedRequestId",
  requestTime: "$context.requestTime",
  requestTimeEpoch: "$context.requestTimeEpoch",
  ip: "$context.identity.sourceIp",
  userAgent: "$context.identity.userAgent",
  httpMethod: "$context.httpMethod",
  resourcePath: "$context.resourcePath",
  path: "$context.path",
  protocol: "$context.protocol",
  status: "$context.status",
  responseLength: "$context.responseLength",
  responseLatency: "$context.responseLatency",
  integrationLatency: "$context.integration.latency",
  integrationStatus: "$context.integration.status",
  errorType: "$context.error.responseType",
  wafResponseCode: "$context.wafResponseCode",
  xrayTraceId: "$context.xrayTraceId",
};

/**
 * The REST API, built row by row from the route table: one Lambda per route (the
 * entry file functions/<id>.ts) with exactly the table actions its row declares (plus,
 * where the route can refuse a request, a Put of audit items only), the signing key
 * only where the row says so; stage throttling with stricter per-method
 * limits on the auth routes; request validation; JSON access logs in a KMS-encrypted
 * log group; ERROR execution logs without data traces; X-Ray; problem+json gateway
 * responses with the security headers; an optional TLS 1.2 custom domain.
 */
export class Api extends Construct {
  readonly api: RestApi;
  readonly functions: ReadonlyMap<string, HouseFunction>;
  readonly accessLogs: LogGroup;
  readonly cloudWatchRole: ManagedPolicyRole;
  readonly domain: DomainName | undefined;
  readonly url: string;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { stage } = props;
    const { region, account } = Stack.of(this);
    this.accessLogs = new LogGroup(this, "AccessLogs", {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
      encryptionKey: props.logsKey,
    });

    const methodOptions: Record<
      string,
      { throttlingRateLimit: number; throttlingBurstLimit: number }
    > = {};
    for (const route of props.routes) {
      const t = methodThrottle(route, stage);
      if (t) {
        methodOptions[`${route.path}/${route.method}`] = {
          throttlingRateLimit: t.rate,
          throttlingBurstLimit: t.burst,
        };
      }
    }

    this.api = new RestApi(this, "Rest", {
      restApiName: `micropay-${stage.name}`,
      description: "MicroPay payments API",
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      // The account-level CloudWatch role is ours (below): least privilege, no AWS managed policy.
      cloudWatchRole: false,
      disableExecuteApiEndpoint: props.domain !== undefined,
      deployOptions: {
        stageName: stage.name,
        throttlingRateLimit: stage.throttleRate,
        throttlingBurstLimit: stage.throttleBurst,
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
        methodOptions,
      },
    });

    // API Gateway writes execution and access logs with the account's CloudWatch role.
    this.cloudWatchRole = new ManagedPolicyRole(this, "CloudWatchRole", {
      assumedBy: new ServicePrincipal("apigateway.amazonaws.com"),
      description: "API Gateway execution and access logging (account setting)",
    });
    this.cloudWatchRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "ExecutionLogs",
        actions: [
          "logs:CreateLogGroup",
          "logs:CreateLogStream",
          "logs:DescribeLogStreams",
          "logs:PutLogEvents",
          "logs:PutRetentionPolicy",
        ],
        resources: [
          `arn:${Stack.of(this).partition}:logs:${region}:${account}:log-group:API-Gateway-Execution-Logs_*`,
        ],
      }),
    );
    this.cloudWatchRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "AccessLogs",
        actions: ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
        resources: [this.accessLogs.logGroupArn],
      }),
    );
    this.cloudWatchRole.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "DescribeLogGroups",
        actions: ["logs:DescribeLogGroups"],
        resources: ["*"],
      }),
    );
    const account_ = new CfnAccount(this, "Account", {
      cloudWatchRoleArn: this.cloudWatchRole.roleArn,
    });
    account_.node.addDependency(this.cloudWatchRole.policy);
    this.api.deploymentStage.node.addDependency(account_);

    addGatewayResponses(this.api);

    const validator = new RequestValidator(this, "Validator", {
      restApi: this.api,
      requestValidatorName: "body-and-parameters",
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    const functions = new Map<string, HouseFunction>();
    for (const route of props.routes) {
      const environment: Record<string, string> = { ...props.environment };
      if (route.usesSigningKey) {
        environment.MICROPAY_SIGNING_KEY_SECRET_ID = props.signingKey.secret.secretArn;
      }
      if (route.usesSecretBox) {
        // TOTP and webhook secrets: KMS Encrypt/Decrypt under the table's key (encryption
        // context purpose + subject); the route's write grant already holds both.
        if (route.tableAccess !== "write") throw new Error(`${route.id}: secret box needs write`);
        environment.MICROPAY_SECRET_BOX_KEY_ID = props.data.key.keyId;
      }
      const fn = new HouseFunction(this, `Fn-${route.id}`, {
        entry: join(props.functionsDir, `${route.id}.ts`),
        description: `MicroPay ${route.method} ${route.path}`,
        environment,
        logRetention: props.logRetention,
        removalPolicy: props.removalPolicy,
        logsKey: props.logsKey,
        ...(route.assets
          ? {
              assets: route.assets.map((a) => ({
                source: createRequire(import.meta.url).resolve(a.module),
                file: a.file,
              })),
            }
          : {}),
      });
      for (const statement of props.data.statementsFor(route.tableAccess, route.table)) {
        fn.role.addToPrincipalPolicy(statement);
      }
      // A refusal is audited (putSecurityEvent); read-only routes may write that and nothing else.
      if (canDeny(route)) {
        for (const statement of props.data.auditWriteStatements()) {
          fn.role.addToPrincipalPolicy(statement);
        }
      }
      // A route an API key may call authenticates keys: their lookup and last use only.
      if (route.scope !== undefined) {
        for (const statement of props.data.apiKeyAuthStatements()) {
          fn.role.addToPrincipalPolicy(statement);
        }
      }
      if (route.usesSigningKey) props.signingKey.grantRead(fn.role, props.signingKeyKey.keyArn);
      functions.set(route.id, fn);

      const requestParameters: Record<string, boolean> = {};
      for (const m of route.path.matchAll(/\{([A-Za-z0-9_]+)\}/g)) {
        requestParameters[`method.request.path.${m[1]}`] = true;
      }
      const requestModels: Record<string, IModel> = {};
      const bodySchema = route.body ? requestModelSchema(route.body) : undefined;
      if (bodySchema) {
        requestModels["application/json"] = this.api.addModel(`Model-${route.id}`, {
          contentType: "application/json",
          description: `Request body of ${route.method} ${route.path}`,
          schema: bodySchema,
        });
      }
      resourceFor(this.api.root, route.path).addMethod(
        route.method,
        new LambdaIntegration(fn.fn, { proxy: true }),
        {
          operationName: route.id,
          requestValidator: validator,
          ...(Object.keys(requestParameters).length > 0 ? { requestParameters } : {}),
          ...(Object.keys(requestModels).length > 0 ? { requestModels } : {}),
        },
      );
    }
    this.functions = functions;

    if (props.domain) {
      this.domain = new DomainName(this, "Domain", {
        domainName: props.domain.domainName,
        certificate: Certificate.fromCertificateArn(
          this,
          "Certificate",
          props.domain.certificateArn,
        ),
        securityPolicy: SecurityPolicy.TLS_1_2,
        endpointType: EndpointType.REGIONAL,
      });
      this.domain.addBasePathMapping(this.api, { stage: this.api.deploymentStage });
      this.url = `https://${props.domain.domainName}/`;
    } else {
      this.domain = undefined;
      this.url = this.api.url;
    }
  }
}

function resourceFor(root: IResource, path: string): IResource {
  let node = root;
  for (const part of path.split("/").filter((p) => p.length > 0)) {
    node = node.getResource(part) ?? node.addResource(part);
  }
  return node;
}
