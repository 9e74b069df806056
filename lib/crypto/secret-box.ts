import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Encryption of small secrets at rest (TOTP secrets): what the identity store keeps is
 * sealed, so a copy of the table alone does not yield a second factor. `context` binds a
 * sealed value to its owner (e.g. the user id): a value moved to another user's item
 * does not open. Two implementations, same contract:
 *
 * - AWS: KMS Encrypt/Decrypt under the table's customer-managed key with the context
 *   as the KMS encryption context (lib/aws/kms-secret-box.ts), so every open is a
 *   CloudTrail event and needs kms:Decrypt with that context.
 * - Local stack and tests: AES-256-GCM under a 32-byte key from the local key folder
 *   (`localSecretBox`), the context as additional authenticated data.
 */
export interface SecretBox {
  seal(plaintext: string, context: string): Promise<string>;
  open(sealed: string, context: string): Promise<string>;
}

const VERSION = "lg1"; // local GCM, format 1: lg1.<iv>.<tag>.<ciphertext> (base64url)

/** AES-256-GCM with a random 96-bit IV per value and the context as AAD. */
export function localSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new Error("the local secret-box key must be 32 bytes");
  return {
    async seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(Buffer.from(context, "utf8"));
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      const parts = [iv, cipher.getAuthTag(), body].map((b) => b.toString("base64url"));
      return [VERSION, ...parts].join(".");
    },
    async open(sealed, context) {
      const [version, iv, tag, body] = sealed.split(".");
      if (version !== VERSION || !iv || !tag || body === undefined) {
        throw new Error("not a sealed value of this box");
      }
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([
        decipher.update(Buffer.from(body, "base64url")),
        decipher.final(),
      ]).toString("utf8");
    },
  };
}
