/**
 * Xen's evaluation order: for every op with two or more error paths, situations where TWO errors
 * apply at once, and which one Xen reports. Each case is checked three ways — the first error
 * alone, the second error alone, both at once — so a case proves both errors really apply and
 * that the first one wins. The order follows reference/pv-iommu.md §2.2–§2.4 (xs), §5.2 (ta) and
 * reference/xen-model.md §4 (memory ops), §5.2 (grants), §6.2 (domctls); each case names the Xen
 * function whose check comes first.
 *
 * Reservation ops (populate_physmap, decrease_reservation) are not here: every failure of theirs
 * is the same short count (xen-model.md §9.7), so no order is observable in the result.
 */
import { describe, expect, it } from 'vitest';
import { env, lab, labScenario, scenario, type Env, type LabOptions } from './helpers.js';
import { iommuOp, iommuOpElement, XS_SUBOPS, IOMMU_OP_readable as R, IOMMU_OP_writeable as W } from '../../src/hypercalls/pv-iommu-xs.js';
import type { XsOp } from '../../src/hypercalls/pv-iommu-xs.js';
import {
  taAllocContext,
  taFreeContext,
  taInit,
  taMapPages,
  taQueryCapabilities,
  taReattachDevice,
  taRemoteCmd,
  taUnmapPages,
  TA_SUBOPS,
  IOMMU_MAP_readable as TR,
  IOMMU_MAP_writeable as TW,
} from '../../src/hypercalls/pv-iommu-ta.js';
import { assignDevice, deassignDevice, destroyDomain, testAssignDevice } from '../../src/hypercalls/domctl.js';
import { addToPhysmap, removeFromPhysmap, translate } from '../../src/hypercalls/memory.js';
import { grantMap, GNTMAP_device_map as DEV, GNTMAP_host_map as HOST, GNTMAP_readonly as RO } from '../../src/hypercalls/grant.js';
import { deviceDma } from '../../src/hypercalls/dma.js';
import { frameList } from '../../src/hypercalls/args.js';
import { errnoName } from '../../src/hypercalls/errno.js';
import { DOMID_SELF } from '../../src/model/types.js';
import { pageAt } from '../../src/model/pages.js';
import { p2mLookup } from '../../src/model/p2m.js';

// ---------------------------------------------------------------------------------------------
// The machine (test/hypercalls/helpers.ts `lab`): dom0 (pv, hardware) mfn 0x100-0x10ff; vm1 (hvm)
// gfn g → mfn 0x1100+g; vm2 (hvm, owns nic 03:00.0) mfn 0x1900+; vm3 (hvm, PoD: maxmem > memory);
// gpu 00:02.0 and nic2 03:00.1 are dom0's; free frames from 0x2500.

const S = XS_SUBOPS;
const NIC = '0000:03:00.0';
const NIC2 = '0000:03:00.1';
const GPU = '0000:00:02.0';
const FREE_BFN = 0x20000; // not mapped in dom0's relaxed context (RAM is 0x0-0x3fff)
const UNBACKED = 0x7ffff; // no guest has this gfn

const doc = (kind: string, name: string, body: string) => `apiVersion: pviommu/v1\nkind: ${kind}\nname: ${name}\n${body}`;
/** A control domain other than dom0: dom0 is then the hardware domain only (no XSM PRIV / DM_PRIV). */
const CTL = doc('Domain', 'ctl', 'domid: 9\ntype: pvh\nrole: control\nmemory: 1MiB');
/** A PV guest (its pages cannot be foreign-mapped through the xs PV-IOMMU). */
const PV4 = doc('Domain', 'vm4', 'domid: 4\ntype: pv\nmemory: 1MiB\ndevice_model: dom0');
/** vm5: PoD (maxmem > memory) with an IOMMU context; vm6: log-dirty (live migration) with one. */
const POD5 = doc('Domain', 'vm5', 'domid: 5\ntype: hvm\nmemory: 2MiB\nmaxmem: 4MiB\npassthrough: sync_pt');
const device = (name: string, bdf: string, extra = '') => doc('Device', name, `bdf: "${bdf}"\nassignable: true\n${extra}`);

const mk = (o: LabOptions = {}) => env(lab(o));

/** Run `fn` on a fresh machine and give back its errno (or GNTST_* name). */
type Run = () => string;
const on =
  (o: LabOptions, fn: (e: Env) => { errno: string } | string): Run =>
  () => {
    const r = fn(mk(o));
    return typeof r === 'string' ? r : r.errno;
  };

/** One xs element (`iommu_op`) as `caller` (default dom0): its status as an errno name. */
const xs = (e: Env, op: XsOp, caller?: string) => errnoName(iommuOpElement(e.ctx(caller), op).status);

interface Case {
  name: string;
  /** The error that wins, and a situation where it alone applies. */
  first: [string, Run];
  /** The error that loses, and a situation where it alone applies. */
  second: [string, Run];
  /** Both apply at once: Xen reports `first`. */
  both: Run;
}

