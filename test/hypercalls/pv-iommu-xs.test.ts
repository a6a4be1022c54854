/** xs PV-IOMMU ABI (reference/pv-iommu.md §2): every subop's success and error paths, in Xen's order. */
import { describe, expect, it } from 'vitest';
import { env, lab, labScenario, scenario, rules } from './helpers.js';
import { iommuOp, iommuOpElement, XS_SUBOPS, IOMMU_OP_readable as R, IOMMU_OP_writeable as W, IOMMU_MAP_OP_no_ref_cnt as NOREF } from '../../src/hypercalls/pv-iommu-xs.js';
import type { XsOp } from '../../src/hypercalls/pv-iommu-xs.js';
import { DOMID_SELF } from '../../src/model/types.js';
import { pageAt } from '../../src/model/pages.js';
import { grantMap, GNTMAP_host_map as GNT_HOST } from '../../src/hypercalls/grant.js';

const S = XS_SUBOPS;
const OFF = 0x3e00000;
/** vm1's gfn 0x100 is mfn 0x1200. */
const VM1_MFN = 0x1200;

function el(e: ReturnType<typeof env>, op: XsOp, caller?: string) {
  return iommuOpElement(e.ctx(caller), op);
}

describe('xs hypercall (do_iommu_op)', () => {
  it('ENOSYS for any caller but the hardware domain, and when the host does not run the xs ABI', () => {
    const e = env(lab());
    expect(iommuOp(e.ctx('vm1'), { ops: [{ subop: S.query_caps! }] })).toMatchObject({ rc: -38, errno: 'ENOSYS', statuses: [] });
    expect(iommuOp(e.ctx(undefined, 'ta'), { ops: [{ subop: S.query_caps! }] })).toMatchObject({ rc: -38, errno: 'ENOSYS' });
    expect(iommuOp(e.ctx(undefined, 'none'), { ops: [] }).errno).toBe('ENOSYS');
  });

  it('ENOSYS wins over a negative count; a negative count from dom0 is EINVAL; 0 does nothing', () => {
    const e = env(lab());
    expect(iommuOp(e.ctx('vm1'), { ops: [], count: -1 }).errno).toBe('ENOSYS');
    expect(iommuOp(e.ctx(), { ops: [], count: -1 })).toMatchObject({ rc: -22, status: -22, errno: 'EINVAL' });
    expect(iommuOp(e.ctx(), { ops: [], count: 0 })).toMatchObject({ rc: 0, statuses: [] });
  });

  it('a map or unmap at a BFN VT-d masks is dma/address-wrap at that bfn (the call acts on the aliased low BFN); below the width nothing', () => {
    // lab: 48-bit IOMMU, 2^36 DFNs
    const rep = scenario(
      labScenario(`  - op: iommu.map_page
    bfn: 0x1000005000
    gfn: 0x200
    flags: [read, write]
  - op: iommu.unmap_page
    bfn: 0x5000
  - op: iommu.op
    ops:
      - { subop: query_caps }
      - { subop: map_page, bfn: 0x1000006000, gfn: 0x201, flags: [read] }
      - { subop: map_page, bfn: 0x7000, gfn: 0x202, flags: [read] }
`),
    );
    expect(rep.calls.map((c) => c.errno)).toEqual(['OK', 'OK', 'OK']);
    const wraps = rep.findings.filter((f) => f.rule === 'dma/address-wrap');
    expect(wraps.map((f) => f.message.split(',')[0])).toEqual(['map_page at BFN 0x1000005000', 'map_page at BFN 0x1000006000']);
    expect(wraps[0]!.message).toMatch(/masks it to 0x5000/);
    // at the bfn: of the call, then of the batch's second element
    const text = labScenario('');
    const lines = text.split('\n').length;
    expect(wraps.map((f) => f.line)).toEqual([lines + 1, lines + 9]);
    // AMD never masks (and the xs PV-IOMMU is not usable there): no wrap finding
    const amd = scenario(labScenario(`  - op: iommu.map_page
    bfn: 0x1000005000
    gfn: 0x200
    flags: [read, write]
`, { vendor: 'amd' }));
    expect(amd.findings.filter((f) => f.rule === 'dma/address-wrap')).toEqual([]);
  });

  it('count is the ABI’s unsigned int: 0x80000000..0xffffffff can be written, and are the negative counts Xen refuses (EINVAL, no finding)', () => {
    const rep = scenario(
      labScenario(`  - op: iommu.op
    count: 0xffffffff
    ops: [{ subop: query_caps }]
    expect: { status: EINVAL }
  - op: iommu.op
    count: 0x80000000
    ops: [{ subop: query_caps }]
    expect: { status: EINVAL }
  - op: iommu.op
    count: 0x100000000
    ops: [{ subop: query_caps }]
`),
    );
    expect(rep.summary.failed_expectations).toBe(0);
    // past 32 bits it cannot be encoded: schema/invalid at the third call only
    expect(rep.findings.map((f) => `${f.rule} ${f.line}`)).toEqual([`schema/invalid ${rep.findings[0]!.line}`]);
    expect(rep.calls.map((c) => c.errno)).toEqual(['EINVAL', 'EINVAL', 'EINVAL']);
    expect(rep.findings[0]!.message).toMatch(/count/);
  });

  it('returns 0 even when every element fails; elements run in order, each with its status', () => {
    const e = env(lab());
    const r = iommuOp(e.ctx(), {
      ops: [
        { subop: S.unmap_page!, bfn: 0x20000 }, // ENOENT
        { subop: S.map_page!, bfn: 0x20000, gfn: 0x200, flags: R | W }, // OK
        { subop: S.map_page!, bfn: 0x20000, gfn: 0x201, flags: R | W }, // EPERM: in use
        { subop: 99 }, // ENODEV
      ],
    });
    expect(r.rc).toBe(0);
    expect(r.status).toBe(0);
    expect(r.errnos).toEqual(['ENOENT', 'OK', 'EPERM', 'ENODEV']);
    expect(r.statuses).toEqual([-2, 0, -1, -19]);
  });

  it('a count beyond the array faults the copy (EFAULT) after processing the elements there', () => {
    const e = env(lab());
    const r = iommuOp(e.ctx(), { ops: [{ subop: S.query_caps! }], count: 3 });
    expect(r).toMatchObject({ rc: -14, errno: 'EFAULT', statuses: [0] });
  });

  it('page order: any bit of 10–15 is ENOSPC, before the subop (intended mask, not Q1)', () => {
    const e = env(lab());
    for (const bit of [10, 11, 12, 13, 14, 15]) {
      expect(el(e, { subop: S.query_caps!, flags: 1 << bit }).status, `bit ${bit}`).toBe(-28);
      expect(el(e, { subop: 42, flags: 1 << bit }).status, `bit ${bit} before ENODEV`).toBe(-28);
    }
    expect(el(e, { subop: S.query_caps!, flags: 1 << 9 }).status).toBe(0);
  });
});

