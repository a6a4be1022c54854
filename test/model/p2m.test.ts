import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { P2M_TYPES } from '../../src/config/schema.js';
import { iommuLookup, iommuMap, iommuUnmap } from '../../src/model/iommu.js';
import { MAX_FRAME } from '../../src/model/extents.js';
import { P2mTable, iommuPermsForType, isRamType, p2mLookup, p2mRemove, p2mSet, pfnRangesOfMfns } from '../../src/model/p2m.js';
import type { DomainModel, Machine } from '../../src/model/types.js';
import { allocFrames } from '../../src/model/pages.js';
import { dom0, guest, machine, p2mOf, tableOf } from './helpers.js';

describe('type tables', () => {
  it('iommuPermsForType follows SPEC §3.2', () => {
    const perms = Object.fromEntries(P2M_TYPES.map((t) => [t, iommuPermsForType(t)]));
    expect(perms).toEqual({
      ram_rw: { r: true, w: true },
      ram_ro: { r: true, w: false },
      ram_logdirty: { r: true, w: true },
      mmio_direct: { r: true, w: true },
      mmio_dm: undefined,
      grant_map_rw: { r: true, w: true },
      grant_map_ro: { r: true, w: false },
      map_foreign: { r: true, w: true },
      ram_shared: undefined,
      ram_paged: undefined,
      populate_on_demand: undefined,
      ioreq_server: undefined,
      ram_broken: undefined,
    });
  });

  it('a looked-up p2m entry has the mfn moved and the type kept, and nothing else', () => {
    const t = new P2mTable();
    t.set(0x10, 0x1f, { base: 0x400, type: 'ram_ro' });
    const moved = t.lookup(0x13)!;
    expect(moved).toEqual({ base: 0x403, type: 'ram_ro' });
    expect(Object.keys(moved)).toEqual(['base', 'type']);
    expect(t.probe(0x13)).toBe('ram_ro');
    expect(t.mfn).toBe(0x403);
    expect(t.probe(0x20)).toBeUndefined();
    expect(t.lookup(0x20)).toBeUndefined();
    expect(t.get(0x1f)).toEqual({ start: 0x10, end: 0x1f, value: { base: 0x400, type: 'ram_ro' } });
  });

  it('p2m extents join when the mfns continue and the types are equal, and only then', () => {
    const t = new P2mTable();
    t.set(0, 9, { base: 100, type: 'ram_rw' });
    t.set(10, 19, { base: 110, type: 'ram_rw' });
    expect(t.toArray()).toEqual([{ start: 0, end: 19, value: { base: 100, type: 'ram_rw' } }]);
    t.set(20, 29, { base: 120, type: 'ram_ro' }); // the mfns continue, the type does not
    t.set(30, 39, { base: 131, type: 'ram_ro' }); // the type continues, the mfns do not
    expect(t.size).toBe(3);
    t.delete(5, 5);
    expect(t.toArray().map((e) => [e.start, e.end, e.value.base])).toEqual([
      [0, 4, 100],
      [6, 19, 106],
      [20, 29, 120],
      [30, 39, 131],
    ]);
    t.checkInvariants();
  });

  it('every p2m type, and MFNs up to the highest frame, come back as they were set', () => {
    const t = new P2mTable();
    P2M_TYPES.forEach((type, i) => t.set(i * 4, i * 4 + 1, { base: 0x1000 + i * 2, type }));
    P2M_TYPES.forEach((type, i) => {
      expect(t.probe(i * 4 + 1)).toBe(type);
      expect(t.mfn).toBe(0x1001 + i * 2);
    });
    // Bases from 2^48 on are held as entries, not packed: an extent across that line still joins,
    // and the MFNs stay exact up to the highest frame.
    const high = new P2mTable();
    high.set(0, 4, { base: 2 ** 48 - 5, type: 'mmio_direct' });
    high.set(5, 9, { base: 2 ** 48, type: 'mmio_direct' });
    expect(high.toArray()).toEqual([{ start: 0, end: 9, value: { base: 2 ** 48 - 5, type: 'mmio_direct' } }]);
    expect(high.lookup(9)).toEqual({ base: 2 ** 48 + 4, type: 'mmio_direct' });
    high.delete(2, 2);
    expect(high.get(9)).toEqual({ start: 3, end: 9, value: { base: 2 ** 48 - 2, type: 'mmio_direct' } });
    high.set(20, 29, { base: MAX_FRAME - 9, type: 'ram_ro' });
    expect(high.lookup(29)).toEqual({ base: MAX_FRAME, type: 'ram_ro' });
    expect(high.probe(25)).toBe('ram_ro');
    expect(high.mfn).toBe(MAX_FRAME - 4);
    high.checkInvariants();
  });

  it('RAM types', () => {
    expect(P2M_TYPES.filter(isRamType)).toEqual(['ram_rw', 'ram_ro', 'ram_logdirty', 'ram_shared', 'ram_paged', 'ioreq_server', 'ram_broken']);
  });
});

