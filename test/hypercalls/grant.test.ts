/** Grant mappings (reference/xen-model.md §5): GNTST_* statuses, IOMMU side effects, references. */
import { describe, expect, it } from 'vitest';
import { env, lab, labScenario, scenario, rules } from './helpers.js';
import { grantMap, grantUnmap, GNTMAP_device_map as DEV, GNTMAP_host_map as HOST, GNTMAP_readonly as RO } from '../../src/hypercalls/grant.js';
import { decreaseReservation } from '../../src/hypercalls/memory.js';
import { frameList } from '../../src/hypercalls/args.js';
import { pageAt } from '../../src/model/pages.js';
import { p2mLookup } from '../../src/model/p2m.js';

describe('grant.map / grant.unmap: statuses in map_grant_ref order', () => {
  it('no device_map / host_map → GNTST_bad_gntref, before anything else', () => {
    const e = env(lab());
    expect(grantMap(e.ctx('vm2'), { granter: 77, gfn: 0x100, flags: RO })).toMatchObject({ rc: 0, status: -3, errno: 'GNTST_bad_gntref' });
  });
  it('a translated mapper with device_map → GNTST_general_error, before the granter lookup', () => {
    const e = env(lab());
    expect(grantMap(e.ctx('vm2'), { granter: 77, gfn: 0x100, flags: DEV | HOST, host_gfn: 0x9000 }).errno).toBe('GNTST_general_error');
  });
  it('unknown granter → GNTST_bad_domain; unbacked gfn → GNTST_bad_page', () => {
    const e = env(lab());
    expect(grantMap(e.ctx('vm2'), { granter: 77, gfn: 0x100, flags: HOST, host_gfn: 0x9000 }).errno).toBe('GNTST_bad_domain');
    expect(grantMap(e.ctx('vm2'), { granter: 1, gfn: 0x7ffff, flags: HOST, host_gfn: 0x9000 }).errno).toBe('GNTST_bad_page');
  });
  it('a paged-out frame, or a CoW-shared one mapped writable, is GNTST_eagain; a broken frame GNTST_bad_page; a shared one read-only maps', () => {
    const e = env(lab());
    const vm1 = e.dom('vm1');
    vm1.p2m.set(0x100, 0x100, { base: 0x1200, type: 'ram_shared' });
    vm1.p2m.set(0x101, 0x101, { base: 0x1201, type: 'ram_broken' });
    vm1.p2m.set(0x102, 0x102, { base: 0x1202, type: 'ram_paged' });
    const map = (gfn: number, flags: number, host_gfn: number) => grantMap(e.ctx('vm2'), { granter: 1, gfn, flags, host_gfn }).errno;
    expect(map(0x100, HOST, 0x9000)).toBe('GNTST_eagain');
    expect(map(0x102, HOST, 0x9001)).toBe('GNTST_eagain');
    expect(map(0x102, HOST | RO, 0x9001)).toBe('GNTST_eagain');
    expect(map(0x101, HOST | RO, 0x9002)).toBe('GNTST_bad_page');
    expect([pageAt(e.m, 0x1200)!.refs, pageAt(e.m, 0x1201)!.refs]).toEqual([0, 0]);
    expect(map(0x100, HOST | RO, 0x9003)).toBe('OK');
  });
  it('a translated host map needs host_gfn (GNTST_bad_virt_addr) and refuses a special slot (GNTST_general_error)', () => {
    const e = env(lab({ nic: 'rmrr: ["0x3f00-0x3f0f"]' }));
    expect(grantMap(e.ctx('vm2'), { granter: 1, gfn: 0x100, flags: HOST }).errno).toBe('GNTST_bad_virt_addr');
    expect(grantMap(e.ctx('vm2'), { granter: 1, gfn: 0x100, flags: HOST, host_gfn: 0x3f00 }).errno).toBe('GNTST_general_error');
    expect(pageAt(e.m, 0x1200)!.refs).toBe(0);
  });
  it('unmap: a handle not in the caller’s maptrack → GNTST_bad_handle', () => {
    const e = env(lab());
    expect(grantUnmap(e.ctx('vm2'), { handle: 0 }).errno).toBe('GNTST_bad_handle');
    const h = grantMap(e.ctx('vm2'), { granter: 1, gfn: 0x100, flags: HOST, host_gfn: 0x9000 }).out.handle as number;
    expect(grantUnmap(e.ctx('vm3'), { handle: h }).errno).toBe('GNTST_bad_handle');
    expect(grantUnmap(e.ctx('vm2'), { handle: h })).toMatchObject({ rc: 0, status: 0, errno: 'OK' });
    expect(grantUnmap(e.ctx('vm2'), { handle: h }).errno).toBe('GNTST_bad_handle');
  });
});

