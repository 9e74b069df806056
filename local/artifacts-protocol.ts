/**
 * The messages between the artifacts loader (local/artifacts.ts, in the stack process)
 * and one function's runtime process (local/artifacts-runtime.ts). Types only: the
 * runtime runs on plain Node 24 (type stripping), with nothing of the project loaded.
 */

/** Sent once, right after the runtime process starts. */
export interface InitMessage {
  readonly type: "init";
  /** The function's asset folder (its bundle as `cdk.out` holds it). */
  readonly assetDir: string;
  /** The template's `Handler`, e.g. `index.handler`. */
  readonly handler: string;
  /** Where `@aws-sdk/*` resolves from (the Lambda runtime provides it in AWS). */
  readonly sdkRoot: string;
  /** The table's partition key attribute, to note the leading key of each item call. */
  readonly partitionKey: string;
  readonly timeoutSeconds: number;
  /** Files standing in for AWS resources, and the calls their use stands for (IAM by use). */
  readonly standIns: readonly StandIn[];
}

/** A local file that replaces an AWS resource; reading or writing it is that resource's call. */
export interface StandIn {
  readonly file: string;
  readonly reads: readonly RecordedCall[];
  readonly writes: readonly RecordedCall[];
}

/** One invocation: an API Gateway proxy event or a DynamoDB stream batch. */
export interface InvokeMessage {
  readonly type: "invoke";
  readonly id: number;
  readonly event: unknown;
  readonly awsRequestId: string;
}

export type ParentMessage = InitMessage | InvokeMessage;

/**
 * One AWS call a function made, as IAM authorizes it: service prefix, action and the
 * resource it names. DynamoDB transactions and batches arrive as their item actions.
 */
export interface RecordedCall {
  readonly service: string;
  readonly action: string;
  /** DynamoDB: the table named by the call. */
  readonly table?: string;
  /** DynamoDB Query/Scan: the index named by the call. */
  readonly index?: string;
  /**
   * DynamoDB item calls: the partition key's prefix up to and including its first
   * `#` (`AUDIT#`), or `(none)`. Never the key itself.
   */
  readonly leadingKey?: string;
  /** Other services: the resource the call names (secret id, log group, queue URL). */
  readonly resource?: string;
  /** A stand-in's call: the template's logical id of the resource it stands for. */
  readonly standInFor?: string;
}

export type ChildMessage =
  | { readonly type: "ready"; readonly initMs: number; readonly node: string }
  | { readonly type: "init-error"; readonly message: string }
  | { readonly type: "result"; readonly id: number; readonly value: unknown }
  | { readonly type: "error"; readonly id: number; readonly message: string }
  | { readonly type: "call"; readonly call: RecordedCall };
