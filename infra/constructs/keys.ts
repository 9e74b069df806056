import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import { AnyPrincipal, Effect, PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";

export interface KeysProps {
  readonly stageName: string;
}

/**
 * The stack's customer-managed KMS keys, one per kind of data so that a grant on
 * one never opens another: the table (and its stream), CloudWatch Logs (function,
 * access, WAF and audit logs), the JWT signing-key secret, and messaging (the audit
 * DLQ and the alarm topic). All rotate yearly and are RETAINed: a retained log group
 * or table is unreadable without its key.
 *
 * Every key policy denies kms:CreateGrant unless the grant is for an AWS resource
 * (DynamoDB, Secrets Manager and the like create grants on a caller's behalf) or the
 * caller is an AWS service (Control Tower CT.KMS.PR.3): the account-root statement's
 * `kms:*` would otherwise let any IAM principal with kms:CreateGrant hand the key's use
 * to anyone, outside IAM and outside this template.
 */
export class Keys extends Construct {
  readonly table: Key;
  readonly logs: Key;
  readonly secrets: Key;
  readonly messaging: Key;

  constructor(scope: Construct, id: string, props: KeysProps) {
    super(scope, id);
    const { region, account } = Stack.of(this);
    const make = (name: string, description: string) => {
      const key = new Key(this, name, {
        alias: `alias/micropay-${props.stageName}-${name.toLowerCase()}`,
        description: `MicroPay ${props.stageName}: ${description}`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
        pendingWindow: Duration.days(30),
      });
      key.addToResourcePolicy(
        new PolicyStatement({
          sid: "DenyCreateGrantUnlessForAwsResource",
          effect: Effect.DENY,
          principals: [new AnyPrincipal()],
          actions: ["kms:CreateGrant"],
          resources: ["*"],
          // The exact shape CT.KMS.PR.3 asks for: both keys "false" under BoolIfExists.
          conditions: {
            BoolIfExists: {
              "kms:GrantIsForAWSResource": "false",
              "aws:PrincipalIsAWSService": "false",
            },
          },
        }),
      );
      return key;
    };
    this.table = make("Table", "DynamoDB table and stream encryption");
    this.logs = make("Logs", "CloudWatch Logs encryption");
    this.secrets = make("Secrets", "JWT signing key secret encryption");
    this.messaging = make("Messaging", "audit DLQ and alarm topic encryption");

    // CloudWatch Logs encrypts and decrypts with the key for log groups of this account only.
    this.logs.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal(`logs.${region}.amazonaws.com`)],
        actions: [
          "kms:Encrypt*",
          "kms:Decrypt*",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:Describe*",
        ],
        resources: ["*"],
        conditions: {
          ArnLike: {
            "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${region}:${account}:log-group:*`,
          },
        },
      }),
    );
    // CloudWatch alarms publish to the encrypted alarm topic.
    this.messaging.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        resources: ["*"],
        conditions: { StringEquals: { "aws:SourceAccount": account } },
      }),
    );
  }
}
