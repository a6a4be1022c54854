/**
 * Property-based tests of ExtentMap against a naive model: a Map with one entry per frame holding
 * the value AS SEEN AT THAT FRAME, over the small universe of frames 0..200.
 *
 * Default: ~300 seeded sequences per payload kind (fast). `PVIOMMU_PROPS=long`: 10,000 sequences
 * per kind, seed from PVIOMMU_PROPS_SEED if given, else random (fast-check prints it on failure).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constant, ExtentMap, linear, type PayloadOps } from '../../src/model/extents.js';

const LONG = process.env.PVIOMMU_PROPS === 'long';
const NUM_RUNS = LONG ? 10_000 : 300;
const SEED = LONG
  ? process.env.PVIOMMU_PROPS_SEED !== undefined
    ? Number(process.env.PVIOMMU_PROPS_SEED)
    : undefined
  : 42;
const FC_OPTS: fc.Parameters<unknown> = SEED === undefined ? { numRuns: NUM_RUNS } : { numRuns: NUM_RUNS, seed: SEED };
const TIMEOUT = LONG ? 30 * 60_000 : 60_000;

/** Ops touch frames 0..MAX_OP; queries reach a little beyond, into never-covered frames. */
const MAX_OP = 200;
const MAX_Q = 230;

type Op<V> =
  | { kind: 'set'; start: number; end: number; value: V; q: [number, number] }
  | { kind: 'delete'; start: number; end: number; q: [number, number] }
  | { kind: 'point'; frame: number; value: V; q: [number, number] }
  | { kind: 'clone'; q: [number, number] };

interface Kind<V> {
  name: string;
  ops: PayloadOps<V>;
  /** value generator; receives the range start so linear bases can line up with neighbours */
  value: (start: number) => fc.Arbitrary<V>;
  /** value seen `d` frames after a frame whose value is v (independent of ops.shift) */
  at: (v: V, d: number) => V;
  /** whether frame f+1 holding b continues frame f holding a (independent of ops.joinable) */
  continues: (a: V, b: V) => boolean;
}

interface Lin {
  base: number;
  tag: string;
}

const KINDS: Kind<unknown>[] = [
  {
    name: 'constant numbers',
    ops: constant,
    value: () => fc.integer({ min: 0, max: 3 }),
    at: (v) => v,
    continues: (a, b) => a === b,
  } satisfies Kind<number> as Kind<unknown>,
  {
    name: 'constant objects (shallow structural equality)',
    ops: constant,
    // fresh objects every time: equal-looking payloads must still merge
    value: () => fc.record({ dom: fc.integer({ min: 0, max: 2 }), rw: fc.boolean() }),
    at: (v) => v,
    continues: (a, b) => a.dom === b.dom && a.rw === b.rw,
  } satisfies Kind<{ dom: number; rw: boolean }> as Kind<unknown>,
  {
    name: 'linear',
    ops: linear<Lin>(),
    // bases aligned to the start (offset 0..2) so that neighbours often continue each other, or random
    value: (start) =>
      fc.record({
        base: fc.oneof(
          fc.integer({ min: 0, max: 2 }).map((o) => 1000 + start + o),
          fc.integer({ min: 0, max: 1500 }),
        ),
        tag: fc.constantFrom('a', 'b'),
      }),
    at: (v, d) => ({ base: v.base + d, tag: v.tag }),
    continues: (a, b) => b.base === a.base + 1 && a.tag === b.tag,
  } satisfies Kind<Lin> as Kind<unknown>,
  {
    // A payload that is a number (the p2m's packed entries, the M2P): blank slots hold 0, a value too.
    name: 'linear numbers, blank 0',
    ops: { shift: (v: number, d: number) => v + d, joinable: (a: number, n: number, b: number) => b === a + n, blank: 0 },
    value: (start) => fc.oneof(fc.integer({ min: 0, max: 2 }).map((o) => 1000 + start + o), fc.integer({ min: 0, max: 1500 })),
    at: (v, d) => v + d,
    continues: (a, b) => b === a + 1,
  } satisfies Kind<number> as Kind<unknown>,
];

function rangeArb(max: number): fc.Arbitrary<[number, number]> {
  return fc
    .tuple(fc.integer({ min: 0, max }), fc.integer({ min: 0, max }))
    .map(([a, b]) => (a <= b ? [a, b] : [b, a]) as [number, number]);
}

/** A frame for one-frame edits: any, or one of a few (so that edits of one frame meet). */
const oneFrame = fc.oneof(fc.integer({ min: 0, max: MAX_OP }), fc.constantFrom(0, 7, 8, 100, MAX_OP));

