import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  constant,
  constantWith,
  ExtentMap,
  linear,
  MAX_FRAME,
  shallowEqual,
  type Extent,
} from '../../src/model/extents.js';

interface Lin {
  base: number;
  tag: string;
}

function ext<T>(start: number, end: number, value: T): Extent<T> {
  return { start, end, value };
}

function consts(...triples: [number, number, unknown][]): ExtentMap<unknown> {
  const m = new ExtentMap<unknown>(constant);
  for (const [s, e, v] of triples) m.set(s, e, v);
  m.checkInvariants();
  return m;
}

describe('payload ops', () => {
  it('constant: identity shift, shallow structural equality', () => {
    expect(constant.shift('x', 12)).toBe('x');
    const o = { d: 1 };
    expect(constant.shift(o, 5)).toBe(o);
    expect(constant.joinable(1, 10, 1)).toBe(true);
    expect(constant.joinable(1, 10, 2)).toBe(false);
    expect(constant.joinable({ d: 1, rw: true }, 3, { d: 1, rw: true })).toBe(true);
    expect(constant.joinable({ d: 1 }, 3, { d: 1, rw: true })).toBe(false);
    expect(constant.joinable({ d: 1, x: undefined }, 3, { d: 1, y: undefined })).toBe(false);
    // nested objects compare by identity
    expect(constant.joinable({ n: { a: 1 } }, 3, { n: { a: 1 } })).toBe(false);
    expect(constant.joinable([1, 2], 3, [1, 2])).toBe(true);
    expect(constant.joinable([1, 2], 3, { 0: 1, 1: 2 })).toBe(false);
    expect(constant.joinable(null, 3, {})).toBe(false);
    expect(shallowEqual(undefined, undefined)).toBe(true);
  });

  it('constantWith: custom equality', () => {
    const byId = constantWith<{ id: number; note: string }>((a, b) => a.id === b.id);
    const m = new ExtentMap(byId);
    m.set(0, 9, { id: 1, note: 'first' });
    m.set(10, 19, { id: 1, note: 'second' });
    expect(m.toArray()).toEqual([ext(0, 19, { id: 1, note: 'first' })]);
  });

  it('linear: base shifts, joinable when contiguous and other fields equal', () => {
    const ops = linear<Lin>();
    const v = { base: 100, tag: 'a' };
    expect(ops.shift(v, 0)).toBe(v);
    expect(ops.shift(v, 7)).toEqual({ base: 107, tag: 'a' });
    expect(v.base).toBe(100); // not mutated
    expect(ops.joinable(v, 10, { base: 110, tag: 'a' })).toBe(true);
    expect(ops.joinable(v, 10, { base: 111, tag: 'a' })).toBe(false);
    expect(ops.joinable(v, 10, { base: 110, tag: 'b' })).toBe(false);
    expect(ops.joinable(v, 10, { base: 110, tag: 'a', extra: 1 } as Lin)).toBe(false);
    const byTagOnly = linear<Lin & { seen: number }>((a, b) => a.tag === b.tag);
    expect(byTagOnly.joinable({ base: 0, tag: 'a', seen: 1 }, 4, { base: 4, tag: 'a', seen: 2 })).toBe(true);
  });

  it('linear with a copy function: shifted copies are made by it, with the moved base', () => {
    const made: [Lin, number][] = [];
    const ops = linear<Lin>(undefined, (v, base) => {
      made.push([v, base]);
      return { base, tag: v.tag };
    });
    const v = { base: 100, tag: 'a' };
    expect(ops.shift(v, 0)).toBe(v); // no copy for no shift
    expect(ops.shift(v, 7)).toEqual({ base: 107, tag: 'a' });
    expect(made).toEqual([[v, 107]]);
    const m = new ExtentMap(ops);
    m.set(10, 19, v);
    m.delete(12, 12);
    expect(m.toArray()).toEqual([ext(10, 11, v), ext(13, 19, { base: 103, tag: 'a' })]);
    expect(m.lookup(15)).toEqual({ base: 105, tag: 'a' });
  });
});

describe('ExtentMap basics', () => {
  it('revision changes with every modification, and only then', () => {
    const m = new ExtentMap<number>(constant);
    const seen = new Set<number>([m.revision]);
    const changed = (f: () => void) => {
      f();
      expect(seen.has(m.revision)).toBe(false);
      seen.add(m.revision);
    };
    changed(() => m.set(0, 9, 1));
    changed(() => m.set(3, 3, 2));
    changed(() => m.delete(5, 6));
    const r = m.revision;
    m.lookup(3);
    m.get(0);
    [...m.entries()];
    m.clone();
    m.covered(0, 9);
    expect(m.revision).toBe(r);
    changed(() => m.clear());
  });

  it('empty map', () => {
    const m = new ExtentMap<number>(constant);
    expect(m.size).toBe(0);
    expect(m.frames).toBe(0);
    expect(m.get(0)).toBeUndefined();
    expect(m.lookup(5)).toBeUndefined();
    expect(m.has(5)).toBe(false);
    expect(m.lowest()).toBeUndefined();
    expect(m.highest()).toBeUndefined();
    expect([...m.entries()]).toEqual([]);
    expect([...m.overlapping(0, 100)]).toEqual([]);
    expect([...m.gaps(3, 9)]).toEqual([{ start: 3, end: 9 }]);
    expect(m.firstGap(7, 9)).toBe(7);
    expect(m.covered(0, 0)).toBe(false);
    expect(m.anyIn(0, MAX_FRAME)).toBe(false);
    m.delete(0, 100); // no-op
    m.checkInvariants();
    expect(m.size).toBe(0);
  });

  it('set and get/lookup of a single extent', () => {
    const m = consts([10, 19, 'A']);
    expect(m.size).toBe(1);
    expect(m.frames).toBe(10);
    expect(m.get(9)).toBeUndefined();
    expect(m.get(10)).toEqual(ext(10, 19, 'A'));
    expect(m.get(19)).toEqual(ext(10, 19, 'A'));
    expect(m.get(20)).toBeUndefined();
    expect(m.lookup(15)).toBe('A');
  });

  it('returned extents are copies: mutating them does not change the map', () => {
    const m = consts([10, 19, 'A']);
    const e = m.get(12)!;
    e.end = 1000;
    const [first] = m.entries();
    first!.start = 0;
    expect(m.toArray()).toEqual([ext(10, 19, 'A')]);
  });

  it('highest / lowest', () => {
    const m = consts([50, 59, 'B'], [10, 19, 'A'], [90, 99, 'C']);
    expect(m.lowest()).toEqual(ext(10, 19, 'A'));
    expect(m.highest()).toEqual(ext(90, 99, 'C'));
    m.delete(90, 99);
    expect(m.highest()).toEqual(ext(50, 59, 'B'));
  });

  it('clear', () => {
    const m = consts([0, 9, 'A'], [20, 29, 'B']);
    expect(m.lookup(25)).toBe('B'); // a look-up remembers where it found the frame
    m.clear();
    expect(m.size).toBe(0);
    expect(m.frames).toBe(0);
    expect(m.lookup(25)).toBeUndefined();
    expect(m.has(5)).toBe(false);
    m.checkInvariants();
  });

  it('a look-up after points were held or dropped in the extent it found last is still right', () => {
    const m = consts([0, 99, 'A'], [100, 199, 'B']);
    expect(m.lookup(150)).toBe('B');
    m.setPoint(160, 'C'); // held aside: no extent moved
    expect(m.lookup(150)).toBe('B');
    expect(m.lookup(160)).toBe('C');
    m.set(120, 130, 'D'); // the extent is cut: positions move
    expect(m.lookup(150)).toBe('B');
    expect(m.lookup(125)).toBe('D');
    m.delete(0, 119);
    expect(m.lookup(50)).toBeUndefined();
    expect(m.lookup(135)).toBe('B');
    m.checkInvariants();
  });
});

