import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { freePort } from "../../local/ports.ts";

/**
 * moto's server (`moto_server`, Python) as a stand-in for the AWS services that have
 * no AWS-made local version: CloudWatch Logs, Secrets Manager, SQS. It is an
 * emulator, not AWS: it answers the real SDK calls, but does not enforce IAM or KMS
 * and implements only part of some APIs (see SECURITY.md).
 *
 * Each test file that needs it starts its own server on 127.0.0.1 and a free port
 * (ready in 1-2 s on an idle machine, up to about 5 s on a busy 2-core one), and stops
 * it in its teardown. Nothing here ever talks to AWS: every client gets moto's
 * endpoint and dummy credentials.
 */

export const MOTO_HELP = [
  "moto_server not found: the AWS emulator tests need Python's moto with its server extra.",
  "Install it, then run the command again:",
  "  pip install 'moto[server]'",
  "(`moto_server --help` must run; nothing is downloaded by the tests.)",
].join("\n");

/** True when `moto_server` runs here (a pyenv shim without moto behind it does not). */
export function motoServerAvailable(): boolean {
  const out = spawnSync("moto_server", ["--help"], { stdio: "ignore", timeout: 30_000 });
  return !out.error && out.status === 0;
}

export const MOTO_REGION = "us-east-1";

/** Credentials moto accepts; they are not secrets and only ever go to loopback. */
export const MOTO_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" } as const;

export interface Moto {
  /** e.g. http://127.0.0.1:40123 */
  readonly endpoint: string;
  readonly process: ChildProcess;
  /** Config for an SDK client built by the test itself. */
  readonly clientConfig: {
    readonly endpoint: string;
    readonly region: string;
    readonly credentials: typeof MOTO_CREDENTIALS;
  };
  /**
   * Environment for code that builds its own SDK clients (Lambda handlers, the audit
   * CLI): the SDK's service-specific endpoint variables point CloudWatch Logs,
   * Secrets Manager and SQS at moto, and nothing else (DynamoDB stays DynamoDB Local).
   */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * Starts moto_server on 127.0.0.1 and waits until it answers. A missing moto_server
 * (not on PATH, or a shim with nothing behind it) fails with MOTO_HELP; it is not
 * probed first, since a probe costs about as much as a start.
 */
export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Only the tail of its request log, for a start-up failure message.
  let tail = "";
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-2000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
  });
  const exited = new Promise<void>((res) => child.once("close", () => res()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && !spawnError) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (spawnError || child.exitCode !== null) {
      const missing =
        (spawnError as NodeJS.ErrnoException | undefined)?.code === "ENOENT" ||
        child.exitCode === 127 ||
        /not found|No module named/i.test(tail);
      throw new Error(
        missing ? `${MOTO_HELP}\n${tail}` : `moto_server exited during start-up:\n${tail}`,
      );
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`moto_server did not answer within 30 s:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    endpoint,
    process: child,
    clientConfig: { endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS },
    env: {
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
      AWS_ENDPOINT_URL_SQS: endpoint,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: "",
      AWS_REGION: MOTO_REGION,
      AWS_EC2_METADATA_DISABLED: "true",
    },
    stop,
  };
}
