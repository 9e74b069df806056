import { describe, expect, it } from "vitest";
import { SlidingWindowLimit } from "../../local/throttle.ts";

describe("SlidingWindowLimit (the local mirror of a WAF rate-based rule)", () => {
  it("allows `limit` requests per key in any trailing window, then says how long to wait", () => {
    const limit = new SlidingWindowLimit(2, 10_000);
    expect(limit.take("a", 0)).toBeUndefined();
    expect(limit.take("a", 4_000)).toBeUndefined();
    expect(limit.take("a", 5_000)).toBe(5); // the request at 0 leaves the window at 10 s
    expect(limit.take("b", 5_000)).toBeUndefined(); // keys are counted apart
    expect(limit.take("a", 10_001)).toBeUndefined();
    expect(limit.take("a", 10_002)).toBe(4); // the one at 4 s leaves at 14 s
    expect(limit.take("a", 14_001)).toBeUndefined();
  });

  it("is off with a limit of 0", () => {
    const off = new SlidingWindowLimit(0, 1_000);
    for (let i = 0; i < 100; i += 1) expect(off.take("a", i)).toBeUndefined();
  });
});
