import { Duration, Stack } from "aws-cdk-lib";
import type { RestApi } from "aws-cdk-lib/aws-apigateway";
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { FilterPattern, type ILogGroup, MetricFilter } from "aws-cdk-lib/aws-logs";
import { type ITopic, Topic } from "aws-cdk-lib/aws-sns";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRIC_AUDIT_RECORD_REDACTED } from "../../lib/audit/metrics.ts";
import { METRIC_LOGIN_FAILED, METRIC_NAMESPACE } from "../../lib/observability.ts";
import type { StageSettings } from "../stage.ts";

export interface MonitoringProps {
  readonly stage: StageSettings;
  readonly api: RestApi;
  readonly accessLogs: ILogGroup;
  readonly webAclName: string;
  readonly auditFunction: IFunction;
  readonly auditDeadLetters: IQueue;
  readonly messagingKey: IKey;
  /** Existing topic for alarm notifications; absent: an encrypted topic is created. */
  readonly alarmTopicArn?: string;
}

/** Name of the metric the access-log filter counts for API Gateway 429 answers. */
export const METRIC_API_THROTTLED = "ApiThrottled";

/**
 * Alarms (5xx rate, p99 latency, 429 throttles, WAF blocks, login failures, audit DLQ
 * not empty, audit iterator age, audit record redacted by the guard) to one SNS topic,
 * and one dashboard.
 */
export class Monitoring extends Construct {
  readonly topic: ITopic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { stage } = props;
    const a = stage.alarms;
    this.topic = props.alarmTopicArn
      ? Topic.fromTopicArn(this, "AlarmTopic", props.alarmTopicArn)
      : new Topic(this, "AlarmTopic", {
          displayName: `MicroPay ${stage.name} alarms`,
          masterKey: props.messagingKey,
          enforceSSL: true,
        });
    const period = Duration.minutes(5);
    const stageDims = { ApiName: props.api.restApiName, Stage: stage.name };

    const requests = new Metric({
      namespace: "AWS/ApiGateway",
      metricName: "Count",
      dimensionsMap: stageDims,
      statistic: "Sum",
      period,
    });
    const serverErrors = new Metric({
      namespace: "AWS/ApiGateway",
      metricName: "5XXError",
      dimensionsMap: stageDims,
      statistic: "Sum",
      period,
    });
    const serverErrorRate = new MathExpression({
      expression: "IF(requests > 0, errors / requests, 0)",
      usingMetrics: { errors: serverErrors, requests },
      label: "5xx rate",
      period,
    });
    const latencyP99 = new Metric({
      namespace: "AWS/ApiGateway",
      metricName: "Latency",
      dimensionsMap: stageDims,
      statistic: "p99",
      period,
    });
    new MetricFilter(this, "ThrottledFilter", {
      logGroup: props.accessLogs,
      metricNamespace: METRIC_NAMESPACE,
      metricName: METRIC_API_THROTTLED,
      filterPattern: FilterPattern.stringValue("$.status", "=", "429"),
      metricValue: "1",
      defaultValue: 0,
    });
    const throttled = new Metric({
      namespace: METRIC_NAMESPACE,
      metricName: METRIC_API_THROTTLED,
      statistic: "Sum",
      period,
    });
    const wafBlocked = new Metric({
      namespace: "AWS/WAFV2",
      metricName: "BlockedRequests",
      dimensionsMap: { WebACL: props.webAclName, Region: Stack.of(this).region, Rule: "ALL" },
      statistic: "Sum",
      period,
    });
    const loginFailed = new Metric({
      namespace: METRIC_NAMESPACE,
      metricName: METRIC_LOGIN_FAILED,
      dimensionsMap: { service: "micropay", stage: stage.name },
      statistic: "Sum",
      period,
    });
    const dlqVisible = props.auditDeadLetters.metricApproximateNumberOfMessagesVisible({
      statistic: "Maximum",
      period,
    });
    const iteratorAge = props.auditFunction.metric("IteratorAge", { statistic: "Maximum", period });
    const auditRedacted = new Metric({
      namespace: METRIC_NAMESPACE,
      metricName: METRIC_AUDIT_RECORD_REDACTED,
      dimensionsMap: { service: "micropay", stage: stage.name },
      statistic: "Sum",
      period,
    });

    const alarm = (
      name: string,
      metric: IMetric,
      threshold: number,
      description: string,
      evaluationPeriods = 1,
    ) => {
      const al = new Alarm(this, name, {
        alarmName: `micropay-${stage.name}-${name}`,
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      al.addAlarmAction(new SnsAction(this.topic));
      al.addOkAction(new SnsAction(this.topic));
      this.alarms.push(al);
      return al;
    };
    alarm(
      "api-5xx-rate",
      serverErrorRate,
      a.serverErrorRate,
      "API 5xx answers above the stage's rate",
    );
    alarm("api-p99-latency", latencyP99, a.p99LatencyMs, "API p99 latency (ms) too high", 2);
    alarm(
      "api-throttled",
      throttled,
      a.throttledPer5Min,
      "API Gateway answered many 429s (throttling)",
    );
    alarm("waf-blocked-spike", wafBlocked, a.wafBlockedPer5Min, "WAF blocked requests spiked");
    alarm(
      "login-failed-spike",
      loginFailed,
      a.loginFailedPer5Min,
      "Failed logins spiked (credential stuffing?)",
    );
    alarm(
      "audit-dlq-not-empty",
      dlqVisible,
      0,
      "Audit stream batches failed and were parked: the audit trail has a gap until replayed",
    );
    alarm(
      "audit-iterator-age",
      iteratorAge,
      a.auditIteratorAgeMs,
      "The audit consumer lags behind the table stream",
    );
    alarm(
      "audit-record-redacted",
      auditRedacted,
      0,
      "The audit guard found a secret-looking value in a server-built audit field and wrote the record redacted: find the code that put it there",
    );

    this.dashboard = new Dashboard(this, "Dashboard", {
      dashboardName: `micropay-${stage.name}`,
      widgets: [
        [new TextWidget({ markdown: `# MicroPay ${stage.name}`, width: 24, height: 1 })],
        [
          new GraphWidget({ title: "Requests and 5xx", left: [requests, serverErrors], width: 8 }),
          new GraphWidget({ title: "5xx rate", left: [serverErrorRate], width: 8 }),
          new GraphWidget({ title: "Latency p99 (ms)", left: [latencyP99], width: 8 }),
        ],
        [
          new GraphWidget({ title: "Throttled (429)", left: [throttled], width: 8 }),
          new GraphWidget({ title: "WAF blocked", left: [wafBlocked], width: 8 }),
          new GraphWidget({ title: "Failed logins", left: [loginFailed], width: 8 }),
        ],
        [
          new GraphWidget({ title: "Audit DLQ messages", left: [dlqVisible], width: 8 }),
          new GraphWidget({ title: "Audit iterator age (ms)", left: [iteratorAge], width: 8 }),
          new GraphWidget({ title: "Audit records redacted", left: [auditRedacted], width: 8 }),
        ],
      ],
    });
  }
}