function opArb<V>(kind: Kind<V>): fc.Arbitrary<Op<V>> {
  const q = rangeArb(MAX_Q);
  return fc.oneof(
    { weight: 6, arbitrary: fc.tuple(rangeArb(MAX_OP), q).chain(([[start, end], qr]) =>
        kind.value(start).map((value): Op<V> => ({ kind: 'set', start, end, value, q: qr })),
      ) },
    { weight: 3, arbitrary: fc.tuple(rangeArb(MAX_OP), q).map(([[start, end], qr]): Op<V> => ({ kind: 'delete', start, end, q: qr })) },
    // setPoint: one frame, often one already covered (held aside), sometimes its stored value again;
    // half of them on a few frames, so that points meet points (written twice, then deleted)
    { weight: 6, arbitrary: fc.tuple(oneFrame, q).chain(([frame, qr]) =>
        kind.value(frame).map((value): Op<V> => ({ kind: 'point', frame, value, q: qr })),
      ) },
    { weight: 2, arbitrary: fc.tuple(oneFrame, q).map(([frame, qr]): Op<V> => ({ kind: 'delete', start: frame, end: frame, q: qr })) },
    // a short range from such a frame (a held point at its start, extents after it)
    { weight: 1, arbitrary: fc.tuple(oneFrame, fc.integer({ min: 1, max: 12 }), q).map(([frame, len, qr]): Op<V> => ({ kind: 'delete', start: frame, end: Math.min(frame + len, MAX_OP), q: qr })) },
    { weight: 1, arbitrary: q.map((qr): Op<V> => ({ kind: 'clone', q: qr })) },
  );
}

interface Run<V> {
  start: number;
  end: number;
  value: V;
}

/** Canonical run-length encoding of the naive model. */
function rle<V>(kind: Kind<V>, naive: Map<number, V>): Run<V>[] {
  const out: Run<V>[] = [];
  let cur: Run<V> | undefined;
  let prev: V | undefined;
  for (let f = 0; f <= MAX_Q; f++) {
    const v = naive.get(f);
    if (v === undefined) {
      cur = undefined;
      continue;
    }
    if (cur !== undefined && cur.end === f - 1 && kind.continues(prev as V, v)) {
      cur.end = f;
    } else {
      cur = { start: f, end: f, value: v };
      out.push(cur);
    }
    prev = v;
  }
  return out;
}

/** The value at `f` as `raw` gives it: the stored payload shifted by hand from `rawStart`. */
function rawAt<V>(map: ExtentMap<V>, f: number): V | undefined {
  const r = map.raw(f);
  return r === undefined ? undefined : map.ops.shift(r, f - map.rawStart);
}

/**
 * What the map answers while it holds points (`setPoint`): invariants, point look-ups of every
 * frame, coverage over q, `get` at q's end, then `overlapping` over q. Questions of coverage write
 * in the points over gaps of q, `get` and `overlapping` those of their range; the others stay held
 * for the next edits.
 */
function checkLight<V>(kind: Kind<V>, map: ExtentMap<V>, naive: Map<number, V>, q: [number, number]): void {
  map.checkInvariants();
  const [qs, qe] = q;
  const runs = rle(kind, naive);
  const got = { lookup: [] as unknown[], raw: [] as unknown[], has: [] as boolean[] };
  const want = { lookup: [] as unknown[], raw: [] as unknown[], has: [] as boolean[] };
  for (let f = 0; f <= MAX_Q; f++) {
    got.lookup.push(map.lookup(f));
    got.raw.push(rawAt(map, f));
    got.has.push(map.has(f));
    const v = naive.get(f);
    want.lookup.push(v);
    want.raw.push(v);
    want.has.push(v !== undefined);
  }
  expect(got).toEqual(want);
  expect(map.frames).toBe(naive.size);
  checkCoverage(map, naive, qs, qe);
  // get: the maximal extent at qe (it writes in only the points inside that extent and next to it)
  expect(map.get(qe)).toEqual(runs.find((r) => r.start <= qe && r.end >= qe));
  expect([...map.overlapping(qs, qe)]).toEqual(clip(kind, runs, qs, qe));
  map.checkInvariants();
}

function checkAgainst<V>(kind: Kind<V>, map: ExtentMap<V>, naive: Map<number, V>, q: [number, number]): void {
  map.checkInvariants();
  const runs = rle(kind, naive);

  // maximal merging: the extent list IS the canonical RLE
  expect(map.toArray()).toEqual(runs);
  expect(map.size).toBe(runs.length);
  expect(map.frames).toBe(naive.size);
  expect(map.lowest()).toEqual(runs[0]);
  expect(map.highest()).toEqual(runs[runs.length - 1]);

  // point queries, every frame (compared in bulk: one expect per kind of query)
  const got = { lookup: [] as unknown[], raw: [] as unknown[], has: [] as boolean[], get: [] as unknown[] };
  const want = { lookup: [] as unknown[], raw: [] as unknown[], has: [] as boolean[], get: [] as unknown[] };
  let ri = 0;
  for (let f = 0; f <= MAX_Q; f++) {
    const v = naive.get(f);
    while (ri < runs.length && runs[ri]!.end < f) ri++;
    const run = ri < runs.length && runs[ri]!.start <= f ? runs[ri] : undefined;
    got.lookup.push(map.lookup(f));
    got.raw.push(rawAt(map, f));
    got.has.push(map.has(f));
    got.get.push(map.get(f));
    want.lookup.push(v);
    want.raw.push(v);
    want.has.push(v !== undefined);
    want.get.push(run);
  }
  expect(got).toEqual(want);

  for (const [qs, qe] of [q, [0, MAX_Q] as [number, number]]) {
    expect([...map.overlapping(qs, qe)]).toEqual(clip(kind, runs, qs, qe));

    checkCoverage(map, naive, qs, qe);
  }
}

