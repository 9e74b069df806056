import { CfnResource, Duration, Lazy, type RemovalPolicy, Stack } from "aws-cdk-lib";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import {
  Architecture,
  type CfnFunction,
  LoggingFormat,
  Runtime,
  Tracing,
} from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat, SourceMapMode } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { ManagedPolicyRole } from "./managed-role.ts";

export interface HouseFunctionProps {
  /** Absolute path of the entry file in functions/. */
  readonly entry: string;
  readonly description: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** KMS key of the function's log group. */
  readonly logsKey: IKey;
  readonly memorySize?: number;
  readonly timeout?: Duration;
  /** Files copied beside the bundle (absolute source path, file name in the asset). */
  readonly assets?: readonly { readonly source: string; readonly file: string }[];
}

/**
 * The one way MicroPay builds a Lambda function: Node.js 24 on arm64, esbuild ESM
 * bundle (minified, source maps), X-Ray tracing, JSON logs into an explicit
 * KMS-encrypted log group with retention, and an execution role of its own whose
 * permissions live in one customer-managed policy: it starts with writing to its own
 * log group only; callers add exactly what the function needs. Props are validated
 * here so a bad stack fails at synth.
 */
export class HouseFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: ManagedPolicyRole;

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    super(scope, id);
    const memorySize = props.memorySize ?? 1024;
    if (memorySize < 128 || memorySize > 10240) {
      throw new Error(`HouseFunction ${id}: memorySize ${memorySize} is outside 128..10240`);
    }
    const timeout = props.timeout ?? Duration.seconds(10);
    if (timeout.toSeconds() < 1 || timeout.toSeconds() > 900) {
      throw new Error(`HouseFunction ${id}: timeout must be within 1..900 seconds`);
    }
    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
      encryptionKey: props.logsKey,
    });
    this.role = new ManagedPolicyRole(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `MicroPay ${Stack.of(this).stackName}: ${props.description}`,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "OwnLogGroup",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.fn = new NodejsFunction(this, "Fn", {
      entry: props.entry,
      handler: "handler",
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize,
      timeout,
      role: this.role,
      tracing: Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        NODE_OPTIONS: "--enable-source-maps",
        POWERTOOLS_SERVICE_NAME: "micropay",
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        target: "node24",
        mainFields: ["module", "main"],
        // ESM bundles need a CommonJS `require` for the few CJS dependencies.
        banner:
          "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);",
        ...(props.assets && props.assets.length > 0
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_input: string, output: string) =>
                  (props.assets ?? []).map((a) => `cp "${a.source}" "${output}/${a.file}"`),
              },
            }
          : {}),
      },
    });
    dropImpliedDependsOn(this.fn.node.defaultChild as CfnFunction, this.role);
  }
}

/**
 * aws-cdk-lib's Function makes its resource DependsOn every resource in its role's
 * construct subtree (meant for the usual inline DefaultPolicy, which nothing else
 * orders). Here the two it finds are already ordered: the function's Role is a GetAtt
 * of the role, and the role lists its managed policy in ManagedPolicyArns. cfn-lint
 * flags that DependsOn as redundant (W3005), so it is rendered without those two; any
 * other dependency (another resource under the role, or one added later) stays.
 */
function dropImpliedDependsOn(fn: CfnFunction, role: ManagedPolicyRole): void {
  const implied = new Set<unknown>([role.node.defaultChild, role.policy.node.defaultChild]);
  fn.addOverride(
    "DependsOn",
    Lazy.list(
      {
        produce: () =>
          fn
            .obtainDependencies()
            .filter((d): d is CfnResource => CfnResource.isCfnResource(d) && !implied.has(d))
            .sort((a, b) => a.node.path.localeCompare(b.node.path))
            .map((d) => d.logicalId),
      },
      { omitEmpty: true },
    ),
  );
}
