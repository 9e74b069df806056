import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../lib/config.ts";
import { localSecretBox } from "../../lib/crypto/secret-box.ts";
import { Refusal } from "../../lib/problems.ts";
import { newWebhookSecret, signatureHeaders } from "../../lib/webhooks/secrets.ts";
import { checkWebhookTarget, type Resolver } from "../../lib/webhooks/url.ts";

/**
 * Webhook rules with no network at all: the resolver is a stub (a table of names), so
 * no test here resolves a real name or opens a connection.
 */
const dns: Record<string, string[]> = {
  "hooks.example.com": ["93.184.216.34"],
  "v6.example.com": ["2606:2800:220:1:248:1893:25c8:1946"],
  "private.example.com": ["10.1.2.3"],
  "mixed.example.com": ["93.184.216.34", "192.168.0.7"],
  "loop.example.com": ["127.0.0.1"],
  "meta.example.com": ["169.254.169.254"],
  "meta6.example.com": ["fd00:ec2::254"],
  "ula.example.com": ["fc00::1"],
  "ll6.example.com": ["fe80::1"],
  "mapped.example.com": ["::ffff:10.0.0.1"],
  "cgnat.example.com": ["100.64.0.1"],
  "zero.example.com": ["0.0.0.0"],
  "empty.example.com": [],
};
const stub: Resolver = async (host) => {
  const a = dns[host];
  if (!a) throw Object.assign(new Error("ENOTFOUND"), { code: "ENOTFOUND" });
  return a;
};
const strict = { allowLoopback: false };
const local = { allowLoopback: true };

async function refusal(url: string, policy = strict): Promise<string> {
  try {
    await checkWebhookTarget(url, policy, stub);
  } catch (error) {
    if (error instanceof Refusal) return error.code;
    throw error;
  }
  return "accepted";
}

describe("webhook URL rules (stubbed resolver)", () => {
  it("accepts https URLs whose host is or resolves only to public addresses, and connects to that address", async () => {
    const t = await checkWebhookTarget("https://hooks.example.com/mp", strict, stub);
    expect(t.address).toBe("93.184.216.34");
    expect((await checkWebhookTarget("https://v6.example.com/", strict, stub)).family).toBe(6);
    expect(await refusal("https://93.184.216.34:8443/x")).toBe("accepted");
  });

  it.each([
    ["plain http", "http://hooks.example.com/"],
    ["another scheme", "ftp://hooks.example.com/"],
    ["not a URL", "hooks.example.com/x"],
    ["credentials", "https://u:p@hooks.example.com/"],
    ["private (literal)", "https://10.0.0.1/"],
    ["private (172.16/12)", "https://172.20.1.1/"],
    ["private (192.168/16)", "https://192.168.1.1/"],
    ["private (resolved)", "https://private.example.com/"],
    ["one private among the answers", "https://mixed.example.com/"],
    ["loopback (literal)", "https://127.0.0.1/"],
    ["loopback (resolved)", "https://loop.example.com/"],
    ["loopback (IPv6)", "https://[::1]/"],
    ["loopback (decimal form)", "https://2130706433/"],
    ["metadata 169.254.169.254", "https://169.254.169.254/latest/meta-data/"],
    ["metadata (resolved)", "https://meta.example.com/"],
    ["metadata fd00:ec2::254", "https://[fd00:ec2::254]/"],
    ["metadata IPv6 (resolved)", "https://meta6.example.com/"],
    ["unique-local fc00::/7", "https://ula.example.com/"],
    ["link-local IPv6", "https://ll6.example.com/"],
    ["IPv4-mapped private", "https://mapped.example.com/"],
    ["IPv4-mapped loopback literal", "https://[::ffff:127.0.0.1]/"],
    ["carrier-grade NAT", "https://cgnat.example.com/"],
    ["unspecified", "https://zero.example.com/"],
    ["no address", "https://empty.example.com/"],
    ["does not resolve", "https://nowhere.example.com/"],
    ["http loopback when loopback is not allowed", "http://127.0.0.1:4000/"],
  ])("refuses %s", async (_what, url) => {
    expect(await refusal(url)).toBe("invalid_webhook_url");
  });

  it("with loopback allowed: http://127.0.0.1:PORT and http://localhost:PORT only", async () => {
    expect(await refusal("http://127.0.0.1:4000/hooks", local)).toBe("accepted");
    expect(await refusal("http://localhost:4000/hooks", local)).toBe("accepted");
    expect(await refusal("http://127.0.0.1/hooks", local)).toBe("invalid_webhook_url");
    expect(await refusal("http://10.0.0.1:4000/", local)).toBe("invalid_webhook_url");
    expect(await refusal("http://hooks.example.com:80/", local)).toBe("invalid_webhook_url");
    expect(await refusal("https://169.254.169.254/", local)).toBe("invalid_webhook_url");
    expect(await refusal("https://private.example.com/", local)).toBe("invalid_webhook_url");
  });
});

describe("webhook secrets and signatures", () => {
  it("a secret is whsec_ + base64 of 32 random bytes", () => {
    const s = newWebhookSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(s.slice(6), "base64")).toHaveLength(32);
    expect(newWebhookSecret()).not.toBe(s);
  });

  it("secrets are sealed by the SecretBox bound to the endpoint id: they open only with the same key and endpoint", async () => {
    const key = randomBytes(32);
    const box = localSecretBox(key);
    const s = newWebhookSecret();
    const sealed = await box.seal(s, "we_1");
    expect(sealed).not.toContain(s.slice(6));
    expect(await box.open(sealed, "we_1")).toBe(s);
    await expect(box.open(sealed, "we_2")).rejects.toThrow();
    await expect(localSecretBox(randomBytes(32)).open(sealed, "we_1")).rejects.toThrow();
  });

  it("headers follow Standard Webhooks; two live secrets give two space-separated signatures, each verifying", () => {
    const [a, b] = [newWebhookSecret(), newWebhookSecret()];
    const body = JSON.stringify({ id: "evt_1", type: "payment.succeeded" });
    const at = new Date();
    const h = signatureHeaders([a, b], "evt_1", body, at);
    expect(h["webhook-id"]).toBe("evt_1");
    expect(h["webhook-timestamp"]).toBe(String(Math.floor(at.getTime() / 1000)));
    const sigs = (h["webhook-signature"] ?? "").split(" ");
    expect(sigs).toHaveLength(2);
    for (const s of sigs) expect(s).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    for (const secret of [a, b])
      expect(new Webhook(secret).verify(body, h)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newWebhookSecret()).verify(body, h)).toThrow();
    expect(() => new Webhook(a).verify(`${body} `, h)).toThrow();
  });
});

describe("MICROPAY_WEBHOOK_RETRY_SCHEDULE", () => {
  const schedule = (v?: string) =>
    parseConfig(v === undefined ? {} : { MICROPAY_WEBHOOK_RETRY_SCHEDULE: v })
      .MICROPAY_WEBHOOK_RETRY_SCHEDULE;

  it("defaults to a back-off spanning at most 3 days", () => {
    const s = schedule();
    expect(s[0]).toBe(5);
    expect(s.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(3 * 24 * 3600);
    expect([...s].sort((x, y) => x - y)).toEqual(s);
  });

  it("parses seconds, comma-separated, spaces allowed", () => {
    expect(schedule("1, 2,30")).toEqual([1, 2, 30]);
  });

  it.each(["", "0", "-5", "1.5", "abc", "1,,x", "200000,100000"])("refuses %j", (v) => {
    expect(() => schedule(v)).toThrow(/MICROPAY_WEBHOOK_RETRY_SCHEDULE/);
  });
});
