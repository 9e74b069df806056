import { join } from "node:path";
import { ensureLocalSigningKeyFile } from "../lib/auth/keys.ts";
import type { LocalSettings } from "./settings.ts";

/**
 * Local identity bootstrap: the signing key file and the seeded admin.
 *
 * The ES256 key is generated on first start into the ignored data folder
 * (`MICROPAY_DATA_DIR/keys/signing-key.jwk.json`, mode 0600) and reused afterwards, so
 * tokens survive a restart of a persistent local stack. Never a key in the repo.
 */
export function signingKeyFile(settings: Pick<LocalSettings, "dataDir">): string {
  return join(settings.dataDir, "keys", "signing-key.jwk.json");
}

export async function prepareLocalIdentity(
  settings: LocalSettings,
): Promise<{ env: Record<string, string> }> {
  const file = signingKeyFile(settings);
  ensureLocalSigningKeyFile(file);
  return { env: { MICROPAY_SIGNING_KEY_FILE: file } };
}

/**
 * Seeds the admin named by MICROPAY_ADMIN_EMAIL / MICROPAY_ADMIN_PASSWORD, once:
 * an existing user with that email is left as it is. Returns the admin's user id.
 */
export async function seedLocalAdmin(settings: LocalSettings): Promise<string | null> {
  const email = settings.MICROPAY_ADMIN_EMAIL;
  const password = settings.MICROPAY_ADMIN_PASSWORD;
  if (!email || !password) return null;
  // Imported here: lib/config.ts must first see the environment the stack has set.
  const { createAdmin } = await import("../lib/auth/service.ts");
  const { identityDeps } = await import("../lib/aws/identity.ts");
  const result = await createAdmin(
    {
      principal: null,
      gatewayRequestId: "local-admin-seed",
      requestId: "local-admin-seed",
      sourceIp: "127.0.0.1",
      userAgent: "micropay-local-stack",
    },
    { email, password },
    identityDeps(),
  );
  return result.userId;
}
