import { DecryptCommand, EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import type { SecretBox } from "../crypto/secret-box.ts";

const VERSION = "kms1"; // kms1.<ciphertext blob, base64url>

/**
 * The SecretBox in AWS: KMS Encrypt/Decrypt (values up to 4 KB, which a TOTP secret
 * is far below) under `keyId`, with `{ purpose, subject: context }` as the encryption
 * context, so KMS itself refuses to open a value for another subject or purpose and
 * CloudTrail records each open with its subject.
 */
export function kmsSecretBox(client: KMSClient, keyId: string, purpose: string): SecretBox {
  const contextOf = (subject: string) => ({ purpose, subject });
  return {
    async seal(plaintext, context) {
      const out = await client.send(
        new EncryptCommand({
          KeyId: keyId,
          Plaintext: Buffer.from(plaintext, "utf8"),
          EncryptionContext: contextOf(context),
        }),
      );
      if (!out.CiphertextBlob) throw new Error("KMS returned no ciphertext");
      return `${VERSION}.${Buffer.from(out.CiphertextBlob).toString("base64url")}`;
    },
    async open(sealed, context) {
      const [version, blob] = sealed.split(".");
      if (version !== VERSION || !blob) throw new Error("not a sealed value of this box");
      const out = await client.send(
        new DecryptCommand({
          KeyId: keyId,
          CiphertextBlob: Buffer.from(blob, "base64url"),
          EncryptionContext: contextOf(context),
        }),
      );
      if (!out.Plaintext) throw new Error("KMS returned no plaintext");
      return Buffer.from(out.Plaintext).toString("utf8");
    },
  };
}

export { KMSClient };
