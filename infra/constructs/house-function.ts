import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import { Architecture, LoggingFormat, Runtime, Tracing } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat, SourceMapMode } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

export interface HouseFunctionProps {
  /** Absolute path of the entry file in functions/. */
  readonly entry: string;
  readonly description: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly memorySize?: number;
  readonly timeout?: Duration;
}

/**
 * The one way MicroPay builds a Lambda function: Node.js 24 on arm64, esbuild ESM
 * bundle (minified, source maps), X-Ray tracing, JSON logs into an explicit log
 * group with retention. Props are validated here so a bad stack fails at synth.
 */
export class HouseFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    super(scope, id);
    const memorySize = props.memorySize ?? 1024;
    if (memorySize < 128 || memorySize > 10240) {
      throw new Error(`HouseFunction ${id}: memorySize ${memorySize} is outside 128..10240`);
    }
    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.fn = new NodejsFunction(this, "Fn", {
      entry: props.entry,
      handler: "handler",
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize,
      timeout: props.timeout ?? Duration.seconds(10),
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
      },
    });
  }
}
