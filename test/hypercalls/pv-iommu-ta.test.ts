/** ta PV-IOMMU ABI (reference/pv-iommu.md §5.2): contexts, map/unmap, remote_cmd, in Xen's order. */
import { describe, expect, it } from 'vitest';
import { env, lab, labScenario, scenario, rules, type LabOptions } from './helpers.js';
import {
  taAllocContext,
  taFreeContext,
  taInit,
  taMapPages,
  taQueryCapabilities,
  taReattachDevice,
  taRemoteCmd,
  taUnmapPages,
  IOMMU_MAP_readable as R,
  IOMMU_MAP_writeable as W,
} from '../../src/hypercalls/pv-iommu-ta.js';
import { freeFrameCount, pageAt } from '../../src/model/pages.js';
import { DOMID_XEN } from '../../src/model/types.js';
import { assignDevice, deassignDevice, destroyDomain, testAssignDevice } from '../../src/hypercalls/domctl.js';
import { contextOfDevice } from '../../src/model/iommu.js';

const TA = { abi: 'ta' as const, vm2: 'pv_iommu: true', nic: 'rmrr: ["0x3f00-0x3f0f"]' };
const NIC = '0000:03:00.0';
/** vm2's gfn g is mfn 0x1900 + g. */
const VM2 = 0x1900;

function ready(o: LabOptions = TA) {
  const e = env(lab(o));
  const c = e.ctx('vm2');
  expect(taInit(c, { max_ctx_no: 4 }).errno).toBe('OK');
  expect(taAllocContext(c, {}).out).toEqual({ ctx_no: 1 });
  return { e, c };
}

describe('who may call (can_use_iommu_check)', () => {
  it('ENODEV for a domain without pv_iommu, or without an IOMMU context; the hardware domain always may', () => {
    const e = env(lab({ abi: 'ta', vm1: 'pv_iommu: true' }));
    expect(taQueryCapabilities(e.ctx('vm2'), {}).errno).toBe('ENODEV'); // IOMMU but no pv_iommu
    expect(taQueryCapabilities(e.ctx('vm1'), {}).errno).toBe('ENODEV'); // pv_iommu but no IOMMU (no devices)
    expect(taQueryCapabilities(e.ctx('dom0'), {}).errno).toBe('OK');
    expect(taQueryCapabilities(env(lab(TA)).ctx('vm2'), {}).errno).toBe('OK');
  });
  it('ENODEV comes before any argument check; ENOSYS when the host runs another ABI', () => {
    const e = env(lab({ abi: 'ta' }));
    expect(taFreeContext(e.ctx('vm2'), { ctx_no: 0 }).errno).toBe('ENODEV');
    const xs = env(lab({ abi: 'xs' }));
    expect(taQueryCapabilities(xs.ctx(), {}).errno).toBe('ENOSYS');
  });
});

describe('query_capabilities / init / alloc_context', () => {
  it('capabilities: max_ctx_no (0 before init), the IOVA width, 4K pages', () => {
    const e = env(lab(TA));
    expect(taQueryCapabilities(e.ctx(), {}).out).toEqual({ max_ctx_no: 0, max_iova_addr: '0xffffffffffff', cap_flags: ['default_identity'], pgsize_mask: '0x1000', max_pasid: 0 });
    taInit(e.ctx(), { max_ctx_no: 128, arena_order: 12 });
    expect(taQueryCapabilities(e.ctx(), {}).out.max_ctx_no).toBe(128);
  });
  it('init: E2BIG for UINT32_MAX (and counts beyond 16-bit context numbers), EACCES the second time, no fall-through into alloc (Q5)', () => {
    const e = env(lab(TA));
    const c = e.ctx('vm2');
    expect(taInit(c, { max_ctx_no: 0xffffffff }).errno).toBe('E2BIG');
    expect(taInit(c, { max_ctx_no: 0x10000 }).errno).toBe('E2BIG');
    expect(taInit(c, { max_ctx_no: 2 })).toMatchObject({ rc: 0, out: {} });
    expect(e.dom('vm2').ta.contexts.size).toBe(0);
    expect(taInit(c, { max_ctx_no: 2 }).errno).toBe('EACCES');
  });
  it('alloc: ENOSPC before init and when full; lowest free number; a freed number is reused', () => {
    const e = env(lab(TA));
    const c = e.ctx('vm2');
    expect(taAllocContext(c, {}).errno).toBe('ENOSPC');
    taInit(c, { max_ctx_no: 3 });
    expect([1, 2, 3].map(() => taAllocContext(c, {}).out.ctx_no)).toEqual([1, 2, 3]);
    expect(taAllocContext(c, {}).errno).toBe('ENOSPC');
    expect(taFreeContext(c, { ctx_no: 2 }).errno).toBe('OK');
    expect(taAllocContext(c, {}).out).toEqual({ ctx_no: 2 });
  });
});

