import { randomBytes } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, SignJWT } from "jose";
import { config } from "../config.ts";
import { isId } from "../ids.ts";
import { Refusal } from "../problems.ts";
import { type Principal, ROLES, type Role } from "../routes/types.ts";
import { signingKeys } from "./keys.ts";

/**
 * Access tokens (RFC 9068 style JWTs, RFC 8725 practices).
 *
 * Issued: ES256, header `typ: at+jwt` and `kid`; claims iss, aud, sub, iat, exp, jti,
 * roles, amr (["pwd"] or ["pwd","otp"]) and auth_time (when the login happened; kept
 * across refreshes). Verified with everything pinned: the algorithm (ES256 only), issuer,
 * audience, `typ`, the required claims, a maximum age equal to the configured
 * lifetime, and a small clock tolerance. Before any cryptography a token over 4 KB,
 * a token that is not three base64url parts, a header carrying key-selection or key
 * material (`jku`, `x5u`, `x5c`, `jwk`, `crit`) or naming a key we do not hold is
 * refused. Every failure is the same 401 to the caller; the reason goes to the audit
 * trail only.
 */
export const MAX_TOKEN_BYTES = 4096;
export const CLOCK_TOLERANCE_SECONDS = 5;
export const ACCESS_TOKEN_TYPE = "at+jwt";

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const FORBIDDEN_HEADERS = ["jku", "x5u", "x5c", "x5t", "x5t#S256", "jwk", "crit"] as const;
const REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "exp", "jti"];

export interface IssuedAccessToken {
  readonly token: string;
  readonly expiresIn: number;
  readonly jti: string;
}

/** How the session was authenticated (`amr`, RFC 8176) and when (`auth_time`, epoch s). */
export interface AccessTokenAuth {
  readonly amr: readonly string[];
  readonly authTime: number;
}

export async function issueAccessToken(
  userId: string,
  roles: readonly Role[],
  auth: AccessTokenAuth = { amr: ["pwd"], authTime: Math.floor(Date.now() / 1000) },
): Promise<IssuedAccessToken> {
  const c = config();
  const keys = await signingKeys();
  const now = Math.floor(Date.now() / 1000);
  const jti = randomBytes(16).toString("base64url");
  const token = await new SignJWT({
    roles: [...roles],
    amr: [...auth.amr],
    auth_time: auth.authTime,
  })
    .setProtectedHeader({ alg: "ES256", typ: ACCESS_TOKEN_TYPE, kid: keys.kid })
    .setIssuer(c.MICROPAY_JWT_ISSUER)
    .setAudience(c.MICROPAY_JWT_AUDIENCE)
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + c.MICROPAY_ACCESS_TOKEN_TTL_SECONDS)
    .setJti(jti)
    .sign(keys.privateKey);
  return { token, expiresIn: c.MICROPAY_ACCESS_TOKEN_TTL_SECONDS, jti };
}

/** Why a token was refused (audit only; never told to the caller). */
export type TokenRejection =
  | "oversized"
  | "malformed"
  | "bad_header"
  | "unknown_key"
  | "bad_signature"
  | "expired"
  | "bad_claims";

export type TokenCheck =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: TokenRejection; readonly subject?: string };

/** Verifies an access token without throwing for a bad token (key outages still throw 503). */
export async function checkAccessToken(token: string): Promise<TokenCheck> {
  const now = Date.now();
  const hit = verified.get(token);
  if (hit) {
    if (hit.until > now) return hit.check;
    verified.delete(token);
  }
  const check = await verifyUncached(token);
  if (check.ok) remember(token, check, now);
  return check;
}

