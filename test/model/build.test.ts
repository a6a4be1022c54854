import { describe, expect, it } from 'vitest';
import { buildMachine, resolvePassthrough } from '../../src/model/build.js';
import { phantomBdfs } from '../../src/config/units.js';
import { DOMID_IO, DOMID_XEN } from '../../src/model/types.js';
import { freeFrameCount, isFree } from '../../src/model/pages.js';
import { dom0, guest, hostConfig, machine, p2mOf, pagesOf, tableOf, triples } from './helpers.js';

const X = DOMID_XEN;

/**
 * E820: RAM 0x0-0x9f, reserved 0xa0-0xff, RAM 0x100-0x7ff, mmio 0x800-0xfff, RAM 0x1000-0x1fff.
 * Xen owns 0x100-0x1ff; igd's RMRR 0x300-0x30f lies in RAM (never free), 0xe0000-0xe000f is not RAM.
 */
const holes = {
  host: {
    memory_map: [
      { mfns: '0x0-0x9f', type: 'ram' },
      { mfns: '0xa0-0xff', type: 'reserved' },
      { mfns: '0x100-0x7ff', type: 'ram' },
      { mfns: '0x800-0xfff', type: 'mmio' },
      { mfns: '0x1000-0x1fff', type: 'ram' },
    ],
    xen_mfns: '0x100-0x1ff',
  },
  devices: [{ name: 'igd', bdf: '00:02.0', rmrr: ['0x300-0x30f', '0xe0000-0xe000f'], assignable: true }],
  domains: [
    dom0({ memory: '1MiB' }), // 0x100 pages
    guest('vm1', 1, { memory: '4MiB', pci: [{ dev: 'igd' }] }), // 0x400 pages
    { name: 'vm2', domid: 2, type: 'pv', memory: '32MiB' }, // 0x2000 pages: more than is left
  ],
};

describe('host memory', () => {
  it('ram shorthand: one RAM range from MFN 0', () => {
    const m = machine({ host: { ram: '1GiB' } });
    expect(triples(m.ram)).toEqual([[0, 0x3ffff, true]]);
    expect(m.maxRamMfn).toBe(0x3ffff);
    expect(m.e820.size).toBe(0);
    expect(m.domains.size).toBe(0);
  });

  it('memory_map: RAM, non-RAM E820, Xen frames, RMRRs (shared ones list every device)', () => {
    const m = machine({
      ...holes,
      devices: [...holes.devices, { name: 'nic', bdf: '00:03.0', rmrr: ['0x308-0x31f'] }],
      domains: [],
    });
    expect(triples(m.ram)).toEqual([
      [0, 0x9f, true],
      [0x100, 0x7ff, true],
      [0x1000, 0x1fff, true],
    ]);
    expect(triples(m.e820)).toEqual([
      [0xa0, 0xff, 'reserved'],
      [0x800, 0xfff, 'mmio'],
    ]);
    expect(pagesOf(m)).toEqual([[0x100, 0x1ff, X, true, 0]]);
    expect(triples(m.rmrr)).toEqual([
      [0x300, 0x307, ['0000:00:02.0']],
      [0x308, 0x30f, ['0000:00:02.0', '0000:00:03.0']],
      [0x310, 0x31f, ['0000:00:03.0']],
      [0xe0000, 0xe000f, ['0000:00:02.0']],
    ]);
    expect(m.maxRamMfn).toBe(0x1fff);
    expect(isFree(m, 0x300)).toBe(false);
    expect(isFree(m, 0x320)).toBe(true);
    expect(isFree(m, 0xa0)).toBe(false);
  });
});

