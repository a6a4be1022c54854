/** XENMEM ops (reference/xen-model.md §4): success and error paths, in Xen's order. */
import { describe, expect, it } from 'vitest';
import { env, lab, labScenario, scenario, rules } from './helpers.js';
import { addToPhysmap, decreaseReservation, populatePhysmap, removeFromPhysmap, translate } from '../../src/hypercalls/memory.js';
import { frameList } from '../../src/hypercalls/args.js';
import { iommuOpElement, XS_SUBOPS } from '../../src/hypercalls/pv-iommu-xs.js';
import { DOMID_SELF, DOMID_XEN, type DomainModel } from '../../src/model/types.js';
import { pageAt } from '../../src/model/pages.js';
import { p2mLookup } from '../../src/model/p2m.js';
import { stateOf } from '../../src/hypercalls/mm.js';

const gf = (...f: (number | { start: number; end: number })[]) => frameList(f);
/** Count the calls to the domain's `p2m.delete` from now on. */
function countDeletes(d: DomainModel): () => number {
  let n = 0;
  const del = d.p2m.delete.bind(d.p2m);
  d.p2m.delete = (s: number, end: number) => {
    n++;
    del(s, end);
  };
  return () => n;
}

/** A PV guest with a device (its context mirrors its pages: DFN = MFN), mfns 0x2500-0x25ff. */
const PV1 = `apiVersion: pviommu/v1
kind: Domain
name: pv1
domid: 7
type: pv
memory: 1MiB
pci: [{ dev: nic2 }]`;
const DM = `apiVersion: pviommu/v1
kind: Domain
name: dm1
domid: 5
type: hvm
memory: 1MiB`;

describe('memory.populate_physmap', () => {
  it('allocates the lowest free frames as ram_rw and mirrors them into a following IOMMU context', () => {
    const e = env(lab({ vm2: 'maxmem: 9MiB' }));
    const r = populatePhysmap(e.ctx('vm2'), { gfns: gf({ start: 0x800, end: 0x802 }) });
    expect(r).toEqual({ rc: 3, status: 0, errno: 'OK', out: { done: 3 } });
    expect(p2mLookup(e.dom('vm2'), 0x801)).toEqual({ mfn: 0x2501, type: 'ram_rw' });
    expect(pageAt(e.m, 0x2502)).toMatchObject({ owner: 2, allocated: true });
    expect(e.dom('vm2').iommu!.table.lookup(0x802)).toMatchObject({ base: 0x2502, w: true });
    expect(e.dom('vm2').totPages).toBe(0x803);
  });

  it('stops early at max_pages (maxmem)', () => {
    const e = env(lab());
    // vm3: 4 MiB of 8 MiB → 0x400 more frames allowed
    const r = populatePhysmap(e.ctx('vm3'), { gfns: gf({ start: 0x1000, end: 0x1400 }) });
    expect(r.out.done).toBe(0x400);
    expect(populatePhysmap(e.ctx('vm3'), { gfns: gf(0x2000) }).rc).toBe(0);
  });

  it('stops when the host runs out of free frames', () => {
    const e = env(lab({ vm1: 'maxmem: 64MiB' }));
    // free frames: 0x2500-0x3fff (0x1b00)
    expect(populatePhysmap(e.ctx('vm1'), { gfns: gf({ start: 0x10000, end: 0x11fff }) }).rc).toBe(0x1b00);
  });

  it('XSM_TARGET: the domain itself, its device model, or the control domain — others get 0 done', () => {
    const e = env(lab({ extra: [DM], vm1: 'device_model: dm1\nmaxmem: 9MiB' }));
    expect(populatePhysmap(e.ctx('vm2'), { domid: 1, gfns: gf(0x900) }).rc).toBe(0);
    expect(populatePhysmap(e.ctx('dm1'), { domid: 1, gfns: gf(0x900) }).rc).toBe(1);
    expect(populatePhysmap(e.ctx('dom0'), { domid: 1, gfns: gf(0x901) }).rc).toBe(1);
    expect(populatePhysmap(e.ctx('vm1'), { domid: DOMID_SELF, gfns: gf(0x902) }).rc).toBe(1);
  });

  it('an unknown domain is not an errno: 0 done (do_memory_op returns start_extent)', () => {
    const e = env(lab());
    expect(populatePhysmap(e.ctx(), { domid: 99, gfns: gf(0x1) })).toEqual({ rc: 0, status: 0, errno: 'OK', out: { done: 0 } });
  });

  it('stops at a gfn holding a grant / foreign / direct-MMIO entry; replaces RAM (old page stays allocated, unmapped)', () => {
    const e = env(lab({ nic: 'rmrr: ["0x3f00-0x3f0f"]', vm2: 'maxmem: 9MiB' }));
    expect(populatePhysmap(e.ctx('vm2'), { gfns: gf(0x800, 0x3f00, 0x801) }).rc).toBe(1);
    const old = p2mLookup(e.dom('vm2'), 0x10)!.mfn;
    expect(populatePhysmap(e.ctx('vm2'), { gfns: gf(0x10) }).rc).toBe(1);
    expect(p2mLookup(e.dom('vm2'), 0x10)!.mfn).not.toBe(old);
    expect(pageAt(e.m, old)).toMatchObject({ owner: 2, allocated: true });
  });

  it('PV: the pfn gets the frame and the MFNs are written back (out.mfns)', () => {
    const e = env(lab({ dom0Extra: 'maxmem: 17MiB' }));
    expect(populatePhysmap(e.ctx(), { gfns: gf(0x1000, 0x1001) }).out).toEqual({ done: 2, mfns: ['0x2500', '0x2501'] });
  });
});

