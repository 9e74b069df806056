/**
 * The redaction guard: the last check before an audit record leaves the process.
 * It refuses (throws) a record whose serialized form looks like it holds a secret,
 * so the record is reported as a batch item failure and never written. It names
 * what it found but never echoes the secret itself.
 */

export class SecretInRecordError extends Error {
  override name = "SecretInRecordError";
}

/** Patterns over the serialized record (the JSON message as it would be written). */
const VALUE_PATTERNS: readonly { readonly what: string; readonly pattern: RegExp }[] = [
  // A JWT or JWS compact serialization: base64url header starting `{"` then two more parts.
  { what: "a JWT", pattern: /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/ },
  { what: "a bearer token", pattern: /\bbearer\s+[A-Za-z0-9._~+/=-]{8,}/i },
  { what: "a bcrypt hash", pattern: /\$2[aby]\$\d{2}\$/ },
  { what: "a PEM block", pattern: /-----BEGIN [A-Z0-9 ]+-----/ },
  // The private member of a JWK (EC/RSA/OKP "d"), in the serialized form.
  // Quotes may be escaped: a JSON document inside a string member is still caught.
  { what: 'a private JWK "d" member', pattern: /\\?"d\\?"\s*:\s*\\?"[A-Za-z0-9_-]{16,}/ },
  { what: 'a "password" member', pattern: /"[^"]*pass(word|wd)[^"]*\\?"\s*:/i },
];

/** Member names that must never appear anywhere in a record. */
const KEY_PATTERN =
  /^(.*pass(word|wd).*|.*secret.*|.*private_?key.*|(access|refresh|id|bearer)?_?token|authorization|cookie|.*hash|d)$/i;

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
