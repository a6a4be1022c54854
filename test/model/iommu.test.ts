import { describe, expect, it } from 'vitest';
import {
  IOMMU_OPS,
  allContexts,
  contextOfDevice,
  contextsReaching,
  iommuLookup,
  iommuMap,
  iommuUnmap,
  iommuWidthFrames,
  makeEntry,
  quarantineContext,
} from '../../src/model/iommu.js';
import { installXsMappings, xsConditionsMet } from '../../src/model/build.js';
import { pageAt } from '../../src/model/pages.js';
import { DOMID_INVALID, DOMID_IO, DOMID_XEN } from '../../src/model/types.js';
import { dom0, guest, machine, p2mOf, tableOf, triples } from './helpers.js';

/** RAM 0x0-0x9f, reserved 0xa0-0xff, RAM 0x100-0xfff, mmio 0x1000-0x1fff; Xen 0x100-0x10f; an RMRR in reserved. */
const host = (extra: Record<string, unknown> = {}) => ({
  memory_map: [
    { mfns: '0x0-0x9f', type: 'ram' },
    { mfns: '0xa0-0xff', type: 'reserved' },
    { mfns: '0x100-0xfff', type: 'ram' },
    { mfns: '0x1000-0x1fff', type: 'mmio' },
  ],
  xen_mfns: '0x100-0x10f',
  ...extra,
});
const devices = [
  { name: 'igd', bdf: '00:02.0', rmrr: ['0xc0-0xcf'] },
  { name: 'nic', bdf: '03:00.0', assignable: true, rmrr: ['0x1800-0x1801'] },
];

describe('entries', () => {
  it('a shifted entry is the entry with its base moved: the same fields, in the same order', () => {
    const entries = [
      makeEntry(0x100, true, false, 'config'),
      makeEntry(0x100, true, true, 'map_page', { noRef: true }),
      makeEntry(0x100, true, true, 'map_foreign', { ref: true }),
      makeEntry(0x100, true, false, 'grant', { grantReaders: 2, grantWriters: 0 }),
      makeEntry(0x100, true, true, 'config', { follows: true }),
    ];
    for (const e of entries) {
      const moved = IOMMU_OPS.shift(e, 5);
      expect(moved).toEqual({ ...e, base: 0x105 });
      expect(Object.keys(moved)).toEqual(Object.keys(e));
      expect(IOMMU_OPS.joinable(e, 5, moved)).toBe(true);
    }
  });
});

