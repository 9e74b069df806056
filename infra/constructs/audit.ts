import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { StartingPosition } from "aws-cdk-lib/aws-lambda";
import { DynamoEventSource, SqsDlq } from "aws-cdk-lib/aws-lambda-event-sources";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { HouseFunction } from "./house-function.ts";

export interface AuditProps {
  readonly entry: string;
  readonly table: Table;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  readonly auditRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The audit trail: the table's stream feeds the audit function (batches, bisect on
 * error, bounded retries, partial batch responses, failures parked in an encrypted
 * SQS queue), which writes one record per audit event to the audit log group.
 */
export class Audit extends Construct {
  readonly fn: HouseFunction;
  readonly logGroup: LogGroup;
  readonly deadLetters: Queue;

  constructor(scope: Construct, id: string, props: AuditProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, "AuditLog", {
      retention: props.auditRetention,
      removalPolicy: props.removalPolicy,
    });
    this.deadLetters = new Queue(this, "DeadLetters", {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.fn = new HouseFunction(this, "Consumer", {
      entry: props.entry,
      description: "MicroPay audit stream consumer",
      environment: { ...props.environment, MICROPAY_AUDIT_LOG_GROUP: this.logGroup.logGroupName },
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      memorySize: 512,
      timeout: Duration.seconds(60),
    });
    this.fn.fn.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(1),
        bisectBatchOnError: true,
        retryAttempts: 5,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.deadLetters),
      }),
    );
    this.logGroup.grantWrite(this.fn.fn);
  }
}