describe('query_caps', () => {
  it('usable: map_cap + map_all_mfns and the offset', () => {
    const e = env(lab());
    expect(el(e, { subop: S.query_caps! })).toEqual({ status: 0, out: { flags: ['map_cap', 'map_all_mfns'], offset: '0x3e00000' } });
  });
  it.each([
    ['dom0 passthrough', { dom0: 'passthrough' as const }],
    ['amd', { vendor: 'amd' as const }],
    ['no ELF note', { elfNote: false }],
    ['IOMMU off', { iommu: false }],
  ])('not usable (%s): no flags, no offset', (_n, o) => {
    const e = env(lab(o));
    expect(el(e, { subop: S.query_caps! })).toEqual({ status: 0, out: { flags: [] } });
  });
  it('not usable for a PVH hardware domain', () => {
    const e = env(lab({ dom0: 'strict', dom0Extra: '' }).replace('name: dom0\ndomid: 0\ntype: pv', 'name: dom0\ndomid: 0\ntype: pvh'));
    expect(el(e, { subop: S.query_caps! }).out).toEqual({ flags: [] });
  });
});

describe('map_page / unmap_page', () => {
  it('maps one of dom0’s own frames at a free BFN, holding a page reference; unmap drops it', () => {
    const e = env(lab());
    const before = pageAt(e.m, 0x200)!.refs;
    expect(el(e, { subop: S.map_page!, bfn: 0x20000, gfn: 0x200, flags: R | W }).status).toBe(0);
    const ent = e.dom('dom0').iommu!.table.lookup(0x20000)!;
    expect(ent).toMatchObject({ base: 0x200, r: true, w: true, origin: 'map_page', ref: true });
    expect(pageAt(e.m, 0x200)!.refs).toBe(before + 1);
    expect(el(e, { subop: S.unmap_page!, bfn: 0x20000 }).status).toBe(0);
    expect(e.dom('dom0').iommu!.table.has(0x20000)).toBe(false);
    expect(pageAt(e.m, 0x200)!.refs).toBe(before);
  });

  it('R/W come from the flags only; neither bit still maps (with no permission)', () => {
    const e = env(lab());
    expect(el(e, { subop: S.map_page!, bfn: 0x20000, gfn: 0x200, flags: R }).status).toBe(0);
    expect(e.dom('dom0').iommu!.table.lookup(0x20000)).toMatchObject({ r: true, w: false });
    expect(el(e, { subop: S.map_page!, bfn: 0x20001, gfn: 0x201, flags: 0 }).status).toBe(0);
    expect(e.dom('dom0').iommu!.table.lookup(0x20001)).toMatchObject({ r: false, w: false });
  });

  it('EPERM when not usable, even for a valid own frame and free BFN (can_use is checked first)', () => {
    const e = env(lab({ elfNote: false }));
    expect(el(e, { subop: S.map_page!, bfn: 0x20000, gfn: 0x200, flags: R | W }).status).toBe(-1);
  });

  it('EPERM for a frame that is not the caller’s (another domain’s, free, Xen’s)', () => {
    const e = env(lab());
    for (const gfn of [VM1_MFN, 0x3000, 0x10]) expect(el(e, { subop: S.map_page!, bfn: 0x20000, gfn, flags: R | W }).status, gfn.toString(16)).toBe(-1);
    expect(e.dom('dom0').iommu!.table.has(0x20000)).toBe(false);
  });

  it('EPERM for a BFN already mapped (dom0’s BFN = PFN region, the foreign window), without taking a reference', () => {
    const e = env(lab());
    const refs = pageAt(e.m, 0x200)!.refs;
    expect(el(e, { subop: S.map_page!, bfn: 0x10, gfn: 0x200, flags: R }).status).toBe(-1);
    expect(el(e, { subop: S.map_page!, bfn: OFF + 0x200, gfn: 0x200, flags: R }).status).toBe(-1);
    expect(pageAt(e.m, 0x200)!.refs).toBe(refs);
  });

  it('no_ref_cnt takes the gfn as a raw MFN, unchecked and unreferenced', () => {
    const e = env(lab());
    expect(el(e, { subop: S.map_page!, bfn: 0x20000, gfn: VM1_MFN, flags: R | W | NOREF }).status).toBe(0);
    expect(e.dom('dom0').iommu!.table.lookup(0x20000)).toMatchObject({ base: VM1_MFN, ref: false, noRef: true });
    expect(pageAt(e.m, VM1_MFN)!.refs).toBe(0);
    // even a frame that is not RAM at all
    expect(el(e, { subop: S.map_page!, bfn: 0x20001, gfn: 0xfffff0, flags: R | NOREF }).status).toBe(0);
  });

  it('unmap_page: ENOENT for an unmapped BFN; no can_use check; dom0 may unmap its boot mappings', () => {
    const e = env(lab());
    expect(el(e, { subop: S.unmap_page!, bfn: 0x20000 }).status).toBe(-2);
    expect(el(e, { subop: S.unmap_page!, bfn: 0x5 }).status).toBe(0); // BFN = PFN region entry
    const e2 = env(lab({ elfNote: false }));
    expect(el(e2, { subop: S.unmap_page!, bfn: 0x200 }).status).toBe(0); // relaxed identity entry
  });
});