describe('hardware domain contexts', () => {
  it('PV relaxed: all RAM but Xen 1:1, reserved ranges, every RMRR; fixed entries', () => {
    const m = machine({ host: host(), devices, domains: [dom0({ memory: '2MiB' }), guest('vm', 1, { pci: [{ dev: 'nic' }] })] });
    const ctx = m.domains.get(0)!.iommu!;
    expect(ctx.mode).toBe('table');
    expect(ctx.followsOwnership).toBeUndefined();
    expect(ctx.followsP2m).toBeUndefined();
    expect(tableOf(ctx)).toEqual([
      [0, 0xff, 0, 'rw', 'config'], // RAM 0x0-0x9f + reserved 0xa0-0xff (incl. igd's RMRR)
      [0x110, 0xfff, 0x110, 'rw', 'config'],
      [0x1800, 0x1801, 0x1800, 'rw', 'config'], // nic's RMRR, though nic is vm's
    ]);
    expect([...ctx.devices]).toEqual(['0000:00:02.0']);
    expect(triples(ctx.reserved)).toEqual([[0xc0, 0xcf, true]]);
  });

  it('PV relaxed without map_reserved', () => {
    const m = machine({ host: host({ iommu: { map_reserved: false } }), devices, domains: [dom0()] });
    expect(tableOf(m.domains.get(0)!.iommu!)).toEqual([
      [0, 0x9f, 0, 'rw', 'config'],
      [0xc0, 0xcf, 0xc0, 'rw', 'config'],
      [0x110, 0xfff, 0x110, 'rw', 'config'],
      [0x1800, 0x1801, 0x1800, 'rw', 'config'],
    ]);
  });

  it('PV strict: its own RAM 1:1 (following ownership), reserved, RMRRs', () => {
    const m = machine({ host: host({ iommu: { dom0: 'strict' } }), devices, domains: [dom0({ memory: '1MiB' }), guest('vm', 1)] });
    // dom0: 0x0-0x9f, 0x110-0x16f.
    const ctx = m.domains.get(0)!.iommu!;
    expect(ctx.followsOwnership).toBe(0);
    expect(tableOf(ctx)).toEqual([
      [0, 0x9f, 0, 'rw', 'config+f'],
      [0xa0, 0xff, 0xa0, 'rw', 'config'],
      [0x110, 0x16f, 0x110, 'rw', 'config+f'],
      [0x1800, 0x1801, 0x1800, 'rw', 'config'],
    ]);
    // vm's RAM (0x170-…) is not reachable through dom0's context.
    expect(iommuLookup(m, ctx, 0x170).fault).toBe('unmapped');
  });

  it('PV passthrough: no translation at all', () => {
    const m = machine({ host: host({ iommu: { dom0: 'passthrough' } }), devices, domains: [dom0()] });
    const ctx = m.domains.get(0)!.iommu!;
    expect(ctx.mode).toBe('passthrough');
    expect(ctx.table.size).toBe(0);
    expect(iommuLookup(m, ctx, 0x12345)).toEqual({ mfn: 0x12345, r: true, w: true });
    expect(contextsReaching(m, 0x500).map((r) => [r.ctx.id, r.dfn])).toEqual([['dom0', 0x500]]);
  });

  it('PVH: DFN = GFN of its p2m, which holds reserved ranges and every RMRR 1:1 (always strict)', () => {
    const m = machine({
      host: host({ iommu: { dom0: 'relaxed' } }),
      devices,
      domains: [dom0({ type: 'pvh', memory: '1MiB' }), guest('vm', 1, { pci: [{ dev: 'nic' }] })],
    });
    const d = m.domains.get(0)!;
    expect(p2mOf(m, 0)).toEqual([
      [0, 0x9f, 0, 'ram_rw'],
      [0xa0, 0xff, 0x110, 'ram_rw'],
      [0x1800, 0x1801, 0x1800, 'mmio_direct'],
    ]);
    // reserved 0xa0-0xff and the RMRR 0xc0-0xcf collide with RAM gfns: the RAM stays.
    expect(d.iommu!.followsP2m).toBe(0);
    expect(tableOf(d.iommu!)).toEqual([
      [0, 0x9f, 0, 'rw', 'config+f'],
      [0xa0, 0xff, 0x110, 'rw', 'config+f'],
      [0x1800, 0x1801, 0x1800, 'rw', 'config+f'],
    ]);
  });
});

describe('guest contexts', () => {
  const ALL_TYPES = [
    'ram_rw',
    'ram_ro',
    'ram_logdirty',
    'mmio_direct',
    'mmio_dm',
    'grant_map_rw',
    'grant_map_ro',
    'map_foreign',
    'ram_shared',
    'ram_paged',
    'populate_on_demand',
    'ioreq_server',
    'ram_broken',
  ];
  const WANT: Record<string, string | undefined> = {
    ram_rw: 'rw',
    ram_ro: 'r-',
    ram_logdirty: 'rw',
    mmio_direct: 'rw',
    grant_map_rw: 'rw',
    grant_map_ro: 'r-',
    map_foreign: 'rw',
  };
  for (const pt of ['sync_pt', 'share_pt']) {
    it(`hvm ${pt}: DFN = GFN with permissions from the p2m type`, () => {
      const p2m = ALL_TYPES.map((type, i) => ({ gfns: { start: i * 0x10, end: i * 0x10 + 3 }, mfns: { start: 0x800 + i * 0x10, end: 0x800 + i * 0x10 + 3 }, type }));
      const m = machine({ host: host(), domains: [dom0(), guest('vm', 1, { passthrough: pt, p2m })] });
      const d = m.domains.get(1)!;
      expect(d.passthrough).toBe(pt);
      expect(d.iommu!.followsP2m).toBe(1);
      const want = ALL_TYPES.flatMap((t, i) => (WANT[t] ? [[i * 0x10, i * 0x10 + 3, 0x800 + i * 0x10, WANT[t], 'config+f']] : []));
      expect(tableOf(d.iommu!)).toEqual(want);
    });
  }

  it('PV guest with passthrough: its own RAM 1:1 (following ownership) plus its devices’ RMRRs', () => {
    const m = machine({
      host: host(),
      devices,
      domains: [dom0({ memory: '64KiB' }), { name: 'pv', domid: 1, type: 'pv', memory: '64KiB', pci: [{ dev: 'nic' }] }],
    });
    const ctx = m.domains.get(1)!.iommu!;
    expect(ctx.followsOwnership).toBe(1);
    expect(tableOf(ctx)).toEqual([
      [0x10, 0x1f, 0x10, 'rw', 'config+f'],
      [0x1800, 0x1801, 0x1800, 'rw', 'config'],
    ]);
    expect(triples(ctx.reserved)).toEqual([[0x1800, 0x1801, true]]);
    expect([...ctx.devices]).toEqual(['0000:03:00.0']);
  });

  it('a guest whose RAM collides with its RMRR keeps the RAM; the RMRR is still reserved', () => {
    const m = machine({ host: host(), devices, domains: [dom0(), guest('vm', 1, { pci: [{ dev: 'igd' }] })] });
    const ctx = m.domains.get(1)!.iommu!;
    expect(iommuLookup(m, ctx, 0xc0).mfn).toBe(m.domains.get(1)!.p2m.lookup(0xc0)!.base);
    expect(ctx.reserved.has(0xc0)).toBe(true);
  });
});

