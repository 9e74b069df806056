import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { userKey } from "../../lib/store/keys.ts";
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
 * (the defaults: 10 failures in a 15-minute window lock for 30 minutes), and no more
 * passwords judged than the threshold, however many guesses arrive at once.
 */
const table = stackTable(inject("stack"));
afterAll(() => table.destroy());

/** The shared stack runs with the default lockout settings (lib/config.ts). */
const THRESHOLD = 10;
const LOCK_MS = 30 * 60_000;
const WRONG = "wrong password!!";

type Audited = { action: string; reason?: string; targets?: { userId?: string } };

/** The auth.login_failed reasons recorded for one user, counted. */
async function failedLogins(userId: string): Promise<Record<string, number>> {
  const events = (await table.auditEvents(
    (e) => e.action === "auth.login_failed" && (e as Audited).targets?.userId === userId,
  )) as Audited[];
  const counts: Record<string, number> = {};
  for (const e of events) counts[e.reason ?? ""] = (counts[e.reason ?? ""] ?? 0) + 1;
  return counts;
}

async function lockEvents(userId: string) {
  return table.auditEvents(
    (e) => e.action === "auth.account_locked" && (e as Audited).targets?.userId === userId,
  );
}

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
    for (let i = 0; i < THRESHOLD; i++) await login(locked.email, WRONG);
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
  it("locks after 10 failures for 30 minutes: the right password is then refused the same way; an audit event says so", async () => {
    const u = await registerUser();
    for (let i = 0; i < THRESHOLD - 1; i++) expect((await login(u.email, WRONG)).status).toBe(401);
    expect((await table.get(userKey(u.user.id)))?.lockedUntil).toBeUndefined();
    const before = Date.now();
    expect((await login(u.email, WRONG)).status).toBe(401);
    const item = await table.get(userKey(u.user.id));
    expect(item?.failedCount).toBe(THRESHOLD);
    expect(Number(item?.lockedUntil)).toBeGreaterThanOrEqual(before + LOCK_MS);
    const res = await login(u.email, u.password);
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ code: "invalid_credentials" });
    expect(await lockEvents(u.user.id)).toHaveLength(1);
    expect(await failedLogins(u.user.id)).toEqual({ wrong_password: THRESHOLD, locked: 1 });
  });

  it("after the lock expires the right password works and resets the counter", async () => {
    const u = await registerUser();
    for (let i = 0; i < THRESHOLD; i++) await login(u.email, WRONG);
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
    for (let i = 0; i < THRESHOLD - 1; i++) await login(u.email, WRONG);
    expect((await login(u.email, u.password)).status).toBe(200);
    expect((await table.get(userKey(u.user.id)))?.failedCount).toBe(0);
    for (let i = 0; i < THRESHOLD - 1; i++) await login(u.email, WRONG);
    expect((await login(u.email, u.password)).status).toBe(200);
  });

  it("40 wrong guesses at once: at most the threshold are judged, the rest refused as locked", async () => {
    const u = await registerUser();
    const results = await Promise.all(Array.from({ length: 40 }, () => login(u.email, WRONG)));
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(401));
    for (const r of results) expect(r.json).toMatchObject({ code: "invalid_credentials" });
    const reasons = await failedLogins(u.user.id);
    expect(reasons).toEqual({ wrong_password: THRESHOLD, locked: 40 - THRESHOLD });
    const item = await table.get(userKey(u.user.id));
    expect(item?.failedCount).toBe(THRESHOLD);
    expect(Number(item?.lockedUntil)).toBeGreaterThan(Date.now() + LOCK_MS - 60_000);
    // Exactly one lockout event despite the race.
    expect(await lockEvents(u.user.id)).toHaveLength(1);
  }, 120_000);

  it("20 wrong guesses and then the right password while they run: no tokens once the limit is reached", async () => {
    const u = await registerUser();
    const wrong = Array.from({ length: 20 }, () => login(u.email, WRONG));
    // Wait until the running guesses hold every attempt slot (or have locked the account).
    for (const deadline = Date.now() + 30_000; ; ) {
      const item = await table.get(userKey(u.user.id));
      if (Number(item?.attemptCount ?? 0) >= THRESHOLD || item?.lockedUntil !== undefined) break;
      if (Date.now() > deadline) throw new Error("the guesses never took the attempt slots");
      await new Promise((r) => setTimeout(r, 10));
    }
    const right = await login(u.email, u.password);
    await Promise.all(wrong);
    expect(right.status).toBe(401);
    expect(right.json).toMatchObject({ code: "invalid_credentials" });
    expect(right.json).not.toHaveProperty("accessToken");
    const reasons = await failedLogins(u.user.id);
    expect(reasons.wrong_password).toBe(THRESHOLD);
    expect(reasons.locked).toBe(21 - THRESHOLD);
    const sessions = await table.auditEvents(
      (e) => e.action === "auth.login_succeeded" && (e as Audited).targets?.userId === u.user.id,
    );
    expect(sessions).toHaveLength(1); // registerUser's own login, before the guesses
  }, 120_000);

  it("an attempt that never finished (its Lambda killed mid-bcrypt) stops counting after the attempt TTL", async () => {
    const u = await registerUser();
    // Every slot held by attempts that never came back: refused while they may still run...
    const hold = (since: number) =>
      table.doc.send(
        new UpdateCommand({
          TableName: table.tableName,
          Key: userKey(u.user.id),
          UpdateExpression:
            "SET attemptCount = :t, pendingCount = :t, failedCount = :zero, failedWindowStart = :now, pendingSince = :since",
          ExpressionAttributeValues: {
            ":t": THRESHOLD,
            ":zero": 0,
            ":now": Date.now(),
            ":since": since,
          },
        }),
      );
    await hold(Date.now());
    expect((await login(u.email, u.password)).status).toBe(401);
    // ...and free once none has been reserved for longer than the TTL (default 60 s).
    await hold(Date.now() - 61_000);
    expect((await login(u.email, u.password)).status).toBe(200);
    const item = await table.get(userKey(u.user.id));
    expect(item).toMatchObject({ failedCount: 0, pendingCount: 0, attemptCount: 0 });
  });

  it("failed logins are security events, with no password in them", async () => {
    const rid = `failed-login-${Date.now()}`;
    const password = uniquePassword();
    await login(uniqueEmail("ghost"), password, rid);
    const events = await table.auditEvents((e) => e.actor.clientRequestId === rid);
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
