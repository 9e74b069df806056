import { Secret, TOTP } from "otpauth";
import { describe, expect, it } from "vitest";
import { passwordWeakness } from "../../lib/auth/password-strength.ts";
import {
  checkTotp,
  hashRecoveryCode,
  matchRecoveryCode,
  newRecoveryCodes,
  newTotpSecret,
  otpauthUri,
  totpCode,
} from "../../lib/auth/totp.ts";

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0); // a step boundary (divisible by 30 s)

describe("TOTP (RFC 6238, SHA-1, 6 digits, 30 s)", () => {
  it("matches the RFC 6238 test vector for SHA-1 (time 59 s)", () => {
    // RFC 6238 Appendix B: key "12345678901234567890", T=59 → 94287082 (8 digits); 6 digits: 287082.
    const secret = Secret.fromLatin1("12345678901234567890").base32;
    expect(totpCode(secret, 59_000)).toBe("287082");
    expect(checkTotp(secret, "287082", 59_000, undefined)).toEqual({ ok: true, step: 1 });
  });

  it("accepts one step of drift either way and nothing further", () => {
    const secret = newTotpSecret();
    const step = T0 / 30_000;
    expect(checkTotp(secret, totpCode(secret, T0 - 30_000), T0, undefined)).toEqual({
      ok: true,
      step: step - 1,
    });
    expect(checkTotp(secret, totpCode(secret, T0 + 30_000), T0, undefined)).toEqual({
      ok: true,
      step: step + 1,
    });
    expect(checkTotp(secret, totpCode(secret, T0 - 60_000), T0, undefined)).toEqual({
      ok: false,
      reason: "wrong",
    });
  });

  it("accepts each step's code once: the same or an earlier step is a replay", () => {
    const secret = newTotpSecret();
    const first = checkTotp(secret, totpCode(secret, T0), T0, undefined);
    expect(first.ok).toBe(true);
    const step = first.ok ? first.step : Number.NaN;
    expect(checkTotp(secret, totpCode(secret, T0), T0 + 5_000, step)).toEqual({
      ok: false,
      reason: "replayed",
    });
    expect(checkTotp(secret, totpCode(secret, T0 - 30_000), T0, step)).toEqual({
      ok: false,
      reason: "replayed",
    });
    expect(checkTotp(secret, totpCode(secret, T0 + 30_000), T0 + 30_000, step)).toEqual({
      ok: true,
      step: step + 1,
    });
  });

  it("refuses malformed and wrong codes", () => {
    const secret = newTotpSecret();
    const good = totpCode(secret, T0);
    const wrong = String((Number(good) + 1) % 1_000_000).padStart(6, "0");
    for (const code of ["", "12345", "1234567", "abcdef", " 123456", wrong]) {
      expect(checkTotp(secret, code, T0, undefined)).toEqual({ ok: false, reason: "wrong" });
    }
  });

  it("makes an otpauth URI that authenticator apps (and otpauth) read back", () => {
    const secret = newTotpSecret();
    const uri = otpauthUri(secret, "admin@micropay.test");
    expect(uri).toMatch(/^otpauth:\/\/totp\/MicroPay:admin%40micropay\.test\?/);
    const parsed = new URL(uri);
    expect(parsed.searchParams.get("secret")).toBe(secret);
    expect(parsed.searchParams.get("algorithm")).toBe("SHA1");
    expect(parsed.searchParams.get("digits")).toBe("6");
    expect(parsed.searchParams.get("period")).toBe("30");
    expect(new TOTP({ secret }).generate({ timestamp: T0 })).toBe(totpCode(secret, T0));
  });
});

describe("recovery codes", () => {
  it("are ten distinct single-use codes, stored only as hashes", () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
    const hashes = codes.map(hashRecoveryCode);
    expect(hashes.join()).not.toContain(codes[0]?.replace("-", ""));
  });

  it("match however the person types them, and only an unused stored hash", () => {
    const codes = newRecoveryCodes();
    const hashes = codes.map(hashRecoveryCode);
    const third = codes[2] as string;
    expect(matchRecoveryCode(third.toUpperCase().replace("-", " "), hashes)).toBe(2);
    const used = hashes.filter((_, i) => i !== 2);
    expect(matchRecoveryCode(third, used)).toBe(-1);
    expect(matchRecoveryCode("aaaaa-aaaaa", hashes)).toBe(-1);
  });
});

describe("password strength", () => {
  it("refuses common and guessable passwords offline, whatever their length", () => {
    for (const pw of ["password1234", "qwertyuiopasdf", "hunter2hunter2", "123456789012"]) {
      expect(passwordWeakness(pw), pw).toBeTypeOf("string");
    }
  });

  it("refuses a password built from the user's own email", () => {
    const email = "xqvbrenna.kowalczyk@example.com";
    expect(passwordWeakness("xqvbrennakowalczyk")).toBeUndefined();
    expect(passwordWeakness("xqvbrennakowalczyk", [email])).toBeTypeOf("string");
    expect(passwordWeakness(email, [email])).toBeTypeOf("string");
  });

  it("accepts long unusual passphrases and random ones", () => {
    for (const pw of ["correct horse battery staple", "pw-k3J9_xQ2vLm8Z-aT4"]) {
      expect(passwordWeakness(pw), pw).toBeUndefined();
    }
  });
});