describe('quarantine and no IOMMU', () => {
  it('basic: an empty context per quarantined device', () => {
    const m = machine({ host: host(), devices });
    for (const dev of m.devices.values()) {
      expect(dev.owner).toBe(DOMID_IO);
      expect(dev.quarantine!.mode).toBe('table');
      expect(dev.quarantine!.domid).toBe(DOMID_IO);
      expect(contextOfDevice(m, dev.bdf)).toBe(dev.quarantine);
      expect(iommuLookup(m, dev.quarantine!, 0x10).fault).toBe('unmapped');
    }
    expect(m.scratchMfn).toBeUndefined();
  });

  it('scratch-page: one Xen frame — the lowest of xen_mfns', () => {
    const m = machine({ host: host({ iommu: { quarantine: 'scratch-page' } }), devices, domains: [dom0()] });
    expect(m.scratchMfn).toBe(0x100);
    const q = quarantineContext(m, '0000:03:00.0');
    expect(q.mode).toBe('scratch');
    expect(iommuLookup(m, q, 0x1234)).toEqual({ mfn: 0x100, r: true, w: true });
  });

  it('scratch-page without xen_mfns: the highest free RAM frame, after the domains are laid out', () => {
    const m = machine({ host: { ram: '16MiB', iommu: { quarantine: 'scratch-page' } }, devices: [{ name: 'nic', bdf: '03:00.0' }] });
    expect(m.scratchMfn).toBe(0xfff);
    expect(pageAt(m, 0xfff)).toEqual({ owner: DOMID_XEN, allocated: true, refs: 0, pinned: false });
    const q = m.devices.get('0000:03:00.0')!.quarantine!;
    expect(q.mode).toBe('scratch');
    expect(contextsReaching(m, 0xfff).map((r) => r.ctx.id)).toEqual(['quarantine:0000:03:00.0']);
  });

  it('IOMMU disabled: no domain contexts; every device DMAs untranslated', () => {
    const m = machine({ host: host({ iommu: { enabled: false } }), devices, domains: [dom0(), guest('vm', 1, { pci: [{ dev: 'nic' }] })] });
    expect(m.domains.get(0)!.iommu).toBeUndefined();
    expect(m.domains.get(1)!.iommu).toBeUndefined();
    expect(m.domains.get(1)!.passthrough).toBe('share_pt');
    const ctx = contextOfDevice(m, '03:00.0')!;
    expect(ctx).toBe(m.bypass);
    expect(ctx.domid).toBe(DOMID_INVALID);
    expect(iommuLookup(m, ctx, 0x150)).toEqual({ mfn: 0x150, r: true, w: true });
    expect(allContexts(m)).toEqual([m.bypass]);
  });
});