describe('translated domain following its p2m (sync_pt)', () => {
  // dom0 0x0-0x3ff; vm gfns 0-0xff → 0x400-0x4ff.
  const setup = () => machine({ host: { ram: '16MiB' }, domains: [dom0(), guest('vm', 1, { memory: '1MiB', passthrough: 'sync_pt' })] });

  it('p2mLookup', () => {
    const m = setup();
    const vm = m.domains.get(1)!;
    expect(p2mLookup(vm, 0x10)).toEqual({ mfn: 0x410, type: 'ram_rw' });
    expect(p2mLookup(vm, 0x100)).toBeUndefined();
    expect(p2mLookup(vm, -3)).toBeUndefined();
  });

  it('remove, then set with another type: the context follows', () => {
    const m = setup();
    const vm = m.domains.get(1)!;
    const ctx = vm.iommu!;
    expect(tableOf(ctx)).toEqual([[0, 0xff, 0x400, 'rw', 'config+f']]);
    p2mRemove(m, vm, 0x10, 2);
    expect(p2mOf(m, 1)).toEqual([
      [0, 0xf, 0x400, 'ram_rw'],
      [0x12, 0xff, 0x412, 'ram_rw'],
    ]);
    expect(tableOf(ctx)).toEqual([
      [0, 0xf, 0x400, 'rw', 'config+f'],
      [0x12, 0xff, 0x412, 'rw', 'config+f'],
    ]);
    p2mSet(m, vm, 0x10, 1, 0x800, 'ram_ro');
    expect(iommuLookup(m, ctx, 0x10)).toMatchObject({ mfn: 0x800, r: true, w: false });
    p2mSet(m, vm, 0x11, 1, 0x411, 'ram_rw');
    // replacing a RAM entry by an unmapped type unmaps it
    p2mSet(m, vm, 0x20, 0x10, 0x420, 'mmio_dm');
    expect(iommuLookup(m, ctx, 0x25).fault).toBe('unmapped');
    expect(p2mLookup(vm, 0x25)).toEqual({ mfn: 0x425, type: 'mmio_dm' });
    // setting the original mapping back merges everything again
    p2mSet(m, vm, 0x20, 0x10, 0x420, 'ram_rw');
    p2mSet(m, vm, 0x10, 1, 0x410, 'ram_rw');
    expect(tableOf(ctx)).toEqual([[0, 0xff, 0x400, 'rw', 'config+f']]);
  });

  it('entries made by calls are left alone by p2m changes', () => {
    const m = setup();
    const vm = m.domains.get(1)!;
    const ctx = vm.iommu!;
    p2mRemove(m, vm, 0x200, 1); // nothing there: no-op
    iommuMap(m, ctx, 0x300, 0x10, 1, { r: true, w: true, origin: 'map_pages', ref: true });
    p2mSet(m, vm, 0x300, 1, 0x480, 'ram_rw');
    expect(iommuLookup(m, ctx, 0x300)).toMatchObject({ mfn: 0x10, entry: { origin: 'map_pages' } });
    // Inside an extent: the frame reached is the entry's base moved by the offset.
    expect(iommuLookup(m, ctx, 0x2f)).toMatchObject({ mfn: 0x42f, r: true, w: true, entry: { base: 0x400 } });
    p2mRemove(m, vm, 0x300, 1);
    expect(iommuLookup(m, ctx, 0x300).mfn).toBe(0x10);
  });

  it('a DFN of the image unmapped by a call stays unmapped until the p2m changes there', () => {
    const m = setup();
    const vm = m.domains.get(1)!;
    const ctx = vm.iommu!;
    expect(iommuUnmap(m, ctx, 0x10, 2)).toBe(2);
    expect(iommuUnmap(m, ctx, 0x10, 2)).toBe(0); // nothing mapped there any more
    expect(tableOf(ctx)).toEqual([
      [0, 0xf, 0x400, 'rw', 'config+f'],
      [0x12, 0xff, 0x412, 'rw', 'config+f'],
    ]);
    // A p2m change elsewhere leaves the hole; one over part of it (0x11) shows the image there only.
    p2mSet(m, vm, 0x40, 1, 0x440, 'ram_ro');
    expect(iommuLookup(m, ctx, 0x10).fault).toBe('unmapped');
    p2mSet(m, vm, 0x11, 1, 0x411, 'ram_rw');
    expect(iommuLookup(m, ctx, 0x10).fault).toBe('unmapped');
    expect(iommuLookup(m, ctx, 0x11)).toMatchObject({ mfn: 0x411, r: true, w: true, entry: { follows: true } });
    // Removed and put back: the p2m changed there, so the image shows again.
    p2mRemove(m, vm, 0x10, 1);
    p2mSet(m, vm, 0x10, 1, 0x410, 'ram_rw');
    p2mSet(m, vm, 0x40, 1, 0x440, 'ram_rw');
    expect(tableOf(ctx)).toEqual([[0, 0xff, 0x400, 'rw', 'config+f']]);
    ctx.table.checkInvariants();
  });

  it('image extents of different p2m types with the same permissions are one extent, as the IOMMU sees them', () => {
    const m = setup();
    const vm = m.domains.get(1)!;
    p2mSet(m, vm, 0x20, 0x10, 0x420, 'grant_map_rw');
    expect(p2mOf(m, 1)).toHaveLength(3);
    expect(tableOf(vm.iommu!)).toEqual([[0, 0xff, 0x400, 'rw', 'config+f']]);
    expect(vm.iommu!.table.size).toBe(1);
    expect(vm.iommu!.table.frames).toBe(0x100);
  });

  it('a guest without passthrough has nothing to follow', () => {
    const m = machine({ host: { ram: '16MiB' }, domains: [dom0(), guest('vm', 1, { memory: '1MiB' })] });
    const vm = m.domains.get(1)!;
    p2mSet(m, vm, 0x500, 4, 0x900, 'ram_rw');
    expect(p2mLookup(vm, 0x502)).toEqual({ mfn: 0x902, type: 'ram_rw' });
    expect(vm.iommu).toBeUndefined();
    // Nothing mirrors this p2m: a set overwrites in place, a remove only removes.
    p2mSet(m, vm, 0x501, 2, 0xa00, 'ram_ro');
    expect(p2mOf(m, 1).filter((e) => e[0] >= 0x500)).toEqual([
      [0x500, 0x500, 0x900, 'ram_rw'],
      [0x501, 0x502, 0xa00, 'ram_ro'],
      [0x503, 0x503, 0x903, 'ram_rw'],
    ]);
    p2mRemove(m, vm, 0x502, 1);
    p2mRemove(m, vm, 0x503, 4); // runs past the mapping: removes what is there
    p2mRemove(m, vm, 0x600, 1); // nothing there
    expect(p2mOf(m, 1).filter((e) => e[0] >= 0x500)).toEqual([
      [0x500, 0x500, 0x900, 'ram_rw'],
      [0x501, 0x501, 0xa00, 'ram_ro'],
    ]);
    expect(p2mLookup(vm, 0x502)).toBeUndefined();
  });
});

