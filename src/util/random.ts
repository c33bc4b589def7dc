/**
 * A small seeded uniform generator for synthetic loads (benchmarks and test fixtures that need the same numbers
 * each run): mulberry32 (Tommy Ettinger's 32-bit generator, as widely republished), period 2^32. Not for Monte
 * Carlo studies: the twin draws from pure-rand. Pure: no Node APIs.
 * @module
 */

/** A generator of uniform numbers on [0, 1), the same sequence for the same `seed`. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
