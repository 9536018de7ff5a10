// The report's percentiles (src/local/orderStatistics.ts): the values a sort would put at each rank,
// bit for bit, without the sort.
import { strict as assert } from "assert";
import { orderStatistics } from "../src/local/orderStatistics";

/** A deterministic mix: duplicates, both zeros, negatives, tiny and huge magnitudes, infinities. */
function values(n: number, seed: number): Float32Array {
  let state = seed;
  const next = (): number => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const special = [0, -0, 1, -1, 1e-40, -1e-40, 3.4e38, -3.4e38, Infinity, -Infinity, 0.5];
  return Float32Array.from({ length: n }, () => {
    const r = next();
    if (r < 0.3) return special[Math.floor(next() * special.length)]!;
    if (r < 0.5) return Math.round(next() * 8) - 4; // many duplicates
    return (next() - 0.5) * 10 ** Math.floor(next() * 12 - 6);
  });
}

/** Same value, same sign of zero. */
const same = (a: number, b: number): boolean => Object.is(a, b);

describe("order statistics: a sort's values at given ranks, without sorting", () => {
  it("gives every rank of small arrays as Float32Array.prototype.sort orders them (-0 before +0)", () => {
    for (const [n, seed] of [[1, 1], [2, 2], [7, 3], [64, 4], [1000, 5]] as const) {
      const input = values(n, seed);
      const sorted = Float32Array.from(input).sort();
      const ranks = Array.from({ length: n }, (_, i) => i);
      const got = orderStatistics(input, ranks);
      ranks.forEach((r) => assert.ok(same(got[r]!, sorted[r]!), `n ${n}, rank ${r}: ${got[r]} against ${sorted[r]}`));
    }
  });

  it("gives the ranks asked for of large arrays, in the order asked, and leaves the input as it was", () => {
    const input = values(200_000, 9);
    const copy = Float32Array.from(input);
    const sorted = Float32Array.from(input).sort();
    const ranks = [199_999, 0, 3_999, 4_000, 196_000, 100_000, 100_001, 4_000];
    const got = orderStatistics(input, ranks);
    ranks.forEach((r, k) => assert.ok(same(got[k]!, sorted[r]!), `rank ${r}: ${got[k]} against ${sorted[r]}`));
    assert.deepEqual(input, copy);
  });

  it("tells apart -0 and +0 as the sort does", () => {
    assert.ok(Object.is(orderStatistics(Float32Array.of(0, -0), [0])[0], -0));
    assert.ok(Object.is(orderStatistics(Float32Array.of(0, -0), [1])[0], 0));
  });

  it("refuses a rank outside the values", () => {
    assert.throws(() => orderStatistics(Float32Array.of(1, 2), [2]), /rank 2 of 2 values/);
    assert.throws(() => orderStatistics(new Float32Array(0), [0]), /rank 0 of 0 values/);
    assert.throws(() => orderStatistics(Float32Array.of(1), [0.5]), /rank 0.5/);
  });
});