describe('automatic layout', () => {
  it('lowest free frames first, across holes, around Xen and RMRR frames; PV contiguous; shortfall', () => {
    const m = machine(holes);
    // dom0 (0x100): 0x0-0x9f, then 0x200-0x25f (Xen has 0x100-0x1ff).
    expect(p2mOf(m, 0)).toEqual([
      [0, 0x9f, 0, 'ram_rw'],
      [0xa0, 0xff, 0x200, 'ram_rw'],
    ]);
    // vm1 (0x400, hvm): 0x260-0x2ff, skips the RMRR 0x300-0x30f, 0x310-0x66f. Its RMRR 0x300-0x30f
    // collides with its own RAM gfns (the RAM stays); 0xe0000-0xe000f is mapped 1:1.
    expect(p2mOf(m, 1)).toEqual([
      [0, 0x9f, 0x260, 'ram_rw'],
      [0xa0, 0x3ff, 0x310, 'ram_rw'],
      [0xe0000, 0xe000f, 0xe0000, 'mmio_direct'],
    ]);
    // vm2 (PV, 0x2000): what is left — 0x670-0x7ff and 0x1000-0x1fff, pfns contiguous.
    expect(p2mOf(m, 2)).toEqual([
      [0, 0x18f, 0x670, 'ram_rw'],
      [0x190, 0x118f, 0x1000, 'ram_rw'],
    ]);
    expect(pagesOf(m)).toEqual([
      [0, 0x9f, 0, true, 0],
      [0x100, 0x1ff, X, true, 0],
      [0x200, 0x25f, 0, true, 0],
      [0x260, 0x2ff, 1, true, 0],
      [0x310, 0x66f, 1, true, 0],
      [0x670, 0x7ff, 2, true, 0],
      [0x1000, 0x1fff, 2, true, 0],
    ]);
    const [d0, vm1, vm2] = [m.domains.get(0)!, m.domains.get(1)!, m.domains.get(2)!];
    expect([d0.totPages, vm1.totPages, vm2.totPages]).toEqual([0x100, 0x400, 0x1190]);
    expect([d0.shortfall, vm1.shortfall, vm2.shortfall]).toEqual([0, 0, 0x2000 - 0x1190]);
    expect(vm1.lowRamEnd).toBe(0x400);
    expect(d0.lowRamEnd).toBeUndefined();
    expect(freeFrameCount(m)).toBe(0);
    expect(m.aliases).toEqual([]);
    for (const d of m.domains.values()) expect(d.layout).toBe('auto');
  });

  it('hvm: low RAM up to 4GiB − mmio_hole, the rest from gfn 0x100000', () => {
    const m = machine({
      host: { ram: '8GiB' },
      domains: [dom0(), guest('big', 1, { memory: '6GiB', mmio_hole: '1GiB' }), guest('dflt', 2, { memory: '4GiB' })],
    });
    // dom0: 0x0-0x3ff. big: 0x180000 pages from 0x400, low limit 0x100000 − 0x40000 = 0xc0000.
    expect(p2mOf(m, 1)).toEqual([
      [0, 0xbffff, 0x400, 'ram_rw'],
      [0x100000, 0x1bffff, 0xc0400, 'ram_rw'],
    ]);
    expect(m.domains.get(1)!.lowRamEnd).toBe(0xc0000);
    // dflt: default 256MiB hole → low limit 0xf0000; only 0x7fc00 frames are left (short).
    const left = 0x200000 - 0x400 - 0x180000;
    expect(p2mOf(m, 2)).toEqual([[0, left - 1, 0x180400, 'ram_rw']]);
    expect(m.domains.get(2)!.shortfall).toBe(0x100000 - left);
    expect(m.domains.get(2)!.lowRamEnd).toBe(left);
  });

  it('pvh is laid out like hvm; pv is not split', () => {
    const m = machine({
      host: { ram: '8GiB' },
      domains: [dom0({ memory: '5GiB' }), { name: 'p', domid: 1, type: 'pvh', memory: '2GiB', mmio_hole: '3GiB' }],
    });
    expect(p2mOf(m, 0)).toEqual([[0, 0x13ffff, 0, 'ram_rw']]);
    expect(p2mOf(m, 1)).toEqual([
      [0, 0x3ffff, 0x140000, 'ram_rw'],
      [0x100000, 0x13ffff, 0x180000, 'ram_rw'],
    ]);
  });

  it('iomem is mapped 1:1 (or at @gfn) in translated guests only; existing entries win', () => {
    const m = machine({
      host: { ram: '64MiB' },
      domains: [
        dom0(),
        guest('vm1', 1, { iomem: ['0xfed00-0xfed01', '0xfe000@0x80000', '0x10-0x11@0x3ff'] }),
        { name: 'pv1', domid: 2, type: 'pv', memory: '4MiB', iomem: ['0xfed00-0xfed01'] },
      ],
    });
    expect(p2mOf(m, 1)).toEqual([
      [0, 0x3ff, 0x400, 'ram_rw'],
      [0x400, 0x400, 0x11, 'mmio_direct'], // 0x10@0x3ff collides with RAM: only its second frame lands
      [0x80000, 0x80000, 0xfe000, 'mmio_direct'],
      [0xfed00, 0xfed01, 0xfed00, 'mmio_direct'],
    ]);
    expect(p2mOf(m, 2)).toEqual([[0, 0x3ff, 0x800, 'ram_rw']]);
  });

  it('domains are laid out in domid order whatever the config order', () => {
    const hc = hostConfig({ host: { ram: '64MiB' }, domains: [dom0(), guest('a', 1), guest('b', 2)] });
    hc.domains.reverse();
    const m = buildMachine(hc);
    expect(p2mOf(m, 0)[0]![2]).toBe(0);
    expect(p2mOf(m, 1)[0]![2]).toBe(0x400);
    expect(p2mOf(m, 2)[0]![2]).toBe(0x800);
  });
});

