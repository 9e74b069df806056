import { randomBytes } from "node:crypto";
import bcrypt from "bcryptjs";
import * as z from "zod";
import { config } from "../config.ts";

/**
 * Passwords: bcrypt (bcryptjs) at the configured cost (12 by default, never below 10;
 * lib/config.ts enforces the floor). bcrypt only reads 72 bytes and silently drops the
 * rest, so a password is 12..72 UTF-8 *bytes*, checked by the request schema before
 * anything reaches bcrypt (a 73-byte or 1 MB password is a fast 400).
 */
export const PASSWORD_MIN_BYTES = 12;
export const PASSWORD_MAX_BYTES = 72;

export const utf8Bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** A new password (registration): 12..72 UTF-8 bytes. */
export const newPasswordSchema = z
  .string()
  .max(PASSWORD_MAX_BYTES)
  .refine((s) => utf8Bytes(s) >= PASSWORD_MIN_BYTES && utf8Bytes(s) <= PASSWORD_MAX_BYTES, {
    message: `must be ${PASSWORD_MIN_BYTES} to ${PASSWORD_MAX_BYTES} bytes of UTF-8`,
  })
  .meta({ description: "12 to 72 bytes of UTF-8.", example: "correct horse battery" });

/** A presented password (login): at most 72 bytes, so bcrypt never truncates it. */
export const presentedPasswordSchema = z
  .string()
  .min(1)
  .max(PASSWORD_MAX_BYTES)
  .refine((s) => utf8Bytes(s) <= PASSWORD_MAX_BYTES, {
    message: `must be at most ${PASSWORD_MAX_BYTES} bytes of UTF-8`,
  });

function assertBounded(password: string): void {
  // Defence in depth: the schemas already refused these.
  if (utf8Bytes(password) > PASSWORD_MAX_BYTES) throw new Error("password over 72 bytes");
}

export async function hashPassword(password: string): Promise<string> {
  assertBounded(password);
  return bcrypt.hash(password, config().MICROPAY_BCRYPT_COST);
}

let dummy: Promise<string> | undefined;

/**
 * A hash of a random secret at the configured cost, made once per container. Logins
 * for unknown emails compare against it so they take as long as a wrong password.
 */
export function dummyHash(): Promise<string> {
  dummy ??= bcrypt.hash(randomBytes(32).toString("base64url"), config().MICROPAY_BCRYPT_COST);
  return dummy;
}

/** Compares against `hash`, or the dummy hash when there is no user (result then false). */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  assertBounded(password);
  const ok = await bcrypt.compare(password, hash ?? (await dummyHash()));
  return ok && hash !== undefined;
}

/** True when a stored hash is weaker than the configured cost (upgrade on next login). */
export function needsRehash(hash: string): boolean {
  try {
    const rounds = bcrypt.getRounds(hash);
    return !Number.isInteger(rounds) || rounds < config().MICROPAY_BCRYPT_COST;
  } catch {
    return true;
  }
}
