import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  type IAlarmAction,
  MathExpression,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { EventSourceMapping } from "aws-cdk-lib/aws-lambda";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { WEBHOOK_STREAM_FILTER } from "../../lib/audit/stream-filter.ts";
import { METRIC_NAMESPACE } from "../../lib/observability.ts";
import {
  METRIC_WEBHOOK_ATTEMPT_FAILED,
  METRIC_WEBHOOK_ATTEMPT_SUCCEEDED,
} from "../../lib/webhooks/metrics.ts";
import type { Data } from "./data.ts";
import { HouseFunction } from "./house-function.ts";
import { addStreamConsumer, deadLetterQueue } from "./stream-consumer.ts";

export interface WebhooksProps {
  readonly stageName: string;
  readonly dispatcherEntry: string;
  readonly sweeperEntry: string;
  readonly retriesEntry: string;
  readonly data: Data;
  readonly table: Table;
  readonly logsKey: IKey;
  readonly messagingKey: IKey;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Webhook delivery (lib/webhooks/dispatcher.ts), the same code the local stack runs:
 *
 * - the dispatcher: the table stream's second consumer (the audit consumer is the
 *   first), filtered to event-item INSERTs (WEBHOOK_STREAM_FILTER); batches, bisect on
 *   error, bounded retries, partial batch responses, failed batches' descriptions parked
 *   in a KMS-encrypted queue (alarmed);
 * - retries: a failed attempt's next attempt is a message on the KMS-encrypted retry
 *   queue with a per-message delay (at most 15 minutes; longer waits are chained by the
 *   consumer), consumed by the retry function (partial batch responses); a message
 *   whose handling keeps failing moves after MAX_RECEIVES receives to the KMS-encrypted
 *   retry dead-letter queue (alarmed);
 * - the sweeper: the safety net. An EventBridge rule every SWEEP_MINUTES attempts every
 *   delivery overdue by more than that in the table's due index (what the queue path
 *   lost: an attempt whose function died, a message that could not be sent). The
 *   delivery record in DynamoDB stays the source of truth.
 * All three open endpoints' sealed signing secrets with the table key (the SecretBox),
 * hold exactly the table actions their code calls and may send to the retry queue. Alarms: both dead-letter queues, function errors, and the attempts' failure rate.
 */
const SWEEP_MINUTES = 10;
const MAX_RECEIVES = 5;

export class Webhooks extends Construct {
  readonly dispatcher: HouseFunction;
  readonly sweeper: HouseFunction;
  readonly retries: HouseFunction;
  readonly deadLetters: Queue;
  readonly retryQueue: Queue;
  readonly retryDeadLetters: Queue;
  readonly retryMapping: EventSourceMapping;
  readonly mapping: EventSourceMapping;
  readonly sweepRule: Rule;
  readonly alarms: Alarm[] = [];
  private readonly stageName: string;

