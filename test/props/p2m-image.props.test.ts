/**
 * Property-based tests of P2mImageTable (the IOMMU context that reads a translated domain's p2m)
 * against the copy it replaces: an ExtentMap of IOMMU entries kept in step the way the model kept
 * it before — a p2m change drops the `follows` entries of its range and writes the new image where
 * no other entry is; an explicit map overwrites whatever is there; an explicit unmap removes
 * whatever is there. After every step both must answer every question alike.
 *
 * Frames 0..MAX_OP; the IOMMU's width is WIDTH (below MAX_OP, so the p2m reaches past it).
 * Default: seeded, a few hundred sequences. `PVIOMMU_PROPS=long`: 10,000, seed from
 * PVIOMMU_PROPS_SEED if given, else random (fast-check prints it on failure).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { P2mType } from '../../src/config/schema.js';
import { ExtentMap, type Extent } from '../../src/model/extents.js';
import { IOMMU_OPS, makeEntry } from '../../src/model/iommu.js';
import { P2mImageTable, P2mTable, iommuPermsForType } from '../../src/model/p2m.js';
import type { EntryOrigin, IommuEntry } from '../../src/model/types.js';

const LONG = process.env.PVIOMMU_PROPS === 'long';
const NUM_RUNS = LONG ? 10_000 : 150;
const SEED = LONG ? (process.env.PVIOMMU_PROPS_SEED !== undefined ? Number(process.env.PVIOMMU_PROPS_SEED) : undefined) : 20261127;
const FC_OPTS: fc.Parameters<unknown> = SEED === undefined ? { numRuns: NUM_RUNS } : { numRuns: NUM_RUNS, seed: SEED };
const TIMEOUT = LONG ? 30 * 60_000 : 60_000;

const MAX_OP = 120;
const WIDTH = 100;
const MAX_Q = 130;

/** Types with RW, R and no IOMMU permissions; ram_rw and grant_map_rw images join when the mfns continue. */
const TYPES: P2mType[] = ['ram_rw', 'grant_map_rw', 'ram_ro', 'populate_on_demand', 'mmio_direct'];
const ORIGINS: EntryOrigin[] = ['map_pages', 'grant', 'config'];

type Op =
  | { kind: 'p2mSet'; start: number; end: number; off: number; type: P2mType }
  | { kind: 'p2mRemove'; start: number; end: number }
  | { kind: 'map'; start: number; end: number; off: number; origin: EntryOrigin; ref: boolean; w: boolean }
  | { kind: 'point'; frame: number; off: number; origin: EntryOrigin }
  | { kind: 'unmap'; start: number; end: number };

const range = (max: number) =>
  fc.tuple(fc.integer({ min: 0, max }), fc.integer({ min: 0, max: 12 })).map(([s, n]) => ({ start: s, end: Math.min(max, s + n) }));
/** mfn = frame + off: a few offsets, so that neighbouring extents often continue each other. */
const off = fc.constantFrom(0, 0, 7, 1000);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ r: range(MAX_OP), off, type: fc.constantFrom(...TYPES) }).map(({ r, off, type }) => ({ kind: 'p2mSet' as const, ...r, off, type })),
  range(MAX_OP).map((r) => ({ kind: 'p2mRemove' as const, ...r })),
  fc
    .record({ r: range(WIDTH - 1), off, origin: fc.constantFrom(...ORIGINS), ref: fc.boolean(), w: fc.boolean() })
    .map(({ r, off, origin, ref, w }) => ({ kind: 'map' as const, ...r, off, origin, ref, w })),
  fc
    .record({ frame: fc.integer({ min: 0, max: WIDTH - 1 }), off, origin: fc.constantFrom(...ORIGINS) })
    .map(({ frame, off, origin }) => ({ kind: 'point' as const, frame, off, origin })),
  range(MAX_OP).map((r) => ({ kind: 'unmap' as const, ...r })),
);

/** The copy kept in step by writing every change into it (the model before P2mImageTable). */
class MirroredCopy {
  readonly table = new ExtentMap<IommuEntry>(IOMMU_OPS);

