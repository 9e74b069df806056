import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";

/**
 * Webhook signing secrets and the Standard Webhooks signature headers.
 *
 * A secret is `whsec_` + base64 of 32 random bytes (API.md allows 24..64). It is shown
 * once (creation, rotation) and stored sealed: AES-256-GCM under a key derived (HMAC,
 * fixed label) from the stage's token signing key, with the endpoint id as associated
 * data. A read of the table alone therefore does not give anyone a secret to forge
 * deliveries with, and a sealed secret copied onto another endpoint does not open.
 * Secrets are never logged and never put in audit records.
 */

export const SECRET_BYTES = 32;
export const SECRET_PREFIX = "whsec_";

export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString("base64")}`;
}

/** The sealing key: derived from secret key material, never used raw. */
export function sealingKey(material: Buffer | string): Buffer {
  return createHmac("sha256", "micropay-webhook-secret-key-v1").update(material).digest();
}

/** `v1.<iv>.<ciphertext>.<tag>` (base64url), bound to `endpointId`. */
export function sealSecret(key: Buffer, endpointId: string, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(endpointId, "utf8"));
  const ct = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  const b = (x: Buffer) => x.toString("base64url");
  return `v1.${b(iv)}.${b(ct)}.${b(cipher.getAuthTag())}`;
}

export function openSecret(key: Buffer, endpointId: string, sealed: string): string {
  const [v, iv, ct, tag] = sealed.split(".");
  if (v !== "v1" || !iv || !ct || !tag) throw new Error("unreadable sealed webhook secret");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
  decipher.setAAD(Buffer.from(endpointId, "utf8"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString(
    "utf8",
  );
}

/**
 * The Standard Webhooks headers of one delivery attempt: `webhook-id` (the event id,
 * the same on every retry), `webhook-timestamp` (unix seconds of this attempt) and
 * `webhook-signature`: `v1,<base64 HMAC-SHA256 of id.timestamp.body>` per live secret,
 * space-separated (two during a rotation's overlap), signed with the standardwebhooks
 * package.
 */
export function signatureHeaders(
  secrets: readonly string[],
  eventId: string,
  body: string,
  at: Date,
): Record<string, string> {
  if (secrets.length === 0) throw new Error("no live webhook secret");
  return {
    "webhook-id": eventId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": secrets.map((s) => new Webhook(s).sign(eventId, at, body)).join(" "),
  };
}
