import { CfnGuardValidator } from "@cdklabs/cdk-validator-cfnguard";
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, PCIDSS321Checks, ServerlessChecks } from "cdk-nag";
import { MicroPayStack } from "./stack.ts";
import { deployOptionsFromContext, type StageSettings, stageFromContext } from "./stage.ts";

/** Builds the CDK app for a stage, with the three cdk-nag packs registered on it. */
export function buildApp(app = new App()): { app: App; stack: MicroPayStack } {
  const stage = stageFromContext(app.node.tryGetContext("stage"));
  const stack = new MicroPayStack(app, `MicroPay-${stage.name}`, {
    stage,
    options: deployOptionsFromContext((key) => app.node.tryGetContext(key)),
    description: `MicroPay payments backend (${stage.name})`,
  });
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new PCIDSS321Checks(app),
    new ServerlessChecks(app),
  );
  return { app, stack };
}

/**
 * AWS Control Tower proactive controls (the cfn-guard rules `@cdklabs/cdk-validator-cfnguard`
 * ships) switched off, each with its reason, for every stage or for one. Every other
 * rule runs on each `cdk synth` and fails it on a finding. cdk-nag's acknowledgements
 * live in nag.ts, on the construct they concern; a guard rule can only be disabled whole.
 */
export const GUARD_DISABLED_RULES: Readonly<
  Record<string, { readonly reason: string; readonly stages?: readonly StageSettings["name"][] }>
> = {
  "ct-lambda-pr-3": {
    reason:
      "CT.LAMBDA.PR.3 (function in a VPC): MicroPay has no private network to reach. The functions call only AWS APIs (DynamoDB, Secrets Manager, KMS, CloudWatch Logs, X-Ray) over TLS with IAM-signed requests; a VPC would add NAT gateways or an interface endpoint per service and AZ, a fixed cost several times the stack's own, and isolate nothing.",
  },
  "ct-lambda-pr-2": {
    reason:
      "CT.LAMBDA.PR.2 (function policies not public): every AWS::Lambda::Permission is API Gateway's (apigateway.amazonaws.com) with a SourceArn naming this REST API, stage, method and path, except the webhook sweeper's, which is EventBridge's (events.amazonaws.com) with the sweep rule's ARN as SourceArn. CDK writes the API's ARN as an Fn::Join, which the rule cannot read (it takes only a literal string, Ref or GetAtt), so it fails them all. test/infra/guard.test.ts checks each permission's principal and SourceArn instead.",
  },
  "ct-cloudwatch-pr-2": {
    stages: ["dev"],
    reason:
      "CT.CLOUDWATCH.PR.2 (log groups kept a year), dev only: dev is a disposable stage whose function, access and WAF logs keep one month (infra/stage.ts) and go with the stack. Prod keeps every log group at least a year (the audit log in both stages), and the rule runs on prod.",
  },
};

/** The Control Tower guard rules for a stage, as a CDK policy-validation plugin (cfn-guard ships inside the package). */
export function guardRules(stage: StageSettings["name"]): CfnGuardValidator {
  const disabledRules = Object.entries(GUARD_DISABLED_RULES)
    .filter(([, waiver]) => waiver.stages === undefined || waiver.stages.includes(stage))
    .map(([rule]) => rule);
  return new CfnGuardValidator({ disabledRules });
}

/**
 * The app `cdk synth` and `cdk deploy` run: buildApp's, plus the Control Tower guard
 * rules. The infra tests build theirs with buildApp alone (cfn-guard takes about a
 * minute of CPU per stack template); CI's `cdk synth` of both stages runs them, and
 * test/infra/guard.test.ts checks they are registered here.
 */
export function cliApp(app = new App()): { app: App; stack: MicroPayStack } {
  Validations.of(app).addPlugins(
    guardRules(stageFromContext(app.node.tryGetContext("stage")).name),
  );
  return buildApp(app);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  cliApp().app.synth();
}
