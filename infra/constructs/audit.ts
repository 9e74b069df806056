import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { EventSourceMapping } from "aws-cdk-lib/aws-lambda";
import { CfnQueryDefinition, LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Queue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { AUDIT_QUERIES } from "../../lib/audit/queries.ts";
import { AUDIT_STREAM_FILTER } from "../../lib/audit/stream-filter.ts";
import { HouseFunction } from "./house-function.ts";
import { addStreamConsumer } from "./stream-consumer.ts";

export interface AuditProps {
  readonly stageName: string;
  readonly entry: string;
  readonly table: Table;
  /** The audit function's own table statements (its exactly-once dedupe markers). */
  readonly tableStatements: readonly PolicyStatement[];
  readonly logsKey: IKey;
  readonly messagingKey: IKey;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  /** Retention of the audit log group (at least a year; validated in stage.ts). */
  readonly auditRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The audit trail: the table's stream feeds the audit function (filtered to audit
 * outbox inserts, lib/audit/stream-filter.ts; batches, bisect on
 * error, bounded retries, partial batch responses, failed batches' descriptions
 * parked in a KMS-encrypted SQS queue), which writes one record per audit event to
 * the audit log group (KMS, retention >= 1 year, always RETAIN). Only the audit
 * function's role may write to that log group: every other role's log permissions
 * name its own log group only. The saved Logs Insights queries come from
 * lib/audit/queries.ts.
 */
export class Audit extends Construct {
  readonly fn: HouseFunction;
  readonly logGroup: LogGroup;
  readonly deadLetters: Queue;
  readonly mapping: EventSourceMapping;

  constructor(scope: Construct, id: string, props: AuditProps) {
    super(scope, id);
    if (props.auditRetention < 365) {
      throw new Error("Audit: the audit log must be kept at least one year");
    }

    this.logGroup = new LogGroup(this, "AuditLog", {
      retention: props.auditRetention,
      // An audit trail outlives any stack: never deleted with it, in any stage.
      removalPolicy: RemovalPolicy.RETAIN,
      encryptionKey: props.logsKey,
    });
    this.fn = new HouseFunction(this, "Consumer", {
      entry: props.entry,
      description: "MicroPay audit stream consumer",
      environment: { ...props.environment, MICROPAY_AUDIT_LOG_GROUP: this.logGroup.logGroupName },
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      logsKey: props.logsKey,
      memorySize: 512,
      timeout: Duration.seconds(60),
    });
    const role = this.fn.role;
    // The stream: filtered to audit outbox INSERTs (lib/audit/stream-filter.ts).
    ({ deadLetters: this.deadLetters, mapping: this.mapping } = addStreamConsumer(this, {
      table: props.table,
      fn: this.fn,
      filter: AUDIT_STREAM_FILTER,
      batchSize: 100,
      messagingKey: props.messagingKey,
      removalPolicy: props.removalPolicy,
    }));
    // Dedupe markers (get/put/update/delete of marker items) and the stream's key.
    for (const statement of props.tableStatements) role.addToPrincipalPolicy(statement);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "WriteAuditLog",
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        // Before re-writing a record after an ambiguous failure, the sink checks it is not there yet.
        sid: "ReadAuditLog",
        actions: ["logs:FilterLogEvents"],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    for (const q of AUDIT_QUERIES) {
      new CfnQueryDefinition(this, `Query-${q.name}`, {
        name: `micropay-${props.stageName}/audit/${q.name}`,
        queryString: q.query,
        logGroupNames: [this.logGroup.logGroupName],
      });
    }
  }
}
