/**
 * Metric names of the audit consumer (namespace `MicroPay`, emitted with
 * lib/observability.ts `countMetric`); infra/constructs/monitoring.ts alarms on them,
 * so both sides use these constants, never a string literal.
 */

/**
 * An audit record the redaction guard refused, written in redacted form instead
 * (a server-built field looked like a secret: a code bug to find). Alarmed at > 0.
 */
export const METRIC_AUDIT_RECORD_REDACTED = "AuditRecordRedacted";
