import { RemovalPolicy } from "aws-cdk-lib";
import {
  AttributeType,
  BillingMode,
  StreamViewType,
  Table,
  TableEncryption,
} from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";
import { TABLE } from "../../lib/store/table.ts";

export interface DataProps {
  readonly tableName?: string;
  /** Customer-managed key (with rotation) that encrypts the table and its stream. */
  readonly key: IKey;
}

/** Table actions a function may be granted: never `dynamodb:*`, never Scan. */
export const READ_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:BatchGetItem",
  "dynamodb:Query",
] as const;
/**
 * Item writes. Transactions (TransactWriteItems) are authorized per item action, so
 * these four cover them; BatchWriteItem is deliberately absent.
 */
export const WRITE_ACTIONS = [
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:ConditionCheckItem",
] as const;

/**
 * Partition keys a denial's security event may use (lib/audit/events.ts `auditItem`:
 * pk `AUDIT#<eventId>`), as an IAM `dynamodb:LeadingKeys` pattern.
 */
export const AUDIT_LEADING_KEYS = ["AUDIT#*"] as const;

/** KMS actions that writing an item to the table needs on its customer-managed key. */
export const TABLE_KEY_WRITE_ACTIONS = [
  "kms:Decrypt",
  "kms:Encrypt",
  "kms:GenerateDataKey",
] as const;

/**
 * The MicroPay table, from the same definition DynamoDB Local uses
 * (lib/store/table.ts): on-demand, NEW_AND_OLD_IMAGES stream, TTL, point-in-time
 * recovery, deletion protection, a customer-managed KMS key, and RETAIN so a stack
 * deletion never drops money. Grants are explicit statements (`readStatements`,
 * `writeStatements`), never CDK's broad grantRead/WriteData.
 */
export class Data extends Construct {
  readonly table: Table;
  readonly key: IKey;
  /** The table and each index, by ARN (no `index/*` wildcard). */
  readonly itemResources: string[];

  constructor(scope: Construct, id: string, props: DataProps) {
    super(scope, id);
    this.key = props.key;
    this.table = new Table(this, "Table", {
      ...(props.tableName ? { tableName: props.tableName } : {}),
      partitionKey: { name: TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: TABLE.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
    });
    for (const index of TABLE.indexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
      });
    }
    this.itemResources = [
      this.table.tableArn,
      ...TABLE.indexes.map((i) => `${this.table.tableArn}/index/${i.name}`),
    ];
  }

  /** Least-privilege statements for a function's declared table access. */
  statementsFor(access: "none" | "read" | "write"): PolicyStatement[] {
    if (access === "none") return [];
    const out: PolicyStatement[] = [];
    out.push(
      new PolicyStatement({
        sid: access === "write" ? "TableReadWrite" : "TableRead",
        actions: access === "write" ? [...READ_ACTIONS, ...WRITE_ACTIONS] : [...READ_ACTIONS],
        resources: this.itemResources,
      }),
      new PolicyStatement({
        sid: "TableKey",
        actions: access === "write" ? [...TABLE_KEY_WRITE_ACTIONS] : ["kms:Decrypt"],
        resources: [this.key.keyArn],
      }),
    );
    return out;
  }

  /**
   * What a function that can refuse a request (401/403) needs to record the refusal
   * (lib/store/security-events.ts `putSecurityEvent`) and nothing more: PutItem on the table,
   * only for items whose partition key is an audit key, and the table key's write
   * actions. For transactional writers it repeats part of their broader grant; it is
   * given to every denying function so the audit write never depends on a route's
   * `tableAccess`.
   */
  auditWriteStatements(): PolicyStatement[] {
    return [
      new PolicyStatement({
        sid: "AuditEventWrite",
        actions: ["dynamodb:PutItem"],
        resources: [this.table.tableArn],
        // PutItem always names one partition key, so the multivalued key is never empty.
        conditions: {
          "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [...AUDIT_LEADING_KEYS] },
        },
      }),
      new PolicyStatement({
        sid: "AuditEventKey",
        actions: [...TABLE_KEY_WRITE_ACTIONS],
        resources: [this.key.keyArn],
      }),
    ];
  }
}
