/**
 * The webhook dispatcher's metrics (one data point per delivery attempt, through
 * lib/observability.ts countMetric). infra/constructs/webhooks.ts alarms on their
 * ratio (the failure rate): emit them with these constants only.
 */
export const METRIC_WEBHOOK_ATTEMPT_SUCCEEDED = "WebhookAttemptSucceeded";
export const METRIC_WEBHOOK_ATTEMPT_FAILED = "WebhookAttemptFailed";
