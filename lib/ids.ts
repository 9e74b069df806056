import { monotonicFactory } from "ulid";

/** Type prefixes of MicroPay's opaque ids (API.md). */
export type IdPrefix = "usr" | "acc" | "pay" | "ref" | "ent" | "trf" | "evt" | "fam" | "apr";

const ulid = monotonicFactory();

/** A new id: `<prefix>_<ULID>`, sortable by creation time. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}

const ID_PATTERN = /^(usr|acc|pay|ref|ent|trf|evt|fam|apr)_[0-9A-HJKMNP-TV-Z]{26}$/;

/** True when `value` is a well-formed id with the given prefix. */
export function isId(value: string, prefix: IdPrefix): boolean {
  return ID_PATTERN.test(value) && value.startsWith(`${prefix}_`);
}