describe('xs PV-IOMMU mappings', () => {
  const xs = (extra: Record<string, unknown> = {}) => host({ pv_iommu: { abi: 'xs', foreign_offset: '0x100000' }, ...extra });

  it('BFN = PFN replaces the identity entries, then the foreign window maps every RAM frame but Xen’s', () => {
    const m = machine({ host: xs(), domains: [dom0({ memory: '2MiB' })] });
    // dom0 (0x200 pages): 0x0-0x9f, 0x110-0x26f; pfns 0-0x9f → 0x0, 0xa0-0x1ff → 0x110.
    expect(m.pvIommu.usable).toBe(true);
    expect(m.domains.get(0)!.pvIommuUsable).toBe(true);
    expect(tableOf(m.domains.get(0)!.iommu!)).toEqual([
      [0, 0x9f, 0, 'rw', 'config'],
      [0xa0, 0x1ff, 0x110, 'rw', 'config'],
      [0x200, 0xfff, 0x200, 'rw', 'config'],
      [0x100000, 0x10009f, 0, 'rw', 'window'],
      [0x100110, 0x100fff, 0x110, 'rw', 'window'], // Xen's 0x100-0x10f are left out (XS23)
    ]);
    const ctx = m.domains.get(0)!.iommu!;
    expect(iommuLookup(m, ctx, 0x100150)).toMatchObject({ mfn: 0x150, r: true, w: true, entry: { origin: 'window', ref: false } });
  });

  const unusable: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['amd', { cpu_vendor: 'amd' }, {}],
    ['dom0 passthrough', { iommu: { dom0: 'passthrough' } }, {}],
    ['no elf note', { pv_iommu: { abi: 'xs', elf_note: false } }, {}],
    ['iommu off', { iommu: { enabled: false } }, {}],
    ['pvh dom0', {}, { type: 'pvh' }],
  ];
  for (const [what, h, d] of unusable) {
    it(`not usable: ${what}`, () => {
      const m = machine({ host: xs(h), domains: [dom0(d)] });
      expect(m.pvIommu.usable).toBe(false);
      expect(xsConditionsMet(m)).toBe(false);
      const ctx = m.domains.get(0)!.iommu;
      if (ctx) expect(ctx.table.anyIn(0x100000, 0x200000)).toBe(false);
    });
  }

  it('abi none: conditions may hold, nothing installed until asked (scenario override)', () => {
    const m = machine({ host: host(), domains: [dom0({ memory: '2MiB' })] });
    expect(m.pvIommu.usable).toBe(false);
    expect(xsConditionsMet(m)).toBe(true);
    expect(m.domains.get(0)!.iommu!.table.anyIn(0x3e00000, 0x3e00000 + 0xfff)).toBe(false);
    installXsMappings(m);
    expect(iommuLookup(m, m.domains.get(0)!.iommu!, 0x3e00000 + 0x150).mfn).toBe(0x150);
  });
});

describe('address width: VT-d wraps, AMD faults', () => {
  it('VT-d: entries beyond the width are not stored; a lookup beyond masks and reports wrapped', () => {
    const m = machine({ host: host({ iommu: { address_width: 32 }, pv_iommu: { abi: 'xs', foreign_offset: '0x100000' } }), domains: [dom0()] });
    expect(iommuWidthFrames(m)).toBe(0x100000);
    const ctx = m.domains.get(0)!.iommu!;
    expect(ctx.table.anyIn(0x100000, 0x200000)).toBe(false); // the whole window is beyond 32 bits
    expect(iommuLookup(m, ctx, 0x100050)).toMatchObject({ mfn: 0x50, r: true, w: true, wrapped: true });
    expect(iommuLookup(m, ctx, 0x50).wrapped).toBeUndefined();
    expect(iommuLookup(m, ctx, 0x101000)).toEqual({ mfn: -1, r: false, w: false, wrapped: true, fault: 'unmapped' });
  });

  it('AMD: a DFN beyond the width faults', () => {
    const m = machine({ host: host({ cpu_vendor: 'amd', iommu: { address_width: 32 } }), domains: [dom0()] });
    const ctx = m.domains.get(0)!.iommu!;
    expect(iommuLookup(m, ctx, 0x100050)).toEqual({ mfn: -1, r: false, w: false, fault: 'beyond-width' });
    expect(iommuLookup(m, ctx, 0x50).mfn).toBe(0x50);
    expect(iommuMap(m, ctx, 0xffffe, 0x200, 4, { r: true, w: true, origin: 'map_page', ref: false })).toBe(2);
    expect(ctx.table.get(0xfffff)!.end).toBe(0xfffff);
  });
});