describe('memory.decrease_reservation', () => {
  it('removes the p2m entry and frees a page nothing else references', () => {
    const e = env(lab());
    expect(decreaseReservation(e.ctx('vm2'), { gfns: gf(0x10, 0x11) })).toMatchObject({ rc: 2, out: { done: 2 } });
    expect(p2mLookup(e.dom('vm2'), 0x10)).toBeUndefined();
    expect(pageAt(e.m, 0x1910)).toBeUndefined();
    expect(e.dom('vm2').iommu!.table.has(0x10)).toBe(false);
    expect(e.dom('vm2').totPages).toBe(0x7fe);
  });

  it('a referenced page stays allocated (owned, !allocated) until its last reference goes', () => {
    const e = env(lab());
    expect(iommuOpElement(e.ctx(), { subop: XS_SUBOPS.lookup_foreign_page!, domid: 1, gfn: 0x100 }).status).toBe(0);
    expect(decreaseReservation(e.ctx('vm1'), { gfns: gf(0x100) }).rc).toBe(1);
    expect(pageAt(e.m, 0x1200)).toMatchObject({ owner: 1, allocated: false, refs: 1, pinned: true });
    expect(e.dom('vm1').totPages).toBe(0x7ff);
    expect(iommuOpElement(e.ctx(), { subop: XS_SUBOPS.unmap_foreign_page!, bfn: 0x3e01200 }).status).toBe(0);
    expect(pageAt(e.m, 0x1200)).toBeUndefined();
  });

  it('stops at the first gfn that cannot be removed: unmapped, direct MMIO, a grant or foreign entry', () => {
    const e = env(lab({ nic: 'rmrr: ["0x3f00-0x3f0f"]' }));
    expect(decreaseReservation(e.ctx('vm2'), { gfns: gf(0x10, 0x7ffff, 0x11) }).rc).toBe(1);
    expect(decreaseReservation(e.ctx('vm2'), { gfns: gf(0x3f00) }).rc).toBe(0);
    e.dom('vm2').p2m.set(0x9000, 0x9000, { base: 0x1200, type: 'grant_map_rw' });
    expect(decreaseReservation(e.ctx('vm2'), { gfns: gf(0x9000) }).rc).toBe(0);
    expect(p2mLookup(e.dom('vm2'), 0x11)).toBeDefined();
  });

  it('XSM_TARGET denial and unknown domains: 0 done', () => {
    const e = env(lab());
    expect(decreaseReservation(e.ctx('vm2'), { domid: 1, gfns: gf(0x10) }).rc).toBe(0);
    expect(decreaseReservation(e.ctx(), { domid: 1234, gfns: gf(0x10) }).rc).toBe(0);
    expect(decreaseReservation(e.ctx(), { domid: 1, gfns: gf(0x10) }).rc).toBe(1); // control domain
  });

  it('PV: the gmfn is an MFN the domain owns', () => {
    const e = env(lab());
    expect(decreaseReservation(e.ctx(), { gfns: gf(0x1200) }).rc).toBe(0); // vm1's frame
    expect(decreaseReservation(e.ctx(), { gfns: gf(0x200) }).rc).toBe(1);
    expect(pageAt(e.m, 0x200)).toBeUndefined();
    expect(p2mLookup(e.dom('dom0'), 0x100)).toBeUndefined(); // pfn 0x100 → mfn 0x200
  });

  it('a range stops inside a p2m extent, at the first page the domain does not own', () => {
    const e = env(lab());
    const vm2 = e.dom('vm2');
    // gfns 0x9000-0x9007 → mfns 0x20fc-0x2103: vm2's last four frames, then vm3's.
    vm2.p2m.set(0x9000, 0x9007, { base: 0x20fc, type: 'ram_rw' });
    expect(pageAt(e.m, 0x2100)?.owner).toBe(3);
    expect(decreaseReservation(e.ctx('vm2'), { gfns: gf({ start: 0x9000, end: 0x9007 }) })).toMatchObject({ rc: 4, out: { done: 4 } });
    expect(p2mLookup(vm2, 0x9003)).toBeUndefined();
    expect(p2mLookup(vm2, 0x9004)).toEqual({ mfn: 0x2100, type: 'ram_rw' });
    expect(pageAt(e.m, 0x20fc)).toBeUndefined();
    expect(pageAt(e.m, 0x2100)).toMatchObject({ owner: 3, allocated: true });
    expect(vm2.totPages).toBe(0x800 - 4);
  });

  it('a range is removed by extents, not frame by frame', () => {
    const e = env(lab());
    const vm2 = e.dom('vm2');
    const deletes = countDeletes(vm2);
    expect(decreaseReservation(e.ctx('vm2'), { gfns: gf({ start: 0, end: 0x7ff }) })).toMatchObject({ rc: 0x800 });
    expect(vm2.p2m.size).toBe(0);
    expect(vm2.totPages).toBe(0);
    expect(deletes()).toBeLessThan(4);
  });

  it('PV: finds the pfn of each gmfn without walking the p2m call after call', () => {
    // Giving back every other frame splits dom0's P2M into more and more extents; a walk of all of
    // them per frame made a long PV balloon trace quadratic. The M2P is built once.
    const e = env(lab());
    const p2m = e.dom('dom0').p2m;
    let walks = 0;
    const entries = p2m.entries.bind(p2m);
    p2m.entries = () => {
      walks++;
      return entries();
    };
    for (let i = 0; i < 64; i++) {
      expect(decreaseReservation(e.ctx(), { gfns: gf(0x200 + 2 * i) }).rc).toBe(1);
      expect(p2mLookup(e.dom('dom0'), 0x100 + 2 * i)).toBeUndefined();
      expect(p2mLookup(e.dom('dom0'), 0x101 + 2 * i)).toEqual({ mfn: 0x201 + 2 * i, type: 'ram_rw' });
    }
    expect(p2m.size).toBeGreaterThan(64);
    expect(walks).toBe(1);
  });

  it('PV: a range of gmfns is removed by extents, with the P2M slots and IOMMU identity entries of its frames', () => {
    // pv1: a PV guest with a device; its context mirrors its pages (DFN = MFN 0x2500-0x25ff).
    const e = env(lab({ extra: [PV1] }));
    const pv1 = e.dom('pv1');
    const deletes = countDeletes(pv1);
    expect(pv1.iommu!.table.lookup(0x2580)?.base).toBe(0x2580);
    expect(decreaseReservation(e.ctx('pv1'), { gfns: gf({ start: 0x2500, end: 0x25ff }) })).toMatchObject({ rc: 0x100, out: { done: 0x100 } });
    expect(deletes()).toBeLessThan(4);
    expect(pv1.p2m.size).toBe(0);
    expect(pv1.totPages).toBe(0);
    expect(pageAt(e.m, 0x2500)).toBeUndefined();
    expect(pageAt(e.m, 0x25ff)).toBeUndefined();
    expect(pv1.iommu!.table.lookup(0x2580)).toBeUndefined();
  });

  it('PV: a range stops at the first gmfn that is not a page the domain holds: another owner, free, or given up but still referenced', () => {
    const e = env(lab());
    const dom0 = e.dom('dom0');
    // Past the end of dom0's frames: 0x1100 is vm1's.
    expect(decreaseReservation(e.ctx(), { gfns: gf({ start: 0x10f0, end: 0x1110 }) }).rc).toBe(0x10);
    expect(pageAt(e.m, 0x10ef)).toMatchObject({ owner: 0, allocated: true });
    expect(pageAt(e.m, 0x1100)).toMatchObject({ owner: 1, allocated: true });
    // A frame already given back (free now).
    expect(decreaseReservation(e.ctx(), { gfns: gf(0x300) }).rc).toBe(1);
    expect(decreaseReservation(e.ctx(), { gfns: gf({ start: 0x2f0, end: 0x310 }) }).rc).toBe(0x10);
    expect(p2mLookup(dom0, 0x1ef)).toEqual({ mfn: 0x2ef, type: 'ram_rw' });
    expect(p2mLookup(dom0, 0x1f0)).toBeUndefined();
    expect(p2mLookup(dom0, 0x1ff)).toBeUndefined();
    expect(p2mLookup(dom0, 0x201)).toEqual({ mfn: 0x301, type: 'ram_rw' });
    // A frame given back while an IOMMU mapping holds a reference: still dom0's, no longer allocated.
    expect(iommuOpElement(e.ctx(), { subop: XS_SUBOPS.map_page!, bfn: 0x90000, gfn: 0x400, flags: 3 }).status).toBe(0);
    expect(decreaseReservation(e.ctx(), { gfns: gf(0x400) }).rc).toBe(1);
    expect(pageAt(e.m, 0x400)).toMatchObject({ owner: 0, allocated: false, refs: 1 });
    expect(decreaseReservation(e.ctx(), { gfns: gf({ start: 0x3f8, end: 0x408 }) }).rc).toBe(8);
    expect(pageAt(e.m, 0x401)).toMatchObject({ owner: 0, allocated: true });
    // A later range in the same call is not reached after a short one.
    expect(decreaseReservation(e.ctx(), { gfns: gf({ start: 0x500, end: 0x501 }, 0x1100, 0x600) }).rc).toBe(2);
    expect(pageAt(e.m, 0x600)).toMatchObject({ owner: 0, allocated: true });
  });

  it('PV: a range over frames the config maps at two pfns removes both slots', () => {
    const e = env(lab({ dom0Extra: 'p2m:\n  - { gfns: "0x0-0xfff", mfns: "0x100-0x10ff", type: ram_rw }\n  - { gfns: "0x2000-0x200f", mfns: "0x180-0x18f", type: ram_rw }' }));
    const dom0 = e.dom('dom0');
    expect(p2mLookup(dom0, 0x2004)).toEqual({ mfn: 0x184, type: 'ram_rw' });
    expect(decreaseReservation(e.ctx(), { gfns: gf({ start: 0x17c, end: 0x183 }) }).rc).toBe(8);
    expect(p2mLookup(dom0, 0x7b)).toEqual({ mfn: 0x17b, type: 'ram_rw' });
    for (const pfn of [0x7c, 0x80, 0x83, 0x2000, 0x2003]) expect(p2mLookup(dom0, pfn)).toBeUndefined();
    expect(p2mLookup(dom0, 0x84)).toEqual({ mfn: 0x184, type: 'ram_rw' });
    expect(p2mLookup(dom0, 0x2004)).toEqual({ mfn: 0x184, type: 'ram_rw' });
  });
});

