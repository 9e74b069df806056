import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { localSecretBox } from "../../lib/crypto/secret-box.ts";

describe("the local secret box (AES-256-GCM, context as AAD)", () => {
  const box = localSecretBox(randomBytes(32));

  it("opens what it sealed, and the sealed text holds nothing of the secret", async () => {
    const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    const sealed = await box.seal(secret, "usr_1");
    expect(sealed).not.toContain(secret);
    expect(sealed).not.toBe(await box.seal(secret, "usr_1")); // a fresh IV each time
    expect(await box.open(sealed, "usr_1")).toBe(secret);
  });

  it("refuses another subject's context, a tampered value and another key", async () => {
    const sealed = await box.seal("JBSWY3DPEHPK3PXP", "usr_1");
    await expect(box.open(sealed, "usr_2")).rejects.toThrow();
    const [v, iv, tag, body] = sealed.split(".") as [string, string, string, string];
    const flipped = Buffer.from(body, "base64url");
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await expect(
      box.open([v, iv, tag, flipped.toString("base64url")].join("."), "usr_1"),
    ).rejects.toThrow();
    await expect(localSecretBox(randomBytes(32)).open(sealed, "usr_1")).rejects.toThrow();
    await expect(box.open("kms1.AAAA", "usr_1")).rejects.toThrow(/not a sealed value/);
  });

  it("takes only a 32-byte key", () => {
    expect(() => localSecretBox(randomBytes(16))).toThrow(/32 bytes/);
  });
});
