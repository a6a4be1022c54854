import { describe, expect, it } from 'vitest';
import { formatInspectText, formatTranslateText, inspect, translateGfn, type InspectData, type TranslateData } from '../../src/model/inspect.js';
import { getRef, releaseAllocation } from '../../src/model/pages.js';
import { dom0, guest, machine } from './helpers.js';

const m0 = () =>
  machine({
    host: {
      name: 'lab',
      memory_map: [
        { mfns: '0x0-0x9f', type: 'ram' },
        { mfns: '0xa0-0xff', type: 'reserved' },
        { mfns: '0x100-0xfff', type: 'ram' },
      ],
      xen_mfns: '0x100-0x10f',
      pv_iommu: { abi: 'xs', foreign_offset: '0x100000' },
    },
    devices: [
      { name: 'igd', bdf: '00:02.0', rmrr: ['0xc0-0xcf'] },
      { name: 'nic', bdf: '03:00.0', assignable: true },
    ],
    domains: [
      dom0({ memory: '64KiB' }),
      guest('vm1', 1, { memory: '64KiB', pci: [{ dev: 'nic' }] }),
      guest('vm2', 2, { memory: '64KiB', p2m: [{ gfns: '0x0-0x3', mfns: '0x10-0x13', type: 'ram_rw' }] }),
    ],
  });

describe('inspect', () => {
  it('JSON-able data: hex frames, ranges, owners by name', () => {
    const m = m0();
    const d = inspect(m) as InspectData;
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
    expect(d.host).toBe('lab');
    expect(d.ram).toEqual({ ranges: [{ start: '0x0', end: '0x9f' }, { start: '0x100', end: '0xfff' }], pages: 0xfa0, maxMfn: '0xfff' });
    expect(d.e820).toEqual([{ mfns: { start: '0xa0', end: '0xff' }, type: 'reserved' }]);
    expect(d.rmrr).toEqual([{ mfns: { start: '0xc0', end: '0xcf' }, devices: ['0000:00:02.0'] }]);
    expect(d.pvIommu).toEqual({ abi: 'xs', foreignOffset: '0x100000', usable: true });
    expect(d.domains.map((x) => [x.name, x.layout, x.totPages, x.context ?? null])).toEqual([
      ['dom0', 'auto', 16, 'dom0'],
      ['vm1', 'auto', 16, 'vm1'],
      ['vm2', 'explicit', 4, null],
    ]);
    expect(d.domains[1]!.p2m).toEqual([{ gfns: { start: '0x0', end: '0xf' }, mfns: { start: '0x14', end: '0x23' }, pages: 16, type: 'ram_rw' }]);
    expect(d.devices).toEqual([
      { name: 'igd', bdf: '0000:00:02.0', owner: 'dom0', context: 'dom0', phantoms: [] },
      { name: 'nic', bdf: '0000:03:00.0', owner: 'vm1', context: 'vm1', phantoms: [] },
    ]);
    const vm1ctx = d.contexts.find((c) => c.id === 'vm1')!;
    expect(vm1ctx).toEqual({
      id: 'vm1',
      domain: 'vm1',
      ctxNo: 0,
      mode: 'table',
      follows: 'p2m of vm1',
      devices: ['0000:03:00.0'],
      reserved: [],
      extents: 1,
      table: [{ dfns: { start: '0x0', end: '0xf' }, mfns: { start: '0x14', end: '0x23' }, pages: 16, perms: 'rw', origin: 'config', ref: false, follows: true }],
    });
    expect(d.pages!.extents.map((e) => [e.mfns.start, e.owner])).toEqual([
      ['0x0', 'dom0'],
      ['0x10', 'vm2'],
      ['0x14', 'vm1'],
      ['0x100', 'xen'],
    ]);
    expect(d.pages!.freePages).toBe(0xfa0 - 0x10 - 4 - 0x10 - 0x10);
    expect(d.pages!.free![0]).toEqual({ start: '0x24', end: '0x9f' });
  });

  it('limited to one domain and to some tables', () => {
    const m = m0();
    const d = inspect(m, { domain: 'vm1', what: ['p2m'] }) as InspectData;
    expect(d.domain).toBe('vm1');
    expect(d.domains.map((x) => x.name)).toEqual(['vm1']);
    expect(d.domains[0]!.p2m).toHaveLength(1);
    expect(d.contexts.map((c) => [c.id, c.table])).toEqual([['vm1', undefined]]);
    expect(d.devices.map((x) => x.name)).toEqual(['nic']);
    expect(d.pages).toBeUndefined();
    const byId = inspect(m, { domain: '1', what: ['pages'] }) as InspectData;
    expect(byId.domains[0]!.p2m).toBeUndefined();
    expect(byId.pages!.extents.map((e) => e.owner)).toEqual(['vm1']);
    expect(byId.pages!.free).toBeUndefined();
  });

  it('unknown domain → error', () => {
    expect(inspect(m0(), { domain: 'nope' })).toEqual({ error: 'host lab has no domain "nope" (domains: dom0, vm1, vm2)' });
  });

  it('text: aligned extent tables', () => {
    const text = formatInspectText(inspect(m0()) as InspectData);
    expect(text).toContain('host lab (intel, 16000 KiB (about 15.63 MiB) RAM in 2 ranges, highest MFN 0xfff)');
    expect(text).toContain('pv-iommu: abi xs, usable, foreign window at 0x100000');
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.startsWith('iommu context dom0'));
    expect(lines[i]).toBe('iommu context dom0 (dom0, ctx 0, table, 4 extents)');
    expect(lines.slice(i + 1, i + 8)).toEqual([
      '  devices: 0000:00:02.0',
      '  reserved: 0xc0-0xcf',
      '  dfns               mfns         pages  perm  origin  ref',
      '  0x0-0xff           0x0-0xff       256  rw    config  -',
      '  0x110-0xfff        0x110-0xfff   3824  rw    config  -',
      '  0x100000-0x10009f  0x0-0x9f       160  rw    window  -',
      '  0x100110-0x100fff  0x110-0xfff   3824  rw    window  -',
    ]);
    expect(text).toContain('domain vm2 (domid 2, hvm, guest) 16 KiB of 64 KiB (max 64 KiB), explicit layout, passthrough disabled, device model dom0');
  });
});

