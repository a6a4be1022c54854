/**
 * Seeded pseudo-random numbers for the bench generators: the same seed gives the same fleet and
 * the same trace on every machine, so numbers from two runs describe the same input.
 *
 * A 32-bit xorshift (Marsaglia's 13/17/5 triple) seeded through an integer hash so that nearby
 * seeds give unrelated streams. Plenty for picking shapes; not for anything cryptographic.
 */
export function seeded(seed = 1) {
  let x = (Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  for (let i = 0; i < 8; i++) next();
  return {
    /** float in [0, 1) */
    float: () => next() / 4294967296,
    /** integer in [0, n) */
    int: (n) => Math.floor((next() / 4294967296) * n),
    /** true with probability p */
    chance: (p) => next() / 4294967296 < p,
    /** one element of a non-empty array */
    pick: (arr) => arr[Math.floor((next() / 4294967296) * arr.length)],
  };
}