describe('iommuMap / iommuUnmap', () => {
  it('references: taken per frame on map, dropped on unmap and on overwrite; failure maps nothing', () => {
    const m = machine({ host: host({ iommu: { dom0: 'strict' } }), domains: [dom0({ memory: '64KiB' }), guest('vm', 1, { memory: '64KiB' })] });
    const ctx = m.domains.get(0)!.iommu!;
    // vm's frames: 0x10-0x1f
    expect(iommuMap(m, ctx, 0x5000, 0x10, 4, { r: true, w: false, origin: 'map_foreign', ref: true })).toBe(4);
    expect(pageAt(m, 0x11)!.refs).toBe(1);
    expect(pageAt(m, 0x14)!.refs).toBe(0);
    expect(tableOf(ctx).at(-1)).toEqual([0x5000, 0x5003, 0x10, 'r-', 'map_foreign+ref']);
    // overwrite the middle two with a new mapping: old refs dropped, new taken
    expect(iommuMap(m, ctx, 0x5001, 0x18, 2, { r: true, w: true, origin: 'map_page', ref: true })).toBe(2);
    expect([0x10, 0x11, 0x12, 0x13, 0x18, 0x19].map((f) => pageAt(m, f)!.refs)).toEqual([1, 0, 0, 1, 1, 1]);
    expect(iommuUnmap(m, ctx, 0x5000, 4)).toBe(4);
    expect([0x10, 0x11, 0x12, 0x13, 0x18, 0x19].map((f) => pageAt(m, f)!.refs)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(iommuUnmap(m, ctx, 0x5000, 4)).toBe(0);
    // a free frame cannot be referenced: nothing mapped
    expect(iommuMap(m, ctx, 0x6000, 0x800, 1, { r: true, w: true, origin: 'map_page', ref: true })).toBe(0);
    expect(ctx.table.has(0x6000)).toBe(false);
    // without ref (no_ref_cnt): raw MFN, unchecked
    expect(iommuMap(m, ctx, 0x6000, 0x800, 1, { r: true, w: true, origin: 'map_page', ref: false, noRef: true })).toBe(1);
    expect(ctx.table.lookup(0x6000)).toEqual({ base: 0x800, r: true, w: true, origin: 'map_page', ref: false, noRef: true });
  });
});

describe('contextOfDevice', () => {
  it('owner context, phantoms, short BDFs, ta contexts; undefined when no translation is possible', () => {
    const m = machine({
      host: host(),
      devices: [
        { name: 'gpu', bdf: '00:02.0', phantom_stride: 4 },
        { name: 'nic', bdf: '03:00.0', assignable: true },
        { name: 'sata', bdf: '00:1f.2', assignable: true },
      ],
      domains: [dom0(), guest('vm', 1, { pci: [{ dev: 'nic' }] }), guest('off', 2, { passthrough: 'disabled', pci: [{ dev: 'sata' }] })],
    });
    const d0 = m.domains.get(0)!.iommu!;
    const vm = m.domains.get(1)!;
    expect(contextOfDevice(m, '0000:00:02.0')).toBe(d0);
    expect(contextOfDevice(m, '00:02.4')).toBe(d0); // phantom
    expect(contextOfDevice(m, '03:00.0')).toBe(vm.iommu);
    expect(contextOfDevice(m, '00:1f.2')).toBeUndefined(); // owner without a context
    expect(contextOfDevice(m, '05:00.0')).toBeUndefined();
    expect(contextOfDevice(m, 'nonsense')).toBeUndefined();
    // ta: attached to context 1 of its owner
    const ctx1 = quarantineContext(m, 'x'); // any context object will do
    vm.ta.contexts.set(1, ctx1);
    m.devices.get('0000:03:00.0')!.ctxNo = 1;
    expect(contextOfDevice(m, '03:00.0')).toBe(ctx1);
  });
});

describe('contextsReaching', () => {
  it('every (context, DFN) mapping a frame: identity, guest DFN = GFN, the xs window', () => {
    const m = machine({
      host: host({ pv_iommu: { abi: 'xs', foreign_offset: '0x100000' } }),
      devices,
      domains: [dom0({ memory: '64KiB' }), guest('vm', 1, { memory: '64KiB', pci: [{ dev: 'nic' }] }), guest('vm2', 2, { memory: '64KiB' })],
    });
    // vm: gfns 0-0xf → mfns 0x10-0x1f.
    const reach = contextsReaching(m, 0x15).map((r) => [r.ctx.id, r.dfn, r.r, r.w]);
    expect(reach).toEqual([
      ['dom0', 0x15, true, true],
      ['dom0', 0x100015, true, true],
      ['vm', 0x5, true, true],
    ]);
    // dom0's own frame 0x5: identity (= BFN = PFN) and window
    expect(contextsReaching(m, 0x5).map((r) => [r.ctx.id, r.dfn])).toEqual([
      ['dom0', 0x5],
      ['dom0', 0x100005],
    ]);
    // Xen's frames are in no context: not in the identity map, and the window leaves them out
    expect(contextsReaching(m, 0x105)).toEqual([]);
    // an mmio frame: nobody
    expect(contextsReaching(m, 0x1500)).toEqual([]);
  });
});
