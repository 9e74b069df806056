import { readFileSync } from "node:fs";
import { issueAccessToken } from "../auth/access-token.ts";
import { signingKeys } from "../auth/keys.ts";
import { hashPassword, needsRehash, verifyPassword } from "../auth/passwords.ts";
import type { IdentityDeps } from "../auth/port.ts";
import { config } from "../config.ts";
import { localSecretBox, type SecretBox } from "../crypto/secret-box.ts";
import { decodeCursor, encodeCursor } from "../store/cursor.ts";
import { dynamoIdentityStore } from "../store/identity.ts";
import { installSigningKeySource } from "./signing-key.ts";

/**
 * The identity operations' dependencies in a Lambda container (and the CLI scripts):
 * the DynamoDB store, bcrypt, the ES256 token issuer over the configured signing key,
 * signed cursors, the system clock and lib/config.ts. Built once per container; every
 * member reads the configuration when called, never at import.
 */
let deps: IdentityDeps | undefined;

export function identityDeps(): IdentityDeps {
  installSigningKeySource();
  deps ??= {
    store: dynamoIdentityStore,
    passwords: {
      hash: (password) => hashPassword(password),
      verify: (password, hash) => verifyPassword(password, hash),
      needsRehash: (hash) => needsRehash(hash),
    },
    tokens: { issue: (userId, roles, auth) => issueAccessToken(userId, roles, auth) },
    cursors: {
      // The cursor key derives from the signing key: load it first (once per container).
      encode: async (scope, position) => {
        await signingKeys();
        return encodeCursor(scope, position);
      },
      decode: async (scope, cursor) => {
        await signingKeys();
        return decodeCursor(scope, cursor);
      },
    },
    secrets: lazySecretBox(),
    now: () => Date.now(),
    settings: () => config(),
  };
  return deps;
}

/**
 * The SecretBox for TOTP secrets: KMS under MICROPAY_SECRET_BOX_KEY_ID in AWS (the
 * table's key; purpose "totp", the user id as encryption context), else AES-GCM under
 * the 32-byte key in MICROPAY_SECRET_BOX_KEY_FILE (the local key folder). Built on
 * first use; with neither set, sealing and opening fail (503).
 */
function lazySecretBox(): SecretBox {
  let box: Promise<SecretBox> | undefined;
  const get = () => {
    box ??= (async () => {
      const c = config();
      if (c.MICROPAY_SECRET_BOX_KEY_ID) {
        const { KMSClient, kmsSecretBox } = await import("./kms-secret-box.ts");
        return kmsSecretBox(new KMSClient({}), c.MICROPAY_SECRET_BOX_KEY_ID, "totp");
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
