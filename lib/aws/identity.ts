import { issueAccessToken } from "../auth/access-token.ts";
import { signingKeys } from "../auth/keys.ts";
import { hashPassword, needsRehash, verifyPassword } from "../auth/passwords.ts";
import type { IdentityDeps } from "../auth/port.ts";
import { config } from "../config.ts";
import { decodeCursor, encodeCursor } from "../store/cursor.ts";
import { dynamoIdentityStore } from "../store/identity.ts";
import { lazySecretBox } from "./secret-box.ts";
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
    // TOTP secrets: purpose "totp", the user id as the subject.
    secrets: lazySecretBox("totp"),
    now: () => Date.now(),
    settings: () => config(),
  };
  return deps;
}
