import type { TestProject } from "vitest/node";
import { spawnStack } from "./spawn-stack.ts";

/**
 * The artifacts tier's stack: `npm start -- --artifacts` (MICROPAY_ARTIFACTS=1) in a
 * child process. It synthesizes the CDK app and runs every function from its bundle
 * in cdk.out (local/artifacts.ts); a function that fails its cold start stops the
 * stack from starting, and so fails every test of the tier.
 */
export default async function setup(project: TestProject) {
  const stack = await spawnStack({ MICROPAY_ARTIFACTS: "1" }, { readyTimeoutMs: 300_000 });
  project.provide("stack", stack.info);
  return async () => {
    await stack.stop();
  };
}
