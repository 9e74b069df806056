import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { userKey } from "../../lib/store/users.ts";
import {
  type RegisteredUser,
  registerUser,
  stackTable,
  uniqueEmail,
  uniquePassword,
} from "../support/auth.ts";
import { call } from "../support/http.ts";

/**
 * Login abuse: no user enumeration (same answer, same time), per-account lockout
 * (default threshold 5 in a 15-minute window), and failures counted atomically.
 */
const table = stackTable(inject("stack"));
afterAll(() => table.destroy());

const login = (email: string, password: string, requestId?: string) =>
  call("POST", "/v1/auth/login", {
    body: { email, password },
    ...(requestId ? { headers: { "X-Request-Id": requestId } } : {}),
  });

describe("no user enumeration at login", () => {
  let locked: RegisteredUser;
  let plain: RegisteredUser;

  beforeAll(async () => {
    [locked, plain] = await Promise.all([registerUser(), registerUser()]);
    for (let i = 0; i < 5; i++) await login(locked.email, "wrong password!!");
  });

  it("unknown email, wrong password and locked account (right password) answer byte-identically", async () => {
    const rid = "enumeration-check-0001";
    const answers = [
      await login(uniqueEmail("nobody"), "some password 123", rid),
      await login(plain.email, "wrong password!!", rid),
      await login(locked.email, locked.password, rid),
    ];
    for (const a of answers) {
      expect(a.status).toBe(401);
      expect(a.headers.get("www-authenticate")).toBe(answers[0]?.headers.get("www-authenticate"));
      expect(a.headers.get("content-type")).toBe("application/problem+json");
    }
    expect(answers[1]?.text).toBe(answers[0]?.text);
    expect(answers[2]?.text).toBe(answers[0]?.text);
    expect(answers[0]?.json).toMatchObject({ code: "invalid_credentials" });
  });

  it("unknown-email logins take about as long as wrong-password logins (dummy bcrypt compare)", async () => {
    // Wrong passwords spread over users so no account locks (each gets at most 3).
    const users = await Promise.all(Array.from({ length: 8 }, () => registerUser()));
    const unknown: number[] = [];
    const wrong: number[] = [];
    const rounds = 24;
    for (let i = 0; i < rounds; i++) {
      const u = users[i % users.length] as RegisteredUser;
      // Interleaved, so drift in machine load hits both series alike.
      let t = performance.now();
      expect((await login(uniqueEmail("ghost"), "a wrong password")).status).toBe(401);
      unknown.push(performance.now() - t);
      t = performance.now();
      expect((await login(u.email, "a wrong password")).status).toBe(401);
      wrong.push(performance.now() - t);
    }
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s[Math.floor(s.length / 2)] ?? 0;
    };
    const ratio = median(unknown) / median(wrong);
    console.info(
      `login timing over ${rounds} tries each: unknown email median ${median(unknown).toFixed(1)} ms, ` +
        `wrong password median ${median(wrong).toFixed(1)} ms, ratio ${ratio.toFixed(3)}`,
    );
    // Without the dummy compare the ratio would be near 0.1 (no bcrypt at all).
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  }, 180_000);
});

describe("lockout", () => {
  it("locks after 5 failures: the right password is then refused the same way; an audit event says so", async () => {
    const u = await registerUser();
    for (let i = 0; i < 5; i++) expect((await login(u.email, "wrong password!!")).status).toBe(401);
    const item = await table.get(userKey(u.user.id));
    expect(item?.failedCount).toBe(5);
    expect(Number(item?.lockedUntil)).toBeGreaterThan(Date.now() + 14 * 60_000);
    const res = await login(u.email, u.password);
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ code: "invalid_credentials" });
    const locks = await table.auditEvents(
      (e) =>
        e.action === "auth.account_locked" &&
        (e as unknown as { targets: { userId?: string } }).targets.userId === u.user.id,
    );
    expect(locks).toHaveLength(1);
  });

  it("after the lock expires the right password works and resets the counter", async () => {
    const u = await registerUser();
    for (let i = 0; i < 5; i++) await login(u.email, "wrong password!!");
    expect((await login(u.email, u.password)).status).toBe(401);
    // Let the lock and its window lapse (move them into the past rather than sleeping).
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: userKey(u.user.id),
        UpdateExpression: "SET lockedUntil = :past, failedWindowStart = :old",
        ExpressionAttributeValues: { ":past": Date.now() - 1000, ":old": Date.now() - 3_600_000 },
      }),
    );
    expect((await login(u.email, u.password)).status).toBe(200);
    const item = await table.get(userKey(u.user.id));
    expect(item?.failedCount).toBe(0);
    expect(item?.lockedUntil).toBeUndefined();
  });

  it("a success before the threshold resets the counter", async () => {
    const u = await registerUser();
    for (let i = 0; i < 4; i++) await login(u.email, "wrong password!!");
    expect((await login(u.email, u.password)).status).toBe(200);
    expect((await table.get(userKey(u.user.id)))?.failedCount).toBe(0);
    for (let i = 0; i < 4; i++) await login(u.email, "wrong password!!");
    expect((await login(u.email, u.password)).status).toBe(200);
  });

  it("50 parallel bad attempts count 50 (atomic counter in DynamoDB)", async () => {
    const u = await registerUser();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => login(u.email, "wrong password!!")),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(401));
    const item = await table.get(userKey(u.user.id));
    expect(item?.failedCount).toBe(50);
    expect(Number(item?.lockedUntil)).toBeGreaterThan(Date.now());
    // Exactly one lockout event despite the race.
    const locks = await table.auditEvents(
      (e) =>
        e.action === "auth.account_locked" &&
        (e as unknown as { targets: { userId?: string } }).targets.userId === u.user.id,
    );
    expect(locks).toHaveLength(1);
  }, 120_000);

  it("failed logins are security events, with no password in them", async () => {
    const rid = `failed-login-${Date.now()}`;
    const password = uniquePassword();
    await login(uniqueEmail("ghost"), password, rid);
    const events = await table.auditEvents((e) => e.actor.requestId === rid);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: "auth.login_failed",
      outcome: "failure",
      reason: "unknown_email",
    });
    expect(JSON.stringify(events)).not.toContain(password);
  });
});

describe("password limits at login", () => {
  it("a password over 72 bytes is a 400 before any lookup or bcrypt", async () => {
    const res = await login(uniqueEmail(), "é".repeat(37)); // 74 bytes, 37 characters
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: "validation_failed" });
  });
});
