/**
 * Secret-looking text in the audit trail, one set of patterns for two jobs:
 *
 * - `redactText`: caller-supplied text (User-Agent, a caller's request id) is bounded
 *   and every secret-looking part is replaced by `[REDACTED]` inside the field. The
 *   record is still written and lists the field in its `redacted` member, so nobody
 *   can keep their own actions out of the log by sending a token-shaped header.
 * - the guard (`secretFinding`, `assertNoSecrets`): the last check before a record
 *   leaves the process, over the serialized record. Server-built fields never should
 *   trip it; when one does, lib/audit/record.ts writes the record in redacted form
 *   (`redactValues`), flags it and counts it (a metric and an alarm), never drops it.
 *
 * Neither ever echoes the secret it found.
 */

export class SecretInRecordError extends Error {
  override name = "SecretInRecordError";
}

/** What replaces a secret-looking part of a value. Matches none of the patterns below. */
export const REDACTED = "[REDACTED]";

/** Patterns over the serialized record (the JSON message as it would be written). */
const VALUE_PATTERNS: readonly { readonly what: string; readonly pattern: RegExp }[] = [
  // A JWT or JWS compact serialization: base64url header starting `{"` then two more
  // parts. Any such shape counts, however short: over-redacting caller text is cheap.
  { what: "a JWT", pattern: /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/ },
  { what: "a bearer token", pattern: /\bbearer\s+[A-Za-z0-9._~+/=-]{8,}/i },
  // A MicroPay API key (lib/auth/api-keys.ts): fixed prefix, base62 body.
  { what: "an API key", pattern: /mp_live_[0-9A-Za-z]{8,}/ },
  { what: "a bcrypt hash", pattern: /\$2[aby]\$\d{2}\$/ },
  { what: "a PEM block", pattern: /-----BEGIN [A-Z0-9 ]+-----/ },
  // The private member of a JWK (EC/RSA/OKP "d"), in the serialized form.
  // Quotes may be escaped: a JSON document inside a string member is still caught.
  { what: 'a private JWK "d" member', pattern: /\\?"d\\?"\s*:\s*\\?"[A-Za-z0-9_-]{16,}/ },
  { what: 'a "password" member', pattern: /"[^"]*pass(word|wd)[^"]*\\?"\s*:/i },
];

/** The same patterns, global, for replacing every occurrence inside one value. */
const REPLACE_PATTERNS: readonly RegExp[] = VALUE_PATTERNS.map(
  ({ pattern }) => new RegExp(pattern.source, `${pattern.flags}g`),
);

/** Member names that must never appear anywhere in a record. */
const KEY_PATTERN =
  /^(.*pass(word|wd).*|.*secret.*|.*private_?key.*|(access|refresh|id|bearer)?_?token|authorization|cookie|.*hash|d)$/i;

/** How much of a caller's text is scanned at all (headers are bounded well below). */
const SCAN_LIMIT = 4096;

function findKey(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    for (const v of value) {
      const k = findKey(v);
      if (k) return k;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (KEY_PATTERN.test(k)) return k;
      const inner = findKey(v);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** What secret-looking thing `record` holds, or undefined when it looks clean. */
export function secretFinding(record: unknown): string | undefined {
  const key = findKey(record);
  if (key !== undefined)
    return `a member named like a secret (${JSON.stringify(key.slice(0, 32))})`;
  const serialized = JSON.stringify(record);
  return VALUE_PATTERNS.find((p) => p.pattern.test(serialized))?.what;
}

/** Throws SecretInRecordError when `record` looks like it holds a secret. */
export function assertNoSecrets(record: unknown, label: string): void {
  const finding = secretFinding(record);
  if (finding) throw new SecretInRecordError(`${label} refused: it looks like it holds ${finding}`);
}

/** At most `max` UTF-16 units, never ending in half a surrogate pair. */
function bound(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

export interface RedactedText {
  /** The text, at most `maxLength` long, with every secret-looking part replaced. */
  readonly text: string;
  /** True when something was replaced (being shortened alone is not redaction). */
  readonly redacted: boolean;
}

/**
 * Bounds `text` to `maxLength` and replaces each secret-looking part with
 * `[REDACTED]`. If the result would still trip the guard as a record member (a match
 * only the serialized form shows), the whole value becomes `[REDACTED]`. The result
 * never trips the guard.
 */
export function redactText(text: string, maxLength: number): RedactedText {
  const scanned = bound(text, Math.max(SCAN_LIMIT, maxLength));
  let out = scanned;
  for (const pattern of REPLACE_PATTERNS) out = out.replace(pattern, REDACTED);
  let redacted = out !== scanned;
  out = bound(out, maxLength);
  if (secretFinding(out) !== undefined) {
    out = bound(REDACTED, maxLength);
    redacted = true;
  }
  return { text: out, redacted };
}

/**
 * The guard's fallback: a copy of `value` in which every string that looks like it
 * holds a secret is redacted in place (same length bound as the original, or the
 * marker's length if longer) and every member named like a secret is left out.
 * Returns the dotted paths of what it changed, e.g. `reason`, `targets.passwordHash`.
 */
export function redactValues<T>(value: T): { readonly value: T; readonly paths: string[] } {
  const paths: string[] = [];
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === "string") {
      if (secretFinding(v) === undefined) return v;
      paths.push(path);
      return redactText(v, Math.max(v.length, REDACTED.length)).text;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, path ? `${path}.${i}` : String(i)));
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const at = path ? `${path}.${k}` : k;
        if (KEY_PATTERN.test(k)) {
          paths.push(at);
          continue;
        }
        out[k] = walk(x, at);
      }
      return out;
    }
    return v;
  };
  return { value: walk(value, "") as T, paths };
}
