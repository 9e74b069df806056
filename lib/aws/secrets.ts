import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { config } from "../config.ts";
import { withoutSdkLogger } from "./sdk-client.ts";

/** The Secrets Manager client, built once per container. */
let client: SecretsManagerClient | undefined;

/** The string value of a secret (the signing key). Throws when it has none. */
export async function readSecretString(secretId: string): Promise<string> {
  client ??= withoutSdkLogger(
    new SecretsManagerClient({ region: config().AWS_REGION, maxAttempts: 2 }),
  );
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (!out.SecretString) throw new Error("the secret has no string value");
  return out.SecretString;
}
