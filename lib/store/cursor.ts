import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { logger } from "../observability.ts";
import { badRequest } from "../problems.ts";

/**
 * Opaque, tamper-proof list cursors.
 *
 * A cursor is `base64url(JSON payload) . base64url(HMAC-SHA256(key, scope | payload))`.
 * The payload holds only the position (the last sort key seen); the `scope` names
 * the list it belongs to (e.g. `entries:acc_...`) and is bound into the MAC but
 * never trusted from the client, so a cursor from one list (or one caller's account)
 * is refused on another, and any edited or forged cursor is a 400. Authorization is
 * still checked on every page; the cursor only says where to continue.
 *
 * Key: derived (HMAC with a fixed label) from the deployment's token signing key,
 * so every Lambda container of a stage agrees on it and nothing new has to be
 * provisioned. `setCursorKey` lets the signing-key wiring (lib/aws/signing-key.ts)
 * or a test install the key material once it has loaded it; until then the key file named by
 * MICROPAY_SIGNING_KEY_FILE is used, and failing that a random per-process key
 * (only adequate for a single-process local stack, and logged as such).
 */

let key: Buffer | undefined;

function derive(material: Buffer | string): Buffer {
  return createHmac("sha256", "micropay-cursor-key-v1").update(material).digest();
}

/** Installs the secret material cursors are keyed from (derived, never used raw). */
export function setCursorKey(material: Buffer | string): void {
  key = derive(material);
}

function cursorKey(): Buffer {
  if (key) return key;
  const file = process.env.MICROPAY_SIGNING_KEY_FILE;
  if (file) {
    try {
      key = derive(readFileSync(file));
      return key;
    } catch {
      logger.warn("cursor key: signing key file unreadable; using a per-process key");
    }
  }
  key = derive(randomBytes(32));
  return key;
}

function mac(scope: string, payload: string): Buffer {
  return createHmac("sha256", cursorKey()).update(scope).update("\n").update(payload).digest();
}

/** Encodes a position for the list `scope`. */
export function encodeCursor(scope: string, position: Record<string, string>): string {
  const payload = Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
  return `${payload}.${mac(scope, payload).toString("base64url")}`;
}

const invalid = () =>
  badRequest("The cursor is invalid.", [{ path: "query.cursor", message: "invalid cursor" }]);

/** Decodes a cursor of the list `scope`; anything forged, edited or foreign is a 400. */
export function decodeCursor(scope: string, cursor: string): Record<string, string> {
  const [payload, sig, extra] = cursor.split(".");
  if (!payload || !sig || extra !== undefined || cursor.length > 1024) throw invalid();
  const expected = mac(scope, payload);
  const given = Buffer.from(sig, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw invalid();
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== "string") throw invalid();
    out[k] = v;
  }
  return out;
}