describe('splitting', () => {
  it('set in the middle of an extent splits it in three', () => {
    const m = consts([0, 99, 'A'], [40, 59, 'B']);
    expect(m.toArray()).toEqual([ext(0, 39, 'A'), ext(40, 59, 'B'), ext(60, 99, 'A')]);
    expect(m.frames).toBe(100);
  });

  it('set at the left edge and at the right edge', () => {
    const m = consts([0, 99, 'A'], [0, 9, 'B'], [90, 99, 'C']);
    expect(m.toArray()).toEqual([ext(0, 9, 'B'), ext(10, 89, 'A'), ext(90, 99, 'C')]);
    expect(m.frames).toBe(100);
  });

  it('set across several extents clips both ends and removes those inside', () => {
    const m = consts([0, 9, 'A'], [10, 19, 'B'], [25, 29, 'C'], [30, 39, 'D'], [50, 59, 'E']);
    m.set(5, 34, 'X');
    m.checkInvariants();
    expect(m.toArray()).toEqual([ext(0, 4, 'A'), ext(5, 34, 'X'), ext(35, 39, 'D'), ext(50, 59, 'E')]);
    expect(m.frames).toBe(5 + 30 + 5 + 10);
  });

  it('set exactly over an extent replaces it', () => {
    const m = consts([0, 9, 'A'], [10, 19, 'B'], [20, 29, 'C']);
    m.set(10, 19, 'X');
    expect(m.toArray()).toEqual([ext(0, 9, 'A'), ext(10, 19, 'X'), ext(20, 29, 'C')]);
  });

  it('delete in the middle, at the edges, across extents', () => {
    const m = consts([0, 99, 'A']);
    m.delete(40, 59);
    expect(m.toArray()).toEqual([ext(0, 39, 'A'), ext(60, 99, 'A')]);
    m.delete(0, 0);
    m.delete(99, 99);
    expect(m.toArray()).toEqual([ext(1, 39, 'A'), ext(60, 98, 'A')]);
    m.delete(30, 70);
    m.checkInvariants();
    expect(m.toArray()).toEqual([ext(1, 29, 'A'), ext(71, 98, 'A')]);
    expect(m.frames).toBe(29 + 28);
    m.delete(0, 1000);
    expect(m.size).toBe(0);
    expect(m.frames).toBe(0);
  });

  it('linear payload is shifted on split', () => {
    const m = new ExtentMap(linear<Lin>());
    m.set(100, 199, { base: 1000, tag: 'x' });
    m.delete(120, 129);
    m.checkInvariants();
    expect(m.toArray()).toEqual([ext(100, 119, { base: 1000, tag: 'x' }), ext(130, 199, { base: 1030, tag: 'x' })]);
    expect(m.lookup(150)).toEqual({ base: 1050, tag: 'x' });
    expect(m.lookup(100)).toEqual({ base: 1000, tag: 'x' });
    // a set in the middle with a non-contiguous base: the right remainder keeps its shifted base
    m.set(140, 149, { base: 5, tag: 'x' });
    expect(m.toArray()).toEqual([
      ext(100, 119, { base: 1000, tag: 'x' }),
      ext(130, 139, { base: 1030, tag: 'x' }),
      ext(140, 149, { base: 5, tag: 'x' }),
      ext(150, 199, { base: 1050, tag: 'x' }),
    ]);
  });

  it('raw: the stored payload and the frame it is the value of, without a shifted copy', () => {
    const m = new ExtentMap(linear<Lin>());
    const stored = { base: 1000, tag: 'x' };
    m.set(100, 199, stored);
    expect(m.raw(150)).toBe(stored);
    expect(m.rawStart).toBe(100);
    expect(m.raw(99)).toBeUndefined();
    // a point held inside the extent is its own payload, at its own frame
    const held = { base: 7, tag: 'y' };
    m.setPoint(120, held);
    expect(m.raw(120)).toBe(held);
    expect(m.rawStart).toBe(120);
    expect(m.raw(121)).toBe(stored);
    expect(m.rawStart).toBe(100);
    expect(m.ops.shift(m.raw(121)!, 121 - m.rawStart)).toEqual(m.lookup(121));
    m.checkInvariants();
  });

  it('overlapping clips and shifts linear payloads', () => {
    const m = new ExtentMap(linear<Lin>());
    m.set(0, 9, { base: 500, tag: 'a' });
    m.set(10, 19, { base: 0, tag: 'b' });
    m.set(30, 39, { base: 70, tag: 'a' });
    expect([...m.overlapping(5, 32)]).toEqual([
      ext(5, 9, { base: 505, tag: 'a' }),
      ext(10, 19, { base: 0, tag: 'b' }),
      ext(30, 32, { base: 70, tag: 'a' }),
    ]);
    expect([...m.overlapping(12, 13)]).toEqual([ext(12, 13, { base: 2, tag: 'b' })]);
    expect([...m.overlapping(20, 29)]).toEqual([]);
    expect([...m.overlapping(39, 1000)]).toEqual([ext(39, 39, { base: 79, tag: 'a' })]);
  });
});

describe('merging', () => {
  it('merges with both neighbours', () => {
    const m = consts([0, 9, 'A'], [20, 29, 'A'], [10, 19, 'A']);
    expect(m.toArray()).toEqual([ext(0, 29, 'A')]);
    expect(m.size).toBe(1);
    expect(m.frames).toBe(30);
  });

  it('overwriting a hole back with the same value restores one extent', () => {
    const m = consts([0, 99, 'A'], [40, 59, 'B'], [40, 59, 'A']);
    expect(m.toArray()).toEqual([ext(0, 99, 'A')]);
  });

  it('merges only with joinable neighbours', () => {
    const m = consts([0, 9, 'A'], [20, 29, 'B'], [10, 19, 'A']);
    expect(m.toArray()).toEqual([ext(0, 19, 'A'), ext(20, 29, 'B')]);
    m.set(10, 19, 'B');
    expect(m.toArray()).toEqual([ext(0, 9, 'A'), ext(10, 29, 'B')]);
  });

  it('does not merge across a gap', () => {
    const m = consts([0, 9, 'A'], [11, 19, 'A']);
    expect(m.size).toBe(2);
  });

  it('merges structurally equal constant objects, keeping the left object', () => {
    const left = { dom: 1 };
    const m = new ExtentMap<{ dom: number }>(constant);
    m.set(0, 9, left);
    m.set(10, 19, { dom: 1 });
    m.set(20, 29, { dom: 2 });
    expect(m.size).toBe(2);
    expect(m.get(15)!.value).toBe(left);
  });

  it('linear: rejoins a split mapping, not a discontinuous one', () => {
    const m = new ExtentMap(linear<Lin>());
    m.set(100, 199, { base: 1000, tag: 'x' });
    m.delete(120, 129);
    m.set(120, 129, { base: 1020, tag: 'x' });
    m.checkInvariants();
    expect(m.toArray()).toEqual([ext(100, 199, { base: 1000, tag: 'x' })]);
    m.set(120, 129, { base: 1020, tag: 'y' });
    expect(m.size).toBe(3);
    m.set(120, 129, { base: 1021, tag: 'x' });
    expect(m.size).toBe(3);
    m.set(200, 209, { base: 1100, tag: 'x' });
    expect(m.highest()).toEqual(ext(130, 209, { base: 1030, tag: 'x' }));
  });

  it('merging a left neighbour then a right one uses the merged length', () => {
    const m = new ExtentMap(linear<Lin>());
    m.set(0, 4, { base: 10, tag: 'a' });
    m.set(10, 14, { base: 20, tag: 'a' });
    m.set(5, 9, { base: 15, tag: 'a' });
    expect(m.toArray()).toEqual([ext(0, 14, { base: 10, tag: 'a' })]);
  });
});

