import { describe, expect, it } from "vitest";
import { parseConfig } from "../../lib/config.ts";
import { type LoginAttemptLimits, planReservation } from "../../lib/store/users.ts";

/**
 * Lockout settings and the choice of attempt reservation (the DynamoDB side is proven
 * against DynamoDB Local in test/security/auth-login-abuse.test.ts).
 */
describe("lockout settings", () => {
  it("default to PCI DSS v4.0 8.3.4: locked after 10 failures, for at least 30 minutes", () => {
    const c = parseConfig({});
    expect(c.MICROPAY_LOCKOUT_THRESHOLD).toBe(10);
    expect(c.MICROPAY_LOCKOUT_DURATION_SECONDS).toBeGreaterThanOrEqual(30 * 60);
    expect(c.MICROPAY_LOCKOUT_WINDOW_SECONDS).toBe(900);
  });

  it("hold an unfinished attempt's slot for a bounded, configurable time", () => {
    expect(parseConfig({}).MICROPAY_LOGIN_ATTEMPT_TTL_SECONDS).toBe(60);
    expect(
      parseConfig({ MICROPAY_LOGIN_ATTEMPT_TTL_SECONDS: "120" }).MICROPAY_LOGIN_ATTEMPT_TTL_SECONDS,
    ).toBe(120);
    // Shorter than API Gateway's 29 s integration timeout would free slots of live logins.
    expect(() => parseConfig({ MICROPAY_LOGIN_ATTEMPT_TTL_SECONDS: "10" })).toThrow(
      /MICROPAY_LOGIN_ATTEMPT_TTL_SECONDS/,
    );
    expect(() => parseConfig({ MICROPAY_LOCKOUT_THRESHOLD: "0" })).toThrow(
      /MICROPAY_LOCKOUT_THRESHOLD/,
    );
  });
});

describe("which attempt reservation a lockout state gets", () => {
  const now = 1_800_000_000_000;
  const limits: LoginAttemptLimits = {
    nowMs: now,
    windowMs: 900_000,
    attemptTtlMs: 60_000,
    threshold: 10,
  };
  const open = { failedWindowStart: now - 60_000 };

  it("a fresh account opens a window", () => {
    expect(planReservation({}, limits)).toBe("reset_fresh");
  });

  it("takes a free slot, and refuses when every slot is taken by failures or running attempts", () => {
    const running = { ...open, pendingSince: now - 1_000 };
    expect(planReservation({ ...running, attemptCount: 9, pendingCount: 9 }, limits)).toBe("count");
    expect(
      planReservation({ ...running, attemptCount: 10, failedCount: 3, pendingCount: 7 }, limits),
    ).toBe("refuse");
  });

  it("refuses while locked, and starts a new window once the lock has lapsed", () => {
    expect(planReservation({ ...open, lockedUntil: now + 1, failedCount: 10 }, limits)).toBe(
      "refuse",
    );
    expect(
      planReservation({ ...open, lockedUntil: now - 1, failedCount: 10, attemptCount: 10 }, limits),
    ).toBe("reset_fresh");
  });

  it("drops attempts abandoned for longer than the attempt TTL (a Lambda killed mid-bcrypt)", () => {
    const abandoned = { ...open, attemptCount: 10, pendingCount: 10, failedCount: 0 };
    expect(planReservation({ ...abandoned, pendingSince: now - 60_001 }, limits)).toBe("stale");
    expect(planReservation({ ...abandoned, pendingSince: now - 59_000 }, limits)).toBe("refuse");
    // Judged failures are not dropped with them.
    expect(
      planReservation({ ...abandoned, failedCount: 10, pendingSince: now - 60_001 }, limits),
    ).toBe("refuse");
  });

  it("a new window keeps the attempts still running, within the limit", () => {
    const expired = { failedWindowStart: now - 900_000, failedCount: 10, attemptCount: 10 };
    expect(planReservation({ ...expired, pendingCount: 2, pendingSince: now - 1 }, limits)).toBe(
      "reset_carry",
    );
    expect(planReservation({ ...expired, pendingCount: 10, pendingSince: now - 1 }, limits)).toBe(
      "refuse",
    );
  });
});
