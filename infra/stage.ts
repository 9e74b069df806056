import { RemovalPolicy } from "aws-cdk-lib";
import { RetentionDays } from "aws-cdk-lib/aws-logs";

/** Per-stage settings, chosen with `-c stage=dev|prod`. */
export interface StageSettings {
  readonly name: "dev" | "prod";
  readonly throttleRate: number;
  readonly throttleBurst: number;
  readonly authThrottleRate: number;
  readonly authThrottleBurst: number;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export const STAGES: Readonly<Record<StageSettings["name"], StageSettings>> = {
  dev: {
    name: "dev",
    throttleRate: 50,
    throttleBurst: 100,
    authThrottleRate: 5,
    authThrottleBurst: 10,
    logRetention: RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  },
  prod: {
    name: "prod",
    throttleRate: 500,
    throttleBurst: 1000,
    authThrottleRate: 20,
    authThrottleBurst: 40,
    logRetention: RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
  },
};

export function stageFromContext(value: unknown): StageSettings {
  const name = value ?? "dev";
  if (name !== "dev" && name !== "prod") {
    throw new Error(`unknown stage '${String(name)}': use -c stage=dev or -c stage=prod`);
  }
  return STAGES[name];
}