describe('free_context / reattach_device', () => {
  it('free: EINVAL for context 0, ENOENT unallocated or out of range', () => {
    const { c } = ready();
    expect(taFreeContext(c, { ctx_no: 0 }).errno).toBe('EINVAL');
    expect(taFreeContext(c, { ctx_no: 2 }).errno).toBe('ENOENT');
    expect(taFreeContext(c, { ctx_no: 99 }).errno).toBe('ENOENT');
  });
  it('free with devices: EBUSY without reattach_default — and the context stays usable (no Q10)', () => {
    const { e, c } = ready();
    expect(taReattachDevice(c, { ctx_no: 1, device: NIC }).errno).toBe('OK');
    expect(contextOfDevice(e.m, NIC)?.id).toBe('vm2#ctx1');
    expect(taFreeContext(c, { ctx_no: 1 }).errno).toBe('EBUSY');
    expect(e.dom('vm2').ta.contexts.get(1)?.dying).toBeFalsy();
    expect(taReattachDevice(c, { ctx_no: 0, device: NIC }).errno).toBe('OK');
    expect(taReattachDevice(c, { ctx_no: 1, device: NIC }).errno).toBe('OK');
    expect(taFreeContext(c, { ctx_no: 1, reattach_default: true }).errno).toBe('OK');
    expect(contextOfDevice(e.m, NIC)?.id).toBe('vm2');
  });
  it('free drops the references of the mappings still in the context', () => {
    const { e } = ready();
    const d0 = e.ctx();
    taInit(d0, { max_ctx_no: 1 });
    taAllocContext(d0, {});
    expect(taMapPages(d0, { ctx_no: 1, gfn: 0x1200, dfn: 0x10, nr_pages: 2, flags: R | W })).toMatchObject({ rc: 0, out: { mapped: 2 } });
    expect(pageAt(e.m, 0x1201)!.refs).toBe(1);
    taFreeContext(d0, { ctx_no: 1 });
    expect(pageAt(e.m, 0x1201)!.refs).toBe(0);
  });
  it('reattach: ENODEV for a device the caller does not own (or unknown), 0 when already there, ENOENT bad target', () => {
    const { c } = ready();
    expect(taReattachDevice(c, { ctx_no: 1, device: '0000:00:02.0' }).errno).toBe('ENODEV'); // dom0's gpu
    expect(taReattachDevice(c, { ctx_no: 1, device: undefined }).errno).toBe('ENODEV');
    expect(taReattachDevice(c, { ctx_no: 1, device: '0000:09:00.0' }).errno).toBe('ENODEV');
    expect(taReattachDevice(c, { ctx_no: 0, device: NIC }).errno).toBe('OK');
    expect(taReattachDevice(c, { ctx_no: 3, device: NIC }).errno).toBe('ENOENT');
  });
});

