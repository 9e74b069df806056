import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";

/**
 * Webhook signing secrets and the Standard Webhooks signature headers.
 *
 * A secret is `whsec_` + base64 of 32 random bytes (API.md allows 24..64). It is shown
 * once (creation, rotation) and stored sealed by the SecretBox (lib/crypto/secret-box.ts:
 * KMS under the table's key in AWS with purpose "webhook-secret" and the endpoint id as
 * the encryption context; AES-256-GCM under the local key file with the endpoint id as
 * associated data). A read of the table alone therefore does not give anyone a secret
 * to forge deliveries with, and a sealed secret copied onto another endpoint does not
 * open. Secrets are never logged and never put in audit records.
 */

export const SECRET_BYTES = 32;
export const SECRET_PREFIX = "whsec_";

export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString("base64")}`;
}

/** The SecretBox purpose of webhook secrets (KMS encryption context `purpose`). */
export const WEBHOOK_SECRET_PURPOSE = "webhook-secret";

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
