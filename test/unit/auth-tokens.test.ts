import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import { decodeJwt, decodeProtectedHeader, importJWK, type JWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkAccessToken,
  issueAccessToken,
  MAX_TOKEN_BYTES,
} from "../../lib/auth/access-token.ts";
import {
  ensureLocalSigningKeyFile,
  keyFileSource,
  parseKeyMaterial,
  publicJwks,
  resetSigningKeysForTests,
  useSigningKeySource,
} from "../../lib/auth/keys.ts";
import {
  dummyHash,
  needsRehash,
  newPasswordSchema,
  presentedPasswordSchema,
  verifyPassword,
} from "../../lib/auth/passwords.ts";
import {
  hashRefreshToken,
  isRefreshTokenShape,
  newRefreshToken,
} from "../../lib/auth/refresh-token.ts";
import { resetConfigForTests } from "../../lib/config.ts";
import { httpHandler } from "../../lib/http/handler.ts";
import { defineRoute } from "../../lib/routes/types.ts";
import { apiEvent, lambdaContext } from "../support/events.ts";

/** Identity building blocks without a network: keys, tokens, passwords, refresh tokens. */
const dir = mkdtempSync(join(tmpdir(), "micropay-auth-unit-"));
const keyFile = join(dir, "keys", "signing-key.jwk.json");
const USER = "usr_01ARZ3NDEKTSV4RRFFQ69G5FAV";
const saved = { ...process.env };

beforeAll(() => {
  ensureLocalSigningKeyFile(keyFile);
  Object.assign(process.env, {
    MICROPAY_SIGNING_KEY_FILE: keyFile,
    MICROPAY_BCRYPT_COST: "10",
    // Denials are audited best effort; point the writes at a closed port (fails fast).
    MICROPAY_DYNAMODB_ENDPOINT: "http://127.0.0.1:9",
  });
  resetConfigForTests();
  useSigningKeySource(keyFileSource(keyFile));
});

afterAll(() => {
  process.env = saved;
  resetConfigForTests();
  resetSigningKeysForTests();
});

describe("the local signing key", () => {
  it("is made once, mode 0600, and reused", () => {
    expect(ensureLocalSigningKeyFile(keyFile)).toBe(false);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const jwk = parseKeyMaterial(readFileSync(keyFile, "utf8"));
    expect(jwk).toMatchObject({ kty: "EC", crv: "P-256" });
  });

  it("accepts a PKCS#8 PEM (the Secrets Manager form) and refuses other key types", () => {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const pem = privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    expect(parseKeyMaterial(pem)).toMatchObject({ kty: "EC", crv: "P-256" });
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    expect(() =>
      parseKeyMaterial(rsa.export({ format: "pem", type: "pkcs8" }).toString()),
    ).toThrow();
    const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey;
    expect(() => parseKeyMaterial(JSON.stringify(p384.export({ format: "jwk" })))).toThrow();
  });

  it("publishes only the public half", async () => {
    const { keys } = await publicJwks();
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toHaveProperty("d");
    expect(keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
  });
});

describe("access tokens", () => {
  it("carry the API.md claims and verify", async () => {
    const { token, expiresIn } = await issueAccessToken(USER, ["customer", "merchant"]);
    expect(expiresIn).toBe(900);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "ES256", typ: "at+jwt" });
    const claims = decodeJwt(token);
    expect(Object.keys(claims).sort()).toEqual([
      "amr",
      "aud",
      "auth_time",
      "exp",
      "iat",
      "iss",
      "jti",
      "roles",
      "sub",
    ]);
    const check = await checkAccessToken(token);
    expect(check).toMatchObject({
      ok: true,
      principal: { userId: USER, roles: ["customer", "merchant"], amr: ["pwd"] },
    });
    const mfa = await issueAccessToken(USER, ["admin"], { amr: ["pwd", "otp"], authTime: 1_700 });
    expect(decodeJwt(mfa.token)).toMatchObject({ amr: ["pwd", "otp"], auth_time: 1_700 });
    expect(await checkAccessToken(mfa.token)).toMatchObject({
      ok: true,
      principal: { amr: ["pwd", "otp"], authTime: 1_700 },
    });
  });

  it("refuses with a reason for the audit trail", async () => {
    const jwk = JSON.parse(readFileSync(keyFile, "utf8")) as JWK;
    const key = await importJWK(jwk, "ES256");
    const { kid } = (await publicJwks()).keys[0] as { kid: string };
    const now = Math.floor(Date.now() / 1000);
    const base = {
      iss: "https://micropay.local",
      aud: "micropay-api",
      sub: USER,
      iat: now,
      exp: now + 60,
      jti: "j",
      roles: ["admin"],
    };
    const sign = (payload: object, header: object = {}) =>
      new SignJWT({ ...payload })
        .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid, ...header })
        .sign(key);
    const good = await sign(base);
    expect((await checkAccessToken(good)).ok).toBe(true);
    const reasons = async (t: string) => {
      const r = await checkAccessToken(t);
      return r.ok ? "accepted" : r.reason;
    };
    expect(await reasons("x".repeat(MAX_TOKEN_BYTES + 1))).toBe("oversized");
    expect(await reasons("a.b")).toBe("malformed");
    expect(await reasons(await sign(base, { typ: "JWT" }))).toBe("bad_header");
    expect(await reasons(await sign(base, { jku: "https://evil" }))).toBe("bad_header");
    expect(await reasons(await sign(base, { kid: "../../etc/passwd" }))).toBe("unknown_key");
    expect(await reasons(await sign({ ...base, exp: now - 100 }))).toBe("expired");
    expect(await reasons(await sign({ ...base, iss: "x" }))).toBe("bad_claims");
    expect(await reasons(await sign({ ...base, sub: "someone" }))).toBe("bad_claims");
    expect(await reasons(await sign({ ...base, roles: [] }))).toBe("bad_claims");
    const [h, p] = good.split(".");
    expect(await reasons(`${h}.${p}.${"A".repeat(86)}`)).toBe("bad_signature");
  });

  it("a 300 KB bearer token is a fast 401 from the chain", async () => {
    const route = defineRoute({
      id: "test-me",
      method: "GET",
      path: "/v1/test",
      summary: "t",
      tags: [],
      auth: { roles: ["customer"] },
      successStatus: 200,
      tableAccess: "none",
      usesSigningKey: true,
    });
    const handler = httpHandler(route, async () => ({ status: 200, body: {} }));
    const started = performance.now();
    const res = await handler(
      apiEvent({ headers: { Authorization: `Bearer ${"A".repeat(300 * 1024)}` } }),
      lambdaContext(),
    );
    expect(res.statusCode).toBe(401);
    expect(performance.now() - started).toBeLessThan(1_500);
    const ok = await issueAccessToken(USER, ["customer"]);
    const res2 = await handler(
      apiEvent({ headers: { Authorization: `Bearer ${ok.token}` } }),
      lambdaContext(),
    );
    expect(res2.statusCode).toBe(200);
    const merchant = await issueAccessToken(USER, ["merchant"]);
    const res3 = await handler(
      apiEvent({ headers: { Authorization: `Bearer ${merchant.token}` } }),
      lambdaContext(),
    );
    expect(res3.statusCode).toBe(403);
  });
});

