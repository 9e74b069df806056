import { RemovalPolicy } from "aws-cdk-lib";
import { RetentionDays } from "aws-cdk-lib/aws-logs";

/** Per-stage settings, chosen with `-c stage=dev|prod`. */
export interface StageSettings {
  readonly name: "dev" | "prod";
  /** API Gateway stage throttle (steady requests per second, burst). */
  readonly throttleRate: number;
  readonly throttleBurst: number;
  /**
   * Ceiling of the per-method throttle of the `/v1/auth/*` routes (each method is one
   * bucket shared by all clients: a capacity guard, not a per-client limit; README
   * "Auth capacity"). Prod sits at or above the route rows so the rows decide.
   */
  readonly authThrottleRate: number;
  readonly authThrottleBurst: number;
  /** WAF rate rules: requests per source IP per 5 minutes (all paths, `/v1/auth/*`). */
  readonly wafRatePerIp: number;
  /** Requests per API key per 5 minutes (WAF, aggregated on the Authorization header). */
  readonly wafRatePerApiKey: number;
  readonly wafAuthRatePerIp: number;
  /** Retention of operational logs (function, access, WAF logs). */
  readonly logRetention: RetentionDays;
  /** Removal policy of operational resources (log groups, queue, topic). Data and audit always RETAIN. */
  readonly removalPolicy: RemovalPolicy;
  /** Alarm thresholds. */
  readonly alarms: {
    readonly serverErrorRate: number;
    readonly p99LatencyMs: number;
    readonly throttledPer5Min: number;
    readonly wafBlockedPer5Min: number;
    readonly loginFailedPer5Min: number;
    readonly auditIteratorAgeMs: number;
  };
}

export const STAGES: Readonly<Record<StageSettings["name"], StageSettings>> = {
  dev: {
    name: "dev",
    throttleRate: 50,
    throttleBurst: 100,
    authThrottleRate: 20,
    authThrottleBurst: 40,
    wafRatePerIp: 1000,
    wafRatePerApiKey: 1000,
    wafAuthRatePerIp: 100,
    logRetention: RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
    alarms: {
      serverErrorRate: 0.05,
      p99LatencyMs: 3000,
      throttledPer5Min: 50,
      wafBlockedPer5Min: 200,
      loginFailedPer5Min: 50,
      auditIteratorAgeMs: 5 * 60_000,
    },
  },
  prod: {
    name: "prod",
    throttleRate: 500,
    throttleBurst: 1000,
    authThrottleRate: 400,
    authThrottleBurst: 800,
    wafRatePerIp: 2000,
    wafRatePerApiKey: 6000,
    wafAuthRatePerIp: 100,
    logRetention: RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
    alarms: {
      serverErrorRate: 0.01,
      p99LatencyMs: 2000,
      throttledPer5Min: 100,
      wafBlockedPer5Min: 500,
      loginFailedPer5Min: 100,
      auditIteratorAgeMs: 60_000,
    },
  },
};

export function stageFromContext(value: unknown): StageSettings {
  const name = value ?? "dev";
  if (name !== "dev" && name !== "prod") {
    throw new Error(`unknown stage '${String(name)}': use -c stage=dev or -c stage=prod`);
  }
  return STAGES[name];
}

/** Deploy-time options from CDK context (`-c key=value`), validated once. */
export interface DeployOptions {
  /** Existing SNS topic for alarms; absent: the stack creates an encrypted one. */
  readonly alarmTopicArn?: string;
  /** Custom domain (both or neither). */
  readonly domainName?: string;
  readonly certificateArn?: string;
  /** Retention of the audit log group; at least one year. */
  readonly auditRetention: RetentionDays;
}

const AUDIT_RETENTION_CHOICES = Object.values(RetentionDays).filter(
  (v): v is RetentionDays => typeof v === "number" && v >= 365,
);

export function deployOptionsFromContext(get: (key: string) => unknown): DeployOptions {
  const str = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string") throw new Error(`context ${key} must be a string`);
    return v;
  };
  const alarmTopicArn = str("alarmTopicArn");
  if (alarmTopicArn && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/.test(alarmTopicArn)) {
    throw new Error(`context alarmTopicArn '${alarmTopicArn}' is not an SNS topic ARN`);
  }
  const domainName = str("domainName");
  const certificateArn = str("certificateArn");
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new Error("context domainName and certificateArn go together: give both or neither");
  }
  if (
    certificateArn &&
    !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[\w-]+$/.test(certificateArn)
  ) {
    throw new Error(`context certificateArn '${certificateArn}' is not an ACM certificate ARN`);
  }
  const rawDays = get("auditRetentionDays");
  const days = rawDays === undefined ? 365 : Number(rawDays);
  const auditRetention = AUDIT_RETENTION_CHOICES.find((d) => d === days);
  if (auditRetention === undefined) {
    throw new Error(
      `context auditRetentionDays '${String(rawDays)}' must be one of ${AUDIT_RETENTION_CHOICES.join(", ")} (at least one year)`,
    );
  }
  return {
    ...(alarmTopicArn ? { alarmTopicArn } : {}),
    ...(domainName && certificateArn ? { domainName, certificateArn } : {}),
    auditRetention,
  };
}
