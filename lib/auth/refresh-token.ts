import { createHash, randomBytes } from "node:crypto";

/**
 * Refresh tokens are opaque: `rt_` and 256 random bits (base64url). Only the SHA-256
 * of a token is stored (a fast hash is right here: the token has full entropy, so
 * there is nothing to brute-force), so a copy of the table yields no usable token.
 */
// 43 base64url characters carry 258 bits; the last one's 2 spare bits are zero in
// every token we issue, so only one text of each token has the shape (no variants).
const REFRESH_TOKEN = /^rt_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

export function newRefreshToken(): { token: string; hash: string } {
  const token = `rt_${randomBytes(32).toString("base64url")}`;
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Shape check before any lookup (anything else is refused without touching the table). */
export function isRefreshTokenShape(token: string): boolean {
  return REFRESH_TOKEN.test(token);
}
