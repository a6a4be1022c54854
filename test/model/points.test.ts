import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameTable } from '../../src/model/points.js';

/** Everything the table answers, compared with a Map of [value, flag]. */
function expectSame(t: FrameTable<string>, ref: Map<number, [string, boolean]>, probes: readonly number[]): void {
  expect(t.size).toBe(ref.size);
  expect(t.flagged).toBe([...ref.values()].filter(([, f]) => f).length);
  for (const f of probes) {
    expect(t.get(f)).toBe(ref.get(f)?.[0]);
    expect(t.has(f)).toBe(ref.has(f));
    expect(t.isFlagged(f)).toBe(ref.get(f)?.[1] ?? false);
  }
  const seen: [number, string, boolean][] = [];
  t.forEach((v, f, flag) => seen.push([f, v, flag]));
  const want = [...ref].map(([f, [v, flag]]): [number, string, boolean] => [f, v, flag]);
  expect(seen.sort((a, b) => a[0] - b[0])).toEqual(want.sort((a, b) => a[0] - b[0]));
}

describe('FrameTable', () => {
  it('holds, replaces and drops values with their flags', () => {
    const t = new FrameTable<string>();
    expect(t.get(5)).toBeUndefined();
    expect(t.set(5, 'a', false)).toBe(true);
    expect(t.set(7, 'b', true)).toBe(true);
    expect([t.size, t.flagged]).toEqual([2, 1]);
    expect(t.set(5, 'c', true)).toBe(false); // replaced, now flagged
    expect([t.get(5), t.isFlagged(5), t.size, t.flagged]).toEqual(['c', true, 2, 2]);
    expect(t.set(7, 'd', false)).toBe(false);
    expect([t.isFlagged(7), t.flagged]).toEqual([false, 1]);
    expect(t.delete(5)).toBe('c');
    expect(t.delete(5)).toBeUndefined();
    expect([t.size, t.flagged, t.has(5), t.get(7)]).toEqual([1, 0, false, 'd']);
  });

  it('frames past 2^32 and up to 2^52 - 1 are distinct keys (their high bits are hashed too)', () => {
    const t = new FrameTable<string>();
    const frames = [0, 1, 2 ** 32, 2 ** 32 + 1, 2 ** 33, 2 ** 52 - 1, 2 ** 52 - 2 ** 32, 2 ** 31, 2 ** 32 - 1];
    frames.forEach((f, i) => t.set(f, `v${i}`, i % 2 === 0));
    frames.forEach((f, i) => expect([t.get(f), t.isFlagged(f)]).toEqual([`v${i}`, i % 2 === 0]));
    expect(t.has(2 ** 32 + 2)).toBe(false);
    expect(t.framesIn(2 ** 32, 2 ** 33, false, []).sort((a, b) => a - b)).toEqual([2 ** 32, 2 ** 32 + 1, 2 ** 33]);
  });

  it('grows past half full and shrinks under an eighth, keeping every entry', () => {
    const t = new FrameTable<string>();
    const ref = new Map<number, [string, boolean]>();
    for (let f = 0; f < 5_000; f++) {
      t.set(f * 3, `v${f}`, f % 7 === 0);
      ref.set(f * 3, [`v${f}`, f % 7 === 0]);
    }
    const capacity = (): number => (t as unknown as { keys: Float64Array }).keys.length;
    expect(capacity()).toBeGreaterThanOrEqual(10_000);
    const big = capacity();
    expectSame(t, ref, [0, 1, 3, 14_997, 15_000]);
    for (let f = 0; f < 4_990; f++) {
      expect(t.delete(f * 3)).toBe(`v${f}`);
      ref.delete(f * 3);
    }
    expect(capacity()).toBeLessThan(big / 8);
    expectSame(t, ref, [0, 3, 14_970, 14_997]);
  });

  it('framesIn lists the held frames of a range, or only the flagged ones', () => {
    const t = new FrameTable<string>();
    for (const f of [3, 10, 11, 12, 40]) t.set(f, 'x', f % 2 === 0);
    expect(t.framesIn(10, 12, false, []).sort((a, b) => a - b)).toEqual([10, 11, 12]);
    expect(t.framesIn(0, 100, true, []).sort((a, b) => a - b)).toEqual([10, 12, 40]);
    expect(t.framesIn(13, 39, false, [])).toEqual([]);
    expect(t.framesIn(3, 3, false, [99])).toEqual([99, 3]); // appends to `out`
  });

  it('some takes up to n entries, and calls in turn go round the table', () => {
    const t = new FrameTable<string>();
    for (let f = 0; f < 100; f++) t.set(f * 1_000, 'x', false);
    const first = t.some(30);
    const second = t.some(30);
    expect(first).toHaveLength(30);
    expect(second).toHaveLength(30);
    expect(new Set([...first, ...second]).size).toBe(60); // no entry twice before all were taken
    for (const f of [...first, ...second]) expect(t.has(f)).toBe(true);
    expect(t.some(1_000)).toHaveLength(100);
  });

  it('behaves as a Map in its smallest table, where probe runs wrap round its end', () => {
    // At most 8 keys keep the table at 16 slots: with 20 candidate frames, runs of colliding keys
    // often pass the last slot, and deleting from them must shift entries back across the wrap.
    const op = fc.record({ del: fc.boolean(), frame: fc.integer({ min: 0, max: 19 }), value: fc.constantFrom('a', 'b') });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const t = new FrameTable<string>();
        const ref = new Map<number, [string, boolean]>();
        for (const o of ops) {
          if (o.del || ref.size >= 8) {
            expect(t.delete(o.frame)).toBe(ref.get(o.frame)?.[0]);
            ref.delete(o.frame);
          } else {
            t.set(o.frame, o.value, false);
            ref.set(o.frame, [o.value, false]);
          }
          for (let f = 0; f < 20; f++) expect(t.get(f)).toBe(ref.get(f)?.[0]);
        }
      }),
      { numRuns: 500, seed: 11 },
    );
  });

  it('behaves as a Map under any sequence of sets and deletes (clustered keys: long probe runs)', () => {
    // Keys from a few dense clusters and far frames make the probe runs wrap around the table and
    // deletions shift entries back across the wrap.
    const frame = fc.oneof(
      fc.integer({ min: 0, max: 63 }),
      fc.integer({ min: 0, max: 63 }).map((x) => 2 ** 32 + x),
      fc.integer({ min: 0, max: 2 ** 52 - 1 }),
    );
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), frame, value: fc.constantFrom('a', 'b', 'c'), flag: fc.boolean() }),
      fc.record({ kind: fc.constant('delete' as const), frame }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const t = new FrameTable<string>();
        const ref = new Map<number, [string, boolean]>();
        for (const o of ops) {
          if (o.kind === 'set') {
            expect(t.set(o.frame, o.value, o.flag)).toBe(!ref.has(o.frame));
            ref.set(o.frame, [o.value, o.flag]);
          } else {
            expect(t.delete(o.frame)).toBe(ref.get(o.frame)?.[0]);
            ref.delete(o.frame);
          }
        }
        expectSame(t, ref, [...ops.map((o) => o.frame), 64, 2 ** 32 + 64]);
      }),
      { numRuns: 300, seed: 7 },
    );
  });
});