describe('gaps, firstGap, covered, anyIn', () => {
  const m = consts([10, 19, 'A'], [20, 29, 'B'], [40, 49, 'A']);

  it('gaps', () => {
    expect([...m.gaps(0, 60)]).toEqual([
      { start: 0, end: 9 },
      { start: 30, end: 39 },
      { start: 50, end: 60 },
    ]);
    expect([...m.gaps(15, 45)]).toEqual([{ start: 30, end: 39 }]);
    expect([...m.gaps(10, 29)]).toEqual([]);
    expect([...m.gaps(35, 35)]).toEqual([{ start: 35, end: 35 }]);
  });

  it('firstCovered: the frame itself, the next extent within the limit, or nothing', () => {
    const e = new ExtentMap<number>(constant);
    expect(e.firstCovered(0, MAX_FRAME)).toBeUndefined();
    expect(m.firstCovered(0, 100)).toBe(10);
    expect(m.firstCovered(0, 9)).toBeUndefined();
    expect(m.firstCovered(12, 100)).toBe(12);
    expect(m.firstCovered(30, 100)).toBe(40);
    expect(m.firstCovered(30, 39)).toBeUndefined();
    expect(m.firstCovered(50, MAX_FRAME)).toBeUndefined();
    expect(m.firstCovered(29, 29)).toBe(29);
    expect(() => m.firstCovered(5, 4)).toThrow(RangeError);
  });

  it('firstGap walks adjacent but unjoinable extents', () => {
    expect(m.firstGap(0, 100)).toBe(0);
    expect(m.firstGap(10, 100)).toBe(30);
    expect(m.firstGap(25, 100)).toBe(30);
    expect(m.firstGap(10, 29)).toBeUndefined();
    expect(m.firstGap(10, 30)).toBe(30);
    expect(m.firstGap(40, 49)).toBeUndefined();
    expect(m.firstGap(45, 60)).toBe(50);
  });

  it('covered / anyIn', () => {
    expect(m.covered(10, 29)).toBe(true);
    expect(m.covered(12, 22)).toBe(true);
    expect(m.covered(10, 30)).toBe(false);
    expect(m.covered(9, 10)).toBe(false);
    expect(m.anyIn(0, 9)).toBe(false);
    expect(m.anyIn(0, 10)).toBe(true);
    expect(m.anyIn(29, 39)).toBe(true);
    expect(m.anyIn(30, 39)).toBe(false);
    expect(m.anyIn(0, MAX_FRAME)).toBe(true);
    expect(m.anyIn(50, MAX_FRAME)).toBe(false);
  });
});

describe('large ranges and many extents', () => {
  it('a 2^40-frame range is one extent', () => {
    const m = new ExtentMap<number>(constant);
    m.set(0, 2 ** 40, 1);
    expect(m.size).toBe(1);
    expect(m.frames).toBe(2 ** 40 + 1);
    expect(m.lookup(2 ** 39 + 12345)).toBe(1);
    m.set(2 ** 39, 2 ** 39, 2);
    expect(m.toArray()).toEqual([ext(0, 2 ** 39 - 1, 1), ext(2 ** 39, 2 ** 39, 2), ext(2 ** 39 + 1, 2 ** 40, 1)]);
    expect(m.frames).toBe(2 ** 40 + 1);
    m.delete(1, 2 ** 40 - 1);
    expect(m.toArray()).toEqual([ext(0, 0, 1), ext(2 ** 40, 2 ** 40, 1)]);
    expect(m.frames).toBe(2);
    expect([...m.gaps(0, 2 ** 40)]).toEqual([{ start: 1, end: 2 ** 40 - 1 }]);
  });

  it('linear mapping of a 768 GiB host and a hole in it', () => {
    const frames = (768 * 2 ** 30) / 4096;
    const m = new ExtentMap(linear<Lin>());
    m.set(0, frames - 1, { base: 0, tag: 'ram' });
    m.delete(0xa0, 0xff);
    expect(m.size).toBe(2);
    expect(m.frames).toBe(frames - 0x60);
    expect(m.lookup(frames - 1)).toEqual({ base: frames - 1, tag: 'ram' });
    expect(m.get(0x100)).toEqual(ext(0x100, frames - 1, { base: 0x100, tag: 'ram' }));
  });

  it('works up to MAX_FRAME', () => {
    const m = new ExtentMap<string>(constant);
    m.set(MAX_FRAME - 9, MAX_FRAME, 'top');
    m.set(MAX_FRAME - 19, MAX_FRAME - 10, 'top');
    expect(m.toArray()).toEqual([ext(MAX_FRAME - 19, MAX_FRAME, 'top')]);
    expect(m.lookup(MAX_FRAME)).toBe('top');
    expect(m.firstGap(MAX_FRAME - 19, MAX_FRAME)).toBeUndefined();
    expect([...m.gaps(MAX_FRAME - 20, MAX_FRAME)]).toEqual([{ start: MAX_FRAME - 20, end: MAX_FRAME - 20 }]);
    m.delete(MAX_FRAME, MAX_FRAME);
    expect(m.highest()).toEqual(ext(MAX_FRAME - 19, MAX_FRAME - 1, 'top'));
  });

  it('20,000 alternating extents: range set/delete across many B-tree nodes', () => {
    const m = new ExtentMap<number>(constant);
    const n = 20_000;
    for (let i = 0; i < n; i++) m.set(i * 10, i * 10 + 9, i % 2);
    expect(m.size).toBe(n);
    expect(m.frames).toBe(n * 10);
    m.set(15, 10 * n - 16, 7); // keep [0,14] and [10n-15, 10n-1]
    m.checkInvariants();
    expect(m.toArray()).toEqual([
      ext(0, 9, 0),
      ext(10, 14, 1),
      ext(15, 10 * n - 16, 7),
      ext(10 * n - 15, 10 * n - 11, 0),
      ext(10 * n - 10, 10 * n - 1, 1),
    ]);
    for (let i = 0; i < n; i += 2) m.delete(i * 100, i * 100 + 49);
    m.checkInvariants();
    // per-frame model of the same edits (200,000 frames: fine for a test), then its run-length encoding
    const model = new Int8Array(10 * n).fill(-1);
    for (let i = 0; i < n; i++) model.fill(i % 2, i * 10, i * 10 + 10);
    model.fill(7, 15, 10 * n - 15);
    for (let i = 0; i < n; i += 2) model.fill(-1, i * 100, Math.min(i * 100 + 50, 10 * n));
    const runs: Extent<number>[] = [];
    let covered = 0;
    for (let f = 0; f < model.length; f++) {
      const v = model[f]!;
      if (v < 0) continue;
      covered++;
      const last = runs[runs.length - 1];
      if (last !== undefined && last.end === f - 1 && last.value === v) last.end = f;
      else runs.push(ext(f, f, v));
    }
    expect(m.frames).toBe(covered);
    expect(m.toArray()).toEqual(runs);
  });

  it('look-ups find every extent of a map of many leaves whatever their spacing (the guesses and gallops)', () => {
    // A look-up guesses which leaf its frame falls in from the first and last leaves' starts, and
    // where in the leaf from the leaf's first start and the next leaf's, and gallops from each
    // guess. Spacings that mislead the guesses as far as they can: one huge gap among tiny ones (at
    // the front or the back of every 64 extents), uneven gaps, and extents packed back to back.
    const layouts: Record<string, number[]> = {
      skewedFront: [],
      skewedBack: [],
      uneven: [],
      packed: [],
    };
    let f = 0;
    for (let i = 0; i < 4_000; i++) layouts.skewedFront!.push((f += i % 64 === 0 ? 1_000_000 : 3));
    f = 0;
    for (let i = 0; i < 4_000; i++) layouts.skewedBack!.push((f += i % 64 === 63 ? 1_000_000 : 3));
    f = 0;
    for (let i = 0; i < 4_000; i++) layouts.uneven!.push((f += 2 + ((i * 7919) % 64) ** 3));
    for (let i = 0; i < 4_000; i++) layouts.packed!.push(2 * i);
    for (const [name, starts] of Object.entries(layouts)) {
      const m = new ExtentMap<number>(constant);
      // Extents of two frames with distinct values (so never merged, even back to back), set in
      // a scattered order (i → 7919·i mod 4,000 is a permutation) so that leaves split at all fills.
      for (let j = 0; j < starts.length; j++) {
        const i = (j * 7919) % starts.length;
        m.set(starts[i]!, starts[i]! + 1, i);
      }
      m.checkInvariants();
      expect(m.size, name).toBe(starts.length);
      // The frame's value from the list itself: the extent that starts at it or the one before.
      const at = new Map<number, number>();
      starts.forEach((s, i) => at.set(s, i).set(s + 1, i));
      for (const s of starts) {
        for (const q of [Math.max(0, s - 1), s, s + 1, s + 2]) {
          const want = at.get(q);
          if (m.lookup(q) !== want) expect({ layout: name, frame: q, got: m.lookup(q) }).toEqual({ layout: name, frame: q, got: want });
        }
      }
    }
  });
});

