import { execSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { spawnStack } from "../support/spawn-stack.ts";

function javaProcesses(marker: string): number {
  const out = execSync("ps -eo args", { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes("DynamoDbLocalLoopback") && l.includes(marker))
    .length;
}

describe("the local stack process", () => {
  it("persists data under its data folder and leaves no Java process behind on SIGTERM", async () => {
    const stack = await spawnStack({ MICROPAY_IN_MEMORY: "0" });
    expect(stack.info.inMemory).toBe(false);
    expect(stack.output()).toMatch(/MicroPay local API listening on http:\/\/127\.0\.0\.1:\d+/);
    const marker = stack.info.dataDir;
    expect(javaProcesses(marker)).toBe(1);
    await stack.stop();
    expect(stack.output()).toContain("Stopped");
    expect(javaProcesses(marker)).toBe(0);
  });

  it("binds DynamoDB Local to the loopback address only", async () => {
    const stack = await spawnStack();
    try {
      const port = new URL(stack.info.dynamodbEndpoint).port;
      const ss = execSync("ss -ltn", { encoding: "utf8" });
      const line = ss.split("\n").find((l) => l.includes(`:${port} `));
      expect(line).toMatch(/\s(\[::ffff:)?127\.0\.0\.1\]?:\d+\s/);
      expect(line).not.toMatch(/\s(\*|0\.0\.0\.0|\[::\]):\d+\s/);
    } finally {
      await stack.stop();
    }
  });
});
