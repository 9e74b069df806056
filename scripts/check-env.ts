import { requireJava } from "../local/java.ts";

/**
 * Run before `npm start` and `npm test`: the project runs on the Node.js major that
 * Lambda runs (24, pinned by the `node` devDependency, which npm scripts put first on
 * PATH) and needs Java 17+ for DynamoDB Local; `npm test` also needs moto_server.
 * Each missing piece gets a plain fix.
 */
const major = Number(process.versions.node.split(".")[0]);
if (major !== 24) {
  process.stderr.write(
    `MicroPay runs on Node.js 24 (Lambda's nodejs24.x); this is Node ${process.versions.node}.\n` +
      "Run it through npm (`npm start`, `npm test`), which uses the Node 24 that `npm ci` installs\n" +
      "into node_modules/.bin. If that is missing, run `npm ci` first.\n",
  );
  process.exit(1);
}
requireJava();

// `npm test` only: the docs page browser test drives Debian's chromium; the script
// installs it when missing and running as root, or says what to run. The AWS emulator
// tests (test/integration/aws-emulated.test.ts) start moto_server, which must run here.
if (process.argv.includes("--test")) {
  const { spawnSync } = await import("node:child_process");
  const { existsSync } = await import("node:fs");
  if (!existsSync("/usr/bin/chromium")) {
    const r = spawnSync("bash", ["scripts/ensure-chromium.sh"], { stdio: "inherit" });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  const { MOTO_HELP, motoServerAvailable } = await import("../test/support/moto.ts");
  if (!motoServerAvailable()) {
    process.stderr.write(`${MOTO_HELP}\n`);
    process.exit(1);
  }
}
