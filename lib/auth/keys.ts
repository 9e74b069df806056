import { createPrivateKey, generateKeyPairSync, type JsonWebKey } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type CryptoKey, calculateJwkThumbprint, importJWK, type JWK } from "jose";
import { config } from "../config.ts";
import { logger } from "../observability.ts";
import { serviceUnavailable } from "../problems.ts";
import { setCursorKey } from "../store/cursor.ts";

/**
 * The ES256 signing key: where it comes from and what is derived from it.
 *
 * - AWS: a Secrets Manager secret (`MICROPAY_SIGNING_KEY_SECRET_ID`) holding either a
 *   private EC P-256 JWK (JSON) or a PKCS#8 PEM. Fetched once per container, cached; a
 *   failed fetch is not cached (the next request retries) and answers 503.
 * - Local: a JWK file in the ignored data folder (`MICROPAY_SIGNING_KEY_FILE`), written
 *   on first start by `local/identity.ts` with mode 0600.
 *
 * The key id (`kid`) is the RFC 7638 thumbprint of the public key. Verification only
 * ever uses keys from this set: a token's `kid`, `jku`, `x5u` or `jwk` header never
 * chooses or supplies a key.
 *
 * List cursors (lib/store/cursor.ts) are authenticated with a key derived from the
 * private scalar (installed here via setCursorKey), so a stage has one secret to manage
 * and every container agrees on the cursor key.
 */
export interface SigningKeys {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** Public JWK as served by /.well-known/jwks.json. */
  readonly publicJwk: JWK;
}

interface EcPrivateJwk {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
  d: string;
}

/** Parses key material (JWK JSON or PKCS#8 PEM) into a checked private P-256 JWK. */
export function parseKeyMaterial(text: string): EcPrivateJwk {
  const trimmed = text.trim();
  let jwk: JsonWebKey;
  if (trimmed.startsWith("{")) {
    jwk = JSON.parse(trimmed) as JsonWebKey;
  } else {
    jwk = createPrivateKey({ key: trimmed, format: "pem" }).export({ format: "jwk" });
  }
  const { kty, crv, x, y, d } = jwk;
  if (kty !== "EC" || crv !== "P-256" || !x || !y || !d) {
    throw new Error("the signing key must be a private EC P-256 key");
  }
  // Round-trip through node:crypto: rejects a point that is not on the curve.
  createPrivateKey({ key: { kty, crv, x, y, d }, format: "jwk" });
  return { kty, crv, x, y, d };
}

async function build(jwk: EcPrivateJwk): Promise<SigningKeys> {
  const publicPart = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  const kid = await calculateJwkThumbprint(publicPart, "sha256");
  const privateKey = (await importJWK({ ...jwk, alg: "ES256" }, "ES256")) as CryptoKey;
  const publicKey = (await importJWK({ ...publicPart, alg: "ES256" }, "ES256")) as CryptoKey;
  // List cursors (lib/store/cursor.ts) are MACed with a key derived from this one.
  setCursorKey(Buffer.from(jwk.d, "base64url"));
  return {
    kid,
    privateKey,
    publicKey,
    publicJwk: { ...publicPart, kid, alg: "ES256", use: "sig" },
  };
}

let secrets: SecretsManagerClient | undefined;
let cached: Promise<SigningKeys> | undefined;

async function load(): Promise<SigningKeys> {
  const c = config();
  if (c.MICROPAY_SIGNING_KEY_SECRET_ID) {
    secrets ??= new SecretsManagerClient({ region: c.AWS_REGION, maxAttempts: 2 });
    const out = await secrets.send(
      new GetSecretValueCommand({ SecretId: c.MICROPAY_SIGNING_KEY_SECRET_ID }),
    );
    if (!out.SecretString) throw new Error("the signing key secret has no string value");
    return build(parseKeyMaterial(out.SecretString));
  }
  if (c.MICROPAY_SIGNING_KEY_FILE) {
    return build(parseKeyMaterial(readFileSync(c.MICROPAY_SIGNING_KEY_FILE, "utf8")));
  }
  throw new Error("no signing key configured");
}

/** The signing keys of this container (loaded once; a failure is retried next call). */
export async function signingKeys(): Promise<SigningKeys> {
  if (!cached) {
    const attempt = load();
    cached = attempt;
    attempt.catch((error: unknown) => {
      if (cached === attempt) cached = undefined;
      logger.error("signing key unavailable", {
        errorName: error instanceof Error ? error.name : typeof error,
      });
    });
  }
  try {
    return await cached;
  } catch {
    throw serviceUnavailable();
  }
}

/** Tests only: forget the cached key so a changed configuration is read again. */
export function resetSigningKeysForTests(): void {
  cached = undefined;
}

/** The public JWK Set (what /.well-known/jwks.json serves). */
export async function publicJwks(): Promise<{ keys: JWK[] }> {
  return { keys: [(await signingKeys()).publicJwk] };
}

/**
 * Local stacks only: makes a new P-256 key in `file` (mode 0600) unless one is there.
 * Returns true when it created one.
 */
export function ensureLocalSigningKeyFile(file: string): boolean {
  if (existsSync(file)) {
    parseKeyMaterial(readFileSync(file, "utf8")); // fail fast on a damaged key file
    return false;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const jwk = privateKey.export({ format: "jwk" });
  try {
    writeFileSync(file, `${JSON.stringify(jwk)}\n`, { mode: 0o600, flag: "wx" });
  } catch (error) {
    // Another process made it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return false;
  }
  return true;
}