describe('translated mapper', () => {
  it('gets grant_map_rw/ro at host_gfn, mirrored in its IOMMU context; the map holds a reference', () => {
    const e = env(lab());
    const rw = grantMap(e.ctx('vm2'), { granter: 1, gfn: 0x100, flags: HOST, host_gfn: 0x9000 });
    expect(rw).toEqual({ rc: 0, status: 0, errno: 'OK', out: { handle: 0 } });
    expect(p2mLookup(e.dom('vm2'), 0x9000)).toEqual({ mfn: 0x1200, type: 'grant_map_rw' });
    expect(e.dom('vm2').iommu!.table.lookup(0x9000)).toMatchObject({ base: 0x1200, r: true, w: true });
    const ro = grantMap(e.ctx('vm2'), { granter: 1, gfn: 0x101, flags: HOST | RO, host_gfn: 0x9001 });
    expect(ro.out).toEqual({ handle: 1 });
    expect(e.dom('vm2').iommu!.table.lookup(0x9001)).toMatchObject({ base: 0x1201, r: true, w: false });
    expect(pageAt(e.m, 0x1200)!.refs).toBe(1);
    grantUnmap(e.ctx('vm2'), { handle: 0 });
    expect(p2mLookup(e.dom('vm2'), 0x9000)).toBeUndefined();
    expect(e.dom('vm2').iommu!.table.has(0x9000)).toBe(false);
    expect(pageAt(e.m, 0x1200)!.refs).toBe(0);
  });
  it('a granted page the granter balloons out stays the granter’s while mapped, and is freed by the unmap', () => {
    const e = env(lab());
    grantMap(e.ctx('vm2'), { granter: 1, gfn: 0x100, flags: HOST, host_gfn: 0x9000 });
    expect(decreaseReservation(e.ctx('vm1'), { gfns: frameList([0x100]) }).rc).toBe(1);
    expect(pageAt(e.m, 0x1200)).toMatchObject({ owner: 1, allocated: false, refs: 1 });
    grantUnmap(e.ctx('vm2'), { handle: 0 });
    expect(pageAt(e.m, 0x1200)).toBeUndefined();
  });
});

describe('PV mapper', () => {
  it('strict PV dom0: identity DFN = MFN, refcounted per MFN with separate read / write counts', () => {
    const e = env(lab({ dom0: 'strict' }));
    const t = e.dom('dom0').iommu!.table;
    const a = grantMap(e.ctx(), { granter: 1, gfn: 0x100, flags: HOST | RO });
    expect(t.lookup(0x1200)).toMatchObject({ base: 0x1200, r: true, w: false, origin: 'grant', grantReaders: 1, grantWriters: 0 });
    const b = grantMap(e.ctx(), { granter: 1, gfn: 0x100, flags: DEV | HOST });
    expect(b.out).toEqual({ handle: 1, dev_bus_addr: '0x1200000', mfn: '0x1200' });
    expect(t.lookup(0x1200)).toMatchObject({ w: true, grantReaders: 1, grantWriters: 1 });
    expect(pageAt(e.m, 0x1200)!.refs).toBe(2);
    grantUnmap(e.ctx(), { handle: b.out.handle as number }); // last writer gone: downgrade to R
    expect(t.lookup(0x1200)).toMatchObject({ r: true, w: false, grantReaders: 1, grantWriters: 0 });
    grantUnmap(e.ctx(), { handle: a.out.handle as number }); // last reference: unmapped
    expect(t.has(0x1200)).toBe(false);
    expect(pageAt(e.m, 0x1200)!.refs).toBe(0);
  });
  it('relaxed PV dom0 needs nothing: its identity map already covers all RAM', () => {
    const e = env(lab({ dom0: 'relaxed' }));
    grantMap(e.ctx(), { granter: 1, gfn: 0x100, flags: HOST });
    expect(e.dom('dom0').iommu!.table.lookup(0x1200)).toMatchObject({ origin: 'config' });
    grantUnmap(e.ctx(), { handle: 0 });
    expect(e.dom('dom0').iommu!.table.lookup(0x1200)).toMatchObject({ origin: 'config' });
  });
});

describe('grants in scenarios', () => {
  it('a passthrough guest’s device reaches a granted page at host_gfn (the granter is the target)', () => {
    const rep = scenario(
      labScenario(`  - op: grant.map
    caller: vm2
    granter: vm1
    gfn: 0x100
    flags: [host_map]
    host_gfn: 0x9000
    expect: { status: OK, handle: 0 }
  - op: device.dma
    device: nic
    bfn: 0x9000
    access: write
    target: { domain: vm1, gfn: 0x100 }
    expect: { owner: vm1 }
  - op: grant.unmap
    caller: vm2
    handle: 0
    expect: { status: GNTST_okay }
  - op: grant.unmap
    caller: vm2
    handle: 0
    expect: { status: GNTST_bad_handle, errno: -4 }
  - op: device.dma
    device: nic
    bfn: 0x9000
    expect: { status: EFAULT }
`),
    );
    expect(rep.summary.failed_expectations).toBe(0);
    expect(rep.calls[3]).toMatchObject({ rc: 0, status: -4, errno: 'GNTST_bad_handle' });
    expect(rules(rep)).toEqual(['dma/fault']);
  });
});
