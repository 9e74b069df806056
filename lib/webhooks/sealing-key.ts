import { readFileSync } from "node:fs";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parseKeyMaterial } from "../auth/keys.ts";
import { config } from "../config.ts";
import { serviceUnavailable } from "../problems.ts";
import { sealingKey } from "./secrets.ts";

/**
 * The key webhook secrets are sealed with (lib/webhooks/secrets.ts), derived from the
 * stage's token signing key (the same one secret: Secrets Manager in AWS, the 0600 key
 * file locally), loaded once per container the way lib/auth/keys.ts loads it.
 */
let cached: Promise<Buffer> | undefined;
let secrets: SecretsManagerClient | undefined;

async function load(): Promise<Buffer> {
  const c = config();
  let text: string | undefined;
  if (c.MICROPAY_SIGNING_KEY_SECRET_ID) {
    secrets ??= new SecretsManagerClient({ region: c.AWS_REGION, maxAttempts: 2 });
    const out = await secrets.send(
      new GetSecretValueCommand({ SecretId: c.MICROPAY_SIGNING_KEY_SECRET_ID }),
    );
    text = out.SecretString;
  } else if (c.MICROPAY_SIGNING_KEY_FILE) {
    text = readFileSync(c.MICROPAY_SIGNING_KEY_FILE, "utf8");
  }
  if (!text) throw new Error("no signing key configured");
  return sealingKey(Buffer.from(parseKeyMaterial(text).d, "base64url"));
}

export async function webhookSealingKey(): Promise<Buffer> {
  if (!cached) {
    const attempt = load();
    cached = attempt;
    attempt.catch(() => {
      if (cached === attempt) cached = undefined;
    });
  }
  try {
    return await cached;
  } catch {
    throw serviceUnavailable();
  }
}
