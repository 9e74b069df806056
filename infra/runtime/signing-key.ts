import { createHash, generateKeyPairSync } from "node:crypto";
import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";

/**
 * CloudFormation custom resource: on Create, generates the stage's ES256 (P-256) JWT
 * signing key pair inside this function and writes the private JWK to the secret
 * (`SecretId`). The key is never in the template, the event, the response or a log.
 * Update and Delete leave the key alone (rotation is an operator's key roll; the
 * secret itself follows its own removal policy).
 *
 * Secret value: one JSON private JWK `{kty:"EC", crv:"P-256", x, y, d, kid, alg:"ES256", use:"sig"}`,
 * `kid` being the RFC 7638 thumbprint of the public key.
 */
const client = new SecretsManagerClient({});

export function newSigningJwk(): Record<string, string> {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = privateKey.export({ format: "jwk" });
  if (jwk.kty !== "EC" || !jwk.crv || !jwk.x || !jwk.y || !jwk.d) {
    throw new Error("unexpected key export");
  }
  const thumbprint = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  const kid = createHash("sha256").update(thumbprint).digest("base64url");
  return {
    kty: jwk.kty,
    crv: jwk.crv,
    x: jwk.x,
    y: jwk.y,
    d: jwk.d,
    kid,
    alg: "ES256",
    use: "sig",
  };
}

export const handler = async (event: CloudFormationCustomResourceEvent): Promise<void> => {
  const secretId = String(event.ResourceProperties.SecretId ?? "");
  const physicalId =
    event.RequestType === "Create" ? `signing-key:${secretId}` : event.PhysicalResourceId;
  let status: "SUCCESS" | "FAILED" = "SUCCESS";
  let reason = "ok";
  try {
    if (event.RequestType === "Create") {
      if (!secretId) throw new Error("SecretId is required");
      try {
        await client.send(
          new PutSecretValueCommand({
            SecretId: secretId,
            SecretString: JSON.stringify(newSigningJwk()),
            // A retried delivery of the same request writes no second key.
            ClientRequestToken: event.RequestId,
          }),
        );
      } catch (error) {
        if ((error as { name?: string }).name !== "ResourceExistsException") throw error;
      }
    }
  } catch (error) {
    status = "FAILED";
    // The error name only: never a message that could echo a value.
    reason = `signing key generation failed: ${(error as { name?: string }).name ?? "Error"}`;
  }
  const body = JSON.stringify({
    Status: status,
    Reason: reason,
    PhysicalResourceId: physicalId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  await fetch(event.ResponseURL, {
    method: "PUT",
    headers: { "content-type": "", "content-length": String(Buffer.byteLength(body)) },
    body,
  });
};
