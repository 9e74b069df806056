import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ensureLocalSigningKeyFile } from "../lib/auth/keys.ts";
import type { LocalSettings } from "./settings.ts";

/**
 * Local identity bootstrap: the signing key file, the secret-box key and the seeded
 * admin (with TOTP).
 *
 * The ES256 key is generated on first start into the ignored data folder
 * (`MICROPAY_DATA_DIR/keys/signing-key.jwk.json`, mode 0600) and reused afterwards, so
 * tokens survive a restart of a persistent local stack. Never a key in the repo. The
 * 32-byte key that seals TOTP secrets locally (lib/crypto/secret-box.ts; KMS in AWS)
 * sits beside it (`keys/secret-box.key`, 0600).
 */
export function signingKeyFile(settings: Pick<LocalSettings, "dataDir">): string {
  return join(settings.dataDir, "keys", "signing-key.jwk.json");
}

export function secretBoxKeyFile(settings: Pick<LocalSettings, "dataDir">): string {
  return join(settings.dataDir, "keys", "secret-box.key");
}

/** Where the seeded admin's generated TOTP secret is written (mode 0600). */
export function adminTotpFile(settings: Pick<LocalSettings, "dataDir">): string {
  return join(settings.dataDir, "admin-totp.txt");
}

function ensureSecretBoxKeyFile(file: string): void {
  if (existsSync(file)) return;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
}

export async function prepareLocalIdentity(
  settings: LocalSettings,
): Promise<{ env: Record<string, string> }> {
  const file = signingKeyFile(settings);
  ensureLocalSigningKeyFile(file);
  const boxKey = secretBoxKeyFile(settings);
  ensureSecretBoxKeyFile(boxKey);
  return { env: { MICROPAY_SIGNING_KEY_FILE: file, MICROPAY_SECRET_BOX_KEY_FILE: boxKey } };
}

/**
 * Seeds the admin named by MICROPAY_ADMIN_EMAIL / MICROPAY_ADMIN_PASSWORD, once:
 * an existing user with that email is left as it is. Admin routes need a second
 * factor, so the admin is enrolled in TOTP with MICROPAY_ADMIN_TOTP_SECRET, or a
 * generated secret written to MICROPAY_DATA_DIR/admin-totp.txt (0600; the first line
 * is the base32 secret), whose path `log` reports. Returns the admin's user id.
 */
export async function seedLocalAdmin(
  settings: LocalSettings,
  log: (line: string) => void = () => {},
): Promise<string | null> {
  const email = settings.MICROPAY_ADMIN_EMAIL;
  const password = settings.MICROPAY_ADMIN_PASSWORD;
  if (!email || !password) return null;
  // Imported here: lib/config.ts must first see the environment the stack has set.
  const { createAdmin } = await import("../lib/auth/service.ts");
  const { enrolTotpOutOfBand } = await import("../lib/auth/mfa.ts");
  const { newTotpSecret, otpauthUri } = await import("../lib/auth/totp.ts");
  const { identityDeps } = await import("../lib/aws/identity.ts");
  const ctx = {
    principal: null,
    gatewayRequestId: "local-admin-seed",
    requestId: "local-admin-seed",
    sourceIp: "127.0.0.1",
    userAgent: "micropay-local-stack",
  };
  const deps = identityDeps();
  const result = await createAdmin(ctx, { email, password }, deps);
  const secret = settings.MICROPAY_ADMIN_TOTP_SECRET ?? newTotpSecret();
  const out = await enrolTotpOutOfBand(ctx, { userId: result.userId, secret }, deps);
  if (out.enrolled && !settings.MICROPAY_ADMIN_TOTP_SECRET) {
    const file = adminTotpFile(settings);
    writeFileSync(
      file,
      [
        secret,
        `# TOTP secret of the local admin ${email} (base32; RFC 6238, SHA-1, 6 digits, 30 s)`,
        `# ${otpauthUri(secret, email)}`,
        `# recovery codes (single use): ${out.recoveryCodes.join(" ")}`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    chmodSync(file, 0o600);
    log(`Local admin ${email}: TOTP secret written to ${file}`);
  } else if (out.enrolled) {
    log(`Local admin ${email}: TOTP enrolled with MICROPAY_ADMIN_TOTP_SECRET`);
  }
  return result.userId;
}