describe('explicit p2m', () => {
  const explicit = {
    host: { ram: '16MiB', xen_mfns: '0x0-0xf' },
    devices: [{ name: 'dev', bdf: '01:00.0', rmrr: ['0x800-0x80f'] }],
    domains: [
      dom0({ memory: '1MiB' }),
      guest('vm1', 1, {
        p2m: [
          { gfns: '0x0-0xff', mfns: '0x100-0x1ff', type: 'ram_rw' },
          { gfns: '0xfee00', mfns: '0xfee00', type: 'mmio_direct' },
        ],
      }),
      guest('vm2', 2, {
        p2m: [
          { gfns: '0x0-0x1f', mfns: '0x1f0-0x20f', type: 'ram_rw' }, // 0x1f0-0x1ff: vm1's
          { gfns: '0x100-0x10f', mfns: '0x8-0x17', type: 'ram_rw' }, // 0x8-0xf: Xen's
          { gfns: '0x200-0x20f', mfns: '0x800-0x80f', type: 'ram_ro' }, // an RMRR
          { gfns: '0x300-0x30f', mfns: '0x2000-0x200f', type: 'ram_rw' }, // not host RAM
          { gfns: '0x10-0x2f', mfns: '0x400-0x41f', type: 'ram_rw' }, // gfns 0x10-0x1f taken by entry 0
          { gfns: '0x400-0x40f', mfns: '0x100-0x10f', type: 'map_foreign' }, // not RAM: no ownership
        ],
      }),
      guest('vm3', 3, {
        p2m: [
          { gfns: '0x0-0x3', mfns: '0x500-0x503', type: 'ram_rw' },
          { gfns: '0x10-0x13', mfns: '0x502-0x505', type: 'ram_rw' }, // one frame at two gfns
        ],
      }),
    ],
  };

  it('RAM types take ownership, first claimant keeps the frames, the rest becomes aliases', () => {
    const m = machine(explicit);
    expect(p2mOf(m, 2)).toEqual([
      [0, 0x1f, 0x1f0, 'ram_rw'],
      [0x20, 0x2f, 0x410, 'ram_rw'],
      [0x100, 0x10f, 0x8, 'ram_rw'],
      [0x200, 0x20f, 0x800, 'ram_ro'],
      [0x300, 0x30f, 0x2000, 'ram_rw'],
      [0x400, 0x40f, 0x100, 'map_foreign'],
    ]);
    expect(p2mOf(m, 1)).toEqual([
      [0, 0xff, 0x100, 'ram_rw'],
      [0xfee00, 0xfee00, 0xfee00, 'mmio_direct'],
    ]);
    // dom0 (automatic) takes the lowest frames the explicit extents left free.
    expect(p2mOf(m, 0)).toEqual([
      [0, 0xe7, 0x18, 'ram_rw'],
      [0xe8, 0xff, 0x210, 'ram_rw'],
    ]);
    expect(pagesOf(m)).toEqual([
      [0, 0xf, X, true, 0],
      [0x10, 0x17, 2, true, 0],
      [0x18, 0xff, 0, true, 0],
      [0x100, 0x1ff, 1, true, 0],
      [0x200, 0x20f, 2, true, 0],
      [0x210, 0x227, 0, true, 0],
      [0x410, 0x41f, 2, true, 0],
      [0x500, 0x505, 3, true, 0],
    ]);
    expect(m.aliases).toEqual([
      { domid: 2, entry: 0, gfn: 0, mfn: 0x1f0, count: 0x10, heldBy: 1, heldByEntry: 0 },
      { domid: 2, entry: 1, gfn: 0x100, mfn: 0x8, count: 8, heldBy: 'xen' },
      { domid: 2, entry: 2, gfn: 0x200, mfn: 0x800, count: 0x10, heldBy: 'rmrr' },
      { domid: 2, entry: 3, gfn: 0x300, mfn: 0x2000, count: 0x10, heldBy: 'non-ram' },
      { domid: 3, entry: 1, gfn: 0x10, mfn: 0x502, count: 2, heldBy: 3, heldByEntry: 0 },
    ]);
    expect(m.domains.get(1)!.totPages).toBe(0x100);
    expect(m.domains.get(2)!.totPages).toBe(0x10 + 8 + 0x10);
    expect(m.domains.get(3)!.totPages).toBe(6);
    expect(m.domains.get(2)!.layout).toBe('explicit');
    expect(m.domains.get(2)!.shortfall).toBe(0);
  });

  it('explicit extents are laid out before automatic domains, whatever the domids', () => {
    // dom0 (domid 0, automatic) is laid out around vm1's and vm2's explicit frames.
    const m = machine({
      host: { ram: '16MiB' },
      domains: [dom0({ memory: '64KiB' }), guest('vm1', 1, { p2m: [{ gfns: '0x0-0xf', mfns: '0x0-0xf', type: 'ram_rw' }] }), guest('vm2', 2, { p2m: [{ gfns: '0x0', mfns: '0x10', type: 'ram_rw' }] })],
    });
    expect(p2mOf(m, 0)).toEqual([[0, 0xf, 0x11, 'ram_rw']]);
    expect(m.aliases).toEqual([]);
  });
});