  constructor(scope: Construct, id: string, props: WebhooksProps) {
    super(scope, id);
    this.stageName = props.stageName;
    // byQueue would have to name the retry queue, whose RedrivePolicy names this one: a
    // circular dependency in CloudFormation.
    this.retryDeadLetters = deadLetterQueue(this, "RetryDeadLetters", props);
    this.retryQueue = new Queue(this, "RetryQueue", {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.messagingKey,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      // Lambda's advice: six times the consumer's timeout.
      visibilityTimeout: Duration.seconds(6 * 60),
      retentionPeriod: Duration.days(4),
      removalPolicy: props.removalPolicy,
      deadLetterQueue: { queue: this.retryDeadLetters, maxReceiveCount: MAX_RECEIVES },
    });
    const environment = {
      ...props.environment,
      // Endpoints' signing secrets are opened with KMS Decrypt under the table's key
      // (purpose webhook-secret, the endpoint id as subject); the write grants carry it.
      MICROPAY_SECRET_BOX_KEY_ID: props.data.key.keyId,
      MICROPAY_WEBHOOK_RETRY_QUEUE_URL: this.retryQueue.queueUrl,
      MICROPAY_WEBHOOK_SWEEP_SECONDS: String(SWEEP_MINUTES * 60),
    };
    const common = {
      environment,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      logsKey: props.logsKey,
      memorySize: 512,
      // Attempts run in parallel, each at most MICROPAY_WEBHOOK_TIMEOUT_MS (10 s).
      timeout: Duration.seconds(60),
    };
    this.dispatcher = new HouseFunction(this, "Dispatcher", {
      ...common,
      entry: props.dispatcherEntry,
      description: "MicroPay webhook dispatcher (table stream, event items)",
    });
    this.sweeper = new HouseFunction(this, "Sweeper", {
      ...common,
      entry: props.sweeperEntry,
      description: "MicroPay webhook sweeper (overdue delivery attempts, safety net)",
    });
    this.retries = new HouseFunction(this, "Retries", {
      ...common,
      entry: props.retriesEntry,
      description: "MicroPay webhook retries (retry queue)",
    });
    // Owners' accounts and endpoints, events (Get, Query on the table), deliveries and
    // attempts (Put, Update; TransactWriteItems of the two); the sweep queries gsi1;
    // a retry reads its delivery, endpoint and event by key.
    const grants = {
      dispatcher: { actions: ["GetItem", "PutItem", "UpdateItem"], query: ["table"] },
      sweeper: { actions: ["GetItem", "PutItem", "UpdateItem"], query: ["gsi1"] },
      retries: { actions: ["GetItem", "PutItem", "UpdateItem"] },
    } as const;
    for (const [fn, grant] of [
      [this.dispatcher, grants.dispatcher],
      [this.sweeper, grants.sweeper],
      [this.retries, grants.retries],
    ] as const) {
      for (const s of props.data.statementsFor("write", grant)) fn.role.addToPrincipalPolicy(s);
      // A failed attempt queues its next one (the retry function also chains long waits).
      fn.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: "QueueRetries",
          actions: ["sqs:SendMessage"],
          resources: [this.retryQueue.queueArn],
        }),
      );
      // The queues' key (the dispatcher gets the same statement as a stream consumer).
      if (fn === this.dispatcher) continue;
      fn.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: "RetryQueueKey",
          actions: ["kms:GenerateDataKey", "kms:Decrypt"],
          resources: [props.messagingKey.keyArn],
        }),
      );
    }
    // The retry queue's event source mapping receives and deletes with the function's role.
    this.retries.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "ConsumeRetries",
        actions: [
          "sqs:ReceiveMessage",
          "sqs:DeleteMessage",
          "sqs:ChangeMessageVisibility",
          "sqs:GetQueueAttributes",
        ],
        resources: [this.retryQueue.queueArn],
      }),
    );
    this.retryMapping = new EventSourceMapping(this, "Retry", {
      target: this.retries.fn,
      eventSourceArn: this.retryQueue.queueArn,
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(1),
      reportBatchItemFailures: true,
    });
    this.retryMapping.node.addDependency(this.retries.role.policy);

    // The stream: only event-item INSERTs invoke the dispatcher (lib/audit/stream-filter.ts).
    ({ deadLetters: this.deadLetters, mapping: this.mapping } = addStreamConsumer(this, {
      table: props.table,
      fn: this.dispatcher,
      filter: WEBHOOK_STREAM_FILTER,
      batchSize: 10,
      messagingKey: props.messagingKey,
      removalPolicy: props.removalPolicy,
    }));

    this.sweepRule = new Rule(this, "SweepSchedule", {
      description: "MicroPay: attempt webhook deliveries the retry queue missed (safety net)",
      schedule: Schedule.rate(Duration.minutes(SWEEP_MINUTES)),
      targets: [new LambdaFunction(this.sweeper.fn, { retryAttempts: 0 })],
    });
  }

  /**
   * Alarms: a failed dispatch batch parked, a retry message dead-lettered, function
   * errors, and the delivery attempts' failure rate (more than half of at least 20
   * attempts in an hour failed: receivers down or a fault of ours).
   */
  addAlarms(action: IAlarmAction): void {
    const attempts = (metricName: string) =>
      new Metric({
        namespace: METRIC_NAMESPACE,
        metricName,
        dimensionsMap: { service: "micropay", stage: this.stageName },
        statistic: "Sum",
        period: Duration.hours(1),
      });
    const failureRate = new MathExpression({
      expression: "IF(failed + succeeded >= 20, 100 * failed / (failed + succeeded), 0)",
      usingMetrics: {
        failed: attempts(METRIC_WEBHOOK_ATTEMPT_FAILED),
        succeeded: attempts(METRIC_WEBHOOK_ATTEMPT_SUCCEEDED),
      },
      label: "webhook attempts failed (%)",
      period: Duration.hours(1),
    });
    const specs = [
      ["webhooks-dlq-not-empty", this.deadLetters.metricApproximateNumberOfMessagesVisible(), 1],
      [
        "webhooks-retry-dlq-not-empty",
        this.retryDeadLetters.metricApproximateNumberOfMessagesVisible(),
        1,
      ],
      [
        "webhooks-dispatcher-errors",
        this.dispatcher.fn.metricErrors({ period: Duration.minutes(5) }),
        1,
      ],
      ["webhooks-retries-errors", this.retries.fn.metricErrors({ period: Duration.minutes(5) }), 1],
      ["webhooks-sweeper-errors", this.sweeper.fn.metricErrors({ period: Duration.minutes(5) }), 1],
      ["webhooks-failure-rate", failureRate, 50],
    ] as const;
    for (const [name, metric, threshold] of specs) {
      const alarm = new Alarm(this, name, {
        alarmName: `micropay-${this.stageName}-${name}`,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator:
          name === "webhooks-failure-rate"
            ? ComparisonOperator.GREATER_THAN_THRESHOLD
            : ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      this.alarms.push(alarm);
    }
  }
}
