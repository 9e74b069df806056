import { join } from "node:path";
import { type RemovalPolicy, Stack } from "aws-cdk-lib";
import {
  AccessLogFormat,
  EndpointType,
  type IResource,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RestApi,
} from "aws-cdk-lib/aws-apigateway";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { RouteDef } from "../../lib/routes/types.ts";
import type { StageSettings } from "../stage.ts";
import { HouseFunction } from "./house-function.ts";

export interface ApiProps {
  readonly routes: readonly RouteDef[];
  readonly functionsDir: string;
  readonly table: Table;
  readonly stage: StageSettings;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The REST API, built row by row from the route table: one Lambda per route (the
 * entry file functions/<id>.ts), table permissions from the row's declared access,
 * stage throttling with stricter per-method limits where a row asks for them.
 */
export class Api extends Construct {
  readonly api: RestApi;
  readonly functions: ReadonlyMap<string, HouseFunction>;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const accessLogs = new LogGroup(this, "AccessLogs", {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const methodOptions: Record<
      string,
      { throttlingRateLimit: number; throttlingBurstLimit: number }
    > = {};
    for (const route of props.routes) {
      if (route.throttle) {
        methodOptions[`${route.path}/${route.method}`] = {
          throttlingRateLimit: Math.min(route.throttle.rate, props.stage.authThrottleRate),
          throttlingBurstLimit: Math.min(route.throttle.burst, props.stage.authThrottleBurst),
        };
      }
    }
    this.api = new RestApi(this, "Rest", {
      restApiName: `micropay-${props.stage.name}`,
      description: "MicroPay payments API",
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      cloudWatchRole: true,
      deployOptions: {
        stageName: props.stage.name,
        throttlingRateLimit: props.stage.throttleRate,
        throttlingBurstLimit: props.stage.throttleBurst,
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: false,
        }),
        methodOptions,
      },
    });

    const functions = new Map<string, HouseFunction>();
    for (const route of props.routes) {
      const fn = new HouseFunction(this, `Fn-${route.id}`, {
        entry: join(props.functionsDir, `${route.id}.ts`),
        description: `MicroPay ${route.method} ${route.path}`,
        environment: props.environment,
        logRetention: props.logRetention,
        removalPolicy: props.removalPolicy,
      });
      if (route.tableAccess === "read") props.table.grantReadData(fn.fn);
      if (route.tableAccess === "write") props.table.grantReadWriteData(fn.fn);
      functions.set(route.id, fn);
      resourceFor(this.api.root, route.path).addMethod(
        route.method,
        new LambdaIntegration(fn.fn, { proxy: true }),
      );
    }
    this.functions = functions;
    void Stack.of(this);
  }
}

function resourceFor(root: IResource, path: string): IResource {
  let node = root;
  for (const part of path.split("/").filter((p) => p.length > 0)) {
    node = node.getResource(part) ?? node.addResource(part);
  }
  return node;
}
