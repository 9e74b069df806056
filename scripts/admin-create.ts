/**
 * `npm run admin:create`: makes the first admin of a deployment, writing straight to
 * that stage's DynamoDB table (the API has no way to make an admin without one).
 *
 *   npm run admin:create -- --email ops@example.com --table micropay-prod-Table --region eu-west-1
 *   npm run admin:create -- --email ops@example.com --local     # the running local stack
 *
 * The password is never an argument (argv shows up in `ps` and shell history): it is
 * read from MICROPAY_ADMIN_PASSWORD or, failing that, from the first line of stdin.
 * Flags fall back to MICROPAY_ADMIN_EMAIL, MICROPAY_TABLE_NAME, AWS_REGION and
 * MICROPAY_DYNAMODB_ENDPOINT. With `--local` (or no table given while a local stack
 * record exists) the table and endpoint come from MICROPAY_DATA_DIR/stack.json.
 * AWS credentials come from the usual SDK chain (profile, SSO, environment).
 *
 * Admin routes need a second factor, so the new admin is enrolled in TOTP at once: the
 * enrolment URI (with the secret) and ten single-use recovery codes are printed once,
 * for the operator to hand over out of band; they are never stored in clear. The
 * secret is sealed with the stage's KMS key (`--kms-key` or MICROPAY_SECRET_BOX_KEY_ID:
 * the table's key, as the functions use) or, with `--local`, the local key folder.
 * Weak passwords are refused (the same offline check as registration). Audited.
 *
 * Idempotent: if the email is already registered nothing is changed; the exit code
 * is 0 when that user already holds `admin`, 1 when it does not.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import * as z from "zod";

const USAGE =
  "usage: npm run admin:create -- --email <email> (--table <name> --kms-key <id> [--region <r>] [--endpoint <url>] | --local)\n" +
  "       password from MICROPAY_ADMIN_PASSWORD or the first line of stdin";

function fail(message: string, code = 2): never {
  process.stderr.write(`admin:create: ${message}\n${code === 2 ? `${USAGE}\n` : ""}`);
  process.exit(code);
}

async function readPassword(): Promise<string> {
  const fromEnv = process.env.MICROPAY_ADMIN_PASSWORD;
  if (fromEnv) return fromEnv;
  if (process.stdin.isTTY) process.stderr.write("Admin password (then Enter): ");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    if (Buffer.concat(chunks).includes(10)) break; // first line is enough
  }
  return (Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "").trimEnd();
}

async function main(): Promise<void> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        email: { type: "string" },
        table: { type: "string" },
        region: { type: "string" },
        endpoint: { type: "string" },
        "kms-key": { type: "string" },
        local: { type: "boolean" },
        help: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (error) {
    fail(error instanceof Error ? error.message : "bad arguments");
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const email = (values.email as string | undefined) ?? process.env.MICROPAY_ADMIN_EMAIL;
  if (!email) fail("an --email is required");
  if (!z.email().max(254).safeParse(email).success) fail("the --email is not an email address");

  let table = (values.table as string | undefined) ?? process.env.MICROPAY_TABLE_NAME;
  let endpoint = (values.endpoint as string | undefined) ?? process.env.MICROPAY_DYNAMODB_ENDPOINT;
  const stackFile = resolve(process.env.MICROPAY_DATA_DIR ?? ".local", "stack.json");
  if (values.local || (!values.table && !process.env.MICROPAY_TABLE_NAME)) {
    if (!existsSync(stackFile)) {
      fail(
        values.local
          ? `no running local stack (${stackFile} not found); start one with npm start`
          : "give --table (a deployed stage) or --local (the running local stack)",
      );
    }
    const info = JSON.parse(readFileSync(stackFile, "utf8")) as {
      tableName: string;
      dynamodbEndpoint: string;
    };
    table = info.tableName;
    endpoint = info.dynamodbEndpoint;
    process.env.MICROPAY_SECRET_BOX_KEY_FILE = resolve(
      process.env.MICROPAY_DATA_DIR ?? ".local",
      "keys",
      "secret-box.key",
    );
  } else {
    const kmsKey =
      (values["kms-key"] as string | undefined) ?? process.env.MICROPAY_SECRET_BOX_KEY_ID;
    if (!kmsKey) fail("give --kms-key (the table's KMS key, which seals the admin's TOTP secret)");
    process.env.MICROPAY_SECRET_BOX_KEY_ID = kmsKey;
  }
  process.env.MICROPAY_TABLE_NAME = table;
  if (endpoint) process.env.MICROPAY_DYNAMODB_ENDPOINT = endpoint;
  if (values.region) process.env.AWS_REGION = values.region as string;

  const password = await readPassword();
  const bytes = Buffer.byteLength(password, "utf8");
  if (bytes < 12 || bytes > 72) fail("the password must be 12 to 72 bytes of UTF-8");

  // Imported only now: lib/config.ts reads the environment set above.
  const { createAdmin } = await import("../lib/auth/service.ts");
  const { enrolTotpOutOfBand } = await import("../lib/auth/mfa.ts");
  const { newTotpSecret, otpauthUri } = await import("../lib/auth/totp.ts");
  const { Refusal } = await import("../lib/problems.ts");
  const { identityDeps } = await import("../lib/aws/identity.ts");
  const { userInfo } = await import("node:os");
  const requestId = `admin-create-${Date.now()}`;
  const ctx = {
    principal: null,
    gatewayRequestId: requestId,
    requestId,
    sourceIp: "cli",
    userAgent: `micropay-admin-create (${userInfo().username})`.slice(0, 256),
  };
  const deps = identityDeps();
  let result: Awaited<ReturnType<typeof createAdmin>>;
  try {
    result = await createAdmin(ctx, { email, password }, deps);
  } catch (error) {
    if (error instanceof Refusal) fail(error.detail, 2);
    throw error;
  }
  if (result.created) {
    process.stdout.write(`created admin ${result.userId} (${email}) in table ${table}\n`);
    const secret = newTotpSecret();
    const mfa = await enrolTotpOutOfBand(ctx, { userId: result.userId, secret }, deps);
    if (mfa.enrolled) {
      process.stdout.write(
        "TOTP enrolment URI (shown once; add it to the admin's authenticator app):\n" +
          `${otpauthUri(secret, email)}\n` +
          `recovery codes (single use, shown once): ${mfa.recoveryCodes.join(" ")}\n`,
      );
    }
    return;
  }
  if (result.roles.includes("admin")) {
    process.stdout.write(`${email} is already an admin (${result.userId}); nothing changed\n`);
    return;
  }
  fail(
    `${email} is already registered (${result.userId}) without the admin role; ` +
      "nothing changed (an admin can grant roles with PUT /v1/admin/users/{userId}/roles)",
    1,
  );
}

main().catch((error: unknown) => {
  const name = error instanceof Error ? error.name : "error";
  fail(`failed (${name}); check the table name, region and credentials`, 1);
});