/** Points `setPoint` holds aside (white box: shows a one-frame write did not cut the extents). */
function held(m: ExtentMap<unknown>): number {
  return (m as unknown as { pts?: Map<number, unknown> }).pts?.size ?? 0;
}

describe('setPoint', () => {
  it('holds a covered frame aside: look-ups see it, the extents stay whole until a walk needs them', () => {
    const m = consts([0, 99, 'A']);
    m.setPoint(50, 'B');
    m.checkInvariants();
    expect(held(m)).toBe(1);
    expect(m.lookup(50)).toBe('B');
    expect(m.lookup(49)).toBe('A');
    expect(m.has(50)).toBe(true);
    expect(m.frames).toBe(100);
    expect(m.covered(0, 99)).toBe(true);
    // get gives the maximal extent, so it writes in the points inside the extent it finds
    expect(m.get(10)).toEqual(ext(0, 49, 'A'));
    expect(held(m)).toBe(0);
    expect(m.toArray()).toEqual([ext(0, 49, 'A'), ext(50, 50, 'B'), ext(51, 99, 'A')]);
  });

  it('get reaches over a held point next to the extent that continues it', () => {
    // found by the long property run: [43, 84] → 0 with frame 85 held at 0 is one extent [43, 85]
    const m = consts([0, 42, 1], [43, 84, 0], [85, 85, 1]);
    m.setPoint(85, 0);
    expect(held(m)).toBe(1);
    expect(m.get(43)).toEqual(ext(43, 85, 0));
    const n = consts([0, 14, 0], [15, 111, 2]);
    n.setPoint(14, 2);
    expect(n.get(111)).toEqual(ext(14, 111, 2));
    expect(n.get(0)).toEqual(ext(0, 13, 0));
  });

  it('writing the stored value back drops the point: the extents never split', () => {
    const m = consts([0, 99, 'A']);
    const r0 = m.revision;
    m.setPoint(50, 'B');
    expect(m.revision).not.toBe(r0);
    m.setPoint(50, 'A');
    expect(held(m)).toBe(0);
    expect(m.size).toBe(1);
    expect(m.toArray()).toEqual([ext(0, 99, 'A')]);
  });

  it('on a frame no extent covers it is held too, and covers the frame', () => {
    const m = consts([0, 9, 'A']);
    m.setPoint(10, 'A');
    m.setPoint(20, 'B');
    m.checkInvariants();
    expect(held(m)).toBe(2);
    expect(m.has(10)).toBe(true);
    expect(m.has(11)).toBe(false);
    expect(m.lookup(20)).toBe('B');
    expect(m.frames).toBe(12);
    // questions of coverage write in the points over gaps of their range
    expect(m.firstGap(0, 15)).toBe(11);
    expect(held(m)).toBe(1);
    expect(m.anyIn(15, 25)).toBe(true);
    expect(held(m)).toBe(0);
    expect(m.toArray()).toEqual([ext(0, 10, 'A'), ext(20, 20, 'B')]);
  });

  it('a frame mapped and unmapped again leaves the extents as they were', () => {
    const m = consts([0, 9, 'A']);
    const before = m.toArray();
    m.setPoint(50, 'B');
    expect([...m.gaps(40, 60)]).toEqual([
      { start: 40, end: 49 },
      { start: 51, end: 60 },
    ]);
    m.setPoint(70, 'C');
    expect(m.get(70)).toEqual(ext(70, 70, 'C'));
    m.setPoint(80, 'D');
    m.delete(80, 80);
    m.delete(70, 70);
    m.delete(50, 50);
    m.checkInvariants();
    expect(held(m)).toBe(0);
    expect(m.has(80)).toBe(false);
    expect(m.frames).toBe(10);
    expect(m.firstCovered(11, 100)).toBeUndefined();
    expect(m.toArray()).toEqual(before);
  });

  it('deleting a point over a gap uncovers its frame, counts as a change, and a range delete from it goes on', () => {
    const m = consts([0, 9, 'A'], [21, 30, 'C']);
    m.setPoint(20, 'B');
    m.markUncovered();
    const rev = m.revision;
    const walk = m.overlapping(0, 5); // (a walk over frame 20 would write its point in)
    walk.next();
    expect(held(m)).toBe(1);
    m.delete(20, 20);
    expect(m.revision).not.toBe(rev);
    expect(() => walk.next()).toThrow();
    expect(m.uncoveredFrom).toBe(20);
    expect(m.has(20)).toBe(false);
    expect(m.frames).toBe(20);
    // a range that starts at a held point over a gap: the extents after it go too
    m.setPoint(15, 'B');
    m.delete(15, 25);
    m.checkInvariants();
    expect(held(m)).toBe(0);
    expect(m.toArray()).toEqual([ext(0, 9, 'A'), ext(26, 30, 'C')]);
    expect(m.frames).toBe(15);
  });

  it('a map with a coverage index sets a frame it does not cover at once', () => {
    const m = new ExtentMap<unknown>(constant, { trackCoverage: true });
    m.set(0, 9, 'A');
    m.setPoint(10, 'A');
    m.setPoint(20, 'B');
    m.checkInvariants();
    expect(held(m)).toBe(0);
    expect(m.firstGap(0, 30)).toBe(11);
    expect(m.toArray()).toEqual([ext(0, 10, 'A'), ext(20, 20, 'B')]);
  });

  it('set and delete over a held point drop it', () => {
    const m = consts([0, 99, 'A']);
    m.setPoint(50, 'B');
    m.delete(40, 60);
    m.checkInvariants();
    expect(m.lookup(50)).toBeUndefined();
    expect(m.has(50)).toBe(false);
    m.setPoint(30, 'C');
    m.set(0, 35, 'D');
    expect(m.lookup(30)).toBe('D');
    expect(held(m)).toBe(0);
    expect(m.toArray()).toEqual([ext(0, 35, 'D'), ext(36, 39, 'A'), ext(61, 99, 'A')]);
  });

  it('overlapping writes in the points of its range only', () => {
    const m = consts([0, 99, 'A']);
    m.setPoint(10, 'B');
    m.setPoint(90, 'C');
    expect([...m.overlapping(0, 20)]).toEqual([ext(0, 9, 'A'), ext(10, 10, 'B'), ext(11, 20, 'A')]);
    expect(held(m)).toBe(1);
    expect(m.lookup(90)).toBe('C');
    expect([...m.overlapping(85, 99)]).toEqual([ext(85, 89, 'A'), ext(90, 90, 'C'), ext(91, 99, 'A')]);
  });

  it('linear payloads: a point equal to the stored value seen at its frame is no point', () => {
    const m = new ExtentMap(linear<Lin>());
    m.set(0, 99, { base: 1000, tag: 'a' });
    m.setPoint(5, { base: 1005, tag: 'a' });
    expect(held(m as ExtentMap<unknown>)).toBe(0);
    m.setPoint(5, { base: 7, tag: 'a' });
    expect(held(m as ExtentMap<unknown>)).toBe(1);
    expect(m.lookup(5)).toEqual({ base: 7, tag: 'a' });
    expect(m.lookup(6)).toEqual({ base: 1006, tag: 'a' });
    expect(m.toArray()).toEqual([
      ext(0, 4, { base: 1000, tag: 'a' }),
      ext(5, 5, { base: 7, tag: 'a' }),
      ext(6, 99, { base: 1006, tag: 'a' }),
    ]);
  });

  it('a clone takes the points with it and stays independent', () => {
    const m = consts([0, 99, 'A']);
    m.setPoint(50, 'B');
    const c = m.clone();
    m.setPoint(50, 'A');
    expect(c.lookup(50)).toBe('B');
    expect(m.lookup(50)).toBe('A');
    c.checkInvariants();
  });

  it('points whose frames share a bucket (frame mod 2^20) are all found', () => {
    const m = consts([0, 2 ** 21, 'A']);
    // past 1,024 points the map counts them per bucket: hold that many elsewhere first
    for (let f = 10_000; f < 10_000 + 2 * 1_100; f += 2) m.setPoint(f, 'C');
    for (const f of [5, 5 + 2 ** 20, 6 + 2 ** 20, 5 + 2 ** 21]) m.setPoint(f, 'B');
    expect([...m.overlapping(4, 6)]).toEqual([ext(4, 4, 'A'), ext(5, 5, 'B'), ext(6, 6, 'A')]);
    expect([...m.overlapping(5 + 2 ** 20, 5 + 2 ** 20)]).toEqual([ext(5 + 2 ** 20, 5 + 2 ** 20, 'B')]);
    m.checkInvariants();
    expect(m.lookup(5 + 2 ** 21)).toBe('B');
    expect(m.toArray()).toHaveLength(6 + 2 * 1_100); // A, B, A, the C frames and the A between them, B B (one extent), A, and the B past the map's end
  });

  it('holds at most 65,536 points: past that they are written into the extents', () => {
    const m = consts([0, 200_000, 'A']);
    for (let f = 0; f < 140_000; f += 2) m.setPoint(f, 'B');
    m.checkInvariants();
    expect(held(m)).toBeLessThanOrEqual(65_536);
    expect(held(m)).toBeLessThan(70_000);
    for (const f of [0, 2, 139_998]) expect(m.lookup(f)).toBe('B');
    // (overlapping writes in the points of its range whether or not they were still held)
    expect([...m.overlapping(0, 1)]).toEqual([ext(0, 0, 'B'), ext(1, 1, 'A')]);
    for (const f of [1, 139_999, 140_000]) expect(m.lookup(f)).toBe('A');
    expect(m.size).toBe(140_000); // 70,000 B frames, the 69,999 A frames between them, the A run after
  });
});

