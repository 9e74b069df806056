import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { StackInfo } from "../../local/stack.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** Settings every test stack uses unless a test overrides them. */
export const TEST_ADMIN = {
  email: "admin@micropay.test",
  password: "correct horse battery staple",
  /** The seeded admin's TOTP secret (base32, test only): admin routes need a second factor. */
  totpSecret: "JBSWY3DPEHPK3PXPMICROPAYTESTADMN",
} as const;

/** The data folder of each stack this process spawned, by API URL (admin:create needs it). */
export const stackDataDirs = new Map<string, string>();

export interface SpawnedStack {
  readonly info: StackInfo;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Starts the real local stack (`local/start.ts`, what `npm start` runs) in a child
 * process on free ports with its own data folder, and waits for its readiness line
 * (90 s unless `readyTimeoutMs` says otherwise: an artifacts-mode stack synthesizes first).
 */
export async function spawnStack(
  env: Record<string, string> = {},
  opts: { readonly readyTimeoutMs?: number } = {},
): Promise<SpawnedStack> {
  const dataDir = env.MICROPAY_DATA_DIR ?? mkdtempSync(join(tmpdir(), "micropay-test-"));
  const child = spawn(join(root, "node_modules/.bin/tsx"), [join(root, "local/start.ts")], {
    cwd: root,
    env: {
      ...process.env,
      PORT: "0",
      MICROPAY_IN_MEMORY: "1",
      MICROPAY_DATA_DIR: dataDir,
      MICROPAY_THROTTLE_RATE: "0",
      MICROPAY_THROTTLE_BURST: "0",
      MICROPAY_ADMIN_EMAIL: TEST_ADMIN.email,
      MICROPAY_ADMIN_PASSWORD: TEST_ADMIN.password,
      MICROPAY_ADMIN_TOTP_SECRET: TEST_ADMIN.totpSecret,
      MICROPAY_BCRYPT_COST: "10",
      MICROPAY_LOG_LEVEL: "SILENT",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  // "close", not "exit": "exit" can fire before the last of the child's output is read.
  const exited = new Promise<void>((r) => child.once("close", () => r()));
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`stack did not start:\n${out}`));
    }, opts.readyTimeoutMs ?? 90_000);
    const check = () => {
      if (/listening on http/.test(out)) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`stack exited (${code}) during start:\n${out}`));
    });
  });
  const info = JSON.parse(readFileSync(join(dataDir, "stack.json"), "utf8")) as StackInfo;
  stackDataDirs.set(info.apiUrl, info.dataDir);
  return {
    info,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}