describe('map_pages / unmap_pages', () => {
  it('maps RAM of the caller with a reference each, R/W from the flags; unmap drops them', () => {
    const { e, c } = ready();
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x10, dfn: 0x80000, nr_pages: 3, flags: R })).toMatchObject({ rc: 0, errno: 'OK', out: { mapped: 3 } });
    const t = e.dom('vm2').ta.contexts.get(1)!.table;
    expect(t.lookup(0x80002)).toMatchObject({ base: VM2 + 0x12, r: true, w: false, origin: 'map_pages', ref: true });
    expect(pageAt(e.m, VM2 + 0x11)!.refs).toBe(1);
    expect(taUnmapPages(c, { ctx_no: 1, dfn: 0x80000, nr_pages: 3 })).toMatchObject({ rc: 0, out: { unmapped: 3 } });
    expect(pageAt(e.m, VM2 + 0x11)!.refs).toBe(0);
  });
  it('EINVAL for context 0 or a context that does not exist (before any page)', () => {
    const { c } = ready();
    expect(taMapPages(c, { ctx_no: 0, gfn: 0x10, dfn: 0x10, nr_pages: 1 }).errno).toBe('EINVAL');
    expect(taMapPages(c, { ctx_no: 2, gfn: 0x7fffff, dfn: 0x10, nr_pages: 1 }).errno).toBe('EINVAL');
    expect(taUnmapPages(c, { ctx_no: 0, dfn: 0x10, nr_pages: 1 }).errno).toBe('EINVAL');
  });
  it('partial progress: mapped counts from 0, stops at the first error, nothing is rolled back', () => {
    const { e, c } = ready();
    taMapPages(c, { ctx_no: 1, gfn: 0x10, dfn: 0x80002, nr_pages: 1, flags: R | W });
    const r = taMapPages(c, { ctx_no: 1, gfn: 0x20, dfn: 0x80000, nr_pages: 4, flags: R | W });
    expect(r).toMatchObject({ rc: -98, errno: 'EADDRINUSE', status: -98, out: { mapped: 2 } });
    expect(e.dom('vm2').ta.contexts.get(1)!.table.lookup(0x80001)?.base).toBe(VM2 + 0x21);
    expect(pageAt(e.m, VM2 + 0x22)!.refs).toBe(0); // the refused page keeps no reference
  });
  it('EADDRNOTAVAIL inside a reserved (RMRR) region of the context, checked at dfn+i (not Q7)', () => {
    const { e, c } = ready();
    taReattachDevice(c, { ctx_no: 1, device: NIC }); // the nic's RMRR 0x3f00-0x3f0f becomes reserved in ctx 1
    const r = taMapPages(c, { ctx_no: 1, gfn: 0x30, dfn: 0x3efe, nr_pages: 4, flags: R | W });
    expect(r).toMatchObject({ errno: 'EADDRNOTAVAIL', out: { mapped: 2 } });
    expect(taUnmapPages(c, { ctx_no: 1, dfn: 0x3f00, nr_pages: 1 }).errno).toBe('EADDRNOTAVAIL');
    expect(e.dom('vm2').ta.contexts.get(1)!.table.lookup(0x3f05)).toMatchObject({ base: 0x3f05, origin: 'config' }); // the RMRR stays 1:1
  });
  it('per page, in order: reserved > unbacked gfn (ENOENT) > another domain’s page (EPERM) > dfn in use', () => {
    const { e, c } = ready();
    taReattachDevice(c, { ctx_no: 1, device: NIC });
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x7ffff, dfn: 0x3f00, nr_pages: 1 }).errno).toBe('EADDRNOTAVAIL');
    taMapPages(c, { ctx_no: 1, gfn: 0x10, dfn: 0x80000, nr_pages: 1 });
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x7ffff, dfn: 0x80000, nr_pages: 1 }).errno).toBe('ENOENT');
    // vm2 maps a grant of vm1's page into its p2m, then tries to put it in its context: not its page
    const g = env(lab(TA));
    const gc = g.ctx('vm2');
    taInit(gc, { max_ctx_no: 1 });
    taAllocContext(gc, {});
    g.dom('vm2').p2m.set(0x9000, 0x9000, { base: 0x1200, type: 'grant_map_rw' });
    expect(taMapPages(gc, { ctx_no: 1, gfn: 0x9000, dfn: 0x80000, nr_pages: 1 }).errno).toBe('EPERM');
    taMapPages(gc, { ctx_no: 1, gfn: 0x10, dfn: 0x80001, nr_pages: 1 });
    expect(taMapPages(gc, { ctx_no: 1, gfn: 0x9000, dfn: 0x80001, nr_pages: 1 }).errno).toBe('EPERM');
    expect(e).toBeDefined();
  });
  it('mmio_direct / iomem frames map without a reference; the hardware domain may map any owner’s page', () => {
    const { e } = ready();
    const d0 = e.ctx();
    taInit(d0, { max_ctx_no: 1 });
    taAllocContext(d0, {});
    expect(taMapPages(d0, { ctx_no: 1, gfn: 0x1200, dfn: 0x100, nr_pages: 1, flags: R | W }).errno).toBe('OK'); // vm1's page
    expect(pageAt(e.m, 0x1200)!.refs).toBe(1);
    expect(taMapPages(d0, { ctx_no: 1, gfn: 0xfee00, dfn: 0x101, nr_pages: 1, flags: R | W }).errno).toBe('OK'); // MMIO
    expect(e.dom('dom0').ta.contexts.get(1)!.table.lookup(0x101)).toMatchObject({ ref: false });
    expect(taMapPages(d0, { ctx_no: 1, gfn: 0x3000, dfn: 0x102, nr_pages: 1 }).errno).toBe('EPERM'); // a free frame
    const v = e.ctx('vm2');
    expect(taMapPages(v, { ctx_no: 1, gfn: 0x3f00, dfn: 0x500, nr_pages: 1, flags: R }).errno).toBe('OK'); // its RMRR mmio_direct entry
  });
  it('many pages at once are mapped and unmapped by extents, not page by page: guest RAM, RMRR MMIO, the hardware domain’s MMIO', () => {
    const { e, c } = ready();
    taReattachDevice(c, { ctx_no: 1, device: NIC });
    const d0 = e.ctx();
    taInit(d0, { max_ctx_no: 1 });
    taAllocContext(d0, {});
    const t2 = e.dom('vm2').ta.contexts.get(1)!.table;
    const t0 = e.dom('dom0').ta.contexts.get(1)!.table;
    let writes = 0;
    for (const t of [t0, t2]) {
      const set = t.set.bind(t);
      const del = t.delete.bind(t);
      t.set = (a: number, b: number, v) => (writes++, set(a, b, v));
      t.delete = (a: number, b: number) => (writes++, del(a, b));
    }
    // vm2: its 0x800 pages of RAM, then gfns 0x3f00-0x3f0f (its nic's RMRR, mmio_direct 1:1).
    expect(taMapPages(c, { ctx_no: 1, gfn: 0, dfn: 0x80000, nr_pages: 0x800, flags: R | W }).out).toEqual({ mapped: 0x800 });
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x3f00, dfn: 0x90000, nr_pages: 0x10, flags: R }).out).toEqual({ mapped: 0x10 });
    // dom0: 2^20 frames of MMIO above host RAM (from 0x4000).
    expect(taMapPages(d0, { ctx_no: 1, gfn: 0x4000, dfn: 0x100000, nr_pages: 0x100000, flags: R | W }).out).toEqual({ mapped: 0x100000 });
    expect(writes).toBeLessThan(8);
    expect(pageAt(e.m, VM2 + 0x7ff)!.refs).toBe(1);
    expect(t0.lookup(0x1fffff)).toMatchObject({ base: 0x103fff, ref: false });
    writes = 0;
    expect(taUnmapPages(c, { ctx_no: 1, dfn: 0x80000, nr_pages: 0x800 }).out).toEqual({ unmapped: 0x800 });
    expect(taUnmapPages(d0, { ctx_no: 1, dfn: 0x100000, nr_pages: 0x100000 }).out).toEqual({ unmapped: 0x100000 });
    expect(writes).toBeLessThan(8);
    expect(pageAt(e.m, VM2 + 0x7ff)!.refs).toBe(0);
  });
  it('DFNs past the last frame the model holds (2^52 − 1) are no region of the context: an Intel DFN wraps at the IOMMU’s width', () => {
    const { e, c } = ready();
    const t = e.dom('vm2').ta.contexts.get(1)!.table;
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x10, dfn: 2 ** 52 - 2, nr_pages: 4, flags: R | W }).out).toEqual({ mapped: 4 });
    expect(t.lookup(2 ** 36 - 2)?.base).toBe(VM2 + 0x10); // 48-bit: 2^36 frames
    expect(t.lookup(1)?.base).toBe(VM2 + 0x13);
    expect(taUnmapPages(c, { ctx_no: 1, dfn: 2 ** 52 - 1, nr_pages: 3 }).out).toEqual({ unmapped: 3 });
    expect(t.lookup(2 ** 36 - 2)?.base).toBe(VM2 + 0x10);
    expect(t.lookup(0)).toBeUndefined();
  });
  it('on AMD a DFN past the IOMMU’s width is no DFN: map_pages EFAULT, unmap_pages ENOENT, with progress', () => {
    const { e, c } = ready({ ...TA, vendor: 'amd' });
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x10, dfn: 2 ** 36 - 2, nr_pages: 4, flags: R | W })).toMatchObject({ errno: 'EFAULT', out: { mapped: 2 } });
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x10, dfn: 2 ** 52 - 1, nr_pages: 2, flags: R | W })).toMatchObject({ errno: 'EFAULT', out: { mapped: 0 } });
    expect(taUnmapPages(c, { ctx_no: 1, dfn: 2 ** 36 - 2, nr_pages: 4 })).toMatchObject({ errno: 'ENOENT', out: { unmapped: 2 } });
    expect(e.dom('vm2').ta.contexts.get(1)!.table.size).toBe(0);
  });
  it('unmap: ENOENT at the first unmapped dfn, with progress', () => {
    const { c } = ready();
    taMapPages(c, { ctx_no: 1, gfn: 0x10, dfn: 0x80000, nr_pages: 2, flags: R });
    expect(taUnmapPages(c, { ctx_no: 1, dfn: 0x80000, nr_pages: 3 })).toMatchObject({ errno: 'ENOENT', out: { unmapped: 2 } });
  });
});