describe('memory.add_to_physmap', () => {
  it('gmfn: moves an own RAM page to gpfn (and its IOMMU image)', () => {
    const e = env(lab());
    expect(addToPhysmap(e.ctx('vm2'), { space: 'gmfn', idx: 0x10, gpfn: 0x9000 }).errno).toBe('OK');
    expect(p2mLookup(e.dom('vm2'), 0x10)).toBeUndefined();
    expect(p2mLookup(e.dom('vm2'), 0x9000)).toEqual({ mfn: 0x1910, type: 'ram_rw' });
    expect(e.dom('vm2').iommu!.table.lookup(0x9000)?.base).toBe(0x1910);
  });

  it('gmfn errors: ESRCH > EACCES (PV target) > EPERM (XSM) > EINVAL (not an own page) > EPERM (onto direct MMIO)', () => {
    const e = env(lab({ nic: 'rmrr: ["0x3f00-0x3f0f"]' }));
    expect(addToPhysmap(e.ctx('vm2'), { domid: 77, space: 'gmfn', idx: 0x10, gpfn: 0x9000 }).errno).toBe('ESRCH');
    expect(addToPhysmap(e.ctx('vm2'), { domid: 0, space: 'gmfn', idx: 0x10, gpfn: 0x9000 }).errno).toBe('EACCES');
    expect(addToPhysmap(e.ctx('vm2'), { domid: 1, space: 'gmfn', idx: 0x10, gpfn: 0x9000 }).errno).toBe('EPERM');
    expect(addToPhysmap(e.ctx('vm2'), { space: 'gmfn', idx: 0x7ffff, gpfn: 0x3f00 }).errno).toBe('EINVAL');
    expect(addToPhysmap(e.ctx('vm2'), { space: 'gmfn', idx: 0x10, gpfn: 0x3f00 }).errno).toBe('EPERM');
  });

  it('gmfn: a source that is not ram_rw / logdirty is EACCES; shared is ENOMEM (checked first)', () => {
    const e = env(lab());
    e.dom('vm2').p2m.set(0x20, 0x20, { base: 0x1920, type: 'ram_ro' });
    e.dom('vm2').p2m.set(0x21, 0x21, { base: 0x1921, type: 'ram_shared' });
    expect(addToPhysmap(e.ctx('vm2'), { space: 'gmfn', idx: 0x20, gpfn: 0x9000 }).errno).toBe('EACCES');
    expect(addToPhysmap(e.ctx('vm2'), { space: 'gmfn', idx: 0x21, gpfn: 0x9000 }).errno).toBe('ENOMEM');
    expect(p2mLookup(e.dom('vm2'), 0x9000)).toBeUndefined();
  });

  it('gmfn_foreign: a device model maps its guest’s page as map_foreign, holding a reference', () => {
    const e = env(lab({ extra: [DM], vm1: 'device_model: dm1' }));
    const r = addToPhysmap(e.ctx('dm1'), { space: 'gmfn_foreign', foreign_domid: 1, idx: 0x100, gpfn: 0x9000 });
    expect(r.errno).toBe('OK');
    expect(p2mLookup(e.dom('dm1'), 0x9000)).toEqual({ mfn: 0x1200, type: 'map_foreign' });
    expect(pageAt(e.m, 0x1200)!.refs).toBe(1);
    // the guest balloons it out: kept alive by the foreign entry, still vm1's
    expect(decreaseReservation(e.ctx('vm1'), { gfns: gf(0x100) }).rc).toBe(1);
    expect(pageAt(e.m, 0x1200)).toMatchObject({ owner: 1, allocated: false, refs: 1 });
    // removing the foreign entry drops the reference: the page is freed
    expect(removeFromPhysmap(e.ctx('dm1'), { gpfn: 0x9000 }).errno).toBe('OK');
    expect(pageAt(e.m, 0x1200)).toBeUndefined();
  });

  it('add_to_physmap over a direct-MMIO slot is EPERM, over a grant slot ENXIO (gmfn and gmfn_foreign alike); nothing changes, no reference is kept', () => {
    const e = env(lab({ extra: [DM], vm1: 'device_model: dm1' }));
    const dm = e.dom('dm1');
    dm.p2m.set(0x9000, 0x9000, { base: 0xfed00, type: 'mmio_direct' });
    dm.p2m.set(0x9001, 0x9001, { base: 0x1900, type: 'grant_map_rw' });
    const before = pageAt(e.m, 0x1200)!.refs;
    for (const [gpfn, errno] of [
      [0x9000, 'EPERM'],
      [0x9001, 'ENXIO'],
    ] as const) {
      expect(addToPhysmap(e.ctx('dm1'), { space: 'gmfn_foreign', foreign_domid: 1, idx: 0x100, gpfn }).errno).toBe(errno);
      expect(addToPhysmap(e.ctx('dm1'), { space: 'gmfn', idx: 0x10, gpfn }).errno).toBe(errno);
    }
    expect([p2mLookup(dm, 0x9000), p2mLookup(dm, 0x9001)]).toEqual([
      { mfn: 0xfed00, type: 'mmio_direct' },
      { mfn: 0x1900, type: 'grant_map_rw' },
    ]);
    expect(pageAt(e.m, 0x1200)!.refs).toBe(before);
  });

  it('gmfn_foreign errors in order: EPERM (foreign = caller) > ESRCH (unknown foreign) > EINVAL (target = foreign) > EPERM (XSM) > EINVAL (not RAM)', () => {
    const e = env(lab({ extra: [DM], vm1: 'device_model: dm1' }));
    const add = (foreign_domid: number, idx: number, caller = 'dm1', domid?: number) =>
      addToPhysmap(e.ctx(caller), { domid, space: 'gmfn_foreign', foreign_domid, idx, gpfn: 0x9000 }).errno;
    expect(add(5, 0x100)).toBe('EPERM');
    expect(add(DOMID_SELF, 0x100)).toBe('ESRCH'); // rcu_lock_remote_domain_by_id does not take DOMID_SELF
    expect(add(77, 0x100)).toBe('ESRCH');
    // DOMID_XEN is a domain to map from: XSM (the receiving domain must be the control domain),
    // then no Xen page is shared with guests
    expect(add(DOMID_XEN, 0x10)).toBe('EPERM');
    const ctl = 'apiVersion: pviommu/v1\nkind: Domain\nname: ctl\ndomid: 7\ntype: pvh\nrole: control\nmemory: 4MiB';
    const withCtl = env(lab({ extra: [ctl] }));
    expect(addToPhysmap(withCtl.ctx('ctl'), { space: 'gmfn_foreign', foreign_domid: DOMID_XEN, idx: 0x10, gpfn: 0x9000 }).errno).toBe('EINVAL');
    expect(add(2, 0x10, 'dom0', 2)).toBe('EINVAL'); // dom0 maps vm2's page into vm2
    expect(add(2, 0x10)).toBe('EPERM'); // dm1 is not vm2's device model
    expect(add(1, 0x7ffff)).toBe('EINVAL');
    expect(add(1, 0x100)).toBe('OK');
  });
});

