import { describe, expect, it } from 'vitest';
import { P2M_TYPES } from '../../src/config/schema.js';
import { iommuLookup, iommuMap } from '../../src/model/iommu.js';
import { iommuPermsForType, isRamType, p2mLookup, p2mRemove, p2mSet } from '../../src/model/p2m.js';
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
    p2mRemove(m, vm, 0x300, 1);
    expect(iommuLookup(m, ctx, 0x300).mfn).toBe(0x10);
  });

  it('a guest without passthrough has nothing to follow', () => {
    const m = machine({ host: { ram: '16MiB' }, domains: [dom0(), guest('vm', 1, { memory: '1MiB' })] });
    const vm = m.domains.get(1)!;
    p2mSet(m, vm, 0x500, 4, 0x900, 'ram_rw');
    expect(p2mLookup(vm, 0x502)).toEqual({ mfn: 0x902, type: 'ram_rw' });
    expect(vm.iommu).toBeUndefined();
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
