import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { Secret, TOTP } from "otpauth";

/**
 * TOTP as API.md "Privileged access" fixes it: RFC 6238 with SHA-1, 6 digits and a
 * 30-second step, accepting one step of clock drift either way. The arithmetic is
 * otpauth's (a maintained implementation of RFC 4226/6238); what MicroPay adds is the
 * replay rule (PCI DSS v4 8.5.1): a code is accepted only for a time step later than
 * the last one accepted for that user, so each step's code works once.
 */
export const TOTP_ISSUER = "MicroPay";
const PARAMS = { algorithm: "SHA1", digits: 6, period: 30 } as const;
const DRIFT_STEPS = 1;
const SECRET_BYTES = 20; // 160 bits: RFC 4226's recommended HMAC-SHA-1 key length

/** A fresh random TOTP secret, base32 (what authenticator apps take). */
export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/** The `otpauth://` enrolment URI (a QR code of it is what apps scan). */
export function otpauthUri(secretBase32: string, accountLabel: string): string {
  return new TOTP({
    ...PARAMS,
    issuer: TOTP_ISSUER,
    label: accountLabel,
    secret: Secret.fromBase32(secretBase32),
  }).toString();
}

/** The code for `atMs` (the local stack's README one-liner and tests use the same library). */
export function totpCode(secretBase32: string, atMs: number): string {
  return TOTP.generate({ ...PARAMS, secret: Secret.fromBase32(secretBase32), timestamp: atMs });
}

export type TotpCheck =
  | { readonly ok: true; readonly step: number }
  | { readonly ok: false; readonly reason: "wrong" | "replayed" };

/**
 * Checks a 6-digit code against the secret at `nowMs`. `lastStep` is the time step of
 * the last code this user had accepted (undefined: none); a code of that step or an
 * earlier one is a replay. On success, the caller must record `step` in the same
 * conditional write that accepts the code (`step > lastStep`), so two concurrent uses
 * of one code cannot both win.
 */
export function checkTotp(
  secretBase32: string,
  code: string,
  nowMs: number,
  lastStep: number | undefined,
): TotpCheck {
  if (!/^\d{6}$/.test(code)) return { ok: false, reason: "wrong" };
  const delta = TOTP.validate({
    ...PARAMS,
    token: code,
    secret: Secret.fromBase32(secretBase32),
    timestamp: nowMs,
    window: DRIFT_STEPS,
  });
  if (delta === null) return { ok: false, reason: "wrong" };
  const step = TOTP.counter({ period: PARAMS.period, timestamp: nowMs }) + delta;
  if (lastStep !== undefined && step <= lastStep) return { ok: false, reason: "replayed" };
  return { ok: true, step };
}

// ---------------------------------------------------------------------------
// Recovery codes

export const RECOVERY_CODE_COUNT = 10;
const RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"; // no 0/o, 1/l/i

/**
 * Ten single-use recovery codes, `xxxxx-xxxxx` (50 bits each from a 30-letter
 * alphabet), shown once at enrolment. Only their hashes are stored.
 */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const bytes = randomBytes(10);
    const chars = [...bytes].map((b) => RECOVERY_ALPHABET[b % RECOVERY_ALPHABET.length]);
    return `${chars.slice(0, 5).join("")}-${chars.slice(5).join("")}`;
  });
}

/** Case, spaces and the dash do not matter when a person types a code back. */
export function normalizeRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]/g, "");
}

/**
 * SHA-256 of the normalised code. A fast hash is right here (unlike passwords): each
 * code carries about 49 bits from a CSPRNG, is single use, and guessing is bounded by
 * the login lockout, so a slow hash would add cost without adding safety.
 */
export function hashRecoveryCode(code: string): string {
  return createHash("sha256").update(normalizeRecoveryCode(code)).digest("hex");
}

/** The index of the unused stored hash `code` matches, or -1 (compared in constant time). */
export function matchRecoveryCode(code: string, unusedHashes: readonly string[]): number {
  const want = Buffer.from(hashRecoveryCode(code), "hex");
  let found = -1;
  unusedHashes.forEach((h, i) => {
    const have = Buffer.from(h, "hex");
    if (have.length === want.length && timingSafeEqual(have, want) && found < 0) found = i;
  });
  return found;
}
