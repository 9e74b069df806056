import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteLogStreamCommand,
  DescribeLogStreamsCommand,
  type FilteredLogEvent,
  FilterLogEventsCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { calculateJwkThumbprint, importJWK, jwtVerify, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordFromEvent } from "../../lib/audit/record.ts";
import type { AuditRecord } from "../../lib/audit/schema.ts";
import { cloudWatchSink } from "../../lib/audit/sinks.ts";
import { newId } from "../../lib/ids.ts";
import { runAuditCli, sampleEvent } from "../support/audit.ts";
import { adminToken, registerUser } from "../support/auth.ts";
import { deposit, expectOk, pay, refund } from "../support/ledger.ts";
import { type Moto, startMoto } from "../support/moto.ts";
import { type SpawnedStack, spawnStack } from "../support/spawn-stack.ts";

/**
 * The AWS-facing code against moto (test/support/moto.ts), an emulator of CloudWatch
 * Logs and Secrets Manager: the real SDK calls, on loopback, never AWS itself.
 *
 * - The audit trail: a private local stack whose audit handler (functions/audit.ts,
 *   the audit Lambda's code) is configured as in AWS, `MICROPAY_AUDIT_LOG_GROUP`,
 *   so its stream consumer writes through the CloudWatch Logs sink into a moto log
 *   group; `npm run audit -- verify --log-group` reads it back with FilterLogEvents.
 * - The sink's own edge cases (a stream made by another container or deleted, events
 *   CloudWatch rejects, the lookup by event id), on the same emulated service.
 * - The signing key: the custom resource handler (infra/runtime/signing-key.ts) on
 *   CloudFormation's Create/Update/Delete events, and the loader (lib/auth/keys.ts, lib/aws/)
 *   reading what it wrote.
 *
 * What moto does not do (so these tests cannot show it): IAM and KMS are not enforced,
 * and FilterLogEvents ignores JSON filter patterns such as `{ $.eventId = "..." }`
 * (moto 5 returns every event of the time range; the sink checks each message itself).
 */

let moto: Moto;
let logs: CloudWatchLogsClient;
let secrets: SecretsManagerClient;
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  moto = await startMoto();
  logs = new CloudWatchLogsClient(moto.clientConfig);
  secrets = new SecretsManagerClient(moto.clientConfig);
  // Code under test that builds its own clients (the custom resource, the key loader)
  // reads moto's endpoint and the dummy credentials from this test process's env.
  for (const [k, v] of Object.entries(moto.env)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
}, 60_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  logs?.destroy();
  secrets?.destroy();
  await moto?.stop();
});

