import { keyFileSource, type SigningKeySource, useSigningKeySource } from "../auth/keys.ts";
import { config } from "../config.ts";
import { setCursorKey } from "../store/cursor.ts";
import { readSecretString } from "./secrets.ts";

/**
 * Where this deployment's signing key comes from, installed into lib/auth/keys.ts:
 *
 * - AWS: the Secrets Manager secret `MICROPAY_SIGNING_KEY_SECRET_ID` (a private EC
 *   P-256 JWK or PKCS#8 PEM), read once per container;
 * - local: the JWK file `MICROPAY_SIGNING_KEY_FILE` in the ignored data folder,
 *   written on first start by local/identity.ts with mode 0600.
 *
 * The configuration is read at each load, so a test that changes it and calls
 * resetSigningKeysForTests loads the new key. Each loaded key's private scalar keys
 * the list cursors (lib/store/cursor.ts, through a derivation).
 *
 * Installed when this module is first imported: the authenticate middleware
 * (lib/http/auth.ts) imports it, so every Lambda that verifies or signs tokens has it.
 */
export const configuredSigningKeySource: SigningKeySource = {
  async read() {
    const c = config();
    if (c.MICROPAY_SIGNING_KEY_SECRET_ID) return readSecretString(c.MICROPAY_SIGNING_KEY_SECRET_ID);
    if (c.MICROPAY_SIGNING_KEY_FILE) return keyFileSource(c.MICROPAY_SIGNING_KEY_FILE).read();
    throw new Error("no signing key configured");
  },
  onLoaded: (privateScalar) => setCursorKey(privateScalar),
};

let installed = false;

/** Installs the configured source once per container (later calls do nothing). */
export function installSigningKeySource(): void {
  if (installed) return;
  installed = true;
  useSigningKeySource(configuredSigningKeySource);
}

installSigningKeySource();
