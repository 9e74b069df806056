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
import type { TableGrant } from "../../lib/routes/types.ts";
import {
  API_KEY_AUTH_READ_LEADING_KEYS,
  API_KEY_AUTH_WRITE_LEADING_KEYS,
} from "../../lib/store/keys.ts";
import { TABLE } from "../../lib/store/table.ts";

export interface DataProps {
  readonly tableName?: string;
  /** Customer-managed key (with rotation) that encrypts the table and its stream. */
  readonly key: IKey;
}

/** Table reads a function may be granted (each only if it calls it): never `dynamodb:*`, never Scan. */
export const READ_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:BatchGetItem",
  "dynamodb:Query",
] as const;
/**
 * Item writes. Transactions (TransactWriteItems) are authorized per item action, so
 * these four cover them; BatchWriteItem is deliberately absent. A function gets only
 * the ones its route row declares.
 */
export const WRITE_ACTIONS = [
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:ConditionCheckItem",
] as const;

const WRITE_SET = new Set<string>(WRITE_ACTIONS);

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
 * deletion never drops money. Grants are explicit statements (`statementsFor` a route's
 * declared actions, `auditWriteStatements`), never CDK's broad grantRead/WriteData.
 */
export class Data extends Construct {
  readonly table: Table;
  readonly key: IKey;

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
  }

  /**
   * Least-privilege statements for a function's declared table grant: its item actions
   * on the table, Query on exactly the targets it lists, and the table key (Decrypt to
   * read; the write actions too when it writes).
   */
  statementsFor(access: "none" | "read" | "write", grant?: TableGrant): PolicyStatement[] {
    if (access === "none") {
      if (grant) throw new Error("a route without table access declares a table grant");
      return [];
    }
    if (!grant) throw new Error(`table access '${access}' needs a table grant`);
    const writes = grant.actions.some((a) => WRITE_SET.has(`dynamodb:${a}`));
    if (access === "read" && writes) throw new Error("a read route declares a write action");
    if (access === "write" && !writes) throw new Error("a write route declares no write action");
    const out: PolicyStatement[] = [];
    if (grant.actions.length > 0) {
      out.push(
        new PolicyStatement({
          sid: writes ? "TableReadWrite" : "TableRead",
          actions: grant.actions.map((a) => `dynamodb:${a}`),
          resources: [this.table.tableArn],
        }),
      );
    }
    if (grant.query?.length) {
      out.push(
        new PolicyStatement({
          sid: "TableQuery",
          actions: ["dynamodb:Query"],
          resources: grant.query.map((t) =>
            t === "table" ? this.table.tableArn : `${this.table.tableArn}/index/${t}`,
          ),
        }),
      );
    }
    out.push(
      new PolicyStatement({
        sid: "TableKey",
        actions: writes ? [...TABLE_KEY_WRITE_ACTIONS] : ["kms:Decrypt"],
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
   * table grant.
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

  /**
   * What a function reachable with an API key (a route row with a `scope`) needs to
   * authenticate one (lib/http/auth.ts, lib/store/api-keys.ts) and nothing more:
   * GetItem of the key's lookup item and of its owner's user item (current roles),
   * and UpdateItem of the key's last-use item only (`APIKEYUSE#`, which holds nothing
   * but lastUsedAt: a read-only route gains no way to change a key, a user or money).
   * Routes without a scope refuse keys before any read and get none of this.
   */
  apiKeyAuthStatements(): PolicyStatement[] {
    return [
      new PolicyStatement({
        sid: "ApiKeyRead",
        actions: ["dynamodb:GetItem"],
        resources: [this.table.tableArn],
        conditions: {
          "ForAllValues:StringLike": {
            "dynamodb:LeadingKeys": [...API_KEY_AUTH_READ_LEADING_KEYS],
          },
        },
      }),
      new PolicyStatement({
        sid: "ApiKeyUse",
        actions: ["dynamodb:UpdateItem"],
        resources: [this.table.tableArn],
        conditions: {
          "ForAllValues:StringLike": {
            "dynamodb:LeadingKeys": [...API_KEY_AUTH_WRITE_LEADING_KEYS],
          },
        },
      }),
      new PolicyStatement({
        sid: "ApiKeyTableKey",
        actions: [...TABLE_KEY_WRITE_ACTIONS],
        resources: [this.key.keyArn],
      }),
    ];
  }
}