describe('memory.remove_from_physmap', () => {
  it('errors: ESRCH > EACCES (PV) > EPERM (XSM) > ENOENT (no page: hole or grant slot)', () => {
    const e = env(lab());
    expect(removeFromPhysmap(e.ctx('vm2'), { domid: 66, gpfn: 0x10 }).errno).toBe('ESRCH');
    expect(removeFromPhysmap(e.ctx(), { domid: 0, gpfn: 0x10 }).errno).toBe('EACCES');
    expect(removeFromPhysmap(e.ctx('vm2'), { domid: 1, gpfn: 0x10 }).errno).toBe('EPERM');
    expect(removeFromPhysmap(e.ctx('vm2'), { gpfn: 0x7ffff }).errno).toBe('ENOENT');
    e.dom('vm2').p2m.set(0x9000, 0x9000, { base: 0x1200, type: 'grant_map_rw' });
    expect(removeFromPhysmap(e.ctx('vm2'), { gpfn: 0x9000 }).errno).toBe('ENOENT');
  });
  it('a RAM page leaves the p2m but stays allocated to the domain', () => {
    const e = env(lab());
    expect(removeFromPhysmap(e.ctx('vm2'), { gpfn: 0x10 }).errno).toBe('OK');
    expect(p2mLookup(e.dom('vm2'), 0x10)).toBeUndefined();
    expect(pageAt(e.m, 0x1910)).toMatchObject({ owner: 2, allocated: true, refs: 0 });
  });
});