describe("passwords", () => {
  it("are 12..72 UTF-8 bytes for a new password", () => {
    const ok = (s: string) => newPasswordSchema.safeParse(s).success;
    expect(ok("a".repeat(11))).toBe(false);
    expect(ok("a".repeat(12))).toBe(true);
    expect(ok("a".repeat(72))).toBe(true);
    expect(ok("a".repeat(73))).toBe(false);
    expect(ok("é".repeat(36))).toBe(true);
    expect(ok("é".repeat(37))).toBe(false);
    expect(ok("😀".repeat(18))).toBe(true); // 72 bytes
    expect(ok("😀".repeat(19))).toBe(false); // 76 bytes
    expect(presentedPasswordSchema.safeParse("é".repeat(37)).success).toBe(false);
    expect(presentedPasswordSchema.safeParse("a").success).toBe(true);
  });

  it("compare against a dummy hash of the configured cost when there is no user", async () => {
    expect(bcrypt.getRounds(await dummyHash())).toBe(10);
    expect(await verifyPassword("anything at all", undefined)).toBe(false);
    const hash = bcrypt.hashSync("correct horse battery", 10);
    expect(await verifyPassword("correct horse battery", hash)).toBe(true);
    expect(await verifyPassword("correct horse batterY", hash)).toBe(false);
  });

  it("flag hashes below the configured cost for an upgrade", () => {
    expect(needsRehash(bcrypt.hashSync("x".repeat(12), 4))).toBe(true);
    expect(needsRehash(bcrypt.hashSync("x".repeat(12), 10))).toBe(false);
    expect(needsRehash("not a hash")).toBe(true);
  });
});

describe("refresh tokens", () => {
  it("are 256-bit random, shaped, and stored only as SHA-256", () => {
    const a = newRefreshToken();
    const b = newRefreshToken();
    expect(a.token).not.toBe(b.token);
    expect(isRefreshTokenShape(a.token)).toBe(true);
    expect(isRefreshTokenShape(`${a.token}x`)).toBe(false);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashRefreshToken(a.token)).toBe(a.hash);
    expect(a.hash).not.toContain(a.token.slice(3));
  });
});

