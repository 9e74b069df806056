import {
  type AddToPrincipalPolicyResult,
  ManagedPolicy,
  type PolicyStatement,
  Role,
  type RoleProps,
} from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";

/**
 * An IAM role whose every permission lives in one customer-managed policy of its own
 * (PCI DSS 7.x: no inline policies). CDK's grants and service integrations (X-Ray,
 * event sources) call `addToPrincipalPolicy`, which here lands in that managed policy
 * instead of an inline `DefaultPolicy`. No AWS managed policy is ever attached.
 */
export class ManagedPolicyRole extends Role {
  readonly policy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: RoleProps) {
    super(scope, id, props);
    this.policy = new ManagedPolicy(this, "Policy", {
      description: props.description ?? `Permissions of ${this.node.path}`,
    });
    this.addManagedPolicy(this.policy);
  }

  override addToPrincipalPolicy(statement: PolicyStatement): AddToPrincipalPolicyResult {
    this.policy.addStatements(statement);
    return { statementAdded: true, policyDependable: this.policy };
  }
}