describe('clone, map, iteration', () => {
  it('clone is independent in both directions', () => {
    const a = consts([0, 99, 'A'], [200, 299, 'B']);
    const b = a.clone();
    b.set(50, 250, 'X');
    a.delete(0, 9);
    a.checkInvariants();
    b.checkInvariants();
    expect(a.toArray()).toEqual([ext(10, 99, 'A'), ext(200, 299, 'B')]);
    expect(b.toArray()).toEqual([ext(0, 49, 'A'), ext(50, 250, 'X'), ext(251, 299, 'B')]);
    expect(a.frames).toBe(190);
    expect(b.frames).toBe(300);
  });

  it('map converts payloads and re-merges under the new ops', () => {
    const m = new ExtentMap(linear<Lin>());
    m.set(0, 9, { base: 100, tag: 'a' });
    m.set(10, 19, { base: 0, tag: 'b' });
    m.set(30, 39, { base: 7, tag: 'a' });
    const tags = m.map(constant, (e) => e.value.tag === 'a' || e.value.tag === 'b');
    tags.checkInvariants();
    expect(tags.toArray()).toEqual([ext(0, 19, true), ext(30, 39, true)]);
  });

  it('entries / Symbol.iterator ascending', () => {
    const m = consts([50, 59, 'B'], [10, 19, 'A']);
    expect([...m]).toEqual([ext(10, 19, 'A'), ext(50, 59, 'B')]);
    expect([...m.entries()]).toEqual([...m]);
  });

  it('modifying the map while iterating throws', () => {
    const m = consts([0, 9, 'A'], [20, 29, 'B'], [40, 49, 'C']);
    expect(() => {
      for (const e of m.entries()) m.delete(e.start, e.end);
    }).toThrow(/modified during iteration/);
    expect(() => {
      for (const g of m.gaps(0, 100)) m.set(g.start, g.end, 'Z');
    }).toThrow(/modified during iteration/);
    // collecting first is fine
    const m2 = consts([0, 9, 'A'], [20, 29, 'B']);
    for (const e of m2.toArray()) m2.delete(e.start, e.end);
    expect(m2.size).toBe(0);
  });
});

describe('argument validation', () => {
  const m = new ExtentMap<number>(constant);
  const bad: [number, number][] = [
    [5, 4],
    [1.5, 3],
    [0, 2.5],
    [-1, 3],
    [0, 2 ** 52],
    [Number.NaN, 1],
    [0, Number.POSITIVE_INFINITY],
  ];
  it.each(bad)('rejects [%s, %s] with a RangeError', (s, e) => {
    expect(() => m.set(s, e, 1)).toThrow(RangeError);
    expect(() => m.delete(s, e)).toThrow(RangeError);
    expect(() => m.overlapping(s, e)).toThrow(RangeError); // eagerly, not on first next()
    expect(() => m.gaps(s, e)).toThrow(RangeError);
    expect(() => m.firstGap(s, e)).toThrow(RangeError);
    expect(() => m.covered(s, e)).toThrow(RangeError);
    expect(() => m.anyIn(s, e)).toThrow(RangeError);
  });

  it('rejects bad frames in point queries', () => {
    for (const f of [-1, 0.5, 2 ** 52, Number.NaN]) {
      expect(() => m.get(f)).toThrow(RangeError);
      expect(() => m.raw(f)).toThrow(RangeError);
      expect(() => m.lookup(f)).toThrow(RangeError);
      expect(() => m.has(f)).toThrow(RangeError);
    }
  });

  it('a rejected call leaves the map untouched', () => {
    const m2 = consts([0, 9, 'A']);
    expect(() => m2.set(5, 2, 'B')).toThrow(RangeError);
    expect(m2.toArray()).toEqual([ext(0, 9, 'A')]);
  });
});

// ---- leaf structure (white-box: reads the private leaf slots to check that the cases happen) ----

/** The slots of the leaves, in order (ExtentMap's private `slotOf`, whose first `leaves` entries are used). */
function leafSlots(m: ExtentMap<unknown>): number[] {
  const x = m as unknown as { slotOf: Int32Array; leaves: number };
  return [...x.slotOf.subarray(0, x.leaves)];
}

/** Extents per leaf, in order (ExtentMap's private `slotOf` and `lens`). */
function leafSizes(m: ExtentMap<unknown>): number[] {
  const lens = (m as unknown as { lens: Int32Array }).lens;
  return leafSlots(m).map((slot) => lens[slot]!);
}

/** Seeded PRNG (mulberry32). */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** Map of capacity `cap` with extents [10i, 10i + 4] = i for i < n (never joinable: gaps between). */
function spaced(n: number, cap: number): ExtentMap<number> {
  const m = new ExtentMap<number>(constant, { maxNodeSize: cap });
  for (let i = 0; i < n; i++) m.set(10 * i, 10 * i + 4, i);
  m.checkInvariants();
  return m;
}

function spacedRuns(ids: number[]): Extent<number>[] {
  return ids.map((i) => ext(10 * i, 10 * i + 4, i));
}

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, k) => a + k);