describe('map_foreign_page', () => {
  const mf = (bfn: number, domid: number, gfn: number, flags = R | W): XsOp => ({ subop: S.map_foreign_page!, bfn, domid, gfn, flags });

  it('maps an ordinary guest RAM page (not quirk Q2) at the BFN, holding a reference', () => {
    const e = env(lab());
    expect(el(e, mf(0x20000, 1, 0x100)).status).toBe(0);
    expect(e.dom('dom0').iommu!.table.lookup(0x20000)).toMatchObject({ base: VM1_MFN, origin: 'map_foreign', ref: true, r: true, w: true });
    expect(pageAt(e.m, VM1_MFN)!.refs).toBe(1);
  });

  it('a second map of the same page at another BFN maps it too (not quirk Q4), each with its reference', () => {
    const e = env(lab());
    expect(el(e, mf(0x20000, 1, 0x100)).status).toBe(0);
    expect(el(e, mf(0x20001, 1, 0x100)).status).toBe(0);
    expect(e.dom('dom0').iommu!.table.lookup(0x20001)?.base).toBe(VM1_MFN);
    expect(pageAt(e.m, VM1_MFN)!.refs).toBe(2);
  });

  it('errors in order: EPERM !usable > ENXIO unknown > EPERM PV target > EPERM self > EPERM XSM > ENXIO unbacked > EPERM bfn in use', () => {
    // !can_use wins over an unknown domain
    expect(el(env(lab({ elfNote: false })), mf(0x20000, 77, 0x100)).status).toBe(-1);
    const e = env(lab());
    expect(el(e, mf(0x20000, 77, 0x100)).status).toBe(-6); // ENXIO
    expect(el(e, mf(0x20000, 0, 0x100)).status).toBe(-1); // PV target (dom0 itself is PV: PV check first)
    expect(el(e, mf(0x20000, DOMID_SELF, 0x100)).status).toBe(-1);
    // unbacked gfn wins over a used BFN? no: ENXIO (step 6) comes before the BFN check (step 9)
    expect(el(e, mf(0x10, 1, 0x7ffff)).status).toBe(-6);
    expect(el(e, mf(0x10, 1, 0x100)).status).toBe(-1); // bfn in use (BFN = PFN region)
  });

  it('EPERM when the caller is neither the target’s device model nor the control domain', () => {
    const ctl = `apiVersion: pviommu/v1
kind: Domain
name: ctl
domid: 7
type: pvh
role: control
memory: 4MiB`;
    const e = env(lab({ extra: [ctl] }));
    // dom0 is the hardware domain, not the control domain, and not vm1's device model (ctl is)
    expect(el(e, mf(0x20000, 1, 0x100)).status).toBe(-1);
    const e2 = env(lab({ extra: [ctl], vm1: 'device_model: dom0' }));
    expect(el(e2, mf(0x20000, 1, 0x100)).status).toBe(0);
  });

  it('ENXIO for a RAM entry whose page the target does not own (here: Xen’s, through a bad explicit p2m): get_page_from_gfn fails', () => {
    const bad = `apiVersion: pviommu/v1
kind: Domain
name: vm4
domid: 4
type: hvm
memory: 64KiB
p2m: [{ gfns: "0x0-0xf", mfns: "0x10-0x1f", type: ram_rw }]`;
    const e = env(lab({ extra: [bad] }));
    expect(el(e, mf(0x20000, 4, 0x3)).status).toBe(-6);
    expect(el(e, { subop: S.lookup_foreign_page!, domid: 4, gfn: 0x3 }).status).toBe(-6);
  });

  it('ENXIO for a gfn of the target that holds a grant mapping: get_paged_frame resolves only the target’s RAM, and pins nothing', () => {
    const e = env(lab());
    // vm1 maps vm2's gfn 0x100 at its own gfn 0x9000
    expect(grantMap(e.ctx('vm1'), { granter: 2, gfn: 0x100, flags: GNT_HOST, host_gfn: 0x9000 }).errno).toBe('OK');
    const granted = e.dom('vm1').p2m.lookup(0x9000)!;
    expect(granted.type).toBe('grant_map_rw');
    const before = pageAt(e.m, granted.base);
    expect(el(e, mf(0x20000, 1, 0x9000)).status).toBe(-6);
    expect(el(e, { subop: S.lookup_foreign_page!, domid: 1, gfn: 0x9000 }).status).toBe(-6);
    expect(pageAt(e.m, granted.base)).toEqual(before);
    expect(e.dom('dom0').iommu!.table.lookup(0x20000)).toBeUndefined();
  });
});

