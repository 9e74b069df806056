import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kmsSecretBox } from "../../lib/aws/kms-secret-box.ts";
import { type Moto, startMoto } from "../support/moto.ts";

/**
 * The AWS secret box against moto's KMS (an emulator: it checks the encryption
 * context on Decrypt as KMS does, but enforces no key policy or IAM).
 */
let moto: Moto;
let kms: KMSClient;
let keyId: string;

beforeAll(async () => {
  moto = await startMoto();
  kms = new KMSClient(moto.clientConfig);
  const key = await kms.send(new CreateKeyCommand({ Description: "micropay test key" }));
  keyId = key.KeyMetadata?.KeyId ?? "";
  expect(keyId).not.toBe("");
}, 60_000);

afterAll(async () => {
  kms?.destroy();
  await moto?.stop();
});

describe("the KMS secret box", () => {
  it("seals with KMS Encrypt and opens with Decrypt under the same subject", async () => {
    const box = kmsSecretBox(kms, keyId, "totp");
    const sealed = await box.seal("JBSWY3DPEHPK3PXP", "usr_1");
    expect(sealed).toMatch(/^kms1\./);
    expect(sealed).not.toContain("JBSWY3DPEHPK3PXP");
    expect(await box.open(sealed, "usr_1")).toBe("JBSWY3DPEHPK3PXP");
  });

  it("refuses to open a value for another subject or purpose (the encryption context)", async () => {
    const sealed = await kmsSecretBox(kms, keyId, "totp").seal("JBSWY3DPEHPK3PXP", "usr_1");
    await expect(kmsSecretBox(kms, keyId, "totp").open(sealed, "usr_2")).rejects.toThrow();
    await expect(kmsSecretBox(kms, keyId, "other").open(sealed, "usr_1")).rejects.toThrow();
  });
});