describe('remote_cmd', () => {
  it('the hardware domain runs a subop as the target (the target’s can_use is not checked)', () => {
    const e = env(lab({ abi: 'ta' })); // vm2 has no pv_iommu
    const d0 = e.ctx();
    expect(taRemoteCmd(d0, { domid: 2, subop: 2, args: { max_ctx_no: 2 } }).errno).toBe('OK');
    expect(taRemoteCmd(d0, { domid: 2, subop: 3, args: {} }).out).toEqual({ ctx_no: 1 });
    expect(taRemoteCmd(d0, { domid: 2, subop: 6, args: { ctx_no: 1, gfn: 0x10, dfn: 0x10, nr_pages: 1, flags: 3 } }).out).toEqual({ mapped: 1 });
    expect(e.dom('vm2').ta.contexts.get(1)!.table.lookup(0x10)?.base).toBe(VM2 + 0x10);
  });
  it('errors: EPERM for a non-hardware caller, ENOENT unknown domid, EINVAL when nested, EOPNOTSUPP unsupported subop', () => {
    const e = env(lab(TA));
    expect(taRemoteCmd(e.ctx('vm2'), { domid: 0, subop: 1 }).errno).toBe('EPERM');
    expect(taRemoteCmd(e.ctx(), { domid: 55, subop: 1 }).errno).toBe('ENOENT');
    expect(taRemoteCmd(e.ctx(), { domid: 2, subop: 8, args: { domid: 2, subop: 1 } }).errno).toBe('EINVAL');
    expect(taRemoteCmd(e.ctx(), { domid: 2, subop: 11 }).errno).toBe('EOPNOTSUPP');
  });
  it('a target without an IOMMU (no passthrough) is ENODEV: no context is made there, no reference taken', () => {
    const e = env(lab(TA));
    // vm1 has no devices, hence no IOMMU context; vm2 has one
    expect(taRemoteCmd(e.ctx(), { domid: 1, subop: 2, args: { max_ctx_no: 2 } }).errno).toBe('ENODEV');
    expect(taRemoteCmd(e.ctx(), { domid: 1, subop: 3, args: {} }).errno).toBe('ENODEV');
    expect([e.dom('vm1').ta.initialized, e.dom('vm1').ta.contexts.size]).toEqual([false, 0]);
    expect(taRemoteCmd(e.ctx(), { domid: 2, subop: 2, args: { max_ctx_no: 2 } }).errno).toBe('OK');
  });
});

