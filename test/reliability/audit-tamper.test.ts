import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutCommand, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newAuditEvent } from "../../lib/audit/events.ts";
import { isMovementAction } from "../../lib/audit/schema.ts";
import { auditItem } from "../../lib/store/audit-outbox.ts";
import { pollUntil, readAuditLog, runAuditCli, waitForAuditLog } from "../support/audit.ts";
import { adminToken, registerUser, stackTable } from "../support/auth.ts";
import { deposit, expectOk, pay, refund, withdraw } from "../support/ledger.ts";
import { type SpawnedStack, spawnStack } from "../support/spawn-stack.ts";

/**
 * Tampering and delivery faults on a private stack: verify must name a record altered,
 * deleted or duplicated in the audit log and an entry altered in the ledger; an outbox
 * item with a secret-looking field is written redacted, a malformed one goes to the
 * dead-letter file, and the rest is written; a whole-stream
 * replay (a second poller, in parallel with the stack's own) writes nothing twice.
 */

let stack: SpawnedStack;
let table: ReturnType<typeof stackTable>;
let work: string;
let paymentId: string;
let bobAccount: string;

const movementRecords = () =>
  readAuditLog(stack.info.auditLog).records.filter(
    (r) => r.outcome === "success" && isMovementAction(r.action),
  );

const verify = (...args: string[]) =>
  runAuditCli(["verify", ...args], { MICROPAY_DATA_DIR: stack.info.dataDir });

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "micropay-audit-tamper-"));
  stack = await spawnStack({ MICROPAY_AUDIT_LOG: join(work, "audit.log") });
  table = stackTable(stack.info);
  const base = stack.info.apiUrl;
  const admin = { base, token: await adminToken(base) };
  const alice = await registerUser({ base });
  const bob = await registerUser({ base });
  bobAccount = bob.account.id;
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
  expectOk("withdrawal", await withdraw({ base, token: alice.accessToken }, alice.account.id, 500));
  // A cancelled movement: the transaction fails, so neither entries nor a success record.
  const refused = await pay(
    { base, token: alice.accessToken },
    {
      sourceAccountId: alice.account.id,
      destinationAccountId: bob.account.id,
      amount: 999_999,
      currency: "USD",
    },
  );
  expect(refused.status).toBe(402);
  await waitForAuditLog(stack.info.auditLog, () => movementRecords().length >= 4);
}, 120_000);

afterAll(async () => {
  table?.destroy();
  await stack?.stop();
});

/** A copy of the audit log with one line changed by `edit` (returns the copy's path). */
function tamperedCopy(name: string, edit: (lines: string[]) => string[]): string {
  const lines = readFileSync(stack.info.auditLog, "utf8").trimEnd().split("\n");
  const path = join(work, name);
  writeFileSync(path, `${edit(lines).join("\n")}\n`);
  return path;
}

const lineOf = (lines: string[], match: (message: Record<string, unknown>) => boolean) =>
  lines.findIndex((l) => match(JSON.parse(JSON.parse(l).message) as Record<string, unknown>));

describe("verify against tampering", () => {
  it("passes on the untouched trail, which has no success record for the refused payment", async () => {
    const moves = movementRecords();
    expect(moves.map((r) => r.action).sort()).toEqual([
      "deposit.created",
      "payment.created",
      "refund.created",
      "withdrawal.created",
    ]);
    const out = await verify();
    expect(out.stdout).toContain("verify: OK");
    expect(out.code).toBe(0);
  });

  it("names a record whose content was altered", async () => {
    let eventId = "";
    const path = tamperedCopy("altered.log", (lines) => {
      const i = lineOf(lines, (m) => m.action === "payment.created");
      const ev = JSON.parse(lines[i] ?? "") as { message: string };
      const rec = JSON.parse(ev.message) as { eventId: string; money: { amount: number } };
      eventId = rec.eventId;
      rec.money.amount = 30;
      lines[i] = JSON.stringify({ ...ev, message: JSON.stringify(rec) });
      return lines;
    });
    const out = await verify("--audit-log", path);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(
      `MISMATCH audit record ${eventId}: digest does not match its content (record altered)`,
    );
    // A movement is named by its kind, its transfer id and its payment (or refund) id.
    expect(out.stdout).toMatch(
      new RegExp(`MISMATCH payment trf_\\w+ \\(${paymentId}\\): no audit record`),
    );
  });

  it("names the movement whose record was deleted", async () => {
    const path = tamperedCopy("deleted.log", (lines) => {
      const i = lineOf(lines, (m) => m.action === "refund.created");
      return lines.filter((_, j) => j !== i);
    });
    const out = await verify("--audit-log", path);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/MISMATCH refund trf_\w+ \(pay_\w+, ref_\w+\): no audit record/);
  });

  it("names a record written twice", async () => {
    let eventId = "";
    const path = tamperedCopy("duplicated.log", (lines) => {
      const i = lineOf(lines, (m) => m.action === "deposit.created");
      eventId = JSON.parse(JSON.parse(lines[i] ?? "").message).eventId;
      return [...lines, lines[i] ?? ""];
    });
    const out = await verify("--audit-log", path);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(`MISMATCH audit record ${eventId}: recorded 2 times`);
  });

  it("names an altered ledger entry (and passes again once it is restored)", async () => {
    const scan = await table.doc.send(
      new ScanCommand({
        TableName: table.tableName,
        FilterExpression:
          "#t = :e AND paymentId = :p AND direction = :c AND attribute_not_exists(refundId)",
        ExpressionAttributeNames: { "#t": "type" },
        ExpressionAttributeValues: { ":e": "entry", ":p": paymentId, ":c": "credit" },
      }),
    );
    const original = scan.Items?.[0];
    if (!original) throw new Error("payment credit entry not found");
    await table.doc.send(
      new PutCommand({ TableName: table.tableName, Item: { ...original, amount: 3_333 } }),
    );
    try {
      const out = await verify();
      expect(out.code).toBe(1);
      expect(out.stdout).toMatch(
        new RegExp(`MISMATCH payment trf_\\w+ \\(${paymentId}\\): debits 3000 != credits 3333`),
      );
      expect(out.stdout).toContain(
        `MISMATCH account ${bobAccount}: balance 2000 != sum of its entries 2333`,
      );
    } finally {
      await table.doc.send(new PutCommand({ TableName: table.tableName, Item: original }));
    }
    expect((await verify()).code).toBe(0);
  });

  it("names a log line that is not a log event at all", async () => {
    const path = tamperedCopy("garbage.log", (lines) => [...lines, "not a log event"]);
    const out = await verify("--audit-log", path);
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/garbage\.log:\d+: not JSON/);
  });
});

