import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  type IAlarmAction,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import {
  EventSourceMapping,
  FilterCriteria,
  type IEventSourceDlq,
  StartingPosition,
} from "aws-cdk-lib/aws-lambda";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Queue, QueueEncryption, RedrivePermission } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { WEBHOOK_STREAM_FILTER } from "../../lib/audit/stream-filter.ts";
import type { Data } from "./data.ts";
import { HouseFunction } from "./house-function.ts";
import type { SigningKey } from "./signing-key.ts";

export interface WebhooksProps {
  readonly stageName: string;
  readonly dispatcherEntry: string;
  readonly sweeperEntry: string;
  readonly data: Data;
  readonly table: Table;
  readonly signingKey: SigningKey;
  readonly signingKeyKey: IKey;
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
 * - the sweeper: an EventBridge rule every minute attempts every delivery that is due
 *   (retries on the back-off schedule, and any attempt a dispatcher died in).
 * Both read the signing key secret (webhook secrets are sealed with a key derived from
 * it) and hold exactly the table actions their code calls.
 */
export class Webhooks extends Construct {
  readonly dispatcher: HouseFunction;
  readonly sweeper: HouseFunction;
  readonly deadLetters: Queue;
  readonly mapping: EventSourceMapping;
  readonly sweepRule: Rule;
  readonly alarms: Alarm[] = [];
  private readonly stageName: string;

  constructor(scope: Construct, id: string, props: WebhooksProps) {
    super(scope, id);
    this.stageName = props.stageName;
    const streamArn = props.table.tableStreamArn;
    if (!streamArn) throw new Error("Webhooks: the table needs a stream");
    const environment = {
      ...props.environment,
      MICROPAY_SIGNING_KEY_SECRET_ID: props.signingKey.secret.secretArn,
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
      description: "MicroPay webhook sweeper (due delivery attempts)",
    });
    // Owners' accounts and endpoints, events (Get, Query on the table), deliveries and
    // attempts (Put, Update; TransactWriteItems of the two); the sweep queries gsi1.
    const grants = {
      dispatcher: { actions: ["GetItem", "PutItem", "UpdateItem"], query: ["table"] },
      sweeper: { actions: ["GetItem", "PutItem", "UpdateItem"], query: ["gsi1"] },
    } as const;
    for (const [fn, grant] of [
      [this.dispatcher, grants.dispatcher],
      [this.sweeper, grants.sweeper],
    ] as const) {
      for (const s of props.data.statementsFor("write", grant)) fn.role.addToPrincipalPolicy(s);
      props.signingKey.grantRead(fn.role, props.signingKeyKey.keyArn);
    }

    this.deadLetters = new Queue(this, "DeadLetters", {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: props.messagingKey,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.removalPolicy,
      redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
    });
    const role = this.dispatcher.role;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "ReadTableStream",
        actions: [
          "dynamodb:DescribeStream",
          "dynamodb:GetRecords",
          "dynamodb:GetShardIterator",
          "dynamodb:ListStreams",
        ],
        resources: [streamArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "ParkFailedBatches",
        actions: ["sqs:SendMessage"],
        resources: [this.deadLetters.queueArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "DeadLetterKey",
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: [props.messagingKey.keyArn],
      }),
    );
    const onFailure: IEventSourceDlq = {
      bind: () => ({ destination: this.deadLetters.queueArn }),
    };
    this.mapping = new EventSourceMapping(this, "Stream", {
      target: this.dispatcher.fn,
      eventSourceArn: streamArn,
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(1),
      bisectBatchOnError: true,
      retryAttempts: 5,
      maxRecordAge: Duration.days(1),
      reportBatchItemFailures: true,
      onFailure,
      // Only event-item INSERTs invoke the dispatcher (lib/audit/stream-filter.ts).
      filters: [FilterCriteria.filter(WEBHOOK_STREAM_FILTER)],
    });
    this.mapping.node.addDependency(role.policy);

    this.sweepRule = new Rule(this, "SweepSchedule", {
      description: "MicroPay: attempt webhook deliveries that are due",
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(this.sweeper.fn, { retryAttempts: 0 })],
    });
  }

  /** Alarms: a failed dispatch batch parked, dispatcher or sweeper errors. */
  addAlarms(action: IAlarmAction): void {
    const specs = [
      ["webhooks-dlq-not-empty", this.deadLetters.metricApproximateNumberOfMessagesVisible()],
      [
        "webhooks-dispatcher-errors",
        this.dispatcher.fn.metricErrors({ period: Duration.minutes(5) }),
      ],
      ["webhooks-sweeper-errors", this.sweeper.fn.metricErrors({ period: Duration.minutes(5) })],
    ] as const;
    for (const [name, metric] of specs) {
      const alarm = new Alarm(this, name, {
        alarmName: `micropay-${this.stageName}-${name}`,
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      this.alarms.push(alarm);
    }
  }
}