describe('scenarios (ta)', () => {
  it('a full context workflow with expectations, and the DMA through the new context', () => {
    const rep = scenario(
      labScenario(
        `  - op: iommu.init
    caller: vm2
    max_ctx_no: 4
  - op: iommu.alloc_context
    caller: vm2
    expect: { ctx_no: 1 }
  - op: iommu.map_pages
    caller: vm2
    ctx_no: 1
    gfn: 0x10
    dfn: 0x80000
    nr_pages: 2
    flags: [read, write]
    expect: { rc: 0, mapped: 2 }
  - op: iommu.reattach_device
    caller: vm2
    ctx_no: 1
    device: nic
  - op: device.dma
    device: nic
    bfn: 0x80001
    access: write
    target: { domain: vm2, gfn: 0x11 }
    expect: { mfn: 0x1911, owner: vm2 }
  - op: device.dma
    device: nic
    bfn: 0x10
    expect: { status: EFAULT }
  - op: iommu.free_context
    caller: vm2
    ctx_no: 1
    expect: { status: EBUSY }
  - op: iommu.free_context
    caller: vm2
    ctx_no: 1
    reattach_default: true
  - op: iommu.remote_cmd
    domid: vm2
    subop: map_pages
    args: { ctx_no: 1, gfn: 0x10, dfn: 0x10, nr_pages: 1 }
    expect: { status: EINVAL }
  - op: iommu.attach_pasid
    caller: vm2
    expect: { status: EOPNOTSUPP }
`,
        TA,
      ),
    );
    expect(rep.summary.failed_expectations).toBe(0);
    expect(rules(rep)).toEqual(['dma/fault']);
  });
});

describe('ta argument reading', () => {
  it('remote_cmd reads the inner subop’s arguments under `args` (unknown keys reported there)', () => {
    const rep = scenario(
      labScenario(
        `  - op: iommu.remote_cmd
    domid: vm2
    subop: init
    args: { max_ctx_no: 2, max_ctx: 3 }
  - op: iommu.remote_cmd
    domid: vm2
    subop: frobnicate
  - op: iommu.remote_cmd
    domid: vm2
    subop: init
    args: { max_ctx_no: 2 }
    expect: { status: OK }
  - op: iommu.noop
    expect: { rc: 0 }
  - op: iommu.query_capabilities
    expect: { max_ctx_no: 0, pgsize_mask: 4096 }
`,
        TA,
      ),
    );
    expect(rep.calls[0]!.findings.map((f) => f.message)).toEqual([expect.stringContaining('unknown argument `max_ctx` for iommu.remote_cmd init')]);
    expect(rep.calls[1]!.findings.map((f) => f.message)).toEqual([expect.stringContaining('needs `subop`')]);
    expect(rep.summary.failed_expectations).toBe(0);
  });
});