function table(title: string, cases: Case[]): void {
  describe(title, () => {
    it.each(cases)('$name', ({ first, second, both }) => {
      expect(first[0], 'a case needs two different errors').not.toBe(second[0]);
      expect(first[1](), 'the first error alone').toBe(first[0]);
      expect(second[1](), 'the second error alone').toBe(second[0]);
      expect(both(), 'both at once: the first check wins').toBe(first[0]);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// xs PV-IOMMU (pv-iommu.md §2.2, §2.4).

const XS_CTL: LabOptions = { extra: [CTL, PV4], vm2: 'device_model: dom0' }; // vm1's device model is ctl, not dom0

table('xs PV-IOMMU (pv_iommu.c)', [
  {
    name: 'do_iommu_op (§2.2): ENOSYS (caller not the hardware domain) before EINVAL (negative count)',
    first: ['ENOSYS', on({}, (e) => iommuOp(e.ctx('vm1'), { ops: [{ subop: S.query_caps! }] }))],
    second: ['EINVAL', on({}, (e) => iommuOp(e.ctx(), { ops: [], count: -1 }))],
    both: on({}, (e) => iommuOp(e.ctx('vm1'), { ops: [], count: -1 })),
  },
  {
    name: 'do_iommu_op (§2.2): EINVAL (negative count) before any element runs',
    first: ['EINVAL', on({}, (e) => iommuOp(e.ctx(), { ops: [], count: -1 }))],
    second: ['ENODEV', on({}, (e) => xs(e, { subop: 42 }))],
    both: on({}, (e) => {
      const r = iommuOp(e.ctx(), { ops: [{ subop: 42 }], count: -1 });
      expect(r.statuses).toEqual([]);
      return r.errno;
    }),
  },
  {
    name: 'iommu_op (§2.1): ENOSPC (page order ≠ 0) before the subop switch (ENODEV unknown subop)',
    first: ['ENOSPC', on({}, (e) => xs(e, { subop: S.query_caps!, flags: 1 << 12 }))],
    second: ['ENODEV', on({}, (e) => xs(e, { subop: 42 }))],
    both: on({}, (e) => xs(e, { subop: 42, flags: 1 << 12 })),
  },
  {
    name: 'iommu_op (§2.1): ENOSPC (page order ≠ 0) before map_page’s can_use check (EPERM)',
    first: ['ENOSPC', on({}, (e) => xs(e, { subop: S.map_page!, bfn: FREE_BFN, gfn: 0x200, flags: R | W | (1 << 10) }))],
    second: ['EPERM', on({ elfNote: false }, (e) => xs(e, { subop: S.map_page!, bfn: FREE_BFN, gfn: 0x200, flags: R | W }))],
    both: on({ elfNote: false }, (e) => xs(e, { subop: S.map_page!, bfn: FREE_BFN, gfn: 0x200, flags: R | W | (1 << 10) })),
  },
  {
    name: 'iommu_op_unmap_page (§2.4): no can_use check, so an unmapped BFN is ENOENT even when not usable',
    first: ['ENOENT', on({}, (e) => xs(e, { subop: S.unmap_page!, bfn: FREE_BFN }))],
    second: ['EPERM', on({ elfNote: false }, (e) => xs(e, { subop: S.map_page!, bfn: FREE_BFN, gfn: 0x200, flags: R }))],
    both: on({ elfNote: false }, (e) => xs(e, { subop: S.unmap_page!, bfn: FREE_BFN })),
  },
  {
    name: 'iommu_op_map_foreign_page (§2.4 1 > 2): EPERM (!can_use) before ENXIO (unknown domain)',
    first: ['EPERM', on({ elfNote: false }, (e) => xs(e, { subop: S.map_foreign_page!, bfn: FREE_BFN, domid: 1, gfn: 0x100, flags: R | W }))],
    second: ['ENXIO', on({}, (e) => xs(e, { subop: S.map_foreign_page!, bfn: FREE_BFN, domid: 77, gfn: 0x100, flags: R | W }))],
    both: on({ elfNote: false }, (e) => xs(e, { subop: S.map_foreign_page!, bfn: FREE_BFN, domid: 77, gfn: 0x100, flags: R | W })),
  },
  {
    name: 'iommu_op_map_foreign_page (§2.4 2 > 9): ENXIO (unknown domain) before EPERM (BFN in use)',
    first: ['ENXIO', on({}, (e) => xs(e, { subop: S.map_foreign_page!, bfn: FREE_BFN, domid: 77, gfn: 0x100, flags: R | W }))],
    second: ['EPERM', on({}, (e) => xs(e, { subop: S.map_foreign_page!, bfn: 0x10, domid: 1, gfn: 0x100, flags: R | W }))],
    both: on({}, (e) => xs(e, { subop: S.map_foreign_page!, bfn: 0x10, domid: 77, gfn: 0x100, flags: R | W })),
  },
  {
    name: 'iommu_op_map_foreign_page (§2.4 3 > 6): EPERM (PV target) before ENXIO (unbacked gfn)',
    first: ['EPERM', on(XS_CTL, (e) => xs(e, { subop: S.map_foreign_page!, bfn: FREE_BFN, domid: 4, gfn: 0x2500, flags: R | W }))],
    second: ['ENXIO', on(XS_CTL, (e) => xs(e, { subop: S.map_foreign_page!, bfn: FREE_BFN, domid: 2, gfn: UNBACKED, flags: R | W }))],
    both: on(XS_CTL, (e) => xs(e, { subop: S.map_foreign_page!, bfn: FREE_BFN, domid: 4, gfn: UNBACKED, flags: R | W })),
  },
  {
    name: 'iommu_op_map_foreign_page (§2.4 5 > 6): EPERM (XSM DM_PRIV: dom0 is not vm1’s device model) before ENXIO (unbacked gfn)',
    first: ['EPERM', on(XS_CTL, (e) => xs(e, { subop: S.map_foreign_page!, bfn: FREE_BFN, domid: 1, gfn: 0x100, flags: R | W }))],
    second: ['ENXIO', on({}, (e) => xs(e, { subop: S.map_foreign_page!, bfn: FREE_BFN, domid: 1, gfn: UNBACKED, flags: R | W }))],
    both: on(XS_CTL, (e) => xs(e, { subop: S.map_foreign_page!, bfn: FREE_BFN, domid: 1, gfn: UNBACKED, flags: R | W })),
  },
  {
    name: 'iommu_op_map_foreign_page (§2.4 6 > 9): ENXIO (unbacked gfn) before EPERM (BFN in use)',
    first: ['ENXIO', on({}, (e) => xs(e, { subop: S.map_foreign_page!, bfn: FREE_BFN, domid: 1, gfn: UNBACKED, flags: R | W }))],
    second: ['EPERM', on({}, (e) => xs(e, { subop: S.map_foreign_page!, bfn: 0x10, domid: 1, gfn: 0x100, flags: R | W }))],
    both: on({}, (e) => xs(e, { subop: S.map_foreign_page!, bfn: 0x10, domid: 1, gfn: UNBACKED, flags: R | W })),
  },
  {
    name: 'iommu_op_lookup_foreign_page (§2.4 1 > 5): EPERM (DOMID_SELF) before ENXIO (unbacked gfn)',
    first: ['EPERM', on({}, (e) => xs(e, { subop: S.lookup_foreign_page!, domid: DOMID_SELF, gfn: 0x10 }))],
    second: ['ENXIO', on({}, (e) => xs(e, { subop: S.lookup_foreign_page!, domid: 1, gfn: UNBACKED }))],
    both: on({}, (e) => xs(e, { subop: S.lookup_foreign_page!, domid: DOMID_SELF, gfn: UNBACKED })),
  },
  {
    name: 'iommu_op_lookup_foreign_page (§2.4 3 > 5): EPERM (PV target) before ENXIO (unbacked gfn)',
    first: ['EPERM', on(XS_CTL, (e) => xs(e, { subop: S.lookup_foreign_page!, domid: 4, gfn: 0x2500 }))],
    second: ['ENXIO', on(XS_CTL, (e) => xs(e, { subop: S.lookup_foreign_page!, domid: 2, gfn: UNBACKED }))],
    both: on(XS_CTL, (e) => xs(e, { subop: S.lookup_foreign_page!, domid: 4, gfn: UNBACKED })),
  },
  {
    name: 'iommu_op_lookup_foreign_page (§2.4 4 > 5): EPERM (XSM DM_PRIV) before ENXIO (unbacked gfn)',
    first: ['EPERM', on(XS_CTL, (e) => xs(e, { subop: S.lookup_foreign_page!, domid: 1, gfn: 0x100 }))],
    second: ['ENXIO', on({}, (e) => xs(e, { subop: S.lookup_foreign_page!, domid: 1, gfn: UNBACKED }))],
    both: on(XS_CTL, (e) => xs(e, { subop: S.lookup_foreign_page!, domid: 1, gfn: UNBACKED })),
  },
]);

describe('xs PV-IOMMU: checks that fail with the same errno still leave no trace', () => {
  it('iommu_op_map_page (§2.4 3 > 4): an own frame at a BFN in use is EPERM and the reference taken is dropped', () => {
    const e = mk();
    const refs = pageAt(e.m, 0x200)!.refs;
    expect(xs(e, { subop: S.map_page!, bfn: 0x10, gfn: 0x200, flags: R | W })).toBe('EPERM');
    expect(pageAt(e.m, 0x200)!.refs).toBe(refs);
  });
  it('iommu_op_map_foreign_page (§2.4 6 > 9): a guest page at a BFN in use is EPERM and holds no reference', () => {
    const e = mk();
    expect(xs(e, { subop: S.map_foreign_page!, bfn: 0x10, domid: 1, gfn: 0x100, flags: R | W })).toBe('EPERM');
    expect(pageAt(e.m, 0x1200)!.refs).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// ta PV-IOMMU (pv-iommu.md §5.2).

const TA: LabOptions = { abi: 'ta', vm2: 'pv_iommu: true', nic: 'rmrr: ["0x3f00-0x3f0f"]' };
/** vm2 with contexts 1..4 and context 1 allocated. */
function taReady(attach = false): Env {
  const e = mk(TA);
  const c = e.ctx('vm2');
  expect(taInit(c, { max_ctx_no: 4 }).errno).toBe('OK');
  expect(taAllocContext(c, {}).errno).toBe('OK');
  if (attach) expect(taReattachDevice(c, { ctx_no: 1, device: NIC }).errno).toBe('OK');
  return e;
}

/** map_pages at DFN 0x5000 of a ready ta context where that DFN is already mapped: EADDRINUSE. */
function dfnInUse(): string {
  const e = taReady(true);
  expect(map(e, { gfn: 0x10, dfn: 0x5000 })).toBe('OK');
  return map(e, { gfn: 0x11, dfn: 0x5000 });
}
const onTa =
  (attach: boolean, fn: (e: Env) => { errno: string }): Run =>
  () =>
    fn(taReady(attach)).errno;
/**
 * vm2's context 1 with reserved-but-unmapped DFNs: the nic (RMRR 0x3f00-0x3f0f) is attached,
 * which identity-maps its RMRR, and the entries are then taken out of the table directly — a
 * state Xen's RMRR maps never leave, made only to show which check comes first.
 */
function taReservedHole(): Env {
  const e = taReady(false);
  expect(taReattachDevice(e.ctx('vm2'), { ctx_no: 1, device: NIC }).errno).toBe('OK');
  e.dom('vm2').ta.contexts.get(1)!.table.delete(0x3f00, 0x3f0f);
  return e;
}
/** vm2 holds a grant mapping of vm1's gfn 0x100 at its gfn 0x9000 (another domain's page in its p2m). */
function taWithGrant(): Env {
  const e = taReady(true);
  expect(grantMap(e.ctx('vm2'), { granter: 1, gfn: 0x100, flags: HOST, host_gfn: 0x9000 }).errno).toBe('OK');
  return e;
}
const map = (e: Env, a: { ctx_no?: number; gfn: number; dfn: number; nr_pages?: number }) =>
  taMapPages(e.ctx('vm2'), { ctx_no: a.ctx_no ?? 1, gfn: a.gfn, dfn: a.dfn, nr_pages: a.nr_pages ?? 1, flags: TR | TW }).errno;

table('ta PV-IOMMU (pv-iommu.c)', [
  {
    name: 'do_iommu_op: ENOSYS (the host runs another ABI) before ENODEV (caller may not use the PV-IOMMU)',
    first: ['ENOSYS', on({ abi: 'xs', vm2: 'pv_iommu: true' }, (e) => taQueryCapabilities(e.ctx('vm2'), {}))],
    second: ['ENODEV', on({ abi: 'ta' }, (e) => taQueryCapabilities(e.ctx('vm2'), {}))],
    both: on({ abi: 'xs' }, (e) => taQueryCapabilities(e.ctx('vm2'), {})),
  },
  {
    name: 'do_iommu_op (§5.2 0): ENODEV (can_use_iommu_check) before free_context’s EINVAL (context 0)',
    first: ['ENODEV', on({ abi: 'ta' }, (e) => taFreeContext(e.ctx('vm2'), { ctx_no: 1 }))],
    second: ['EINVAL', on(TA, (e) => taFreeContext(e.ctx('vm2'), { ctx_no: 0 }))],
    both: on({ abi: 'ta' }, (e) => taFreeContext(e.ctx('vm2'), { ctx_no: 0 })),
  },
  {
    name: 'init_op (§5.2 3): E2BIG (max_ctx_no = UINT32_MAX) before EACCES (already initialised)',
    first: ['E2BIG', on(TA, (e) => taInit(e.ctx('vm2'), { max_ctx_no: 0xffffffff }))],
    second: ['EACCES', onTa(false, (e) => taInit(e.ctx('vm2'), { max_ctx_no: 2 }))],
    both: onTa(false, (e) => taInit(e.ctx('vm2'), { max_ctx_no: 0xffffffff })),
  },
  {
    name: 'free_context_op (§5.2 5): EINVAL (the default context) before EBUSY (devices attached)',
    first: ['EINVAL', onTa(true, (e) => taFreeContext(e.ctx('vm2'), { ctx_no: 0, reattach_default: true }))],
    second: ['EBUSY', onTa(true, (e) => taFreeContext(e.ctx('vm2'), { ctx_no: 1 }))],
    both: onTa(false, (e) => taFreeContext(e.ctx('vm2'), { ctx_no: 0 })), // context 0 holds the nic
  },
  {
    name: 'reattach_device_op (§5.2 6): ENODEV (device not the caller’s) before ENOENT (target context not allocated)',
    first: ['ENODEV', onTa(false, (e) => taReattachDevice(e.ctx('vm2'), { ctx_no: 1, device: NIC2 }))],
    second: ['ENOENT', onTa(false, (e) => taReattachDevice(e.ctx('vm2'), { ctx_no: 3, device: NIC }))],
    both: onTa(false, (e) => taReattachDevice(e.ctx('vm2'), { ctx_no: 3, device: NIC2 })),
  },
  {
    name: 'reattach_device_op (§5.2 6): ENODEV (no such device) before ENOENT (target context not allocated)',
    first: ['ENODEV', onTa(false, (e) => taReattachDevice(e.ctx('vm2'), { ctx_no: 1, device: undefined }))],
    second: ['ENOENT', onTa(false, (e) => taReattachDevice(e.ctx('vm2'), { ctx_no: 3, device: NIC }))],
    both: onTa(false, (e) => taReattachDevice(e.ctx('vm2'), { ctx_no: 3, device: undefined })),
  },
  {
    name: 'map_pages_op (§5.2 7): EINVAL (context not allocated) before any page check (ENOENT unbacked gfn)',
    first: ['EINVAL', () => map(taReady(true), { ctx_no: 2, gfn: 0x10, dfn: 0x5000 })],
    second: ['ENOENT', () => map(taReady(true), { gfn: UNBACKED, dfn: 0x5000 })],
    both: () => map(taReady(true), { ctx_no: 2, gfn: UNBACKED, dfn: 0x5000 }),
  },
  {
    name: 'map_pages_op (§5.2 7.1 > 7.2): EADDRNOTAVAIL (DFN in an RMRR region) before ENOENT (unbacked gfn)',
    first: ['EADDRNOTAVAIL', () => map(taReady(true), { gfn: 0x10, dfn: 0x3f04 })],
    second: ['ENOENT', () => map(taReady(true), { gfn: UNBACKED, dfn: 0x5000 })],
    both: () => map(taReady(true), { gfn: UNBACKED, dfn: 0x3f04 }),
  },
  {
    name: 'map_pages_op (§5.2 7.2 > 7.3): ENOENT (unbacked gfn) before EADDRINUSE (DFN already mapped)',
    first: ['ENOENT', () => map(taReady(true), { gfn: UNBACKED, dfn: 0x5000 })],
    second: ['EADDRINUSE', dfnInUse],
    both: () => {
      const e = taReady(true);
      expect(map(e, { gfn: 0x10, dfn: 0x5000 })).toBe('OK');
      return map(e, { gfn: UNBACKED, dfn: 0x5000 });
    },
  },
  {
    name: 'map_pages_op (§5.2 7.2 > 7.3): EPERM (another domain’s page, via a grant) before EADDRINUSE, without keeping a reference',
    first: ['EPERM', () => map(taWithGrant(), { gfn: 0x9000, dfn: 0x5000 })],
    second: ['EADDRINUSE', dfnInUse],
    both: () => {
      const e = taWithGrant();
      expect(map(e, { gfn: 0x10, dfn: 0x5000 })).toBe('OK');
      const refs = pageAt(e.m, 0x1200)!.refs;
      const r = map(e, { gfn: 0x9000, dfn: 0x5000 });
      expect(pageAt(e.m, 0x1200)!.refs).toBe(refs);
      return r;
    },
  },
  {
    name: 'unmap_pages_op (§5.2 8): EINVAL (context not allocated) before ENOENT (DFN not mapped)',
    first: ['EINVAL', onTa(true, (e) => taUnmapPages(e.ctx('vm2'), { ctx_no: 2, dfn: 0x3f00, nr_pages: 1 }))],
    second: ['ENOENT', onTa(true, (e) => taUnmapPages(e.ctx('vm2'), { ctx_no: 1, dfn: 0x5000, nr_pages: 1 }))],
    both: onTa(true, (e) => taUnmapPages(e.ctx('vm2'), { ctx_no: 2, dfn: 0x5000, nr_pages: 1 })),
  },
  {
    name: 'unmap_pages_op (§5.2 8): EADDRNOTAVAIL (DFN in an RMRR region) before ENOENT (DFN not mapped)',
    first: ['EADDRNOTAVAIL', () => taUnmapPages(taReservedHole().ctx('vm2'), { ctx_no: 1, dfn: 0x3f05, nr_pages: 1 }).errno],
    second: ['ENOENT', () => taUnmapPages(taReservedHole().ctx('vm2'), { ctx_no: 1, dfn: 0x5000, nr_pages: 1 }).errno],
    both: () => {
      const e = taReservedHole();
      expect(e.dom('vm2').ta.contexts.get(1)!.table.has(0x3f00)).toBe(false);
      return taUnmapPages(e.ctx('vm2'), { ctx_no: 1, dfn: 0x3f00, nr_pages: 1 }).errno;
    },
  },
  {
    name: 'remote_cmd (§5.2 0 > 9): ENODEV (caller may not use the PV-IOMMU) before EPERM (caller not the hardware domain)',
    first: ['ENODEV', on({ abi: 'ta', iommu: false }, (e) => taRemoteCmd(e.ctx(), { domid: 2, subop: TA_SUBOPS.query_capabilities! }))],
    second: ['EPERM', on(TA, (e) => taRemoteCmd(e.ctx('vm2'), { domid: 1, subop: TA_SUBOPS.query_capabilities! }))],
    both: on({ abi: 'ta' }, (e) => taRemoteCmd(e.ctx('vm2'), { domid: 1, subop: TA_SUBOPS.query_capabilities! })),
  },
  {
    name: 'remote_cmd (§5.2 9): EINVAL (called recursively) before EPERM (the acting domain is not the hardware domain)',
    first: ['EINVAL', on(TA, (e) => taRemoteCmd(e.ctx(), { domid: 0, subop: TA_SUBOPS.remote_cmd! }))],
    second: ['EPERM', on(TA, (e) => taRemoteCmd(e.ctx('vm2'), { domid: 1, subop: TA_SUBOPS.query_capabilities! }))],
    both: on(TA, (e) => taRemoteCmd(e.ctx(), { domid: 2, subop: TA_SUBOPS.remote_cmd! })), // runs as vm2
  },
  {
    name: 'remote_cmd (§5.2 9): EPERM (caller not the hardware domain) before ENOENT (unknown domid)',
    first: ['EPERM', on(TA, (e) => taRemoteCmd(e.ctx('vm2'), { domid: 1, subop: TA_SUBOPS.query_capabilities! }))],
    second: ['ENOENT', on(TA, (e) => taRemoteCmd(e.ctx(), { domid: 77, subop: TA_SUBOPS.query_capabilities! }))],
    both: on(TA, (e) => taRemoteCmd(e.ctx('vm2'), { domid: 77, subop: TA_SUBOPS.query_capabilities! })),
  },
  {
    name: 'remote_cmd (§5.2 9 > 10): ENOENT (unknown domid) before EOPNOTSUPP (unimplemented subop)',
    first: ['ENOENT', on(TA, (e) => taRemoteCmd(e.ctx(), { domid: 77, subop: TA_SUBOPS.query_capabilities! }))],
    second: ['EOPNOTSUPP', on(TA, (e) => taRemoteCmd(e.ctx(), { domid: 2, subop: TA_SUBOPS.attach_pasid! }))],
    both: on(TA, (e) => taRemoteCmd(e.ctx(), { domid: 77, subop: TA_SUBOPS.attach_pasid! })),
  },
]);

// ---------------------------------------------------------------------------------------------
// Domctls (xen-model.md §6.2): do_domctl → iommu_do_domctl → iommu_do_pci_domctl →
// device_assigned → assign_device → intel_iommu_assign_device.

const HB = device('hb', '00:00.0', 'host_bridge: true\nrmrr: ["0x3f30-0x3f3f"]');
const SHARED = [device('gfx', '05:00.0', 'rmrr: ["0x3f20-0x3f2f"]'), device('usb', '05:01.0', 'rmrr: ["0x3f20-0x3f2f"]')];
const BROKEN = device('bad', '06:00.0', 'broken: true\nrmrr: ["0x3f20-0x3f2f"]');
/** vm2 holds RAM at gfn 0x3f20 / 0x3f30, where those RMRRs want their 1:1 entries. */
function ramOver(e: Env, ...gfns: number[]): Env {
  for (const g of gfns) e.dom('vm2').p2m.set(g, g + 0xf, { base: 0x1950, type: 'ram_rw' });
  return e;
}
const assign = (e: Env, domid: number, device: string | undefined, caller?: string) => assignDevice(e.ctx(caller), { domid, device }).errno;

table('domctl.assign_device (XEN_DOMCTL_assign_device)', [
  {
    name: 'do_domctl: ESRCH (rcu_lock_domain_by_id) before EPERM (xsm_domctl: caller not the control domain)',
    first: ['ESRCH', on({}, (e) => assign(e, 77, NIC2))],
    second: ['EPERM', on({}, (e) => assign(e, 2, NIC2, 'vm1'))],
    both: on({}, (e) => assign(e, 77, NIC2, 'vm1')),
  },
  {
    name: 'do_domctl: EPERM (xsm_domctl) before iommu_do_domctl’s EOPNOTSUPP (target without IOMMU)',
    first: ['EPERM', on({}, (e) => assign(e, 2, NIC2, 'vm1'))],
    second: ['EOPNOTSUPP', on({}, (e) => assign(e, 3, NIC2))],
    both: on({}, (e) => assign(e, 3, NIC2, 'vm1')),
  },
  {
    name: 'iommu_do_domctl: EOPNOTSUPP (!is_iommu_enabled) before iommu_do_pci_domctl’s EINVAL (self-assignment)',
    first: ['EOPNOTSUPP', on({ iommu: false }, (e) => assign(e, 1, NIC2))],
    second: ['EINVAL', on({}, (e) => assign(e, 0, NIC2))],
    both: on({ iommu: false }, (e) => assign(e, 0, NIC2)),
  },
  {
    name: 'iommu_do_pci_domctl: EINVAL (self-assignment) before device_assigned’s ENODEV (no such device)',
    first: ['EINVAL', on({}, (e) => assign(e, 0, NIC2))],
    second: ['ENODEV', on({}, (e) => assign(e, 2, '0000:09:00.0'))],
    both: on({}, (e) => assign(e, 0, '0000:09:00.0')),
  },
  {
    name: 'iommu_do_pci_domctl: EINVAL (self-assignment) before device_assigned’s EBUSY (owned by a guest)',
    first: ['EINVAL', on({}, (e) => assign(e, 0, NIC2))],
    second: ['EBUSY', on({ vm1: 'passthrough: sync_pt' }, (e) => assign(e, 1, NIC))],
    both: on({}, (e) => assign(e, 0, NIC)),
  },
  {
    name: 'device_assigned before assign_device: ENODEV (no such device) before EXDEV (PoD target)',
    first: ['ENODEV', on({ extra: [POD5] }, (e) => assign(e, 2, '0000:09:00.0'))],
    second: ['EXDEV', on({ extra: [POD5] }, (e) => assign(e, 5, NIC2))],
    both: on({ extra: [POD5] }, (e) => assign(e, 5, '0000:09:00.0')),
  },
  {
    name: 'device_assigned before assign_device: EBUSY (owned by another guest) before EXDEV (PoD target)',
    first: ['EBUSY', on({ extra: [POD5], vm1: 'passthrough: sync_pt' }, (e) => assign(e, 1, NIC))],
    second: ['EXDEV', on({ extra: [POD5] }, (e) => assign(e, 5, NIC2))],
    both: on({ extra: [POD5] }, (e) => assign(e, 5, NIC)),
  },
  {
    name: 'assign_device: EXDEV (arch_iommu_use_permitted: PoD) before EBADF (broken device)',
    first: ['EXDEV', on({ extra: [POD5] }, (e) => assign(e, 5, NIC2))],
    second: ['EBADF', on({ extra: [POD5, BROKEN] }, (e) => assign(e, 2, '0000:06:00.0'))],
    both: on({ extra: [POD5, BROKEN] }, (e) => assign(e, 5, '0000:06:00.0')),
  },
  {
    name: 'assign_device: EBADF (broken) before intel_iommu_assign_device’s EPERM (shared RMRR)',
    first: ['EBADF', on({ extra: [device('bad', '06:00.0', 'broken: true')] }, (e) => assign(e, 2, '0000:06:00.0'))],
    second: ['EPERM', on({ extra: SHARED }, (e) => assign(e, 2, '0000:05:00.0'))],
    both: on({ extra: [...SHARED, BROKEN] }, (e) => assign(e, 2, '0000:06:00.0')),
  },
  {
    name: 'intel_iommu_assign_device: EPERM (shared RMRR, not relaxed) before iommu_identity_mapping’s EBUSY (RMRR over guest RAM)',
    first: ['EPERM', on({ extra: SHARED }, (e) => assign(e, 2, '0000:05:00.0'))],
    second: ['EBUSY', on({ extra: [device('gfx', '05:00.0', 'rmrr: ["0x3f20-0x3f2f"]')] }, (e) => assign(ramOver(e, 0x3f20), 2, '0000:05:00.0'))],
    both: on({ extra: SHARED }, (e) => assign(ramOver(e, 0x3f20), 2, '0000:05:00.0')),
  },
  {
    name: 'intel_iommu_assign_device: EBUSY (RMRR identity map over guest RAM) before domain_context_mapping’s EPERM (host bridge)',
    first: ['EBUSY', on({ extra: [device('gfx', '05:00.0', 'rmrr: ["0x3f30-0x3f3f"]')] }, (e) => assign(ramOver(e, 0x3f30), 2, '0000:05:00.0'))],
    second: ['EPERM', on({ extra: [HB] }, (e) => assign(e, 2, '0000:00:00.0'))],
    both: on({ extra: [HB] }, (e) => assign(ramOver(e, 0x3f30), 2, '0000:00:00.0')),
  },
]);

table('domctl.test_assign_device / deassign_device / domain.destroy', [
  {
    name: 'test_assign_device: EPERM (xsm_domctl) before EINVAL ("already assigned, or non-existent")',
    first: ['EPERM', on({}, (e) => testAssignDevice(e.ctx('vm1'), { device: NIC2 }))],
    second: ['EINVAL', on({}, (e) => testAssignDevice(e.ctx(), { device: NIC }))],
    both: on({}, (e) => testAssignDevice(e.ctx('vm1'), { device: NIC })),
  },
  {
    name: 'test_assign_device: EOPNOTSUPP (iommu_do_domctl, no domain: the IOMMU is off) before EINVAL (non-existent)',
    first: ['EOPNOTSUPP', on({ iommu: false }, (e) => testAssignDevice(e.ctx(), { device: NIC2 }))],
    second: ['EINVAL', on({}, (e) => testAssignDevice(e.ctx(), { device: '0000:09:00.0' }))],
    both: on({ iommu: false }, (e) => testAssignDevice(e.ctx(), { device: '0000:09:00.0' })),
  },
  {
    name: 'deassign_device: EINVAL (iommu_do_pci_domctl: self) before deassign_device’s ENODEV (not the domain’s)',
    first: ['EINVAL', on({}, (e) => deassignDevice(e.ctx(), { domid: 0, device: GPU }))],
    second: ['ENODEV', on({}, (e) => deassignDevice(e.ctx(), { domid: 2, device: NIC2 }))],
    both: on({}, (e) => deassignDevice(e.ctx(), { domid: 0, device: NIC })),
  },
  {
    name: 'deassign_device: EPERM (xsm_domctl) before ENODEV (not the domain’s)',
    first: ['EPERM', on({}, (e) => deassignDevice(e.ctx('vm1'), { domid: 2, device: NIC }))],
    second: ['ENODEV', on({}, (e) => deassignDevice(e.ctx(), { domid: 2, device: NIC2 }))],
    both: on({}, (e) => deassignDevice(e.ctx('vm1'), { domid: 2, device: NIC2 })),
  },
  {
    name: 'domain.destroy: ESRCH (rcu_lock_domain_by_id) before EPERM (xsm_domctl)',
    first: ['ESRCH', on({}, (e) => destroyDomain(e.ctx(), { domid: 77 }))],
    second: ['EPERM', on({}, (e) => destroyDomain(e.ctx('vm1'), { domid: 2 }))],
    both: on({}, (e) => destroyDomain(e.ctx('vm1'), { domid: 77 })),
  },
  {
    name: 'domain.destroy: EPERM (xsm_domctl) before domain_kill’s EINVAL (destroying oneself)',
    first: ['EPERM', on({}, (e) => destroyDomain(e.ctx('vm1'), { domid: 2 }))],
    second: ['EINVAL', on({}, (e) => destroyDomain(e.ctx(), { domid: 0 }))],
    both: on({}, (e) => destroyDomain(e.ctx('vm1'), { domid: 1 })),
  },
]);

describe('domctl.assign_device: a failure after the RMRR identity maps removes them again (intel_iommu_assign_device)', () => {
  it('a host bridge (EPERM from domain_context_mapping) leaves no RMRR 1:1 entry in the guest', () => {
    const e = mk({ extra: [HB] });
    expect(p2mLookup(e.dom('vm2'), 0x3f30)).toBeUndefined();
    expect(assign(e, 2, '0000:00:00.0')).toBe('EPERM');
    for (const g of [0x3f30, 0x3f38, 0x3f3f]) expect(p2mLookup(e.dom('vm2'), g), g.toString(16)).toBeUndefined();
    expect(e.dom('vm2').iommu!.table.has(0x3f30)).toBe(false);
    // and the device stays where it was
    expect(assign(e, 0, '0000:00:00.0')).toBe('EINVAL');
  });
  it('1:1 entries that were there before (here: an iomem-style direct mapping) stay', () => {
    const e = mk({ extra: [HB] });
    e.dom('vm2').p2m.set(0x3f30, 0x3f33, { base: 0x3f30, type: 'mmio_direct' });
    expect(assign(e, 2, '0000:00:00.0')).toBe('EPERM');
    expect(p2mLookup(e.dom('vm2'), 0x3f32)).toEqual({ mfn: 0x3f32, type: 'mmio_direct' });
    expect(p2mLookup(e.dom('vm2'), 0x3f34)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Memory ops (xen-model.md §4).

const DM1 = doc('Domain', 'dm1', 'domid: 5\ntype: hvm\nmemory: 1MiB');
const WITH_DM: LabOptions = { extra: [DM1], vm1: 'device_model: dm1' };
const gf = (...f: number[]) => frameList(f);
/** vm2 has a ram_ro page at gfn 0x20 and a direct-MMIO entry at gfn 0x9000. */
function vm2Special(e: Env): Env {
  e.dom('vm2').p2m.set(0x20, 0x20, { base: 0x1920, type: 'ram_ro' });
  e.dom('vm2').p2m.set(0x21, 0x21, { base: 0x1921, type: 'ram_shared' });
  e.dom('vm2').p2m.set(0x9000, 0x9000, { base: 0x3f50, type: 'mmio_direct' });
  return e;
}
const gmfn = (e: Env, idx: number, gpfn: number) => addToPhysmap(e.ctx('vm2'), { space: 'gmfn', idx, gpfn }).errno;
const foreign = (e: Env, caller: string, domid: number | undefined, foreign_domid: number, idx: number) =>
  addToPhysmap(e.ctx(caller), { domid, space: 'gmfn_foreign', foreign_domid, idx, gpfn: 0x9000 }).errno;

table('memory ops (XENMEM_*)', [
  {
    name: 'XENMEM_add_to_physmap: EACCES (xatp_permission_check: PV target) before EPERM (xsm_add_to_physmap)',
    first: ['EACCES', on({}, (e) => addToPhysmap(e.ctx(), { domid: 0, space: 'gmfn', idx: 0x10, gpfn: 0x9000 }))],
    second: ['EPERM', on({}, (e) => addToPhysmap(e.ctx('vm2'), { domid: 1, space: 'gmfn', idx: 0x10, gpfn: 0x9000 }))],
    both: on({}, (e) => addToPhysmap(e.ctx('vm2'), { domid: 0, space: 'gmfn', idx: 0x10, gpfn: 0x9000 })),
  },
  {
    name: 'XENMEM_add_to_physmap: EPERM (xsm_add_to_physmap) before the space’s own checks (EINVAL unbacked idx)',
    first: ['EPERM', on({}, (e) => addToPhysmap(e.ctx('vm2'), { domid: 1, space: 'gmfn', idx: 0x10, gpfn: 0x9000 }))],
    second: ['EINVAL', on({}, (e) => gmfn(e, UNBACKED, 0x9000))],
    both: on({}, (e) => addToPhysmap(e.ctx('vm2'), { domid: 1, space: 'gmfn', idx: UNBACKED, gpfn: 0x9000 })),
  },
  {
    name: 'xenmem_add_to_physmap_one (gmfn): ENOMEM (shared source, get_gfn_unshare) before EPERM (destination is direct MMIO)',
    first: ['ENOMEM', on({}, (e) => gmfn(vm2Special(e), 0x21, 0x8000))],
    second: ['EPERM', on({}, (e) => gmfn(vm2Special(e), 0x10, 0x9000))],
    both: on({}, (e) => gmfn(vm2Special(e), 0x21, 0x9000)),
  },
  {
    name: 'xenmem_add_to_physmap_one (gmfn): EINVAL (source not the domain’s RAM) before EPERM (destination is direct MMIO)',
    first: ['EINVAL', on({}, (e) => gmfn(vm2Special(e), UNBACKED, 0x8000))],
    second: ['EPERM', on({}, (e) => gmfn(vm2Special(e), 0x10, 0x9000))],
    both: on({}, (e) => gmfn(vm2Special(e), UNBACKED, 0x9000)),
  },
  {
    name: 'xenmem_add_to_physmap_one (gmfn): EACCES (source not ram_rw / logdirty) before EPERM (destination is direct MMIO)',
    first: ['EACCES', on({}, (e) => gmfn(vm2Special(e), 0x20, 0x8000))],
    second: ['EPERM', on({}, (e) => gmfn(vm2Special(e), 0x10, 0x9000))],
    both: on({}, (e) => gmfn(vm2Special(e), 0x20, 0x9000)),
  },
  {
    name: 'p2m_add_foreign: EACCES (xatp_permission_check: PV target) before EPERM (foreign domain = caller)',
    first: ['EACCES', on(WITH_DM, (e) => foreign(e, 'dom0', 0, 1, 0x100))],
    second: ['EPERM', on(WITH_DM, (e) => foreign(e, 'dm1', undefined, 5, 0x100))],
    both: on(WITH_DM, (e) => foreign(e, 'dom0', 0, 0, 0x100)),
  },
  {
    name: 'p2m_add_foreign: ESRCH (rcu_lock_remote_domain_by_id: unknown) before EINVAL (foreign page not RAM)',
    first: ['ESRCH', on(WITH_DM, (e) => foreign(e, 'dm1', undefined, 77, 0x100))],
    second: ['EINVAL', on(WITH_DM, (e) => foreign(e, 'dm1', undefined, 1, UNBACKED))],
    both: on(WITH_DM, (e) => foreign(e, 'dm1', undefined, 77, UNBACKED)),
  },
  {
    name: 'p2m_add_foreign: EPERM (rcu_lock_remote_domain_by_id: the caller itself) before EINVAL (foreign page not RAM)',
    first: ['EPERM', on(WITH_DM, (e) => foreign(e, 'dm1', undefined, 5, 0x10))],
    second: ['EINVAL', on(WITH_DM, (e) => foreign(e, 'dm1', undefined, 1, UNBACKED))],
    both: on(WITH_DM, (e) => foreign(e, 'dm1', undefined, 5, UNBACKED)),
  },
  {
    name: 'p2m_add_foreign: EPERM (xsm_map_gmfn_foreign: dm1 is not vm2’s device model) before EINVAL (foreign page not RAM)',
    first: ['EPERM', on(WITH_DM, (e) => foreign(e, 'dm1', undefined, 2, 0x10))],
    second: ['EINVAL', on(WITH_DM, (e) => foreign(e, 'dm1', undefined, 1, UNBACKED))],
    both: on(WITH_DM, (e) => foreign(e, 'dm1', undefined, 2, UNBACKED)),
  },
  {
    name: 'XENMEM_remove_from_physmap: EACCES (PV target) before EPERM (xsm_remove_from_physmap)',
    first: ['EACCES', on({}, (e) => removeFromPhysmap(e.ctx(), { domid: 0, gpfn: 0x10 }))],
    second: ['EPERM', on({}, (e) => removeFromPhysmap(e.ctx('vm2'), { domid: 1, gpfn: 0x10 }))],
    both: on({}, (e) => removeFromPhysmap(e.ctx('vm2'), { domid: 0, gpfn: 0x10 })),
  },
  {
    name: 'XENMEM_remove_from_physmap: EPERM (xsm_remove_from_physmap) before ENOENT (no page at gpfn)',
    first: ['EPERM', on({}, (e) => removeFromPhysmap(e.ctx('vm2'), { domid: 1, gpfn: 0x10 }))],
    second: ['ENOENT', on({}, (e) => removeFromPhysmap(e.ctx('vm2'), { gpfn: UNBACKED }))],
    both: on({}, (e) => removeFromPhysmap(e.ctx('vm2'), { domid: 1, gpfn: UNBACKED })),
  },
  {
    name: 'get_mfn_from_pfn (memory.translate): EPERM (not the hardware domain) before ESRCH (unknown domain)',
    first: ['EPERM', on({}, (e) => translate(e.ctx('vm1'), { domid: 2, gfns: gf(0x10) }))],
    second: ['ESRCH', on({}, (e) => translate(e.ctx(), { domid: 77, gfns: gf(0x10) }))],
    both: on({}, (e) => translate(e.ctx('vm1'), { domid: 77, gfns: gf(0x10) })),
  },
  {
    name: 'get_mfn_from_pfn (memory.translate): ESRCH (unknown domain) before E2BIG (more than 2048 gfns)',
    first: ['ESRCH', on({}, (e) => translate(e.ctx(), { domid: 77, gfns: gf(0x10) }))],
    second: ['E2BIG', on({}, (e) => translate(e.ctx(), { domid: 1, gfns: frameList([{ start: 0, end: 2048 }]) }))],
    both: on({}, (e) => translate(e.ctx(), { domid: 77, gfns: frameList([{ start: 0, end: 2048 }]) })),
  },
  {
    name: 'get_mfn_from_pfn (memory.translate): E2BIG (more than 2048 gfns) before EINVAL (an unbacked gfn)',
    first: ['E2BIG', on({}, (e) => translate(e.ctx(), { domid: 1, gfns: frameList([{ start: 0, end: 2048 }]) }))],
    second: ['EINVAL', on({}, (e) => translate(e.ctx(), { domid: 1, gfns: gf(UNBACKED) }))],
    both: on({}, (e) => translate(e.ctx(), { domid: 1, gfns: frameList([{ start: 0, end: 2047 }, UNBACKED]) })),
  },
]);

// ---------------------------------------------------------------------------------------------
// Grants (xen-model.md §5.2, grant_table.c `map_grant_ref`).

const gmap = (e: Env, caller: string, a: { granter: number; gfn: number; flags: number; host_gfn?: number }) => grantMap(e.ctx(caller), a).errno;

table('grant.map (map_grant_ref)', [
  {
    name: 'map_grant_ref: GNTST_bad_gntref (neither device_map nor host_map) before GNTST_bad_domain (unknown granter)',
    first: ['GNTST_bad_gntref', on({}, (e) => gmap(e, 'vm2', { granter: 1, gfn: 0x100, flags: RO }))],
    second: ['GNTST_bad_domain', on({}, (e) => gmap(e, 'vm2', { granter: 77, gfn: 0x100, flags: HOST, host_gfn: 0x9000 }))],
    both: on({}, (e) => gmap(e, 'vm2', { granter: 77, gfn: 0x100, flags: RO })),
  },
  {
    name: 'map_grant_ref: GNTST_general_error ("No device mapping in HVM domain") before GNTST_bad_domain',
    first: ['GNTST_general_error', on({}, (e) => gmap(e, 'vm2', { granter: 1, gfn: 0x100, flags: DEV | HOST, host_gfn: 0x9000 }))],
    second: ['GNTST_bad_domain', on({}, (e) => gmap(e, 'vm2', { granter: 77, gfn: 0x100, flags: HOST, host_gfn: 0x9000 }))],
    both: on({}, (e) => gmap(e, 'vm2', { granter: 77, gfn: 0x100, flags: DEV | HOST, host_gfn: 0x9000 })),
  },
  {
    name: 'map_grant_ref: GNTST_bad_domain (rcu_lock_domain_by_id) before GNTST_bad_page (the granted frame)',
    first: ['GNTST_bad_domain', on({}, (e) => gmap(e, 'dom0', { granter: 77, gfn: 0x100, flags: DEV | HOST }))],
    second: ['GNTST_bad_page', on({}, (e) => gmap(e, 'dom0', { granter: 1, gfn: UNBACKED, flags: DEV | HOST }))],
    both: on({}, (e) => gmap(e, 'dom0', { granter: 77, gfn: UNBACKED, flags: DEV | HOST })),
  },
  {
    name: 'map_grant_ref: GNTST_bad_page (the granted frame) before create_grant_host_mapping (no host address)',
    first: ['GNTST_bad_page', on({}, (e) => gmap(e, 'vm2', { granter: 1, gfn: UNBACKED, flags: HOST, host_gfn: 0x9000 }))],
    second: ['GNTST_bad_virt_addr', on({}, (e) => gmap(e, 'vm2', { granter: 1, gfn: 0x100, flags: HOST }))],
    both: on({}, (e) => gmap(e, 'vm2', { granter: 1, gfn: UNBACKED, flags: HOST })),
  },
]);

// ---------------------------------------------------------------------------------------------
// device.dma (SPEC §4.4): the device's own width is checked before the IOMMU walk.

const dma = (e: Env, device: string, bfn: number, access: 'read' | 'write') => deviceDma(e.ctx(), { device, bfn, access }).errno;

table('device.dma', [
  {
    name: 'device.dma: EFAULT (BFN beyond the device’s dma_bits) before the IOMMU’s EACCES (read-only mapping)',
    first: ['EFAULT', on({}, (e) => dma(e, GPU, 0x3f01200, 'read'))],
    second: [
      'EACCES',
      on({}, (e) => {
        expect(xs(e, { subop: S.map_page!, bfn: FREE_BFN, gfn: 0x200, flags: R })).toBe('OK');
        return dma(e, GPU, FREE_BFN, 'write');
      }),
    ],
    both: on({}, (e) => {
      // a read-only mapping at a BFN the 39-bit GPU cannot emit
      expect(xs(e, { subop: S.map_page!, bfn: 0x8000000, gfn: 0x200, flags: R })).toBe('OK');
      const r = deviceDma(e.ctx(), { device: GPU, bfn: 0x8000000, access: 'write' });
      expect(r.out).toEqual({ fault: 'dma_bits' });
      return r.errno;
    }),
  },
  {
    name: 'device.dma: ENODEV (no such device) before EFAULT (unmapped BFN)',
    first: ['ENODEV', on({}, (e) => deviceDma(e.ctx(), { device: '0000:09:00.0', bfn: 0x10, access: 'write' }))],
    second: ['EFAULT', on({}, (e) => dma(e, GPU, FREE_BFN, 'write'))],
    both: on({}, (e) => deviceDma(e.ctx(), { device: '0000:09:00.0', bfn: FREE_BFN, access: 'write' })),
  },
]);

// ---------------------------------------------------------------------------------------------
// Regressions of the report fixes made with these tests (not evaluation order, but found while
// writing the rule fixtures next to them).

describe('report regressions', () => {
  const at = (text: string, f: { line: number; column: number }) => text.split('\n')[f.line - 1]!.slice(f.column - 1);

  it('device.dma findings about the address point at `bfn_of` / `mfn_of` when the BFN came from an earlier call', () => {
    const text = labScenario(`  - op: memory.translate
    domid: vm1
    gfns: [0x100]
  - op: iommu.lookup_foreign_page
    domid: vm1
    gfn: 0x101
  - op: device.dma
    device: nic32
    mfn_of: 0
  - op: device.dma
    device: nic32
    bfn_of: 1
  - op: device.dma
    device: nic32
    bfn: 0x3e01201
`, { dom0: 'strict', extra: [device('nic32', '07:00.0', 'dma_bits: 32')] }); // the window is beyond a 32-bit device
    const rep = scenario(text);
    const faults = rep.findings.filter((f) => f.rule === 'dma/fault');
    expect(faults.map((f) => at(text, f))).toEqual(['0', '1', '0x3e01201']);
    expect(faults.map((f) => text.split('\n')[f.line - 1]!.trim())).toEqual(['mfn_of: 0', 'bfn_of: 1', 'bfn: 0x3e01201']);
  });

  it('an expected frame written as a YAML number is shown in hex, like the output it is compared with', () => {
    const rep = scenario(labScenario(`  - op: iommu.lookup_foreign_page
    domid: vm1
    gfn: 0x100
    expect: { bfn: 0x100 }
  - op: memory.translate
    domid: vm1
    gfns: [0x100]
    expect: { mfns: [0x1300] }
`));
    expect(rep.findings.filter((f) => f.rule === 'scenario/expectation-failed').map((f) => f.message)).toEqual([
      'call #0 (iommu.lookup_foreign_page): expected bfn 0x100, got 0x3e01200',
      'call #1 (memory.translate): expected mfns ["0x1300"], got ["0x1200"]',
    ]);
  });

  it('mapping/leaked-pin: "1 of its pages is", and a grant mapping named once', () => {
    const rep = scenario(labScenario(`  - op: grant.map
    granter: vm1
    gfn: 0x100
    flags: [device_map, host_map]
  - op: domain.destroy
    domid: vm1
`, { dom0: 'strict' }));
    const f = rep.findings.find((x) => x.rule === 'mapping/leaked-pin')!;
    expect(f.message).toContain('vm1 was destroyed, but 1 of its pages is still referenced (e.g. MFN 0x1200) by a grant mapping of dom0 (handle 0):');
    expect(f.message).not.toContain("dom0's grant mapping");
  });
});