describe('passthrough resolution (SPEC §3.3)', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>, boolean, string][] = [
    ['hvm default, no pci', { type: 'hvm' }, {}, false, 'disabled'],
    ['hvm default, pci, intel+hap+sharept', { type: 'hvm', pci: [{ dev: 'x' }] }, {}, false, 'share_pt'],
    ['hvm enabled, amd', { type: 'hvm', passthrough: 'enabled' }, { cpu_vendor: 'amd' }, false, 'sync_pt'],
    ['hvm enabled, hap off', { type: 'hvm', passthrough: 'enabled', hap: false }, {}, false, 'sync_pt'],
    ['hvm enabled, sharept off', { type: 'hvm', passthrough: 'enabled' }, { iommu: { sharept: false } }, false, 'sync_pt'],
    ['pvh enabled', { type: 'pvh', passthrough: 'enabled' }, {}, false, 'sync_pt'],
    ['pv default, pci', { type: 'pv', pci: [{ dev: 'x' }] }, {}, false, 'sync_pt'],
    ['explicit sync_pt', { type: 'hvm', passthrough: 'sync_pt' }, {}, false, 'sync_pt'],
    ['explicit share_pt on pv is kept', { type: 'pv', passthrough: 'share_pt' }, {}, false, 'share_pt'],
    ['disabled with pci', { type: 'hvm', passthrough: 'disabled', pci: [{ dev: 'x' }] }, {}, false, 'disabled'],
    ['hardware pv, default', { type: 'pv' }, {}, true, 'sync_pt'],
    ['hardware pvh, disabled', { type: 'pvh', passthrough: 'disabled' }, {}, true, 'sync_pt'],
  ];
  for (const [what, dom, host, hw, want] of cases) {
    it(`${what} → ${want}`, () => {
      const hc = hostConfig({ host: { ram: '64MiB', ...host }, domains: [{ name: 'd', domid: 1, memory: '4MiB', ...dom }] });
      const d = hc.domains[0]!;
      expect(resolvePassthrough(d, hc.host.cpu_vendor, hc.host.iommu.sharept, hw)).toBe(want);
    });
  }

  it('built domains carry it; only passthrough ≠ disabled gets a context', () => {
    const m = machine({
      host: { ram: '64MiB' },
      devices: [{ name: 'nic', bdf: '03:00.0', assignable: true }],
      domains: [dom0(), guest('a', 1), guest('b', 2, { pci: [{ dev: '03:00.0' }] })],
    });
    expect([...m.domains.values()].map((d) => [d.name, d.passthrough, d.iommu?.id])).toEqual([
      ['dom0', 'sync_pt', 'dom0'],
      ['a', 'disabled', undefined],
      ['b', 'share_pt', 'b'],
    ]);
  });
});