describe('RMRRs follow a device between contexts (intel_iommu_map_identity / intel_iommu_unmap_dev_rmrr)', () => {
  // dom0 (the hardware domain: it may use the ta ABI) owns the gpu and a usb controller whose RMRRs overlap.
  const USB = `apiVersion: pviommu/v1
kind: Device
name: usb
bdf: "00:14.0"
rmrr: ["0x3f08-0x3f1f"]`;
  const SHARED = { abi: 'ta' as const, gpu: 'rmrr: ["0x3f00-0x3f0f"]', extra: [USB] };
  const GPU = '0000:00:02.0';
  const USB_BDF = '0000:00:14.0';
  function dom0Ready(o: LabOptions = SHARED) {
    const e = env(lab(o));
    const c = e.ctx();
    expect(taInit(c, { max_ctx_no: 4 }).errno).toBe('OK');
    expect(taAllocContext(c, {}).out).toEqual({ ctx_no: 1 });
    return { e, c, ctx1: () => e.dom('dom0').ta.contexts.get(1)! };
  }
  /** ctx1's entries over [lo, hi] as "start-end→base" (identity: base = start). */
  const entries = (t: { overlapping(a: number, b: number): Iterable<{ start: number; end: number; value: { base: number } }> }, lo = 0x3f00, hi = 0x3f1f) =>
    [...t.overlapping(lo, hi)].map((x) => `${x.start.toString(16)}-${x.end.toString(16)}→${x.value.base.toString(16)}`);

  it('a device entering a ta context gets its RMRR identity-mapped; a frame already mapped 1:1 (a shared RMRR) is accepted', () => {
    const { c, ctx1 } = dom0Ready();
    expect(taReattachDevice(c, { ctx_no: 1, device: GPU }).errno).toBe('OK');
    expect(taReattachDevice(c, { ctx_no: 1, device: USB_BDF }).errno).toBe('OK');
    expect(entries(ctx1().table)).toEqual(['3f00-3f1f→3f00']);
    expect(ctx1().reserved.covered(0x3f00, 0x3f1f)).toBe(true);
  });

  it('a frame of its RMRR mapped to anything else refuses the attach (EINVAL): the device stays, the mapping too', () => {
    const { e, c, ctx1 } = dom0Ready();
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x2000, dfn: 0x3f04, nr_pages: 1, flags: R | W })).toMatchObject({ errno: 'OK', out: { mapped: 1 } });
    expect(taReattachDevice(c, { ctx_no: 1, device: GPU }).errno).toBe('EINVAL');
    expect(e.m.devices.get(GPU)!.ctxNo).toBe(0);
    expect(entries(ctx1().table)).toEqual(['3f04-3f04→2000']);
    expect(ctx1().reserved.anyIn(0x3f00, 0x3f0f)).toBe(false);
    // the same frame mapped 1:1 (dom0 is PV: its gfn is the MFN, and RMRR frames are iomem it may map) is accepted
    const { c: c2, ctx1: k } = dom0Ready();
    expect(taMapPages(c2, { ctx_no: 1, gfn: 0x3f04, dfn: 0x3f04, nr_pages: 1, flags: R | W }).errno).toBe('OK');
    expect(taReattachDevice(c2, { ctx_no: 1, device: GPU }).errno).toBe('OK');
    expect(entries(k().table, 0x3f00, 0x3f0f)).toEqual(['3f00-3f03→3f00', '3f04-3f04→3f04', '3f05-3f0f→3f05']);
  });

  it('a device leaving a ta context takes the part of its RMRR no device left there has: unmapped and no longer reserved', () => {
    const { c, ctx1 } = dom0Ready();
    taReattachDevice(c, { ctx_no: 1, device: GPU });
    taReattachDevice(c, { ctx_no: 1, device: USB_BDF });
    expect(taReattachDevice(c, { ctx_no: 0, device: GPU }).errno).toBe('OK');
    expect(entries(ctx1().table)).toEqual(['3f08-3f1f→3f08']); // usb's part stays
    expect([ctx1().reserved.anyIn(0x3f00, 0x3f07), ctx1().reserved.covered(0x3f08, 0x3f1f)]).toEqual([false, true]);
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x2000, dfn: 0x3f00, nr_pages: 1, flags: R }).errno).toBe('OK');
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x2001, dfn: 0x3f08, nr_pages: 1, flags: R }).errno).toBe('EADDRNOTAVAIL');
    expect(taReattachDevice(c, { ctx_no: 0, device: USB_BDF }).errno).toBe('OK');
    expect(entries(ctx1().table)).toEqual(['3f00-3f00→2000']);
    expect(ctx1().reserved.anyIn(0x3f00, 0x3f1f)).toBe(false);
    // the default context keeps the RMRRs of the devices it had (Xen unmaps only when prev_ctx->id != 0)
    expect(contextOfDevice(c.machine, GPU)!.reserved.covered(0x3f00, 0x3f0f)).toBe(true);
  });

  it('a device deassigned from a ta context (domctl) takes its RMRR out of that context too', () => {
    const { e, c } = ready();
    expect(taReattachDevice(c, { ctx_no: 1, device: NIC }).errno).toBe('OK');
    const ctx1 = e.dom('vm2').ta.contexts.get(1)!;
    expect(ctx1.table.has(0x3f00)).toBe(true);
    expect(deassignDevice(e.ctx(), { domid: 2, device: NIC }).errno).toBe('OK');
    expect([ctx1.table.anyIn(0x3f00, 0x3f0f), ctx1.reserved.anyIn(0x3f00, 0x3f0f), ctx1.devices.has(NIC)]).toEqual([false, false, false]);
  });
});

