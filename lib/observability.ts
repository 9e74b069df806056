import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

/**
 * Powertools for the whole code base, built once per container.
 *
 * - `logger`: house rule: never log a password, hash, token, key or whole request
 *   body; log ids, names and outcomes. `MICROPAY_LOG_LEVEL=SILENT` quiets it.
 * - `countMetric(name)`: one CloudWatch metric data point via the Embedded Metric
 *   Format (a log line, no API call, no flush middleware needed), in namespace
 *   `MicroPay` with dimensions `service` and `stage`. The CDK alarms read the names
 *   exported below, so emit them with these constants, never a string literal.
 *   Emitted only inside Lambda (or with POWERTOOLS_METRICS_DISABLED=false) so local
 *   runs and tests keep a clean stdout.
 *
 * Lambda active tracing and API Gateway X-Ray trace every request end to end.
 */
const level = process.env.MICROPAY_LOG_LEVEL ?? process.env.POWERTOOLS_LOG_LEVEL ?? "INFO";
const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? "micropay";

export const logger = new Logger({
  serviceName,
  logLevel: level as "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT",
});

/** CloudWatch namespace of MicroPay's own metrics. */
export const METRIC_NAMESPACE = "MicroPay";
/** A login attempt that failed (unknown email, wrong password, locked account). The login-failure alarm watches it. */
export const METRIC_LOGIN_FAILED = "LoginFailed";
/** An account locked after too many failures. */
export const METRIC_ACCOUNT_LOCKED = "AccountLocked";
/** A refresh token presented again after rotation (its family is revoked). */
export const METRIC_REFRESH_REUSE = "RefreshTokenReuse";

const inLambda = process.env.AWS_LAMBDA_FUNCTION_NAME !== undefined;

export const metrics = new Metrics({
  namespace: METRIC_NAMESPACE,
  serviceName,
  defaultDimensions: { stage: process.env.MICROPAY_STAGE ?? "local" },
});

/** Emits one data point now (single-metric EMF line). */
export function countMetric(name: string, value = 1): void {
  if (!inLambda && process.env.POWERTOOLS_METRICS_DISABLED !== "false") return;
  metrics.singleMetric().addMetric(name, MetricUnit.Count, value);
}

export { MetricUnit };
