// Micro benchmark of ExtentMap (not part of the tests; no thresholds).
//   npm run build && node bench/extents.bench.mjs [ops] [leaf capacity]
// For each payload kind: grow a map to ~1e5 extents, then time `ops` (default 1e6) random operations,
// a third each of set / delete / lookup, interleaved, then each kind alone; print ops/sec.
import { performance } from 'node:perf_hooks';
import { constant, ExtentMap, linear } from '../dist/model/extents.js';

const OPS = Number(process.argv[2] ?? 1e6);
/** ExtentMap's `maxNodeSize` (its leaf capacity); default: the map's default. */
const CAPACITY = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const TARGET_EXTENTS = 1e5;
const UNIVERSE = 2e6; // frames the random ranges fall in
const MAX_LEN = 32;

/** Seeded PRNG (mulberry32) so runs are comparable. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function scenario(name, ops, valueAt) {
  const rand = rng(42);
  const int = (n) => Math.floor(rand() * n);
  const m = new ExtentMap(ops, CAPACITY === undefined ? undefined : { maxNodeSize: CAPACITY });

  let t0 = performance.now();
  let grow = 0;
  while (m.size < TARGET_EXTENTS) {
    const s = int(UNIVERSE);
    m.set(s, s + int(MAX_LEN), valueAt(s, int));
    grow++;
  }
  const growMs = performance.now() - t0;

  // pre-generate the workload so the timed loop measures the map, not the PRNG
  const kind = new Uint8Array(OPS);
  const starts = new Float64Array(OPS);
  const lens = new Float64Array(OPS);
  const values = new Array(OPS);
  for (let i = 0; i < OPS; i++) {
    kind[i] = int(3);
    starts[i] = int(UNIVERSE);
    lens[i] = int(MAX_LEN);
    values[i] = kind[i] === 0 ? valueAt(starts[i], int) : undefined;
  }
  let hits = 0;
  const run = (only) => {
    const t = performance.now();
    let n = 0;
    for (let i = 0; i < OPS; i++) {
      const k = kind[i];
      if (only !== undefined && k !== only) continue;
      n++;
      if (k === 0) m.set(starts[i], starts[i] + lens[i], values[i]);
      else if (k === 1) m.delete(starts[i], starts[i] + lens[i]);
      else if (m.lookup(starts[i]) !== undefined) hits++;
    }
    return [n, performance.now() - t];
  };
  const grownTo = m.size;
  const mixed = run(undefined);
  const afterMixed = m.size;
  const lookups = run(2);
  const sets = run(0);
  const deletes = run(1);

  const rate = ([n, ms]) => `${Math.round((n / ms) * 1000).toLocaleString('en-US')} ops/s`;
  const fmt = (n) => n.toLocaleString('en-US');
  console.log(name);
  console.log(`  grow:    ${fmt(grow)} sets to ${fmt(grownTo)} extents, ${rate([grow, growMs])}`);
  console.log(`  mixed:   ${rate(mixed)} over ${fmt(OPS)} set/delete/lookup, ${fmt(afterMixed)} extents after`);
  console.log(`  lookup:  ${rate(lookups)} (${fmt(lookups[0])} alone)`);
  console.log(`  set:     ${rate(sets)} (${fmt(sets[0])} alone)`);
  console.log(`  delete:  ${rate(deletes)} (${fmt(deletes[0])} alone)`);
  console.log(`  final:   ${fmt(m.size)} extents, ${fmt(m.frames)} frames, ${fmt(hits)} lookup hits`);
}

scenario('constant payload (16 distinct values)', constant, (_s, int) => int(16));
scenario('linear payload ({ base, dom })', linear(), (s, int) => ({ base: (s + int(4)) * 2, dom: int(4) }));