describe('ta: what the intended ABI refuses', () => {
  const HBA = `apiVersion: pviommu/v1
kind: Device
name: hba
bdf: "05:00.0"
assignable: true
phantom_stride: 4`;
  it('reattach_device of a phantom function is ENODEV (it has no pdev); so are assign/deassign (ENODEV) and test_assign (EINVAL)', () => {
    const e = env(lab({ abi: 'ta', extra: [HBA] }));
    const c = e.ctx();
    taInit(c, { max_ctx_no: 2 });
    taAllocContext(c, {});
    expect(taReattachDevice(c, { ctx_no: 1, device: '0000:05:00.4' }).errno).toBe('ENODEV');
    // the real function's reattach moves its phantoms with it
    expect(taReattachDevice(c, { ctx_no: 1, device: '0000:05:00.0' }).errno).toBe('OK');
    expect([...e.dom('dom0').ta.contexts.get(1)!.devices].sort()).toEqual(['0000:05:00.0', '0000:05:00.4']);
    expect(taReattachDevice(c, { ctx_no: 0, device: '0000:05:00.0' }).errno).toBe('OK');
    expect(testAssignDevice(c, { device: '0000:05:00.4' }).errno).toBe('EINVAL');
    expect(assignDevice(c, { domid: 2, device: '0000:05:00.4' }).errno).toBe('ENODEV');
    expect(testAssignDevice(c, { device: '0000:05:00.0' }).errno).toBe('OK');
    expect(assignDevice(c, { domid: 2, device: '0000:05:00.0' }).errno).toBe('OK');
    expect(deassignDevice(c, { domid: 2, device: '0000:05:00.4' }).errno).toBe('ENODEV');
    expect(deassignDevice(c, { domid: 2, device: '0000:05:00.0' }).errno).toBe('OK');
  });

  it("map_pages of one of Xen's own frames is EPERM even for the hardware domain (no owner takes the reference)", () => {
    const e = env(lab({ abi: 'ta' }));
    const c = e.ctx();
    taInit(c, { max_ctx_no: 2 });
    taAllocContext(c, {});
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x10, dfn: 0x10, nr_pages: 1, flags: R | W })).toMatchObject({ errno: 'EPERM', out: { mapped: 0 } });
    // a run that reaches Xen's frames stops there
    expect(taMapPages(c, { ctx_no: 1, gfn: 0xfe, dfn: 0x20, nr_pages: 4, flags: R })).toMatchObject({ errno: 'EPERM', out: { mapped: 0 } });
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x1000, dfn: 0x20, nr_pages: 1, flags: R })).toMatchObject({ errno: 'OK', out: { mapped: 1 } });
  });

  it('init: an arena larger than the free memory is ENOMEM and leaves the domain initialised without contexts; an arena is taken from the free frames and given back when the domain goes', () => {
    const e = env(lab(TA));
    const c = e.ctx();
    expect(taInit(c, { max_ctx_no: 4, arena_order: 40 }).errno).toBe('ENOMEM');
    expect(taInit(c, { max_ctx_no: 4 }).errno).toBe('EACCES');
    expect(taQueryCapabilities(c, {}).out.max_ctx_no).toBe(0);
    expect(taAllocContext(c, {}).errno).toBe('ENOSPC');
    const free = freeFrameCount(e.m);
    const v = e.ctx('vm2');
    expect(taInit(v, { max_ctx_no: 4, arena_order: 4 }).errno).toBe('OK');
    expect(freeFrameCount(e.m)).toBe(free - 16);
    const arena = e.dom('vm2').ta.arena;
    expect(arena.reduce((n, r) => n + r.end - r.start + 1, 0)).toBe(16);
    expect(pageAt(e.m, arena[0]!.start)!.owner).toBe(DOMID_XEN);
    expect(destroyDomain(c, { domid: 2 }).errno).toBe('OK');
    expect(freeFrameCount(e.m)).toBeGreaterThanOrEqual(free); // the arena (and vm2's memory) is free again
    expect(pageAt(e.m, arena[0]!.start)).toBeUndefined();
  });

  it('pgsize other than 4 KiB is EINVAL (quirk Q12 maps anyway); a refused map_pages / unmap_pages still reports mapped / unmapped 0', () => {
    const { c } = ready();
    for (const pgsize of [0x200000, 0, 0x2000]) {
      expect(taMapPages(c, { ctx_no: 1, gfn: 0x10, dfn: 0x80000, nr_pages: 1, flags: R, pgsize })).toEqual(expect.objectContaining({ errno: 'EINVAL', out: { mapped: 0 } }));
    }
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x10, dfn: 0x80000, nr_pages: 1, flags: R, pgsize: 0x1000 }).errno).toBe('OK');
    expect(taUnmapPages(c, { ctx_no: 1, dfn: 0x80000, nr_pages: 1, pgsize: 7 })).toEqual(expect.objectContaining({ errno: 'EINVAL', out: { unmapped: 0 } }));
    expect(taMapPages(c, { ctx_no: 0, gfn: 0x10, dfn: 0x10, nr_pages: 1 })).toEqual(expect.objectContaining({ errno: 'EINVAL', out: { mapped: 0 } }));
    expect(taUnmapPages(c, { ctx_no: 3, dfn: 0x10, nr_pages: 1 })).toEqual(expect.objectContaining({ errno: 'EINVAL', out: { unmapped: 0 } }));
  });

  it('map_pages / unmap_pages over DFNs VT-d masks: one dma/address-wrap a call, at dfn', () => {
    const { e, c } = ready();
    // dfn 2^36 − 1 is the last the 48-bit IOMMU holds; the next two are masked to 0 and 1
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x10, dfn: 2 ** 36 - 1, nr_pages: 3, flags: R }).out).toEqual({ mapped: 3 });
    expect(e.findings.map((f) => f.rule)).toEqual(['dma/address-wrap']);
    expect(e.findings[0]!.message).toMatch(/^map_pages at BFN 0x1000000000, .* masks it to 0x0/);
    e.findings.length = 0;
    expect(taUnmapPages(c, { ctx_no: 1, dfn: 2 ** 36, nr_pages: 2 }).out).toEqual({ unmapped: 2 });
    expect(e.findings.map((f) => f.rule)).toEqual(['dma/address-wrap']);
    e.findings.length = 0;
    expect(taMapPages(c, { ctx_no: 1, gfn: 0x10, dfn: 0x20, nr_pages: 2, flags: R }).out).toEqual({ mapped: 2 });
    expect(e.findings).toEqual([]);
  });

  it("the hardware domain's gfn run past the last machine frame (2^52 − 1) stops there with EPERM, not EIO", () => {
    const e = env(lab({ abi: 'ta' }));
    const c = e.ctx();
    taInit(c, { max_ctx_no: 2 });
    taAllocContext(c, {});
    expect(taMapPages(c, { ctx_no: 1, gfn: 0xfffffffffffff, dfn: 0x10, nr_pages: 2, flags: R })).toMatchObject({ errno: 'EPERM', out: { mapped: 1 } });
  });

  it('a nested remote_cmd written with its own arguments is read without schema findings and refused (EINVAL)', () => {
    const rep = scenario(
      labScenario(
        `  - op: iommu.remote_cmd
    domid: vm2
    subop: remote_cmd
    args: { domid: 2, subop: noop }
    expect: { status: EINVAL }
`,
        TA,
      ),
    );
    expect([rep.summary.failed_expectations, rules(rep)]).toEqual([0, []]);
  });
});