describe('PV domain following its ownership', () => {
  it('strict PV dom0: pages leaving the P2M leave the context; new own pages enter it, foreign ones do not', () => {
    const m = machine({ host: { ram: '16MiB', iommu: { dom0: 'strict' } }, domains: [dom0({ memory: '64KiB' }), guest('vm', 1, { memory: '64KiB' })] });
    const d0 = m.domains.get(0)!;
    const ctx = d0.iommu!;
    expect(tableOf(ctx)).toEqual([[0, 0xf, 0, 'rw', 'config+f']]);
    p2mRemove(m, d0, 0x4, 2); // pfns 4-5 → mfns 4-5
    expect(tableOf(ctx)).toEqual([
      [0, 3, 0, 'rw', 'config+f'],
      [6, 0xf, 6, 'rw', 'config+f'],
    ]);
    const [r] = allocFrames(m, 0, 2); // 0x20-0x21
    p2mSet(m, d0, 0x4, 2, r!.start, 'ram_rw');
    expect(iommuLookup(m, ctx, 0x20)).toMatchObject({ mfn: 0x20, r: true, w: true });
    expect(iommuLookup(m, ctx, 0x4).fault).toBe('unmapped');
    p2mSet(m, d0, 0x40, 1, 0x15, 'ram_rw'); // vm's frame: not dom0's own RAM
    expect(iommuLookup(m, ctx, 0x15).fault).toBe('unmapped');
  });

  it('xs BFN = PFN entries are fixed: p2m changes do not touch them', () => {
    const m = machine({ host: { ram: '16MiB', iommu: { dom0: 'strict' }, pv_iommu: { abi: 'xs' } }, domains: [dom0({ memory: '64KiB' })] });
    const d0 = m.domains.get(0)!;
    const ctx = d0.iommu!;
    expect(tableOf(ctx)[0]).toEqual([0, 0xf, 0, 'rw', 'config']);
    p2mRemove(m, d0, 0, 4);
    expect(iommuLookup(m, ctx, 2)).toMatchObject({ mfn: 2, entry: { origin: 'config' } });
  });
});

