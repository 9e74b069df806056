import { readFileSync } from "node:fs";
import { config } from "../config.ts";
import { localSecretBox, type SecretBox } from "../crypto/secret-box.ts";
import { withoutSdkLogger } from "./sdk-client.ts";

/**
 * The SecretBox of one purpose ("totp", "webhook-secret"): KMS under
 * MICROPAY_SECRET_BOX_KEY_ID in AWS (the table's key; the purpose and the subject as the
 * encryption context), else AES-GCM under the 32-byte key in
 * MICROPAY_SECRET_BOX_KEY_FILE (the local key folder; the subject as AAD). Built on
 * first use; with neither set, sealing and opening fail.
 */
export function lazySecretBox(purpose: string): SecretBox {
  let box: Promise<SecretBox> | undefined;
  const get = () => {
    box ??= (async () => {
      const c = config();
      if (c.MICROPAY_SECRET_BOX_KEY_ID) {
        const { KMSClient, kmsSecretBox } = await import("./kms-secret-box.ts");
        return kmsSecretBox(
          withoutSdkLogger(new KMSClient({})),
          c.MICROPAY_SECRET_BOX_KEY_ID,
          purpose,
        );
      }
      if (c.MICROPAY_SECRET_BOX_KEY_FILE) {
        return localSecretBox(
          Buffer.from(readFileSync(c.MICROPAY_SECRET_BOX_KEY_FILE, "utf8").trim(), "base64"),
        );
      }
      throw new Error("no secret box configured (MICROPAY_SECRET_BOX_KEY_ID or _FILE)");
    })();
    box.catch(() => {
      box = undefined;
    });
    return box;
  };
  return {
    seal: async (plaintext, context) => (await get()).seal(plaintext, context),
    open: async (sealed, context) => (await get()).open(sealed, context),
  };
}