describe('leaf structure (small capacities)', () => {
  it('a leaf splits in two when it goes over capacity, at every insertion position', () => {
    const m = new ExtentMap<number>(constant, { maxNodeSize: 4 });
    for (let i = 0; i < 4; i++) m.set(10 * i, 10 * i + 4, i);
    expect(leafSizes(m)).toEqual([4]);
    m.set(40, 44, 4); // the 5th extent: split
    m.checkInvariants();
    expect(leafSizes(m)).toEqual([2, 3]);
    expect(m.toArray()).toEqual(spacedRuns(range(0, 5)));
    // descending and middle insertions keep every leaf within capacity
    const d = new ExtentMap<number>(constant, { maxNodeSize: 4 });
    for (let i = 39; i >= 0; i--) {
      d.set(10 * i, 10 * i + 4, i);
      d.checkInvariants();
    }
    expect(d.toArray()).toEqual(spacedRuns(range(0, 40)));
    expect(leafSizes(d).length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...leafSizes(d))).toBeLessThanOrEqual(4);
  });

  it('splitting one frame out of an extent in a full leaf (one extent becomes three)', () => {
    const m = spaced(4, 4);
    expect(leafSizes(m)).toEqual([4]);
    m.set(12, 12, 99);
    m.checkInvariants();
    expect(leafSizes(m).reduce((a, b) => a + b)).toBe(6);
    expect(leafSizes(m).length).toBe(2);
    expect(m.toArray()).toEqual([ext(0, 4, 0), ext(10, 11, 1), ext(12, 12, 99), ext(13, 14, 1), ext(20, 24, 2), ext(30, 34, 3)]);
    m.set(12, 12, 1); // back: the three merge again
    m.checkInvariants();
    expect(m.toArray()).toEqual(spacedRuns(range(0, 4)));
  });

  it('point look-ups at the first and last extent of every leaf, and in the gaps around them', () => {
    const m = spaced(50, 4);
    const sizes = leafSizes(m);
    expect(sizes.length).toBeGreaterThan(10);
    let i = 0;
    for (const size of sizes) {
      for (const j of [i, i + size - 1]) {
        expect(m.get(10 * j)).toEqual(ext(10 * j, 10 * j + 4, j));
        expect(m.get(10 * j + 4)).toEqual(ext(10 * j, 10 * j + 4, j));
        expect(m.lookup(10 * j + 2)).toBe(j);
        expect(m.has(10 * j + 5)).toBe(false);
        if (j > 0) expect(m.get(10 * j - 1)).toBeUndefined();
        expect(m.anyIn(10 * j - 5 < 0 ? 0 : 10 * j - 5, 10 * j)).toBe(true);
        expect(m.anyIn(10 * j + 5, 10 * j + 9)).toBe(false);
        expect(m.firstGap(10 * j, 10 * j + 20)).toBe(10 * j + 5);
        expect([...m.overlapping(10 * j + 3, 10 * j + 11)]).toEqual(
          [ext(10 * j + 3, 10 * j + 4, j), ...(j < 49 ? [ext(10 * j + 10, 10 * j + 11, j + 1)] : [])],
        );
      }
      i += size;
    }
    expect(i).toBe(50);
    expect(m.lowest()).toEqual(ext(0, 4, 0));
    expect(m.highest()).toEqual(ext(490, 494, 49));
  });

  it('an under-full leaf is merged with its neighbour, or shares their extents out evenly', () => {
    // Capacity 8: a leaf under 2 extents (of several leaves) is merged with a neighbour; when the
    // two hold more than 8, they share them out (the left one taking the smaller half).
    const m = spaced(12, 8);
    expect(leafSizes(m)).toEqual([4, 8]);
    m.delete(0, 24); // the first leaf keeps one extent; its right neighbour is full
    m.checkInvariants();
    expect(leafSizes(m)).toEqual([4, 5]); // the right one's head moved over
    expect(m.toArray()).toEqual(spacedRuns(range(3, 12)));
    expect(m.get(60)).toEqual(ext(60, 64, 6));
    m.delete(30, 74); // the whole first leaf and the second one's head: the first is dropped
    m.checkInvariants();
    expect(leafSizes(m)).toEqual([4]);
    expect(m.toArray()).toEqual(spacedRuns(range(8, 12)));

    const n = spaced(13, 8);
    expect(leafSizes(n)).toEqual([4, 4, 5]);
    for (const f of [46, 56, 66, 76]) n.set(f, f, f); // the middle leaf fills up
    expect(leafSizes(n)).toEqual([4, 8, 5]);
    n.delete(90, 124); // the last leaf keeps one extent; its left neighbour is full
    n.checkInvariants();
    expect(leafSizes(n)).toEqual([4, 4, 5]); // the left one's tail moved over
    const mid = [ext(40, 44, 4), ext(46, 46, 46), ext(50, 54, 5), ext(56, 56, 56), ext(60, 64, 6), ext(66, 66, 66), ext(70, 74, 7), ext(76, 76, 76)];
    expect(n.toArray()).toEqual([...spacedRuns(range(0, 4)), ...mid, ext(80, 84, 8)]);
    expect(n.get(76)).toEqual(ext(76, 76, 76));
    expect(n.get(80)).toEqual(ext(80, 84, 8));
  });

  it('an edit moves the shorter side of its leaf: the room before a leaf is used, and given back when the end needs it', () => {
    // Capacity 8 (room for 12 extents a slot). Where each leaf starts in its room:
    const heads = (m: ExtentMap<number>): number[] => {
      const heads = (m as unknown as { heads: Int32Array }).heads;
      return leafSlots(m).map((slot) => heads[slot]!);
    };
    const m = spaced(8, 8);
    expect(leafSizes(m)).toEqual([8]);
    expect(heads(m)).toEqual([0]);
    // Near the start: the extents before the edit move, the leaf now starts later.
    m.delete(10, 14);
    m.checkInvariants();
    expect(heads(m)).toEqual([1]);
    m.delete(0, 4);
    m.checkInvariants();
    expect(heads(m)).toEqual([2]);
    // An extent added near the start takes the room before the leaf back.
    m.set(5, 7, 50);
    m.checkInvariants();
    expect(heads(m)).toEqual([1]);
    // Near the end: the extents after the edit move; the leaf stays where it is.
    m.delete(60, 64);
    m.checkInvariants();
    expect(heads(m)).toEqual([1]);
    expect(m.toArray()).toEqual([ext(5, 7, 50), ...spacedRuns([2, 3, 4, 5]), ext(70, 74, 7)]);
    // Filling up at the end until the leaf splits in two, the new leaf in the middle of its room
    // (room for 12: 5 extents at 3 … 7).
    for (const f of [76, 78, 80]) {
      m.set(f, f, f);
      m.checkInvariants();
    }
    expect(leafSizes(m)).toEqual([4, 5]);
    expect(heads(m)).toEqual([1, 3]);
    expect(m.toArray()).toEqual([ext(5, 7, 50), ...spacedRuns([2, 3, 4, 5]), ext(70, 74, 7), ...[76, 78, 80].map((f) => ext(f, f, f))]);
    // One extent split in three near the start of a leaf with room before it (the room is used);
    // then an extent added near its end (the extents after it move).
    m.set(71, 71, 0);
    m.checkInvariants();
    expect(leafSizes(m)).toEqual([4, 7]);
    expect(heads(m)).toEqual([1, 1]);
    m.set(79, 79, 0);
    m.checkInvariants();
    expect(leafSizes(m)).toEqual([4, 8]);
    expect(heads(m)).toEqual([1, 1]);
    expect(m.get(72)).toEqual(ext(72, 74, 7));
    expect(m.get(79)).toEqual(ext(79, 79, 0));

    // Leaves emptied from their start end late in their room; when such a leaf is merged with a
    // neighbour, or takes some of a neighbour's extents at its end or its start, it first moves
    // to the start of its room (it would run past it otherwise). Leaves as `head+extents`:
    const shape = (w: ExtentMap<number>): string => heads(w).map((h, k) => `${h}+${leafSizes(w)[k]}`).join(' ');
    const dropLowest = (w: ExtentMap<number>, times: number): void => {
      for (let k = 0; k < times; k++) {
        const l = w.lowest()!;
        w.delete(l.start, l.end);
        w.checkInvariants();
      }
    };
    // - merged: the first leaf, down to 1 extent at 7, and its neighbour's 6: 7 extents from 7
    //   would run past the room of 12
    const a = spaced(12, 8);
    a.delete(100, 114);
    a.set(1, 1, 100);
    a.set(11, 11, 100);
    expect(shape(a)).toBe('0+8 3+6');
    dropLowest(a, 6);
    expect(shape(a)).toBe('6+2 3+6');
    dropLowest(a, 1);
    expect(shape(a)).toBe('0+7');
    expect(a.toArray()).toEqual(spacedRuns(range(3, 10)));
    // - the left neighbour's tail to the front of a leaf down to 1 extent at 10
    const b = spaced(12, 8);
    b.set(1, 1, 100);
    b.set(21, 21, 100);
    expect(shape(b)).toBe('0+8 3+8');
    for (let i = 4; i < 10; i++) b.delete(10 * i, 10 * i + 4);
    b.checkInvariants();
    expect(shape(b)).toBe('0+8 9+2');
    b.delete(100, 104);
    b.checkInvariants();
    expect(shape(b)).toBe('0+4 0+5');
    expect(b.toArray()).toEqual([ext(0, 0, 0), ext(1, 1, 100), ext(2, 4, 0), ...spacedRuns([1]), ext(20, 20, 2), ext(21, 21, 100), ext(22, 24, 2), ...spacedRuns([3, 11])]);
    // - the right neighbour's head to the end of a first leaf down to 1 extent at 10
    const c = spaced(20, 8);
    c.set(111, 111, 100);
    c.set(113, 113, 100);
    c.delete(0, 74); // the first two leaves: the next one, in the middle of its room, is first
    c.checkInvariants();
    expect(shape(c)).toBe('3+8 3+8');
    dropLowest(c, 6);
    expect(shape(c)).toBe('9+2 3+8');
    dropLowest(c, 1);
    expect(shape(c)).toBe('0+4 3+5');
    expect(c.toArray()).toEqual([ext(114, 114, 11), ...spacedRuns(range(12, 20))]);

    // - a range edit from inside the last extent of a leaf at 6 (5 extents) into the next leaf:
    //   the leaf ends with 3 extents in place of that one, 13 past the start of its room
    const d = spaced(20, 8);
    d.set(101, 101, 100);
    d.set(111, 111, 100);
    expect(shape(d)).toBe('0+4 3+4 3+8 3+8');
    for (const [from, to] of [[80, 84], [90, 94], [100, 100]] as const) d.delete(from, to);
    d.checkInvariants();
    expect(shape(d)).toBe('0+4 3+4 6+5 3+8');
    d.set(113, 122, 77);
    d.checkInvariants();
    expect(shape(d)).toBe('0+4 3+4 0+7 3+7');
    expect(d.toArray().slice(8, 16)).toEqual([ext(101, 101, 100), ext(102, 104, 10), ext(110, 110, 11), ext(111, 111, 100), ext(112, 112, 11), ext(113, 122, 77), ext(123, 124, 12), ext(130, 134, 13)]);
  });

  it('the slots of dropped leaves are reused: the columns do not grow under churn', () => {
    const m = new ExtentMap<number>(constant, { maxNodeSize: 8 });
    const chunks = (): unknown[][] => (m as unknown as { vC: unknown[][] }).vC;
    const columns = (): number => chunks().reduce((n, c) => n + c.length, 0);
    let most = 0;
    let first: unknown[] | undefined;
    for (let round = 0; round < 50; round++) {
      // 400 extents in (~70 leaves: three chunks of 32 slots), then all but the first few out
      // again, from the middle outwards
      for (let i = 0; i < 400; i++) m.set(10 * i, 10 * i + 4, round);
      if (round === 0) {
        most = columns();
        first = chunks()[0];
        expect(chunks().length).toBeGreaterThan(1);
      }
      for (let i = 200; i < 400; i++) m.delete(10 * i, 10 * i + 4);
      for (let i = 199; i >= 3; i--) m.delete(10 * i, 10 * i + 4);
      m.checkInvariants();
      expect(m.size).toBe(3);
    }
    expect(columns()).toBe(most);
    // A whole chunk is never copied: the map grew by adding chunks.
    expect(chunks()[0]).toBe(first);
  });

  it('a range delete spanning several leaves cuts both edge extents and drops the leaves in between', () => {
    for (const cap of [4, 5, 8]) {
      const m = spaced(60, cap);
      const before = leafSizes(m).length;
      m.delete(72, 411); // from inside extent 7 to inside extent 41
      m.checkInvariants();
      expect(m.toArray()).toEqual([
        ...spacedRuns(range(0, 7)),
        ext(70, 71, 7),
        ext(412, 414, 41),
        ...spacedRuns(range(42, 60)),
      ]);
      expect(m.size).toBe(7 + 2 + 18);
      expect(m.frames).toBe(5 * 25 + 2 + 3);
      expect(leafSizes(m).length).toBeLessThan(before);
      // exactly on extent edges, and up to the end
      m.delete(60, 419);
      m.checkInvariants();
      expect(m.toArray()).toEqual([...spacedRuns(range(0, 6)), ...spacedRuns(range(42, 60))]);
      m.delete(3, MAX_FRAME);
      m.checkInvariants();
      expect(m.toArray()).toEqual([ext(0, 2, 0)]);
      expect(leafSizes(m)).toEqual([1]);
    }
  });

  it('a range set spanning several leaves merges with neighbours in other leaves', () => {
    const m = new ExtentMap<number>(constant, { maxNodeSize: 4 });
    for (let i = 0; i < 40; i++) m.set(10 * i, 10 * i + 9, i % 2 === 0 ? 100 : i); // adjacent, unjoinable
    m.checkInvariants();
    expect(m.size).toBe(40);
    // overwriting [10, 379] with 100 joins [0, 9] on the left and [380, 389] (i = 38) on the right
    m.set(10, 379, 100);
    m.checkInvariants();
    expect(m.toArray()).toEqual([ext(0, 389, 100), ext(390, 399, 39)]);
    expect(m.frames).toBe(400);
    // the merge on both sides at once, from the middle of a leaf to the middle of another
    const n = new ExtentMap<number>(constant, { maxNodeSize: 4 });
    for (let i = 0; i < 30; i++) n.set(10 * i, 10 * i + 4, i === 3 || i === 25 ? 1 : 2);
    n.set(35, 249, 1);
    n.checkInvariants();
    expect(n.toArray()).toEqual([
      ext(0, 4, 2),
      ext(10, 14, 2),
      ext(20, 24, 2),
      ext(30, 254, 1),
      ...range(26, 30).map((i) => ext(10 * i, 10 * i + 4, 2)),
    ]);
  });

  it('emptied leaves are removed and under-full ones merged with a neighbour', () => {
    const m = spaced(64, 8); // minimum fill 2 when there are several leaves
    expect(leafSizes(m).length).toBeGreaterThan(4);
    // delete single extents from the middle outwards, checking the structure after each
    const order = range(0, 64).sort((a, b) => Math.abs(a - 31.5) - Math.abs(b - 31.5));
    const left = new Set(range(0, 64));
    for (const i of order) {
      m.delete(10 * i, 10 * i + 4);
      left.delete(i);
      m.checkInvariants(); // includes: no empty leaf, none under-full unless alone
      expect(m.size).toBe(left.size);
    }
    expect(leafSizes(m)).toEqual([]);
    expect(m.lowest()).toBeUndefined();
    m.set(5, 5, 1);
    expect(leafSizes(m)).toEqual([1]);
    expect(m.toArray()).toEqual([ext(5, 5, 1)]);
  });

  it('single-frame deletes and sets at leaf edges', () => {
    const m = spaced(20, 4);
    let i = 0;
    const firsts: number[] = [];
    for (const size of leafSizes(m)) {
      firsts.push(i);
      i += size;
    }
    expect(firsts.length).toBeGreaterThan(3);
    for (const j of firsts) {
      m.delete(10 * j, 10 * j); // the first frame of a leaf's first extent
      if (j > 0) m.set(10 * j - 1, 10 * j - 1, j - 1); // the last frame of the gap before it
      m.checkInvariants();
    }
    for (const j of firsts) {
      if (j === 0) {
        expect(m.get(0)).toBeUndefined();
        expect(m.get(1)).toEqual(ext(1, 4, 0));
      } else {
        expect(m.get(10 * j - 1)).toEqual(ext(10 * j - 1, 10 * j - 1, j - 1));
        expect(m.get(10 * j)).toBeUndefined();
        expect(m.get(10 * j + 1)).toEqual(ext(10 * j + 1, 10 * j + 4, j));
      }
    }
  });

  it('firstGap follows adjacent unjoinable extents across leaves', () => {
    const m = new ExtentMap<number>(constant, { maxNodeSize: 4 });
    for (let i = 0; i < 30; i++) m.set(10 * i, 10 * i + 9, i);
    m.set(305, 309, 0);
    expect(leafSizes(m).length).toBeGreaterThan(5);
    expect(m.firstGap(0, MAX_FRAME)).toBe(300);
    expect(m.firstGap(47, 299)).toBeUndefined();
    expect(m.covered(0, 299)).toBe(true);
    expect(m.covered(0, 300)).toBe(false);
    expect([...m.gaps(0, 320)]).toEqual([{ start: 300, end: 304 }, { start: 310, end: 320 }]);
  });

  it('generators walk across leaves and throw when the map changes under them', () => {
    const m = spaced(25, 4);
    expect([...m.entries()]).toEqual(spacedRuns(range(0, 25)));
    expect([...m.overlapping(33, 118)]).toEqual([ext(33, 34, 3), ...spacedRuns(range(4, 11)), ext(110, 114, 11)]);
    const it1 = m.entries();
    for (let i = 0; i < 6; i++) it1.next();
    m.set(1000, 1000, 1);
    expect(() => it1.next()).toThrow(/modified during iteration/);
    const it2 = m.overlapping(0, 500);
    it2.next();
    m.clear();
    expect(() => it2.next()).toThrow(/modified during iteration/);
  });

  it('clone copies every leaf: both maps change independently, and the clone keeps the capacity', () => {
    const a = spaced(30, 4);
    const b = a.clone();
    b.checkInvariants();
    expect(b.toArray()).toEqual(a.toArray());
    expect(leafSizes(b)).toEqual(leafSizes(a));
    b.delete(0, 149);
    for (let i = 0; i < 20; i++) b.set(1000 + 10 * i, 1000 + 10 * i, i); // grows past 4 per leaf: splits
    a.set(12, 12, 99);
    a.delete(200, 299);
    a.checkInvariants();
    b.checkInvariants();
    expect(Math.max(...leafSizes(b))).toBeLessThanOrEqual(4);
    expect(a.toArray()).toEqual([
      ext(0, 4, 0),
      ext(10, 11, 1),
      ext(12, 12, 99),
      ext(13, 14, 1),
      ...spacedRuns(range(2, 20)),
    ]);
    expect(b.toArray()).toEqual([
      ...spacedRuns(range(15, 30)),
      ...range(0, 20).map((i) => ext(1000 + 10 * i, 1000 + 10 * i, i)),
    ]);
    expect(a.frames).toBe(5 * 20);
    expect(b.frames).toBe(5 * 15 + 20);
  });

  it('capacity: out-of-range maxNodeSize gives the default; large values are accepted', () => {
    expect(leafSizes(spaced(64, 1))).toEqual([64]); // the default capacity, 64
    expect(leafSizes(spaced(65, 1))).toEqual([32, 33]);
    expect(leafSizes(spaced(65, Number.NaN))).toEqual([32, 33]);
    const big = spaced(200, 1000);
    expect(leafSizes(big)).toEqual([200]);
  });

  it('random edits at capacities 4, 5 and 8 agree with a per-frame model', () => {
    const U = 3000;
    for (const cap of [4, 5, 8]) {
      for (const kindName of ['constant', 'linear'] as const) {
        const rand = rng(cap * 7 + (kindName === 'linear' ? 1 : 0));
        const lin = linear<{ base: number }>();
        const m = new ExtentMap<number | { base: number }>(kindName === 'linear' ? (lin as never) : constant, { maxNodeSize: cap });
        // per frame: the value seen there (the number, or base + offset), -1 = uncovered
        const model = new Float64Array(U).fill(-1);
        for (let step = 0; step < 1500; step++) {
          const a = rand(U);
          const len = rand(10) < 8 ? rand(4) : rand(400); // mostly short, sometimes spanning leaves
          const b = Math.min(U - 1, a + len);
          if (rand(3) === 0) {
            m.delete(a, b);
            model.fill(-1, a, b + 1);
          } else if (kindName === 'constant') {
            const v = rand(3);
            m.set(a, b, v);
            model.fill(v, a, b + 1);
          } else {
            const base = rand(2) === 0 ? a + 5000 : rand(10000); // often continuing the neighbours
            m.set(a, b, { base });
            for (let f = a; f <= b; f++) model[f] = base + f - a;
          }
          m.checkInvariants();
        }
        m.checkInvariants();
        expect(Math.max(...leafSizes(m))).toBeLessThanOrEqual(cap);
        // expected runs: canonical run-length encoding of the model
        const runs: [number, number, number][] = [];
        for (let f = 0; f < U; f++) {
          const v = model[f]!;
          if (v < 0) continue;
          const last = runs[runs.length - 1];
          const cont = kindName === 'linear' ? v === model[f - 1]! + 1 : v === model[f - 1];
          if (last !== undefined && last[1] === f - 1 && cont) last[1] = f;
          else runs.push([f, f, v]);
        }
        const got = m.toArray().map((e) => [e.start, e.end, typeof e.value === 'number' ? e.value : e.value.base]);
        expect(got).toEqual(runs);
        for (let f = 0; f < U; f += 7) {
          const v = m.lookup(f);
          expect(v === undefined ? -1 : typeof v === 'number' ? v : v.base).toBe(model[f]);
        }
        // firstGap / firstCovered against a scan of the model, across leaf boundaries too.
        for (let k = 0; k < 300; k++) {
          const from = rand(U);
          const limit = Math.min(U - 1, from + (rand(2) === 0 ? rand(8) : rand(600)));
          let gap: number | undefined;
          let cov: number | undefined;
          for (let f = from; f <= limit && (gap === undefined || cov === undefined); f++) {
            if (model[f]! < 0) gap ??= f;
            else cov ??= f;
          }
          expect(m.firstGap(from, limit), `firstGap(${from}, ${limit})`).toBe(gap);
          expect(m.firstCovered(from, limit), `firstCovered(${from}, ${limit})`).toBe(cov);
        }
      }
    }
  });
});

