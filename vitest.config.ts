import { defineConfig } from "vitest/config";

/**
 * Test tiers (DESIGN.md): unit (no network), infra (CDK assertions + cdk-nag), and
 * the stack tier (integration, security, reliability) that runs against a real
 * local stack (DynamoDB Local + local gateway) started once by test/support/global-stack.ts;
 * and the artifacts tier, some of the stack tier's flows against a stack that runs
 * every function from its synthesized bundle (test/support/global-artifacts-stack.ts).
 */
export default defineConfig({
  test: {
    reporters: ["default"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          env: { MICROPAY_LOG_LEVEL: "SILENT" },
        },
      },
      {
        test: {
          name: "infra",
          include: ["test/infra/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          env: { MICROPAY_LOG_LEVEL: "SILENT" },
        },
      },
      {
        test: {
          name: "stack",
          include: [
            "test/integration/**/*.test.ts",
            "test/security/**/*.test.ts",
            "test/reliability/**/*.test.ts",
          ],
          globalSetup: ["test/support/global-stack.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          env: { MICROPAY_LOG_LEVEL: "SILENT" },
        },
      },
      {
        test: {
          // The same flows against a stack that runs the synthesized bundles (npm start -- --artifacts).
          name: "artifacts",
          include: ["test/artifacts/**/*.test.ts"],
          globalSetup: ["test/support/global-artifacts-stack.ts"],
          // One file at a time: each loads a stack's worth of function processes.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
          env: { MICROPAY_LOG_LEVEL: "SILENT" },
        },
      },
    ],
  },
});