  p2mChanged(p2m: P2mTable, start: number, end: number): void {
    for (const e of [...this.table.overlapping(start, end)]) if (e.value.follows) this.table.delete(e.start, e.end);
    if (start >= WIDTH) return;
    for (const e of [...p2m.overlapping(start, Math.min(end, WIDTH - 1))]) {
      const perms = iommuPermsForType(e.value.type);
      if (perms === undefined) continue;
      for (const g of [...this.table.gaps(e.start, e.end)]) {
        this.table.set(g.start, g.end, makeEntry(e.value.base + (g.start - e.start), perms.r, perms.w, 'config', { follows: true }));
      }
    }
  }
}

function apply(op: Op, p2m: P2mTable, view: P2mImageTable, copy: MirroredCopy): void {
  switch (op.kind) {
    case 'p2mSet':
      p2m.set(op.start, op.end, { base: op.start + op.off, type: op.type });
      view.p2mChanged(op.start, op.end);
      copy.p2mChanged(p2m, op.start, op.end);
      return;
    case 'p2mRemove':
      p2m.delete(op.start, op.end);
      view.p2mChanged(op.start, op.end);
      copy.p2mChanged(p2m, op.start, op.end);
      return;
    case 'map': {
      const e = makeEntry(op.start + op.off, true, op.w, op.origin, op.ref ? { ref: true } : {});
      view.set(op.start, op.end, e);
      copy.table.set(op.start, op.end, e);
      return;
    }
    case 'point': {
      const e = makeEntry(op.frame + op.off, true, true, op.origin, { noRef: true });
      view.setPoint(op.frame, e);
      copy.table.setPoint(op.frame, e);
      return;
    }
    case 'unmap':
      view.delete(op.start, op.end);
      copy.table.delete(op.start, op.end);
      return;
  }
}

/** Every question the table answers, asked of both. */
function sameAnswers(view: P2mImageTable, copy: ExtentMap<IommuEntry>, q: { start: number; end: number }): void {
  view.checkInvariants();
  const all: Extent<IommuEntry>[] = copy.toArray();
  expect(view.toArray()).toEqual(all);
  expect(view.size).toBe(all.length);
  expect(view.frames).toBe(copy.frames);
  expect(view.lowest()).toEqual(copy.lowest());
  expect(view.highest()).toEqual(copy.highest());
  for (let f = 0; f <= MAX_Q; f++) {
    expect(view.has(f)).toBe(copy.has(f));
    expect(view.lookup(f)).toEqual(copy.lookup(f));
    expect(view.get(f)).toEqual(copy.get(f));
    const raw = view.raw(f);
    const at = raw === undefined ? undefined : IOMMU_OPS.shift(raw, f - view.rawStart);
    expect(at).toEqual(copy.lookup(f));
  }
  expect([...view.overlapping(q.start, q.end)]).toEqual([...copy.overlapping(q.start, q.end)]);
  expect([...view.gaps(q.start, q.end)]).toEqual([...copy.gaps(q.start, q.end)]);
  expect(view.firstGap(q.start, q.end)).toBe(copy.firstGap(q.start, q.end));
  expect(view.firstCovered(q.start, q.end)).toBe(copy.firstCovered(q.start, q.end));
  expect(view.anyIn(q.start, q.end)).toBe(copy.anyIn(q.start, q.end));
  expect(view.covered(q.start, q.end)).toBe(copy.covered(q.start, q.end));
}

describe('P2mImageTable answers as the copy kept in step with the p2m did', () => {
  it(
    'after every step of random p2m changes, explicit maps and unmaps',
    () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(opArb, range(MAX_Q)), { minLength: 1, maxLength: 25 }), (steps) => {
          const p2m = new P2mTable();
          // A starting p2m, as build.ts finds it: RAM, a run of another type, a hole.
          p2m.set(0, 39, { base: 0x400, type: 'ram_rw' });
          p2m.set(40, 49, { base: 0x428, type: 'grant_map_rw' });
          p2m.set(60, 110, { base: 0x900, type: 'ram_ro' });
          const view = new P2mImageTable(p2m, WIDTH);
          const copy = new MirroredCopy();
          copy.p2mChanged(p2m, 0, MAX_OP);
          sameAnswers(view, copy.table, { start: 0, end: MAX_Q });
          for (const [op, q] of steps) {
            apply(op, p2m, view, copy);
            sameAnswers(view, copy.table, q);
          }
        }),
        FC_OPTS,
      );
    },
    TIMEOUT,
  );
});