/** What `overlapping(qs, qe)` must give: the runs clipped to [qs, qe], each value as seen at its clipped start. */
function clip<V>(kind: Kind<V>, runs: Run<V>[], qs: number, qe: number): Run<V>[] {
  return runs
    .filter((r) => r.end >= qs && r.start <= qe)
    .map((r) => {
      const s = Math.max(r.start, qs);
      return { start: s, end: Math.min(r.end, qe), value: kind.at(r.value, s - r.start) };
    });
}

/**
 * gaps / firstGap / firstCovered / covered / anyIn over [qs, qe], straight from the naive model.
 * The first of them to ask may meet points held over gaps (it writes them in): which one goes
 * first turns with q.
 */
function checkCoverage<V>(map: ExtentMap<V>, naive: Map<number, V>, qs: number, qe: number): void {
  const gaps: { start: number; end: number }[] = [];
  let first: number | undefined;
  let firstCovered: number | undefined;
  for (let f = qs; f <= qe; f++) {
    if (naive.has(f)) {
      firstCovered ??= f;
      continue;
    }
    first ??= f;
    const last = gaps[gaps.length - 1];
    if (last !== undefined && last.end === f - 1) last.end = f;
    else gaps.push({ start: f, end: f });
  }
  const checks = [
    () => expect([...map.gaps(qs, qe)]).toEqual(gaps),
    () => expect(map.firstGap(qs, qe)).toBe(first),
    () => expect(map.firstCovered(qs, qe)).toBe(firstCovered),
    () => expect(map.covered(qs, qe)).toBe(first === undefined),
    () => expect(map.anyIn(qs, qe)).toBe(firstCovered !== undefined),
  ];
  const turn = (qs + qe) % checks.length;
  for (let i = 0; i < checks.length; i++) checks[(turn + i) % checks.length]!();
}

function runSequence<V>(kind: Kind<V>, ops: Op<V>[], options: { maxNodeSize?: number; trackCoverage?: boolean }): void {
  const map = new ExtentMap<V>(kind.ops, options);
  const naive = new Map<number, V>();
  const snapshots: { map: ExtentMap<V>; naive: Map<number, V> }[] = [];
  for (const op of ops) {
    if (op.kind === 'set') {
      map.set(op.start, op.end, op.value);
      for (let f = op.start; f <= op.end; f++) naive.set(f, kind.at(op.value, f - op.start));
    } else if (op.kind === 'delete') {
      map.delete(op.start, op.end);
      for (let f = op.start; f <= op.end; f++) naive.delete(f);
    } else if (op.kind === 'point') {
      map.setPoint(op.frame, op.value);
      naive.set(op.frame, op.value);
    } else {
      snapshots.push({ map: map.clone(), naive: new Map(naive) });
    }
    // Most steps look without writing the held points in, so that later edits meet them; one in
    // four (and every clone) checks everything, which writes them all.
    if (op.kind === 'clone' || (op.q[0] + op.q[1]) % 4 === 0) checkAgainst(kind, map, naive, op.q);
    // (half of the points are looked at from their frame on, where they meet the questions first;
    // the others stay held, out of q, for later edits to meet)
    else if (op.kind === 'point' && op.q[0] % 2 === 0) checkLight(kind, map, naive, [op.frame, Math.max(op.frame, op.q[1])]);
    else checkLight(kind, map, naive, op.q);
  }
  // clones taken along the way are unaffected by later edits of the original
  for (const s of snapshots) checkAgainst(kind, s.map, s.naive, [0, MAX_Q]);
  // ...and editing a clone leaves the original alone
  const firstSet = ops.find((o) => o.kind === 'set');
  if (snapshots.length > 0 && firstSet !== undefined) {
    const c = snapshots[0]!.map;
    c.set(0, MAX_OP, firstSet.value);
    c.delete(50, 60);
    checkAgainst(kind, map, naive, [0, MAX_Q]);
  }
}

describe(`ExtentMap vs naive per-frame model (${NUM_RUNS} runs${LONG ? ', long' : ''})`, () => {
  for (const kind of KINDS) {
    // maxNodeSize is the leaf capacity: 4 gives many leaves, 8 also merges under-full ones (< 2);
    // with a coverage index, setPoint holds values over covered frames only
    for (const options of [{}, { maxNodeSize: 4 }, { maxNodeSize: 8 }, { maxNodeSize: 4, trackCoverage: true }]) {
      const name = `maxNodeSize ${options.maxNodeSize ?? 'default'}${'trackCoverage' in options ? ', coverage index' : ''}`;
      it(`${kind.name}, ${name}`, { timeout: TIMEOUT }, () => {
        fc.assert(
          fc.property(fc.array(opArb(kind), { minLength: 1, maxLength: 40 }), (ops) => {
            runSequence(kind, ops, options);
          }),
          FC_OPTS,
        );
      });
    }
  }
});