describe("delivery faults", () => {
  it("writes a secret-looking outbox item redacted, parks a malformed one, writes the rest", async () => {
    const actor = {
      userId: null,
      roles: [],
      sourceIp: "198.51.100.1",
      userAgent: "reliability",
      requestId: "poison-test",
    } as const;
    const secret = newAuditEvent(actor, "auth.login_failed", { outcome: "failure", targets: {} });
    const malformed = newAuditEvent(actor, "auth.login_failed", {
      outcome: "failure",
      targets: {},
    });
    const good = newAuditEvent(actor, "auth.login_failed", { outcome: "failure", targets: {} });
    const put = (item: Record<string, unknown>) =>
      table.doc.send(new PutCommand({ TableName: table.tableName, Item: item }));
    // A secret slipped into a server-built field: the guard must not write it, nor
    // drop the record: it is written redacted and flagged.
    await put({
      ...auditItem(secret),
      event: { ...secret, reason: "$2b$10$abcdefghijklmnopqrstuvCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC" },
    });
    // Not an audit event at all (a code bug): poison, parked after bounded retries.
    await put({ ...auditItem(malformed), event: { ...malformed, outcome: "maybe" } });
    await put(auditItem(good));
    const records = await waitForAuditLog(stack.info.auditLog, (rs) =>
      [good.eventId, secret.eventId].every((id) => rs.some((r) => r.eventId === id)),
    );
    expect(records.filter((r) => r.eventId === good.eventId)).toHaveLength(1);
    const redacted = records.filter((r) => r.eventId === secret.eventId);
    expect(redacted).toHaveLength(1);
    expect(redacted[0]?.redacted).toEqual(["reason"]);
    expect(redacted[0]?.reason).toMatch(/^\[REDACTED\]/);
    expect(records.some((r) => r.eventId === malformed.eventId)).toBe(false);
    expect(readFileSync(stack.info.auditLog, "utf8")).not.toContain("$2b$");
    // The poison one is parked after the poller's bounded retries; only it.
    const deadLetters = join(stack.info.dataDir, "audit-dead-letter.jsonl");
    const dead = await pollUntil(() =>
      existsSync(deadLetters) ? readFileSync(deadLetters, "utf8") : "",
    );
    expect(dead.trim().split("\n")).toHaveLength(1);
    // verify still passes: a redacted record is a valid record.
    const out = await verify();
    expect(out.stdout).toContain("verify: OK");
    expect(out.stdout).toMatch(/\(1 with redacted text\)/);
  });

  it("a replay of the whole stream, in parallel with the live poller, writes nothing twice", async () => {
    const before = readAuditLog(stack.info.auditLog).records.map((r) => r.eventId);
    // The real handler in this process, against the stack's table and audit log.
    Object.assign(process.env, {
      MICROPAY_DYNAMODB_ENDPOINT: stack.info.dynamodbEndpoint,
      MICROPAY_TABLE_NAME: stack.info.tableName,
      MICROPAY_AUDIT_LOG: stack.info.auditLog,
    });
    const { handler } = await import("../../functions/audit.ts");
    let replayed = 0;
    const { startStreamPoller } = await import("../../local/stream-poller.ts");
    const replay = await startStreamPoller({
      endpoint: stack.info.dynamodbEndpoint,
      tableName: stack.info.tableName,
      handler: async (event) => {
        replayed += event.Records.filter((r) => r.eventName === "INSERT").length;
        return handler(event);
      },
      deadLetterFile: join(work, "replay-dead-letter.jsonl"),
      maxRetries: 1,
      intervalMs: 50,
    });
    // New movements while both pollers run: both see them; each lands once.
    const base = stack.info.apiUrl;
    const admin = { base, token: await adminToken(base) };
    for (let i = 0; i < 3; i++) {
      expectOk("deposit", await deposit(admin, bobAccount, 100 + i, `replay-${i}`));
    }
    await replay.drain();
    await replay.stop();
    // It really replayed: every audit item (and more) went through the handler again.
    expect(replayed).toBeGreaterThan(before.length);
    await waitForAuditLog(stack.info.auditLog, () => movementRecords().length >= 7);
    const after = readAuditLog(stack.info.auditLog).records.map((r) => r.eventId);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(new Set(after).size).toBe(after.length);
    expect(movementRecords()).toHaveLength(7);
    const out = await verify();
    expect(out.stdout).toContain("verify: OK");
    expect(out.code).toBe(0);
  });
});