describe('lookup_foreign_page / unmap_foreign_page', () => {
  it('bfn = offset + mfn; pins once however many lookups', () => {
    const e = env(lab());
    const r1 = el(e, { subop: S.lookup_foreign_page!, domid: 1, gfn: 0x100 });
    expect(r1).toEqual({ status: 0, out: { bfn: '0x3e01200' } });
    expect(el(e, { subop: S.lookup_foreign_page!, domid: 1, gfn: 0x100 })).toEqual(r1);
    expect(pageAt(e.m, VM1_MFN)).toMatchObject({ pinned: true, refs: 1 });
  });

  it('errors in order: EPERM self (before the lookup) > ENXIO unknown > EPERM PV > ENXIO unbacked', () => {
    const e = env(lab());
    const lk = (domid: number, gfn: number) => el(e, { subop: S.lookup_foreign_page!, domid, gfn }).status;
    expect(lk(DOMID_SELF, 0x100)).toBe(-1);
    expect(lk(0, 0x100)).toBe(-1);
    expect(lk(77, 0x100)).toBe(-6);
    const pvGuest = env(lab({ extra: ['apiVersion: pviommu/v1\nkind: Domain\nname: pvg\ndomid: 9\ntype: pv\nmemory: 1MiB'] }));
    expect(el(pvGuest, { subop: S.lookup_foreign_page!, domid: 9, gfn: 0x2500 }).status).toBe(-1);
    expect(lk(1, 0x7ffff)).toBe(-6);
  });

  it('without a usable PV-IOMMU the bus address is the raw MFN; unmap_foreign takes it as an MFN', () => {
    const e = env(lab({ elfNote: false }));
    expect(el(e, { subop: S.lookup_foreign_page!, domid: 1, gfn: 0x100 }).out).toEqual({ bfn: '0x1200' });
    expect(el(e, { subop: S.unmap_foreign_page!, bfn: VM1_MFN }).status).toBe(0);
    expect(pageAt(e.m, VM1_MFN)).toMatchObject({ pinned: false, refs: 0 });
    expect(el(e, { subop: S.unmap_foreign_page!, bfn: VM1_MFN }).status).toBe(-2);
  });

  it('unmap_foreign_page: releases the pin of a window BFN (second time ENOENT); unmaps a map_foreign BFN; ENOENT otherwise', () => {
    const e = env(lab());
    expect(el(e, { subop: S.unmap_foreign_page!, bfn: OFF + VM1_MFN }).status).toBe(-2); // not pinned
    el(e, { subop: S.lookup_foreign_page!, domid: 1, gfn: 0x100 });
    expect(el(e, { subop: S.unmap_foreign_page!, bfn: OFF + VM1_MFN }).status).toBe(0);
    expect(el(e, { subop: S.unmap_foreign_page!, bfn: OFF + VM1_MFN }).status).toBe(-2);
    expect(e.dom('dom0').iommu!.table.has(OFF + VM1_MFN)).toBe(true); // the window stays
    el(e, { subop: S.map_foreign_page!, bfn: 0x20000, domid: 1, gfn: 0x100, flags: R | W });
    expect(el(e, { subop: S.unmap_foreign_page!, bfn: 0x20000 }).status).toBe(0);
    expect(e.dom('dom0').iommu!.table.has(0x20000)).toBe(false);
    expect(pageAt(e.m, VM1_MFN)!.refs).toBe(0);
    expect(el(e, { subop: S.unmap_foreign_page!, bfn: 0x20002 }).status).toBe(-2); // unmapped
    el(e, { subop: S.map_page!, bfn: 0x20003, gfn: 0x200, flags: R });
    expect(el(e, { subop: S.unmap_foreign_page!, bfn: 0x20003 }).status).toBe(-2); // not a foreign mapping
  });

  it('the pin keeps a ballooned-out page allocated to its owner; unpinning frees it', () => {
    const rep = scenario(
      labScenario(`  - op: iommu.lookup_foreign_page
    domid: vm1
    gfn: 0x100
  - op: memory.decrease_reservation
    caller: vm1
    gfns: [0x100]
    expect: { done: 1 }
  - op: memory.populate_physmap
    caller: vm3
    gfns: [0x400]
  - op: memory.translate
    domid: vm3
    gfns: [0x400]
    expect: { mfns: ["0x2500"] }
  - op: iommu.unmap_foreign_page
    bfn_of: 0
  - op: memory.populate_physmap
    caller: vm3
    gfns: [0x401]
  - op: memory.translate
    domid: vm3
    gfns: [0x401]
    expect: { mfns: ["0x1200"] }
`),
    );
    expect(rep.summary.failed_expectations).toBe(0);
    expect(rules(rep).filter((r) => r !== 'hypercall/raw-mfn-exposed')).toEqual([]);
  });
});