const run = () => `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;

async function groupEvents(logGroupName: string): Promise<FilteredLogEvent[]> {
  const events: FilteredLogEvent[] = [];
  let nextToken: string | undefined;
  do {
    const out = await logs.send(new FilterLogEventsCommand({ logGroupName, nextToken }));
    events.push(...(out.events ?? []));
    nextToken = out.nextToken;
  } while (nextToken);
  return events;
}

const recordsOf = (events: FilteredLogEvent[]) =>
  events.map((e) => JSON.parse(e.message ?? "") as AuditRecord);

/** Polls the log group until `done` holds or the deadline passes; returns the last read. */
async function waitForGroup(
  logGroupName: string,
  done: (records: AuditRecord[]) => boolean,
  timeoutMs = 30_000,
): Promise<FilteredLogEvent[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await groupEvents(logGroupName);
    if (done(recordsOf(events)) || Date.now() > deadline) return events;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("the audit trail in a CloudWatch Logs log group (moto)", () => {
  const group = `/micropay/test/audit-${run()}`;
  let stack: SpawnedStack;
  let paymentId: string;

  const movements = (records: AuditRecord[]) =>
    records
      .filter((r) => r.outcome === "success" && r.action.endsWith(".created"))
      .map((r) => r.action)
      .filter((a) => ["deposit.created", "payment.created", "refund.created"].includes(a))
      .sort();

  beforeAll(async () => {
    // The deployed stack creates the group (infra/constructs/audit.ts); so does this test.
    await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    stack = await spawnStack({ ...moto.env, MICROPAY_AUDIT_LOG_GROUP: group });
    const base = stack.info.apiUrl;
    const admin = { base, token: await adminToken(base) };
    const alice = await registerUser({ base });
    const bob = await registerUser({ base });
    expectOk("deposit", await deposit(admin, alice.account.id, 10_000, "seed"));
    const payment = expectOk(
      "payment",
      await pay(
        { base, token: alice.accessToken },
        {
          sourceAccountId: alice.account.id,
          destinationAccountId: bob.account.id,
          amount: 3_000,
          currency: "USD",
        },
      ),
    );
    paymentId = (payment.json as { id: string }).id;
    expectOk("refund", await refund(admin, paymentId, { amount: 1_000, reason: "partial" }));
    await waitForGroup(group, (records) => movements(records).length >= 3);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it("holds one record per audit event, written by the audit handler's CloudWatch sink", async () => {
    const events = await groupEvents(group);
    const records = recordsOf(events);
    expect(movements(records)).toEqual(["deposit.created", "payment.created", "refund.created"]);
    expect(records.find((r) => r.action === "payment.created")?.targets.paymentId).toBe(paymentId);
    // Registrations and logins are audit events too; each event id once.
    expect(records.length).toBeGreaterThan(3);
    expect(new Set(records.map((r) => r.eventId)).size).toBe(records.length);
    // Each log event's time is its record's time, in the day/container stream.
    for (const e of events) {
      const r = JSON.parse(e.message ?? "") as AuditRecord;
      expect(e.timestamp).toBe(Date.parse(r.at));
      expect(e.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/audit-[0-9a-f]{16}$/);
    }
    // The group, not the local file, is where they went.
    expect(existsSync(stack.info.auditLog)).toBe(false);
  });

  it("`npm run audit -- verify --log-group` reads it back with FilterLogEvents: OK", async () => {
    const count = (await groupEvents(group)).length;
    const out = await runAuditCli(
      [
        "verify",
        "--log-group",
        group,
        "--endpoint",
        stack.info.dynamodbEndpoint,
        "--table",
        stack.info.tableName,
      ],
      moto.env,
    );
    expect(out.stderr).toBe("");
    expect(out.stdout).toContain(`audit log: log group ${group} at ${moto.endpoint}\n`);
    expect(out.stdout).toContain(`${count} audit records (0 with redacted text), 3 movements`);
    expect(out.stdout).toContain("verify: OK");
    expect(out.code).toBe(0);
  });

  it("names a record altered in the log group", async () => {
    const original = recordsOf(await groupEvents(group)).find(
      (r) => r.action === "payment.created",
    );
    if (!original?.money) throw new Error("no payment record in the group");
    // Someone with write access to the group puts an edited copy in a stream of theirs.
    const altered = { ...original, money: { ...original.money, amount: 30 } };
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: "edited" }));
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: group,
        logStreamName: "edited",
        logEvents: [{ timestamp: Date.parse(altered.at), message: JSON.stringify(altered) }],
      }),
    );
    const out = await runAuditCli(
      [
        "verify",
        "--log-group",
        group,
        "--endpoint",
        stack.info.dynamodbEndpoint,
        "--table",
        stack.info.tableName,
      ],
      moto.env,
    );
    expect(out.stdout).toContain(
      `MISMATCH audit record ${original.eventId}: digest does not match its content (record altered)`,
    );
    expect(out.stdout).toMatch(/verify: FAILED/);
    expect(out.code).toBe(1);
  });
});

describe("the CloudWatch Logs sink (moto)", () => {
  /** A record of an event at `at` (now unless given), built by the project's record code. */
  const record = (at = new Date().toISOString()) => recordFromEvent(sampleEvent({ at }));

  async function newGroup(): Promise<string> {
    const name = `/micropay/test/sink-${run()}`;
    await logs.send(new CreateLogGroupCommand({ logGroupName: name }));
    return name;
  }

  it("writes a batch in time order to its stream, even one another container created", async () => {
    const group = await newGroup();
    const now = Date.now();
    const stream = `${new Date(now).toISOString().slice(0, 10).replaceAll("-", "/")}/audit-c0ffee`;
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
    const sink = cloudWatchSink(logs, group, "c0ffee", () => now);
    const early = record(new Date(Date.now() - 2_000).toISOString());
    const late = record();
    // Out of order on purpose: PutLogEvents refuses unsorted events.
    await sink.write([late, early]);
    const events = await groupEvents(group);
    expect(events.map((e) => [e.logStreamName, JSON.parse(e.message ?? "").eventId])).toEqual([
      [stream, early.eventId],
      [stream, late.eventId],
    ]);
  });

  it("recreates its stream when it was deleted between writes", async () => {
    const group = await newGroup();
    const sink = cloudWatchSink(logs, group, "d1e7ed");
    const first = record();
    await sink.write([first]);
    const { logStreams = [] } = await logs.send(
      new DescribeLogStreamsCommand({ logGroupName: group }),
    );
    expect(logStreams).toHaveLength(1);
    const logStreamName = logStreams[0]?.logStreamName ?? "";
    await logs.send(new DeleteLogStreamCommand({ logGroupName: group, logStreamName }));
    const second = record();
    await sink.write([second]);
    expect(recordsOf(await groupEvents(group)).map((r) => r.eventId)).toEqual([second.eventId]);
  });

  it("fails the write when CloudWatch rejects an event as too old, so it is retried", async () => {
    const group = await newGroup();
    const sink = cloudWatchSink(logs, group, "01d");
    const old = record(new Date(Date.now() - 15 * 86_400_000).toISOString());
    await expect(sink.write([old])).rejects.toThrow(/rejected audit events/);
    expect(await groupEvents(group)).toEqual([]);
  });

  it("finds a written record by event id, and not another record of the same millisecond", async () => {
    const group = await newGroup();
    const sink = cloudWatchSink(logs, group, "5ee");
    const at = new Date().toISOString();
    const written = record(at);
    const other = record(at);
    await sink.write([written]);
    expect(await sink.contains(written)).toBe(true);
    expect(await sink.contains(other)).toBe(false);
  });
});

/** CloudFormation's responses to the custom resource, by request id (a loopback server). */
interface CfnResponse {
  Status: string;
  Reason: string;
  PhysicalResourceId: string;
  RequestId: string;
  Data?: unknown;
}

describe("the signing key (moto Secrets Manager)", () => {
  let server: Server;
  let responseBase: string;
  const responses = new Map<string, { text: string; body: CfnResponse }>();
  let handler: (event: CloudFormationCustomResourceEvent) => Promise<void>;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let text = "";
      req.on("data", (d: Buffer) => {
        text += d.toString();
      });
      req.on("end", () => {
        const id = decodeURIComponent((req.url ?? "").slice(1));
        responses.set(id, { text, body: JSON.parse(text) as CfnResponse });
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const addr = server.address();
    responseBase = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
    // Imported after beforeAll above set moto's endpoint: the handler's client is module-scoped.
    ({ handler } = await import("../../infra/runtime/signing-key.ts"));
  });

  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  /** A secret as the CDK stack makes it: a generated placeholder until the key is written. */
  async function placeholderSecret(): Promise<string> {
    const out = await secrets.send(
      new CreateSecretCommand({
        Name: `micropay/test/signing-key-${run()}`,
        SecretString: randomBytes(24).toString("base64url"),
      }),
    );
    return out.ARN ?? "";
  }

  const secretValue = async (SecretId: string) =>
    (await secrets.send(new GetSecretValueCommand({ SecretId }))).SecretString ?? "";

  /** Sends one CloudFormation event to the handler; returns CloudFormation's response. */
  async function send(
    RequestType: "Create" | "Update" | "Delete",
    secretId: string,
    opts: { requestId?: string; physicalId?: string } = {},
  ) {
    const RequestId = opts.requestId ?? randomUUID();
    const common = {
      ServiceToken: "arn:aws:lambda:us-east-1:123456789012:function:generator",
      ResponseURL: `${responseBase}/${encodeURIComponent(`${RequestId}:${RequestType}`)}`,
      StackId: "arn:aws:cloudformation:us-east-1:123456789012:stack/MicroPay-test/1",
      RequestId,
      LogicalResourceId: "SigningKeyGenerate",
      ResourceType: "Custom::MicroPaySigningKey",
      ResourceProperties: { ServiceToken: "x", SecretId: secretId },
    };
    const event = (
      RequestType === "Create"
        ? { ...common, RequestType }
        : RequestType === "Update"
          ? {
              ...common,
              RequestType,
              PhysicalResourceId: opts.physicalId ?? "",
              OldResourceProperties: common.ResourceProperties,
            }
          : { ...common, RequestType, PhysicalResourceId: opts.physicalId ?? "" }
    ) as CloudFormationCustomResourceEvent;
    await handler(event);
    const got = responses.get(`${RequestId}:${RequestType}`);
    if (!got) throw new Error(`no CloudFormation response to ${RequestType}`);
    return got;
  }

  it("Create writes a valid ES256 private JWK to the secret; the response holds no key", async () => {
    const arn = await placeholderSecret();
    const res = await send("Create", arn);
    expect(res.body).toMatchObject({
      Status: "SUCCESS",
      PhysicalResourceId: `signing-key:${arn}`,
    });
    expect(res.body.Data).toBeUndefined();
    const stored = await secretValue(arn);
    const jwk = JSON.parse(stored) as Record<string, string>;
    expect(jwk).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(jwk.d).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { kty, crv, x, y } = jwk;
    expect(jwk.kid).toBe(await calculateJwkThumbprint({ kty, crv, x, y }, "sha256"));
    // It signs, and its public half verifies what it signed.
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256" })
      .sign(await importJWK(jwk, "ES256"));
    await expect(
      jwtVerify(token, await importJWK({ kty, crv, x, y }, "ES256")),
    ).resolves.toBeDefined();
    // No private key material in what goes back to CloudFormation.
    expect(res.text).not.toContain(jwk.d ?? "");
    expect(res.text).not.toContain(stored);
    expect(res.text).not.toMatch(/"d"\s*:/);
  });

  it("a redelivered Create (same request id) keeps the key it first wrote", async () => {
    const arn = await placeholderSecret();
    const requestId = randomUUID();
    await send("Create", arn, { requestId });
    const first = await secretValue(arn);
    responses.clear();
    const again = await send("Create", arn, { requestId });
    expect(again.body.Status).toBe("SUCCESS");
    expect(await secretValue(arn)).toBe(first);
  });

  it("Update and Delete answer SUCCESS and leave the key as it is", async () => {
    const arn = await placeholderSecret();
    const created = await send("Create", arn);
    const key = await secretValue(arn);
    const physicalId = created.body.PhysicalResourceId;
    const updated = await send("Update", arn, { physicalId });
    expect(updated.body).toMatchObject({ Status: "SUCCESS", PhysicalResourceId: physicalId });
    expect(await secretValue(arn)).toBe(key);
    const deleted = await send("Delete", arn, { physicalId });
    expect(deleted.body).toMatchObject({ Status: "SUCCESS", PhysicalResourceId: physicalId });
    expect(await secretValue(arn)).toBe(key);
  });

  it("Create for a secret that does not exist answers FAILED, naming only the error", async () => {
    const res = await send(
      "Create",
      "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf",
    );
    expect(res.body.Status).toBe("FAILED");
    expect(res.body.Reason).toBe("signing key generation failed: ResourceNotFoundException");
  });

  it("the loader reads the generated key; a token it signs verifies with the secret's public half", async () => {
    const { resetConfigForTests } = await import("../../lib/config.ts");
    const { resetSigningKeysForTests, signingKeys } = await import("../../lib/auth/keys.ts");
    // The Lambda wiring: the configured source (Secrets Manager here).
    const { installSigningKeySource } = await import("../../lib/aws/signing-key.ts");
    installSigningKeySource();
    const { issueAccessToken, verifyAccessToken } = await import("../../lib/auth/access-token.ts");
    const arn = await placeholderSecret();
    process.env.MICROPAY_SIGNING_KEY_SECRET_ID = arn;
    try {
      resetConfigForTests();
      resetSigningKeysForTests();
      // Before the generator has run the secret holds its placeholder: no key, a 503.
      await expect(signingKeys()).rejects.toMatchObject({ code: "service_unavailable" });

      await send("Create", arn);
      const jwk = JSON.parse(await secretValue(arn)) as Record<string, string>;
      const keys = await signingKeys();
      expect(keys.kid).toBe(jwk.kid);
      const userId = newId("usr");
      const { token } = await issueAccessToken(userId, ["customer"]);
      expect(await verifyAccessToken(token)).toMatchObject({ userId, roles: ["customer"] });
      const { kty, crv, x, y } = jwk;
      const { payload, protectedHeader } = await jwtVerify(
        token,
        await importJWK({ kty, crv, x, y }, "ES256"),
      );
      expect(protectedHeader.kid).toBe(jwk.kid);
      expect(payload.sub).toBe(userId);
    } finally {
      delete process.env.MICROPAY_SIGNING_KEY_SECRET_ID;
      resetConfigForTests();
      resetSigningKeysForTests();
    }
  });
});
