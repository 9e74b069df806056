import { Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { HouseFunction } from "./constructs/house-function.ts";
import type { MicroPayStack } from "./stack.ts";

/**
 * Every cdk-nag acknowledgement of the stack, in one place, each on the specific
 * construct it concerns and with its reason. Nothing is acknowledged stack-wide. A
 * finding not listed here fails `cdk synth` and the infra tests
 * (test/infra/nag.test.ts).
 */
export function acknowledgeFindings(stack: MicroPayStack): void {
  const ack = (scope: IConstruct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });

  // --- API Gateway ---------------------------------------------------------------
  const rest = stack.api.api;
  ack(
    rest,
    "AwsSolutions-APIG4",
    "Authorization is done in each route's Lambda by the shared Middy chain (lib/http/auth.ts): ES256 JWT access tokens with pinned alg/iss/aud/typ and role checks from the route table. Public rows (health, login, register, refresh, JWKS, OpenAPI, docs) are public by design (API.md).",
  );
  ack(
    rest,
    "AwsSolutions-COG4",
    "MicroPay issues its own ES256 JWTs (API.md, Authentication); there is no Cognito user pool. Tokens are verified in the Lambda chain, see AwsSolutions-APIG4.",
  );
  const stage = rest.deploymentStage;
  ack(
    stage,
    "PCI.DSS.321-APIGWCacheEnabledAndEncrypted",
    "Caching is deliberately off: every response is per caller and money-related, sent with Cache-Control: no-store; a cache could serve one caller's balance to another.",
  );
  ack(
    stage,
    "PCI.DSS.321-APIGWSSLEnabled",
    "The rule asks for a client certificate for HTTP backends. The only integrations are Lambda proxy integrations invoked over AWS's signed internal API; clients reach the stage over TLS 1.2+ only.",
  );
  ack(
    stack.api.cloudWatchRole.policy,
    "AwsSolutions-IAM5[Resource::*]",
    "logs:DescribeLogGroups has no resource-level permissions; it is the only action on '*' in this policy (API Gateway's account-wide logging role).",
  );
  ack(
    stack.api.cloudWatchRole.policy,
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:API-Gateway-Execution-Logs_*]",
    "API Gateway creates its execution log groups itself, named API-Gateway-Execution-Logs_{restApiId}/{stage}; the role is the account-level logging role, so it is scoped to that name prefix, not to one API id.",
  );

  // --- Lambda functions (every HouseFunction: route functions, audit, key generator) ---
  for (const hf of stack.node
    .findAll()
    .filter((c): c is HouseFunction => c instanceof HouseFunction)) {
    ack(
      hf.role.policy,
      "AwsSolutions-IAM5[Resource::*]",
      "Only xray:PutTraceSegments and xray:PutTelemetryRecords (added by Lambda active tracing) use '*': X-Ray has no resource-level permissions. test/infra/iam.test.ts checks no other action is on '*'.",
    );
    ack(
      hf.fn,
      "PCI.DSS.321-LambdaInsideVPC",
      "The functions reach only AWS APIs (DynamoDB, Secrets Manager, CloudWatch Logs) over TLS with IAM-signed requests; there is no VPC-only resource to reach. Access to data is restricted by per-function IAM and KMS key policies; a VPC would add NAT/endpoints cost and cold-start latency without narrowing access.",
    );
    ack(
      hf.fn,
      "Serverless-LambdaDLQ",
      "No function is invoked asynchronously: route functions are invoked synchronously by API Gateway (errors go back to the caller), the audit function by a stream event source mapping whose failures go to its own on-failure SQS queue, the key generator by CloudFormation (which records failures).",
    );
  }

  // --- Secrets ---------------------------------------------------------------------
  ack(
    stack.signingKey.secret,
    "AwsSolutions-SMG4",
    "The ES256 signing key is rolled by an operator procedure (publish the new public key in the JWKS before signing with it, keep the old one until issued tokens expire); Secrets Manager's single-value rotation would invalidate every live token at once.",
  );

  // --- Audit dead-letter queue -----------------------------------------------------
  ack(
    stack.audit.deadLetters,
    "AwsSolutions-SQS3",
    "This queue IS a dead-letter target: the on-failure destination of the audit stream event source mapping (cdk-nag only recognises SQS redrive). The audit-dlq-not-empty alarm pages on any message.",
  );
  ack(
    stack.audit.deadLetters,
    "Serverless-SQSRedrivePolicy",
    "Terminal dead-letter destination of the audit event source mapping; its messages describe failed stream batches and are replayed by an operator, so it has no further redrive.",
  );

  // --- Webhook dispatcher dead-letter queue and sweeper --------------------------------
  ack(
    stack.webhooks.deadLetters,
    "AwsSolutions-SQS3",
    "This queue IS a dead-letter target: the on-failure destination of the webhook dispatcher's stream event source mapping (cdk-nag only recognises SQS redrive). The webhooks-dlq-not-empty alarm pages on any message.",
  );
  ack(
    stack.webhooks.deadLetters,
    "Serverless-SQSRedrivePolicy",
    "Terminal dead-letter destination of the dispatcher's event source mapping; its messages describe failed stream batches (deliveries already recorded are picked up by the sweeper anyway), replayed by an operator.",
  );
  ack(
    stack.webhooks.retryDeadLetters,
    "Serverless-SQSRedrivePolicy",
    "Terminal dead-letter queue of the webhook retry queue (maxReceiveCount 5): a message here names a delivery whose retry handling kept failing; the delivery stays due in DynamoDB (the sweeper attempts it), and the webhooks-retry-dlq-not-empty alarm pages on any message.",
  );
  ack(
    stack.webhooks.retryMapping,
    "Serverless-LambdaEventSourceMappingDestination",
    "An SQS event source mapping has no on-failure destination (that is for stream and Kafka sources): a failed message is received again and, after maxReceiveCount, moved by SQS's redrive policy to the KMS-encrypted retry dead-letter queue, which is alarmed.",
  );
  ack(
    stack.webhooks.sweeper.fn,
    "Serverless-LambdaDLQ",
    "The sweeper (the retry queue's safety net) is invoked asynchronously by a ten-minute EventBridge rule and is idempotent: a failed or missed run leaves every overdue delivery in DynamoDB for the next run (a DLQ would hold nothing to replay). The webhooks-sweeper-errors alarm pages on failures.",
  );
  ack(
    stack.webhooks.sweepRule,
    "Serverless-EventBusDLQ",
    "The rule fires every ten minutes and the sweeper is idempotent: an undelivered invocation is covered by the next one, since the due deliveries stay in DynamoDB; a DLQ of schedule ticks would hold nothing to replay.",
  );

  // --- Hold sweeper ----------------------------------------------------------------------
  ack(
    stack.holds.sweeper.fn,
    "Serverless-LambdaDLQ",
    "The hold sweeper is invoked asynchronously by a one-minute EventBridge schedule and is idempotent: a failed or missed run leaves every expired hold in DynamoDB for the next run (and expired holds already read canceled and free their funds without it). The holds-sweeper-errors alarm pages on failures.",
  );
  ack(
    stack.holds.rule,
    "Serverless-EventBusDLQ",
    "The schedule fires every minute and the sweep is idempotent: an undelivered invocation is covered by the next one, since the open holds stay in DynamoDB; a DLQ of schedule ticks would hold nothing to replay.",
  );
}
