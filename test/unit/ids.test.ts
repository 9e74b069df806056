import { afterEach, describe, expect, it, vi } from "vitest";
import { isId, newId } from "../../lib/ids.ts";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

describe("newId", () => {
  afterEach(() => vi.useRealTimers());

  it("gives well-formed, distinct ids that sort by creation within a millisecond", () => {
    const ids = Array.from({ length: 2_000 }, () => newId("pay"));
    expect(ids.every((id) => isId(id, "pay"))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it("draws every random character evenly from the whole alphabet, across pool refills", () => {
    // A new millisecond per id: ulid then draws all sixteen random characters afresh
    // (within one millisecond it increments instead). 5,000 ids use 80,000 random bytes,
    // about twenty refills of the 4 KiB pool.
    // (An hour ahead: a millisecond the generator has already used would increment.)
    const start = Date.now() + 3_600_000;
    vi.useFakeTimers();
    const counts = new Map<string, number>();
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      vi.setSystemTime(start + i);
      const random = newId("trf").slice("trf_".length + 10); // after the 10 time characters
      seen.add(random);
      for (const ch of random) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    }
    expect(seen.size).toBe(5_000);
    expect([...counts.keys()].sort().join("")).toBe(CROCKFORD);
    // 80,000 characters over 32 symbols: 2,500 each expected (standard deviation ~49).
    for (const n of counts.values()) {
      expect(n).toBeGreaterThan(2_000);
      expect(n).toBeLessThan(3_000);
    }
  });
});