describe('coverage index (trackCoverage)', () => {
  type Op = { kind: 'set'; start: number; len: number; v: number } | { kind: 'delete'; start: number; len: number } | { kind: 'clear' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), start: fc.integer({ min: 0, max: 300 }), len: fc.integer({ min: 1, max: 20 }), v: fc.integer({ min: 0, max: 3 }) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), start: fc.integer({ min: 0, max: 300 }), len: fc.integer({ min: 1, max: 30 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const) }) },
  );

  it('answers firstGap / covered / gaps as a walk of the extents does, after any changes', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 330 }), fc.integer({ min: 0, max: 40 })), { minLength: 1, maxLength: 10 }), (ops, probes) => {
        // Values alternate, so covered stretches are many extents back to back.
        const tracked = new ExtentMap<number>(constant, { maxNodeSize: 4, trackCoverage: true });
        const plain = new ExtentMap<number>(constant, { maxNodeSize: 4 });
        for (const o of ops) {
          for (const m of [tracked, plain]) {
            if (o.kind === 'set') m.set(o.start, o.start + o.len - 1, o.v);
            else if (o.kind === 'delete') m.delete(o.start, o.start + o.len - 1);
            else m.clear();
          }
          tracked.checkInvariants(); // includes: the index is exactly the covered runs
        }
        expect(tracked.toArray()).toEqual(plain.toArray());
        for (const [from, len] of probes) {
          const to = from + len;
          expect(tracked.firstGap(from, to)).toBe(plain.firstGap(from, to));
          expect(tracked.covered(from, to)).toBe(plain.covered(from, to));
          expect([...tracked.gaps(from, to)]).toEqual([...plain.gaps(from, to)]);
        }
        const copy = tracked.clone();
        copy.delete(0, 400);
        copy.checkInvariants();
        tracked.checkInvariants(); // the clone's index is its own
      }),
      { numRuns: 300 },
    );
  });

  it('a covered stretch of many values is one run of the index', () => {
    const m = new ExtentMap<number>(constant, { maxNodeSize: 4, trackCoverage: true });
    for (let i = 0; i < 100; i++) m.set(i, i, i % 2);
    expect(m.size).toBe(100);
    expect(m.firstGap(0, 1000)).toBe(100);
    m.delete(50, 50);
    expect(m.firstGap(0, 1000)).toBe(50);
    expect([...m.gaps(0, 120)]).toEqual([
      { start: 50, end: 50 },
      { start: 100, end: 120 },
    ]);
    m.set(50, 50, 7);
    expect(m.firstGap(0, 1000)).toBe(100);
    m.checkInvariants();
    const g = m.gaps(0, 200);
    g.next();
    m.set(300, 300, 1);
    expect(() => g.next()).toThrow(/modified during iteration/);
  });
});