describe("the verified-token cache", () => {
  it("serves a repeated token without re-verifying, and never a different or expired one", async () => {
    const { verifyAccessToken, clearVerifiedTokensForTests } = await import(
      "../../lib/auth/access-token.ts"
    );
    const { vi } = await import("vitest");
    clearVerifiedTokensForTests();
    const { token } = await issueAccessToken(USER, ["customer"]);
    const first = await verifyAccessToken(token);
    expect(first).toMatchObject({ userId: USER, roles: ["customer"] });
    expect(await verifyAccessToken(token)).toBe(first); // the cached principal itself

    // One flipped signature character is another token: verified again, refused.
    const [h, p, sig] = token.split(".") as [string, string, string];
    const forged = `${h}.${p}.${sig.startsWith("A") ? "B" : "A"}${sig.slice(1)}`;
    await expect(verifyAccessToken(forged)).rejects.toMatchObject({ code: "unauthorized" });

    // Past its exp the cached entry is dropped and the token refused.
    const exp = (decodeJwt(token).exp as number) * 1000;
    vi.useFakeTimers({ now: exp + 60_000, toFake: ["Date"] });
    try {
      await expect(verifyAccessToken(token)).rejects.toMatchObject({ code: "unauthorized" });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("token text is never an identity (ECDSA and base64url malleability)", () => {
  /** P-256 group order. */
  const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

  /** The same token with its signature (r, s) replaced by (r, n - s). */
  function malleate(token: string, delta = 0n): string {
    const [h, p, sig] = token.split(".") as [string, string, string];
    const raw = Buffer.from(sig, "base64url");
    const s = BigInt(`0x${raw.subarray(32).toString("hex")}`);
    const flipped = Buffer.from(((N - s + delta) % N).toString(16).padStart(64, "0"), "hex");
    return `${h}.${p}.${Buffer.concat([raw.subarray(0, 32), flipped]).toString("base64url")}`;
  }

  /**
   * The same bytes, another text: the lowest bit of a base64url text's last character
   * is a spare bit (decoders ignore it) whenever the bytes are not a multiple of 3.
   */
  function spareBits(text: string): string {
    const last = text.at(-1) as string;
    return `${text.slice(0, -1)}${B64URL[B64URL.indexOf(last) ^ 1]}`;
  }

  it("a malleated signature (r, n-s) verifies to exactly the same claims, or is refused", async () => {
    const { checkAccessToken: check, clearVerifiedTokensForTests } = await import(
      "../../lib/auth/access-token.ts"
    );
    clearVerifiedTokensForTests();
    const { token } = await issueAccessToken(USER, ["customer", "merchant"]);
    const original = await check(token);
    expect(original.ok).toBe(true);
    const twin = malleate(token);
    expect(twin).not.toBe(token);
    const result = await check(twin);
    if (result.ok) expect(result).toEqual(original);
    else expect(result.reason).toBe("bad_signature");
    // A signature that is not the malleated twin is refused: nothing is normalised.
    await expect(check(malleate(token, 1n))).resolves.toMatchObject({ ok: false });
  });

  it("the verified-token cache holds, per exact text, only what verifying that text gives", async () => {
    const { checkAccessToken: check, clearVerifiedTokensForTests } = await import(
      "../../lib/auth/access-token.ts"
    );
    const { vi } = await import("vitest");
    clearVerifiedTokensForTests();
    const { token } = await issueAccessToken(USER, ["customer"]);
    const [h, p, sig] = token.split(".") as [string, string, string];
    const first = await check(token);
    const twins = [malleate(token), `${h}.${p}.${spareBits(sig)}`];
    for (const twin of twins) {
      expect(twin).not.toBe(token);
      const got = await check(twin);
      // A miss (a fresh result, not the original's entry), verified to the same principal.
      expect(got).not.toBe(first);
      expect(got).toEqual(first);
      expect(await check(twin)).toBe(got); // now remembered under its own text
    }
    // Past exp every text of the token is refused, cached or not.
    const exp = (decodeJwt(token).exp as number) * 1000;
    vi.useFakeTimers({ now: exp + 60_000, toFake: ["Date"] });
    try {
      for (const text of [token, ...twins]) {
        expect(await check(text)).toMatchObject({ ok: false });
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it("a refresh token has one text only: a spare-bit variant is not a refresh token", () => {
    for (let i = 0; i < 50; i++) {
      const { token, hash } = newRefreshToken();
      const variant = spareBits(token);
      expect(Buffer.from(variant.slice(3), "base64url")).toEqual(
        Buffer.from(token.slice(3), "base64url"),
      );
      expect(isRefreshTokenShape(token)).toBe(true);
      expect(isRefreshTokenShape(variant)).toBe(false);
      // Looked up only by the hash of its exact text, so a variant would never find it.
      expect(hashRefreshToken(variant)).not.toBe(hash);
    }
  });
});
