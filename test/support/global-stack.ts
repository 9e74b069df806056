import type { TestProject } from "vitest/node";
import type { StackInfo } from "../../local/stack.ts";
import { spawnStack } from "./spawn-stack.ts";

declare module "vitest" {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

/** One shared in-memory local stack for the integration, security and reliability tiers. */
export default async function setup(project: TestProject) {
  const stack = await spawnStack();
  project.provide("stack", stack.info);
  return async () => {
    await stack.stop();
  };
}
