import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, PCIDSS321Checks, ServerlessChecks } from "cdk-nag";
import { MicroPayStack } from "./stack.ts";
import { deployOptionsFromContext, stageFromContext } from "./stage.ts";

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

if (import.meta.url === `file://${process.argv[1]}`) {
  buildApp().app.synth();
}