describe('domain attributes', () => {
  it('maxPages, device model, pod, logDirty, hardware/control domain', () => {
    const m = machine({
      host: { ram: '64MiB' },
      domains: [
        dom0(),
        { name: 'ctl', domid: 1, type: 'pvh', role: 'control', memory: '4MiB' },
        guest('vm', 2, { maxmem: '8MiB', live_migration: true }),
        guest('dm', 3),
        guest('stub', 4, { device_model: 'dm' }),
        guest('byid', 5, { device_model: 3 }),
        { name: 'pv', domid: 6, type: 'pv', memory: '4MiB', maxmem: '8MiB' },
      ],
    });
    expect(m.hwdom).toBe(0);
    expect(m.controlDom).toBe(1);
    const vm = m.domains.get(2)!;
    expect([vm.maxPages, vm.totPages, vm.pod, vm.logDirty, vm.deviceModel]).toEqual([0x800, 0x400, true, true, 1]);
    expect(m.domains.get(4)!.deviceModel).toBe(3);
    expect(m.domains.get(5)!.deviceModel).toBe(3);
    expect(m.domains.get(6)!.pod).toBe(false);
    expect(m.domains.get(0)!.deviceModel).toBe(1);
  });

  it('without a control domain the hardware domain is the default device model', () => {
    const m = machine({ host: { ram: '64MiB' }, domains: [dom0(), guest('vm', 1)] });
    expect(m.controlDom).toBe(0);
    expect(m.domains.get(1)!.deviceModel).toBe(0);
  });
});

