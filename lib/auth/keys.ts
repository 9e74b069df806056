import { createPrivateKey, generateKeyPairSync, type JsonWebKey } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type CryptoKey, calculateJwkThumbprint, importJWK, type JWK } from "jose";
import { logger } from "../observability.ts";
import { serviceUnavailable } from "../problems.ts";

/**
 * The ES256 signing key of this container, loaded once from a `SigningKeySource` the
 * caller installs (lib/aws/signing-key.ts: a Secrets Manager secret in AWS, the local
 * key file otherwise). The material is a private EC P-256 JWK (JSON) or a PKCS#8 PEM.
 * It is cached; a failed load is not cached (the next request retries) and answers 503.
 *
 * The key id (`kid`) is the RFC 7638 thumbprint of the public key. Verification only
 * ever uses keys from this set: a token's `kid`, `jku`, `x5u` or `jwk` header never
 * chooses or supplies a key.
 *
 * The source is told the private scalar of the key it supplied (`onLoaded`): the
 * wiring derives the list-cursor key from it (lib/store/cursor.ts setCursorKey), so a
 * stage has one secret to manage and every container agrees on the cursor key.
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
  return {
    kid,
    privateKey,
    publicKey,
    publicJwk: { ...publicPart, kid, alg: "ES256", use: "sig" },
  };
}

/** Where the key material comes from; installed by the caller (lib/aws/signing-key.ts). */
export interface SigningKeySource {
  /** The key material: a private EC P-256 JWK (JSON) or a PKCS#8 PEM. */
  read(): Promise<string>;
  /** Called with the private scalar of each key loaded (what the cursor key derives from). */
  onLoaded?(privateScalar: Buffer): void;
}

let source: SigningKeySource | undefined;
let cached: Promise<SigningKeys> | undefined;

/** Installs the key source of this container (and forgets a key loaded from another). */
export function useSigningKeySource(next: SigningKeySource): void {
  source = next;
  cached = undefined;
}

/** A source reading a local key file (local stacks and tests). */
export const keyFileSource = (file: string): Omit<SigningKeySource, "onLoaded"> => ({
  read: async () => readFileSync(file, "utf8"),
});

async function load(): Promise<SigningKeys> {
  const from = source;
  if (!from) throw new Error("no signing key source installed");
  const jwk = parseKeyMaterial(await from.read());
  const keys = await build(jwk);
  from.onLoaded?.(Buffer.from(jwk.d, "base64url"));
  return keys;
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