async function verifyUncached(token: string): Promise<TokenCheck> {
  if (token.length > MAX_TOKEN_BYTES) return { ok: false, reason: "oversized" };
  if (!COMPACT_JWS.test(token)) return { ok: false, reason: "malformed" };
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (
    header.alg !== "ES256" ||
    header.typ !== ACCESS_TOKEN_TYPE ||
    FORBIDDEN_HEADERS.some((h) => h in header)
  ) {
    return { ok: false, reason: "bad_header" };
  }
  const keys = await signingKeys();
  if (header.kid !== keys.kid) return { ok: false, reason: "unknown_key" };
  const c = config();
  try {
    const { payload } = await jwtVerify(token, keys.publicKey, {
      algorithms: ["ES256"],
      issuer: c.MICROPAY_JWT_ISSUER,
      audience: c.MICROPAY_JWT_AUDIENCE,
      typ: ACCESS_TOKEN_TYPE,
      requiredClaims: REQUIRED_CLAIMS,
      maxTokenAge: c.MICROPAY_ACCESS_TOKEN_TTL_SECONDS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    const roles = payload.roles;
    const sub = payload.sub;
    const jti = payload.jti;
    const amr = payload.amr ?? [];
    const authTime = payload.auth_time ?? payload.iat;
    if (
      !Array.isArray(amr) ||
      !amr.every((m) => typeof m === "string") ||
      typeof authTime !== "number" ||
      !Number.isInteger(authTime)
    ) {
      return { ok: false, reason: "bad_claims" };
    }
    if (
      typeof sub !== "string" ||
      !isId(sub, "usr") ||
      typeof jti !== "string" ||
      !Array.isArray(roles) ||
      roles.length === 0 ||
      !roles.every((r) => (ROLES as readonly unknown[]).includes(r))
    ) {
      return { ok: false, reason: "bad_claims" };
    }
    return {
      ok: true,
      principal: {
        userId: sub,
        roles: roles as Role[],
        tokenId: jti,
        amr: amr as string[],
        authTime,
      },
    };
  } catch (error) {
    if (error instanceof errors.JWTExpired) return { ok: false, reason: "expired" };
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      return { ok: false, reason: "bad_signature" };
    }
    if (error instanceof errors.JOSEError) return { ok: false, reason: "bad_claims" };
    throw error;
  }
}

/** The 401 every refused token gets (RFC 6750 `invalid_token`). */
export const invalidToken = () =>
  new Refusal("unauthorized", "The access token is invalid or expired.", {
    headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' },
  });

/**
 * Tokens this container has already verified, so a client's repeated calls with one
 * access token pay for the ECDSA verification once (it is about three quarters of the
 * chain's cost per request). Only successful verifications are kept, keyed by the
 * exact token text (a different byte is a miss), each until its own `exp` and at most
 * VERIFIED_TTL_MS, checked again on every hit; the map is bounded (oldest dropped).
 *
 * Token text is not unique: ECDSA signatures are malleable (`(r, n-s)` verifies as
 * well as `(r, s)`) and base64url's spare low bits in a segment's last character are
 * ignored, so one token has several texts that all verify to the same claims. Nothing
 * may therefore treat token text as an identity or a grant. This cache does not: it
 * is a memo of a pure function, each entry holding exactly what verifying that exact
 * text gave (never a normalised form of it), so a second text of a token is a miss,
 * verified in full, and yields the same principal. Authority comes only from the
 * verified claims (`sub`, `roles`, `exp`); a future revocation list must key on `jti`
 * (a signed claim), never on the text or the signature.
 */
const VERIFIED_MAX = 1_000;
const VERIFIED_TTL_MS = 60_000;
const verified = new Map<string, { check: TokenCheck; until: number }>();

function remember(token: string, check: TokenCheck, now: number): void {
  const exp = expiryMs(token);
  if (exp === undefined || exp <= now) return;
  if (verified.size >= VERIFIED_MAX) {
    const oldest = verified.keys().next().value;
    if (oldest !== undefined) verified.delete(oldest);
  }
  verified.set(token, { check, until: Math.min(exp, now + VERIFIED_TTL_MS) });
}

/** Verifies a bearer access token and returns who it belongs to (401 otherwise). */
export async function verifyAccessToken(token: string): Promise<Principal> {
  const result = await checkAccessToken(token);
  if (!result.ok) throw invalidToken();
  return result.principal;
}

/** The `exp` of a token that has just been verified, in epoch milliseconds. */
function expiryMs(token: string): number | undefined {
  const exp = decodeJwt(token).exp;
  return typeof exp === "number" ? exp * 1000 : undefined;
}

/** Tests only: forget verified tokens. */
export function clearVerifiedTokensForTests(): void {
  verified.clear();
}