describe('call forms in scenarios', () => {
  it('op: iommu.op batch with per-element statuses, and single-element forms', () => {
    const rep = scenario(
      labScenario(`  - op: iommu.op
    ops:
      - { subop: map_page, bfn: 0x20000, gfn: 0x200, flags: [read, write] }
      - { subop: map_page, bfn: 0x20000, gfn: 0x201, flags: [read] }
      - { subop: lookup_foreign_page, domid: vm1, gfn: 0x100 }
      - { subop: 9 }
    expect: { rc: 0, statuses: [OK, EPERM, OK, ENODEV] }
  - op: iommu.map_page
    bfn: 0x20001
    gfn: 0x201
    flags: [read, write, no_ref_cnt]
    expect: { status: 0 }
  - op: iommu.unmap_page
    bfn: 0x20001
    expect: { status: OK }
  - op: iommu.map_page
    bfn: 0x20002
    gfn: 0x202
    page_order: 1
    expect: { status: ENOSPC }
  - op: iommu.map_page
    caller: vm1
    bfn: 0x20002
    gfn: 0x202
    expect: { rc: ENOSYS, status: ENOSYS }
  - op: device.dma
    device: gpu
    bfn_of: 0
    target: { domain: vm1, gfn: 0x100 }
    expect: { owner: vm1, mfn: 0x1200 }
`),
    );
    expect(rep.calls[0]).toMatchObject({ rc: 0, status: 0, errno: 'OK', errnos: ['OK', 'EPERM', 'OK', 'ENODEV'] });
    expect(rep.calls[0]!.out).toEqual({ ops: [{}, {}, { bfn: '0x3e01200' }, {}] });
    expect(rep.summary.failed_expectations).toBe(0);
    expect(rep.findings).toEqual([]);
  });

  it('a scenario may select the xs ABI on a host that runs none: the machine is built with it', () => {
    const rep = scenario(labScenario(`  - op: iommu.query_caps\n    expect: { flags: [map_cap, map_all_mfns] }\n`, { abi: 'none', scenarioAbi: 'xs' }));
    expect(rep.abi).toBe('xs');
    expect(rep.summary.failed_expectations).toBe(0);
    const none = scenario(labScenario(`  - op: iommu.query_caps\n    expect: { status: ENOSYS }\n`, { abi: 'none' }));
    expect(none.summary.failed_expectations).toBe(0);
  });
});