describe('devices', () => {
  it('owner: first domain (domid order) naming it by name or BDF, else the hardware domain; phantoms follow', () => {
    const m = machine({
      host: { ram: '64MiB' },
      devices: [
        { name: 'gpu', bdf: '0000:00:02.0', phantom_stride: 2 },
        { name: 'nic', bdf: '03:00.0', assignable: true },
        { name: 'usb', bdf: '00:14.0' },
        { name: 'f4', bdf: '00:02.4' }, // a real device where a phantom would be
      ],
      domains: [dom0(), guest('a', 1, { pci: [{ dev: '0000:03:00.0' }] }), guest('b', 2, { pci: [{ dev: 'nic' }, { dev: 'gpu' }] })],
    });
    const owners = Object.fromEntries([...m.devices.values()].map((d) => [d.cfg.name, d.owner]));
    expect(owners).toEqual({ gpu: 2, nic: 1, usb: 0, f4: 0 });
    expect(m.devices.get('0000:00:02.0')!.phantoms).toEqual(['0000:00:02.2', '0000:00:02.6']);
    expect([...m.phantoms]).toEqual([
      ['0000:00:02.2', '0000:00:02.0'],
      ['0000:00:02.6', '0000:00:02.0'],
    ]);
    expect([...m.domains.get(2)!.iommu!.devices].sort()).toEqual(['0000:00:02.0', '0000:00:02.2', '0000:00:02.6']);
    expect([...m.domains.get(0)!.iommu!.devices].sort()).toEqual(['0000:00:02.4', '0000:00:14.0']);
  });

  it('an hvm guest’s low RAM ends below an RMRR of its device above rdm_mem_boundary (libxl), which is then mapped 1:1', () => {
    const spec = (boundary: string) =>
      machine({
        host: { ram: '16GiB' },
        devices: [{ name: 'igd', bdf: '00:02.0', assignable: true, rmrr: ['0x7b800-0x7ffff'] }],
        domains: [
          { name: 'dom0', domid: 0, type: 'pv', role: 'hardware', memory: '2GiB' },
          { name: 'vm1', domid: 1, type: 'hvm', memory: '4GiB', rdm_mem_boundary: boundary, pci: [{ dev: 'igd' }] },
        ],
      });
    const p2m = (m: ReturnType<typeof machine>) => m.domains.get(1)!.p2m.toArray().map((e) => `${e.start.toString(16)}-${e.end.toString(16)} ${e.value.type}`);
    // boundary 1 GiB: the region (at ~1.93 GiB) is above it — low RAM ends at 0x7b800, the rest goes high
    expect(p2m(spec('1GiB'))).toEqual(['0-7b7ff ram_rw', '7b800-7ffff mmio_direct', '100000-1847ff ram_rw']);
    // the default boundary (2 GiB): the region stays under low RAM (rdm/conflict reports it), no 1:1 entry
    expect(p2m(spec('2GiB'))).toEqual(['0-effff ram_rw', '100000-10ffff ram_rw']);
  });

  it('phantomBdfs', () => {
    expect(phantomBdfs('0000:00:02.0', 0)).toEqual([]);
    expect(phantomBdfs('0000:00:02.0', 1)).toEqual(['0000:00:02.1', '0000:00:02.2', '0000:00:02.3', '0000:00:02.4', '0000:00:02.5', '0000:00:02.6', '0000:00:02.7']);
    expect(phantomBdfs('0000:00:02.1', 4)).toEqual(['0000:00:02.5']);
    // a function at or above the stride has none (Xen's alloc_pdev sets phantom_stride 0)
    expect(phantomBdfs('0000:00:02.1', 1)).toEqual([]);
    expect(phantomBdfs('0000:00:02.4', 4)).toEqual([]);
  });

  it('a host without a hardware domain quarantines its devices', () => {
    const m = machine({ host: { ram: '64MiB' }, devices: [{ name: 'nic', bdf: '03:00.0' }] });
    const dev = m.devices.get('0000:03:00.0')!;
    expect(dev.owner).toBe(DOMID_IO);
    expect(dev.quarantine?.mode).toBe('table');
    expect(dev.quarantine?.id).toBe('quarantine:0000:03:00.0');
  });
});

describe('scale', () => {
  it('768 GiB host, relaxed PV dom0 with the xs window and 20 × 32 GiB guests: a handful of extents', () => {
    const m = machine({
      host: { ram: '768GiB', xen_mfns: '0x100-0x8ff', pv_iommu: { abi: 'xs', foreign_offset: '0x10000000' } },
      domains: [dom0({ memory: '16GiB' }), ...Array.from({ length: 20 }, (_, i) => guest(`vm${i + 1}`, i + 1, { memory: '32GiB' }))],
    });
    expect(m.ram.frames).toBe(768 * 262144);
    expect(m.pvIommu.usable).toBe(true);
    expect(m.pages.size).toBeLessThanOrEqual(23); // Xen + dom0 (2: around Xen) + 20 guests, merged where adjacent
    for (const d of m.domains.values()) {
      expect(d.p2m.size).toBeLessThanOrEqual(2);
      expect(d.shortfall).toBe(0);
    }
    const ctx = m.domains.get(0)!.iommu!;
    expect(ctx.table.size).toBeLessThanOrEqual(6);
    // identity of all RAM but Xen's, BFN = PFN, the window of all RAM but Xen's. BFN = PFN fills
    // the DFNs of Xen's frames in the low part, so the table covers RAM twice over less Xen's once.
    expect(ctx.table.frames).toBe(2 * m.ram.frames - 0x800);
    expect(freeFrameCount(m)).toBe(768 * 262144 - 0x800 - 16 * 262144 - 20 * 32 * 262144);
    let extents = m.ram.size + m.pages.size + ctx.table.size;
    for (const d of m.domains.values()) extents += d.p2m.size;
    expect(extents).toBeLessThan(80);
    expect(tableOf(ctx).slice(-2)).toEqual([
      [0x10000000, 0x100000ff, 0, 'rw', 'window'],
      [0x10000900, 0x10000000 + 768 * 262144 - 1, 0x900, 'rw', 'window'],
    ]);
  });
});