describe('translate', () => {
  it('mfn, type, owner, references, and every context reaching it', () => {
    const m = m0();
    const t = translateGfn(m, 'vm1', 0x5) as TranslateData;
    expect(t).toEqual({
      host: 'lab',
      domain: 'vm1',
      domid: 1,
      space: 'gfn',
      gfn: '0x5',
      backed: true,
      mfn: '0x19',
      type: 'ram_rw',
      extent: { gfns: { start: '0x0', end: '0xf' }, mfns: { start: '0x14', end: '0x23' } },
      frame: 'owned',
      owner: 'vm1',
      page: { allocated: true, refs: 0, pinned: false },
      reachedBy: [
        { context: 'dom0', domain: 'dom0', dfn: '0x19', perms: 'rw', devices: ['0000:00:02.0'] },
        { context: 'dom0', domain: 'dom0', dfn: '0x100019', perms: 'rw', devices: ['0000:00:02.0'] },
        { context: 'vm1', domain: 'vm1', dfn: '0x5', perms: 'rw', devices: ['0000:03:00.0'] },
      ],
    });
    const text = formatTranslateText(t);
    expect(text).toContain('vm1 (domid 1) gfn 0x5 on host lab');
    expect(text).toContain('  mfn     0x19  (ram_rw; extent 0x0-0xf → 0x14-0x23)');
    expect(text).toContain('  frame   owned by vm1, allocated, 0 references');
    expect(text).toContain('    dom0     dom0    0x100019  rw    0000:00:02.0');
  });

  it('a page released but still referenced; PV pfns; unbacked gfns; errors', () => {
    const m = m0();
    getRef(m, 0x19);
    releaseAllocation(m, 0x19);
    const t = translateGfn(m, 'vm1', 5) as TranslateData;
    expect([t.owner, t.page]).toEqual(['vm1', { allocated: false, refs: 1, pinned: false }]);
    expect(formatTranslateText(t)).toContain('owned by vm1, released by its owner, 1 reference');
    const pv = translateGfn(m, '0', 3) as TranslateData;
    expect([pv.domain, pv.space, pv.mfn]).toEqual(['dom0', 'pfn', '0x3']);
    const un = translateGfn(m, 'vm2', 0x10) as TranslateData;
    expect([un.backed, un.reachedBy]).toEqual([false, []]);
    expect(formatTranslateText(un)).toContain('not backed');
    expect(translateGfn(m, 'vmX', 0)).toEqual({ error: 'host lab has no domain "vmX" (domains: dom0, vm1, vm2)' });
    expect('error' in translateGfn(m, 'vm1', -1)).toBe(true);
  });
});
