import { App, type CfnElement, type Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import type { CfnManagedPolicy } from "aws-cdk-lib/aws-iam";
import { buildApp } from "../../infra/app.ts";
import type { MicroPayStack } from "../../infra/stack.ts";

/** CloudFormation JSON is untyped; tests walk it freely. */
// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation JSON has no static type
export type Json = any;

/** Logical id of a construct's CloudFormation resource in its stack. */
export function idOf(stack: Stack, construct: { node: { defaultChild?: unknown } }): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/**
 * Builds the real app (with the three cdk-nag packs registered, so every template
 * built here is also a nag check: Template.fromStack throws on an unacknowledged
 * finding) with bundling skipped (asset hashes only; `cdk synth` bundles for real).
 */
export function synth(context: Record<string, unknown> = {}): {
  app: App;
  stack: MicroPayStack;
  template: Template;
} {
  const app = new App({
    context: { stage: "dev", "aws:cdk:bundling-stacks": [], ...context },
  });
  const { stack } = buildApp(app);
  return { app, stack, template: Template.fromStack(stack) };
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Sid?: string;
}

export const actionsOf = (s: Statement): string[] =>
  Array.isArray(s.Action) ? s.Action : [s.Action];

export const resourcesOf = (s: Statement): unknown[] =>
  Array.isArray(s.Resource) ? s.Resource : [s.Resource];

/** Statements of a managed policy construct, read from the synthesized template. */
export function policyStatements(
  stack: Stack,
  template: Template,
  policy: { node: { defaultChild?: unknown } },
): Statement[] {
  const id = stack.getLogicalId(policy.node.defaultChild as CfnManagedPolicy);
  const resource = template.toJSON().Resources[id];
  if (!resource) throw new Error(`no resource ${id}`);
  return resource.Properties.PolicyDocument.Statement as Statement[];
}

/** Every IAM statement of every identity policy in the template, with its resource id. */
export function allStatements(template: Template): { policyId: string; statement: Statement }[] {
  const out: { policyId: string; statement: Statement }[] = [];
  for (const [id, r] of Object.entries(template.toJSON().Resources) as [string, Json][]) {
    if (r.Type === "AWS::IAM::ManagedPolicy" || r.Type === "AWS::IAM::Policy") {
      for (const s of r.Properties.PolicyDocument.Statement)
        out.push({ policyId: id, statement: s });
    }
    if (r.Type === "AWS::IAM::Role") {
      for (const p of r.Properties.Policies ?? []) {
        for (const s of p.PolicyDocument.Statement) out.push({ policyId: id, statement: s });
      }
    }
  }
  return out;
}

/** True when a CloudFormation value mentions the logical id (Ref / Fn::GetAtt / inside Fn::Join). */
export function mentions(value: unknown, logicalId: string): boolean {
  return JSON.stringify(value).includes(`"${logicalId}"`);
}
