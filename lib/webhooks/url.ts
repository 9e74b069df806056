import ipaddr from "ipaddr.js";
import { Refusal } from "../problems.ts";

/**
 * Server-side request forgery rules for webhook URLs (API.md, SECURITY.md).
 *
 * - `https://` only; `http://127.0.0.1:PORT` and `http://localhost:PORT` only when
 *   loopback is allowed (MICROPAY_WEBHOOK_ALLOW_LOOPBACK=1, the local stack's default).
 * - No credentials in the URL, no fragment.
 * - Every address the host is or resolves to must be public unicast, as ipaddr.js
 *   classifies it (`unicast`): private, loopback (unless allowed), link-local (with the
 *   metadata address 169.254.169.254), unique-local (fd00::/8, with fd00:ec2::254),
 *   carrier-grade NAT, multicast, reserved, unspecified and the IPv6 transition ranges
 *   are all refused; an IPv4-mapped IPv6 address is judged as its IPv4 address.
 *
 * Checked when an endpoint is saved (`400 invalid_webhook_url`) and again, after DNS
 * resolution, before every delivery; the delivery then connects to the very address
 * that was checked (lib/webhooks/send.ts), so a second resolution cannot rebind it.
 */

/** DNS, as a dependency: tests stub it and never resolve or connect anywhere. */
export type Resolver = (hostname: string) => Promise<readonly string[]>;

export interface UrlPolicy {
  readonly allowLoopback: boolean;
}

export interface CheckedTarget {
  readonly url: URL;
  /** The address to connect to (checked). */
  readonly address: string;
  readonly family: 4 | 6;
}

const invalid = (detail: string) =>
  new Refusal("invalid_webhook_url", detail, { errors: [{ path: "body.url", message: detail }] });

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost"]);

/** Host of a URL without IPv6 brackets. */
const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, "$1");

/** Parses and checks the URL's form (scheme, credentials, loopback exception). */
export function parseWebhookUrl(raw: string, policy: UrlPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid("The URL is not a valid absolute URL.");
  }
  if (url.username || url.password) throw invalid("The URL may not carry credentials.");
  if (url.hash) throw invalid("The URL may not carry a fragment.");
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && policy.allowLoopback && LOOPBACK_HOSTS.has(url.hostname)) {
    if (!url.port) throw invalid("A loopback http:// URL must name its port.");
    return url;
  }
  throw invalid(
    policy.allowLoopback
      ? "Only https:// URLs (or http://127.0.0.1:PORT, http://localhost:PORT) are accepted."
      : "Only https:// URLs are accepted.",
  );
}

/** Why an address may not be a webhook target, or null when it may. */
export function addressRefusal(address: string, policy: UrlPolicy): string | null {
  if (!ipaddr.isValid(address)) return "not an IP address";
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === "ipv6") {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address();
  }
  const range = parsed.range();
  if (range === "unicast") return null;
  if (range === "loopback" && policy.allowLoopback) return null;
  return `${range} address`;
}

/**
 * The URL checked, its host resolved and every address checked; the first address is
 * the one to connect to. Any forbidden address refuses the URL (a name that resolves
 * to a public and a private address is refused: the connection could go to either).
 */
export async function checkWebhookTarget(
  raw: string,
  policy: UrlPolicy,
  resolve: Resolver,
): Promise<CheckedTarget> {
  const url = parseWebhookUrl(raw, policy);
  const host = bareHost(url);
  let addresses: readonly string[];
  if (ipaddr.isValid(host)) {
    addresses = [host];
  } else if (host === "localhost" && policy.allowLoopback && url.protocol === "http:") {
    addresses = ["127.0.0.1"];
  } else {
    try {
      addresses = await resolve(host);
    } catch {
      throw invalid("The URL's host does not resolve.");
    }
  }
  if (addresses.length === 0) throw invalid("The URL's host does not resolve.");
  for (const a of addresses) {
    const why = addressRefusal(a, policy);
    if (why) throw invalid(`The URL's host is or resolves to a forbidden address (${why}).`);
  }
  const address = addresses[0] as string;
  return { url, address, family: ipaddr.parse(address).kind() === "ipv6" ? 6 : 4 };
}