describe('pfnRangesOfMfns: the M2P of PV domains', () => {
  /** The pfns of one mfn. */
  const pfnsOfMfn = (d: DomainModel, mfn: number) => pfnRangesOfMfns(d, mfn, mfn).map((r) => r.start);
  /** (pfn, mfn) pairs of the pfns of [start, end], by pfn. */
  const pairsOf = (d: DomainModel, start: number, end: number) =>
    pfnRangesOfMfns(d, start, end)
      .flatMap((r) => Array.from({ length: r.end - r.start + 1 }, (_, i) => [r.start + i, p2mLookup(d, r.start + i)!.mfn]))
      .sort((a, b) => a[0]! - b[0]!);
  // A PV guest of 1 MiB: pfns 0-0xff → mfns 0x400-0x4ff (after dom0's 0x0-0x3ff).
  const setup = () => machine({ host: { ram: '16MiB' }, domains: [dom0(), guest('pv', 1, { type: 'pv', memory: '1MiB' })] });

  /** What the M2P must answer: every pfn whose p2m extent maps mfn, by walking the p2m. */
  const scan = (m: Machine, domid: number, mfn: number): number[] => {
    const out: number[] = [];
    for (const e of m.domains.get(domid)!.p2m.entries()) {
      if (mfn >= e.value.base && mfn - e.value.base <= e.end - e.start) out.push(e.start + (mfn - e.value.base));
    }
    return out;
  };

  it('answers from the p2m, and follows p2mSet / p2mRemove', () => {
    const m = setup();
    const pv = m.domains.get(1)!;
    expect(pfnsOfMfn(pv, 0x410)).toEqual([0x10]);
    expect(pfnsOfMfn(pv, 0x500)).toEqual([]);
    expect(pfnsOfMfn(pv, -1)).toEqual([]);
    p2mRemove(m, pv, 0x10, 2);
    expect(pfnsOfMfn(pv, 0x410)).toEqual([]);
    expect(pfnsOfMfn(pv, 0x412)).toEqual([0x12]);
    p2mSet(m, pv, 0x10, 1, 0x410, 'ram_rw');
    p2mSet(m, pv, 0x200, 2, 0x411, 'ram_rw'); // the frame 0x411 comes back at another pfn
    expect(pfnsOfMfn(pv, 0x410)).toEqual([0x10]);
    expect(pfnsOfMfn(pv, 0x411)).toEqual([0x200]);
    expect(pfnsOfMfn(pv, 0x412)).toEqual([0x12, 0x201]); // now mapped twice: both pfns
    p2mRemove(m, pv, 0x12, 1);
    expect(pfnsOfMfn(pv, 0x412)).toEqual([0x201]);
  });

  it('a p2m written behind its back (not through p2mSet / p2mRemove) is read afresh', () => {
    const m = setup();
    const pv = m.domains.get(1)!;
    expect(pfnsOfMfn(pv, 0x420)).toEqual([0x20]);
    pv.p2m.set(0x20, 0x20, { base: 0x900, type: 'ram_rw' });
    expect(pfnsOfMfn(pv, 0x420)).toEqual([]);
    expect(pfnsOfMfn(pv, 0x900)).toEqual([0x20]);
  });

  it('equals a walk of the p2m after any sequence of changes', () => {
    type Step =
      | { kind: 'set'; pfn: number; count: number; mfn: number }
      | { kind: 'remove'; pfn: number; count: number }
      | { kind: 'direct'; pfn: number; mfn: number }
      | { kind: 'query'; mfn: number }
      | { kind: 'range'; mfn: number; count: number };
    const pfn = fc.integer({ min: 0, max: 0x140 });
    const mfn = fc.integer({ min: 0x3f0, max: 0x520 });
    const count = fc.integer({ min: 1, max: 8 });
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), pfn, count, mfn }),
      fc.record({ kind: fc.constant('remove' as const), pfn, count }),
      fc.record({ kind: fc.constant('direct' as const), pfn, mfn }),
      fc.record({ kind: fc.constant('query' as const), mfn }),
      fc.record({ kind: fc.constant('range' as const), mfn, count: fc.integer({ min: 1, max: 40 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), fc.array(mfn, { minLength: 1, maxLength: 20 }), (steps, probes) => {
        const m = setup();
        const pv = m.domains.get(1)!;
        for (const s of steps) {
          if (s.kind === 'set') p2mSet(m, pv, s.pfn, s.count, s.mfn, 'ram_rw');
          else if (s.kind === 'remove') p2mRemove(m, pv, s.pfn, s.count);
          else if (s.kind === 'direct') pv.p2m.set(s.pfn, s.pfn, { base: s.mfn, type: 'ram_rw' });
          else if (s.kind === 'query') expect(pfnsOfMfn(pv, s.mfn)).toEqual(scan(m, 1, s.mfn));
          else {
            // A range: every (pfn, mfn) of its frames, each pfn once.
            const want: number[][] = [];
            for (let x = s.mfn; x < s.mfn + s.count; x++) for (const f of scan(m, 1, x)) want.push([f, x]);
            expect(pairsOf(pv, s.mfn, s.mfn + s.count - 1)).toEqual(want.sort((a, b) => a[0]! - b[0]!));
          }
        }
        for (const x of probes) expect(pfnsOfMfn(pv, x)).toEqual(scan(m, 1, x));
      }),
      { numRuns: 300 },
    );
  });
});