describe('memory.translate', () => {
  it('returns raw MFNs, takes no reference, and reports hypercall/raw-mfn-exposed', () => {
    const e = env(lab());
    const r = translate(e.ctx(), { domid: 1, gfns: gf(0x100, { start: 0x7fe, end: 0x7ff }) });
    expect(r).toEqual({ rc: 0, status: 0, errno: 'OK', out: { mfns: ['0x1200', '0x18fe', '0x18ff'] } });
    expect(pageAt(e.m, 0x1200)!.refs).toBe(0);
    expect(e.findings.map((f) => f.rule)).toEqual(['hypercall/raw-mfn-exposed']);
  });
  it('errors in order: EPERM (not the hardware domain) > ESRCH > E2BIG (> 2048) > EINVAL (unbacked gfn)', () => {
    const e = env(lab());
    const big = gf({ start: 0, end: 2048 });
    expect(translate(e.ctx('vm1'), { domid: 77, gfns: big }).errno).toBe('EPERM');
    expect(translate(e.ctx(), { domid: 77, gfns: big }).errno).toBe('ESRCH');
    expect(translate(e.ctx(), { domid: 1, gfns: gf({ start: 0x7fffe, end: 0x80800 }) }).errno).toBe('E2BIG');
    expect(translate(e.ctx(), { domid: 1, gfns: gf({ start: 0, end: 2047 }) }).errno).toBe('OK');
    expect(translate(e.ctx(), { domid: 1, gfns: gf(0x100, 0x7ffff) })).toEqual({ rc: -22, status: -22, errno: 'EINVAL', out: {} });
    expect(e.findings.length).toBe(1); // only the successful call reports
  });
  it('an empty gfn list hands out nothing: OK, no mfns, no raw-mfn-exposed warning', () => {
    const e = env(lab());
    expect(translate(e.ctx(), { domid: 1, gfns: gf() })).toEqual({ rc: 0, status: 0, errno: 'OK', out: { mfns: [] } });
    expect(e.findings).toEqual([]);
  });
  it('remembered for mapping/dangling at the end of a scenario', () => {
    const rep = scenario(
      labScenario(`  - op: memory.translate
    domid: vm1
    gfns: [0x100, 0x101]
  - op: memory.decrease_reservation
    caller: vm1
    gfns: [0x100]
`),
    );
    expect(rules(rep)).toEqual(['hypercall/raw-mfn-exposed', 'mapping/dangling']);
    const d = rep.findings[1]!;
    expect(d.message).toContain('MFN 0x1200');
    expect(d.message).toContain('is now free');
    expect(d.message).not.toContain('0x1201');
    expect(d.line).toBe(rep.findings[0]!.line - 2); // at call #0 (the raw-mfn warning is at its gfns)
  });
  it('a frame handed out twice by one call is listed once; each call that handed it out gets its finding', () => {
    const rep = scenario(
      labScenario(`  - op: memory.translate
    domid: vm1
    gfns: [0x100, 0x101, 0x100]
  - op: memory.translate
    domid: vm1
    gfns: [0x102]
  - op: memory.translate
    domid: vm1
    gfns: [0x100, 0x100]
  - op: memory.decrease_reservation
    caller: vm1
    gfns: [0x100, 0x102]
`),
    );
    const dangling = rep.findings.filter((f) => f.rule === 'mapping/dangling');
    expect(dangling.map((f) => f.message.split(' handed out')[0])).toEqual(['call #0', 'call #1', 'call #2']);
    for (const f of dangling) expect(f.message.split('MFN 0x12').length - 1).toBe(1); // one frame each
    expect(dangling[0]!.message).toContain('MFN 0x1200');
    expect(dangling[1]!.message).toContain('MFN 0x1202');
    expect(dangling[2]!.message).toContain('MFN 0x1200');
  });

  it('remembers runs of frames, not one record per frame', () => {
    const e = env(lab());
    expect(translate(e.ctx(), { domid: 1, gfns: gf({ start: 0, end: 2047 }) }).errno).toBe('OK');
    expect(translate(e.ctx(), { domid: 1, gfns: gf(0x10, 0x11, 0x13, 0x12) }).errno).toBe('OK');
    expect([...stateOf(e.m).raw].map((r) => [r.gfn, r.mfn, r.count])).toEqual([
      [0, 0x1100, 2048],
      [0x10, 0x1110, 2],
      [0x13, 0x1113, 1],
      [0x12, 0x1112, 1],
    ]);
  });

  it('a run is reported in pieces by what became of its pages; frames repeated in one call once', () => {
    const rep = scenario(
      labScenario(`  - op: memory.translate
    domid: vm1
    gfns: ["0x100-0x107", "0x104-0x109"]
  - op: memory.decrease_reservation
    caller: vm1
    gfns: ["0x100-0x105"]
  - op: memory.populate_physmap
    caller: vm3
    gfns: ["0x9000-0x9001"]
`),
    );
    const dangling = rep.findings.filter((f) => f.rule === 'mapping/dangling');
    expect(dangling.length).toBe(1);
    const msg = dangling[0]!.message;
    // 0x1200-0x1201 went to vm3 (lowest free first), 0x1202-0x1205 are free, 0x1206-0x1209 still vm1's.
    expect(msg).toContain("MFNs 0x1200-0x1201 (vm1's gfns 0x100-0x101 when translated) now belong to vm3");
    expect(msg).toContain("MFNs 0x1202-0x1205 (vm1's gfns 0x102-0x105 when translated) are now free");
    expect(msg).not.toContain('0x1206');
    expect(msg.match(/MFNs? 0x/g)).toHaveLength(2); // 0x1204-0x1205, translated twice: listed once
  });
});
