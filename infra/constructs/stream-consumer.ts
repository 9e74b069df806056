import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import {
  EventSourceMapping,
  FilterCriteria,
  type IEventSourceDlq,
  StartingPosition,
} from "aws-cdk-lib/aws-lambda";
import { Queue, QueueEncryption, RedrivePermission } from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import type { HouseFunction } from "./house-function.ts";

export interface StreamConsumerProps {
  readonly table: Table;
  readonly fn: HouseFunction;
  /** The Lambda event filter pattern (lib/audit/stream-filter.ts). */
  readonly filter: Record<string, unknown>;
  readonly batchSize: number;
  readonly messagingKey: IKey;
  readonly removalPolicy: RemovalPolicy;
}

export interface StreamConsumer {
  readonly deadLetters: Queue;
  readonly mapping: EventSourceMapping;
}

/**
 * A dead-letter queue: KMS-encrypted with the messaging key, TLS only, 14 days. It
 * declares itself one (Control Tower CT.SQS.PR.1 accepts a DLQ by its
 * RedriveAllowPolicy) with allowAll, SQS's default made explicit: only this stack's
 * principals can send to it anyway.
 */
export function deadLetterQueue(
  scope: Construct,
  id: string,
  props: { readonly messagingKey: IKey; readonly removalPolicy: RemovalPolicy },
): Queue {
  return new Queue(scope, id, {
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: props.messagingKey,
    dataKeyReuse: Duration.hours(1),
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: props.removalPolicy,
    redriveAllowPolicy: { redrivePermission: RedrivePermission.ALLOW_ALL },
  });
}

/**
 * One consumer of the table's stream, as the audit consumer and the webhook dispatcher
 * both are (a DynamoDB stream serves two per shard without throttling): a filtered event
 * source mapping (batches, bisect on error, 5 retries, records at most a day old, partial
 * batch responses) whose failed batches' descriptions are parked in a KMS-encrypted SQS
 * queue, and the function's statements for it: read the stream, send to that queue,
 * use its key. Built in `scope` as `DeadLetters` and `Stream`, beside the function.
 */
export function addStreamConsumer(scope: Construct, props: StreamConsumerProps): StreamConsumer {
  const streamArn = props.table.tableStreamArn;
  if (!streamArn) throw new Error(`${scope.node.path}: the table needs a stream`);
  // The stream's on-failure destination is not an SQS redrive, so byQueue (the other
  // RedriveAllowPolicy) would name no queue.
  const deadLetters = deadLetterQueue(scope, "DeadLetters", props);
  const role = props.fn.role;
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
      resources: [deadLetters.queueArn],
    }),
  );
  role.addToPrincipalPolicy(
    new PolicyStatement({
      sid: "DeadLetterKey",
      actions: ["kms:GenerateDataKey", "kms:Decrypt"],
      resources: [props.messagingKey.keyArn],
    }),
  );
  // The on-failure destination, without CDK's broad grantSendMessages (explicit statements above).
  const onFailure: IEventSourceDlq = { bind: () => ({ destination: deadLetters.queueArn }) };
  const mapping = new EventSourceMapping(scope, "Stream", {
    target: props.fn.fn,
    eventSourceArn: streamArn,
    startingPosition: StartingPosition.TRIM_HORIZON,
    batchSize: props.batchSize,
    maxBatchingWindow: Duration.seconds(1),
    bisectBatchOnError: true,
    retryAttempts: 5,
    maxRecordAge: Duration.days(1),
    reportBatchItemFailures: true,
    onFailure,
    filters: [FilterCriteria.filter(props.filter)],
  });
  mapping.node.addDependency(role.policy);
  return { deadLetters, mapping };
}
