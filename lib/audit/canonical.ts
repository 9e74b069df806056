import { createHash } from "node:crypto";

/**
 * Canonical JSON, the byte string an audit record's digest is computed over.
 *
 * The rules (a subset of RFC 8785, JSON Canonicalization Scheme, that covers every
 * value an audit record can hold: strings, safe integers, booleans, null, arrays and
 * plain objects):
 *
 * - object members are sorted by key, comparing keys as UTF-16 code unit strings
 *   (JavaScript's default sort order, as RFC 8785 prescribes);
 * - members whose value is `undefined` are left out, as JSON.stringify does;
 * - arrays keep their order;
 * - no whitespace anywhere; strings and numbers are written as JSON.stringify writes
 *   them (for integers that is the shortest decimal form RFC 8785 asks for);
 * - the result is hashed as UTF-8.
 *
 * Anything else (a float that is not an integer, NaN, a Date, a bigint, a function)
 * is refused, so two implementations can never disagree about a record's bytes.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isSafeInteger(value)) {
        throw new TypeError(`canonical JSON holds only safe integers, got ${value}`);
      }
      return JSON.stringify(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError("canonical JSON holds only plain objects");
      }
      const members = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
      return `{${members.join(",")}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value}`);
  }
}

/** SHA-256, lower-case hex, of the canonical JSON of `value`. */
export function sha256Hex(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value), "utf8").digest("hex");
}