describe('no_ref_cnt mappings at the end of a scenario (mapping/dangling)', () => {
  it('dangling when the raw frame was freed (or changed hands) while still mapped; not once unmapped', () => {
    const calls = (unmap: boolean) => `  - op: iommu.map_page
    bfn: 0x20000
    gfn: 0x1200
    flags: [read, write, no_ref_cnt]
  - op: memory.decrease_reservation
    caller: vm1
    gfns: [0x100]
  - op: memory.populate_physmap
    caller: vm3
    gfns: [0x400]
${unmap ? '  - op: iommu.unmap_page\n    bfn: 0x20000\n' : ''}`;
    const rep = scenario(labScenario(calls(false)));
    expect(rules(rep)).toEqual(['mapping/dangling']);
    expect(rep.findings[0]!.message).toContain('BFN 0x20000 of dom0 → MFN 0x1200 (vm1\'s when mapped) now belongs to vm3');
    expect(scenario(labScenario(calls(true))).findings).toEqual([]);
  });

  it('a BFN unmapped and mapped again: only the mapping there now is judged (by the call that made it, once)', () => {
    const map = '  - op: iommu.map_page\n    bfn: 0x20000\n    gfn: 0x1200\n    flags: [read, write, no_ref_cnt]\n';
    const unmap = '  - op: iommu.unmap_page\n    bfn: 0x20000\n';
    const free = '  - op: memory.decrease_reservation\n    caller: vm1\n    gfns: [0x100]\n  - op: memory.populate_physmap\n    caller: vm3\n    gfns: [0x400]\n';
    // mapped again after the frame changed hands: the mapping there now was made for vm3's page
    expect(scenario(labScenario(map + unmap + free + map)).findings).toEqual([]);
    // mapped again before: the second mapping is stale, reported once, as call #2's
    const rep = scenario(labScenario(map + unmap + map + free));
    expect(rules(rep)).toEqual(['mapping/dangling']);
    expect(rep.findings[0]!.message).toMatch(/^call #2 handed out a frame without a page reference/);
  });
});
