/**
 * The PV-IOMMU hypercall, context-based ABI ("ta": Teddy Astie's 2024–2025 interface, TA-v4..v7,
 * xcp-ng/xen `xen/common/pv-iommu.c` `do_iommu_op` / `do_iommu_subop`). reference/pv-iommu.md §5.2.
 *
 * `do_iommu_op(subop, arg)`: ENODEV when the caller may not use the PV-IOMMU, then one subop.
 * A domain has its default context 0 (its ordinary IOMMU context, never changed through this
 * interface) and, after `IOMMU_init`, contexts 1..max_ctx_no it allocates, fills and attaches its
 * own devices to. Intended behaviour, not the quirks of pv-iommu.md §9: init does not fall through
 * into alloc (Q5) nor truncate to 16 bits (Q6), map_pages checks the reserved region at dfn+i (Q7),
 * `mapped` / `unmapped` count from 0 (Q8), a refused free_context does not leave the context dying
 * (Q10), a remapped dfn is EADDRINUSE (the code's value, Q11), `pgsize` must be 4 KiB (Q12).
 */
import { ArgReader } from './args.js';
import type { CallResult, OpContext } from './types.js';
import { defineOp } from './types.js';
import { err, fail, ret } from './errno.js';
import { domainById, effectiveDfn, isAnyRam, isHardwareDomain, mappedDfn, stateOf } from './mm.js';
import { hex } from '../config/units.js';
import type { DomainModel, IommuContext, Machine, PageInfo } from '../model/types.js';
import { DOMID_XEN } from '../model/types.js';
import { MAX_FRAME, type ExtentTable } from '../model/extents.js';
import { attachDevice, detachDevice, iommuMap, iommuUnmap, iommuWidthFrames, newContext, deviceOf, pdevOf, rmrrsFit } from '../model/iommu.js';
import { allocFrames, freeFrameCount, isFrame, isHostRam, pageAt, segments } from '../model/pages.js';
import { isTranslated, p2mLookup } from '../model/p2m.js';

// enum pv_iommu_cmd (public/pv-iommu.h, TA-v5+).
export const TA_SUBOPS: Readonly<Record<string, number>> = {
  noop: 0,
  query_capabilities: 1,
  init: 2,
  alloc_context: 3,
  free_context: 4,
  reattach_device: 5,
  map_pages: 6,
  unmap_pages: 7,
  remote_cmd: 8,
  alloc_nested: 9,
  flush_nested: 10,
  attach_pasid: 11,
  detach_pasid: 12,
};

export const IOMMU_MAP_readable = 1 << 0;
export const IOMMU_MAP_writeable = 1 << 1;
export const IOMMU_MAP_cache = 1 << 2;
export const TA_MAP_FLAG_NAMES: Readonly<Record<string, number>> = {
  read: IOMMU_MAP_readable,
  readable: IOMMU_MAP_readable,
  write: IOMMU_MAP_writeable,
  writeable: IOMMU_MAP_writeable,
  writable: IOMMU_MAP_writeable,
  cache: IOMMU_MAP_cache,
};
const PAGE_SIZE_4K = 0x1000;

/**
 * `can_use_iommu_check(d)`: the domain has an IOMMU (`is_iommu_enabled`) and may use the
 * PV-IOMMU (`allow_pv_iommu`): the hardware domain always may, any other domain needs `pv_iommu:
 * true` in its config.
 */
export function taUsable(m: Machine, d: DomainModel): boolean {
  if (!m.iommu.enabled || !d.iommu) return false;
  return isHardwareDomain(m, d) || d.cfg.pv_iommu === true;
}

/** A non-default context of `d`, or undefined. */
function ctxOf(d: DomainModel, ctxNo: number): IommuContext | undefined {
  return ctxNo === 0 ? undefined : d.ta.contexts.get(ctxNo);
}

/** Entry check of every ta op: the hypercall exists only with the ta ABI; ENODEV for a caller that may not use it. */
function gate(ctx: OpContext): CallResult | undefined {
  if (ctx.abi !== 'ta') return fail('ENOSYS');
  if (!taUsable(ctx.machine, ctx.caller)) return fail('ENODEV');
  return undefined;
}

/** Run `body` as the caller, or as `d` inside a remote_cmd. */
type Body<A> = (ctx: OpContext, d: DomainModel, a: A) => CallResult;
function entry<A>(body: Body<A>): (ctx: OpContext, a: A) => CallResult {
  return (ctx, a) => gate(ctx) ?? body(ctx, ctx.caller, a);
}

// ---------------------------------------------------------------------------------------------
// Subops. Each `(ctx, d, args)`: d is the domain acted upon (the caller, or a remote_cmd target).

function queryCapabilities(ctx: OpContext, d: DomainModel): CallResult {
  const m = ctx.machine;
  const maxIova = 2n ** BigInt(m.iommu.address_width) - 1n;
  return ret(0, {
    max_ctx_no: d.ta.count,
    max_iova_addr: hex(maxIova),
    cap_flags: ['default_identity'],
    pgsize_mask: hex(PAGE_SIZE_4K),
    max_pasid: 0,
  });
}

export interface TaInitArgs {
  max_ctx_no: number;
  arena_order?: number;
}

function init(ctx: OpContext, d: DomainModel, a: TaInitArgs): CallResult {
  const m = ctx.machine;
  // init_op: max_ctx_no == UINT32_MAX → -E2BIG (the +1 would overflow). Context numbers are u16:
  // more than 0xffff contexts cannot be numbered (intended; quirk Q6 truncates instead).
  if (a.max_ctx_no === 0xffffffff || a.max_ctx_no > 0xffff) return fail('E2BIG');
  // iommu_domain_pviommu_init: once only; the flag is set before allocating (and a failed init
  // leaves it set: the domain gets no contexts).
  if (d.ta.initialized) return fail('EACCES');
  d.ta.initialized = true;
  // The arena: 2^arena_order pages of Xen's for the contexts' page tables (0: none); more than
  // the host has free → -ENOMEM. (The model's allocator takes free frames lowest first, not one
  // aligned block: a host with that many free frames, scattered, gets its arena.)
  const order = a.arena_order ?? 0;
  if (order > 0) {
    const pages = order > 52 ? Infinity : 2 ** order;
    if (pages > freeFrameCount(m)) return fail('ENOMEM');
    d.ta.arena = allocFrames(m, DOMID_XEN, pages);
  }
  d.ta.count = a.max_ctx_no;
  // No fall-through into alloc_context (quirk Q5).
  return ret(0);
}

function allocContext(_ctx: OpContext, d: DomainModel): CallResult {
  // iommu_context_alloc: the lowest free number in 1..count; none (or not initialised) → -ENOSPC.
  for (let n = 1; n <= d.ta.count; n++) {
    if (!d.ta.contexts.has(n)) {
      d.ta.contexts.set(n, newContext(`${d.name}#ctx${n}`, d.domid, 'table', n));
      return ret(0, { ctx_no: n });
    }
  }
  return fail('ENOSPC');
}

export interface TaFreeArgs {
  ctx_no: number;
  reattach_default?: boolean;
}

function freeContext(ctx: OpContext, d: DomainModel, a: TaFreeArgs): CallResult {
  const m = ctx.machine;
  // free_context_op: the default context → -EINVAL.
  if (a.ctx_no === 0) return fail('EINVAL');
  // iommu_context_free: not allocated / out of range → -ENOENT.
  const c = ctxOf(d, a.ctx_no);
  if (!c) return fail('ENOENT');
  // Devices attached without IOMMU_FREE_reattach_default → -EBUSY (the context stays usable: no Q10).
  if (c.devices.size > 0 && !a.reattach_default) return fail('EBUSY');
  // (each device once: the context lists its phantom functions too, which move with it)
  for (const dev of new Set([...c.devices].map((bdf) => deviceOf(m, bdf)))) if (dev) moveDevice(m, d, dev.bdf, 0);
  destroyContext(m, c);
  d.ta.contexts.delete(a.ctx_no);
  return ret(0);
}

/** Unmap everything of a context, dropping the references its mappings hold. */
export function destroyContext(m: Machine, c: IommuContext): void {
  const hi = c.table.highest();
  const lo = c.table.lowest();
  if (hi && lo) iommuUnmap(m, c, lo.start, hi.end - lo.start + 1);
  c.devices.clear();
}

/**
 * Move a device (and its phantoms) of `d` to context `to` (0 = default): its RMRRs leave a ta
 * context with it and are identity-mapped in the one it enters (the caller checked `rmrrsFit`).
 */
export function moveDevice(m: Machine, d: DomainModel, bdf: string, to: number): void {
  const dev = deviceOf(m, bdf);
  if (!dev) return;
  const from = dev.ctxNo === 0 ? d.iommu : d.ta.contexts.get(dev.ctxNo);
  const target = to === 0 ? d.iommu : d.ta.contexts.get(to);
  if (from) detachDevice(m, from, dev);
  dev.ctxNo = to;
  if (target) attachDevice(m, target, dev);
}

export interface TaReattachArgs {
  ctx_no: number;
  /** Canonical BDF (undefined: a name no Device has). */
  device: string | undefined;
}

function reattachDevice(ctx: OpContext, d: DomainModel, a: TaReattachArgs): CallResult {
  const m = ctx.machine;
  // reattach_device_op: pci_get_pdev(d, sbdf) — the device must belong to d (a phantom function
  // has no pdev) → -ENODEV.
  const dev = a.device !== undefined ? pdevOf(m, a.device) : undefined;
  if (!dev || dev.owner !== d.domid) return fail('ENODEV');
  // iommu_reattach_context: already there → 0.
  if (dev.ctxNo === a.ctx_no) return ret(0);
  // Current or target context invalid → -ENOENT.
  const cur = dev.ctxNo === 0 ? d.iommu : d.ta.contexts.get(dev.ctxNo);
  const target = a.ctx_no === 0 ? d.iommu : d.ta.contexts.get(a.ctx_no);
  if (!cur || !target) return fail('ENOENT');
  // Target dying → -EINVAL.
  if (target.dying) return fail('EINVAL');
  // intel_iommu_map_identity of its RMRRs in a ta context: a frame of them mapped to something
  // else than itself → -EINVAL, and the device stays where it was.
  if (a.ctx_no !== 0 && !rmrrsFit(target, dev)) return fail('EINVAL');
  moveDevice(m, d, dev.bdf, a.ctx_no);
  return ret(0);
}

export interface TaMapArgs {
  ctx_no: number;
  gfn: number;
  dfn: number;
  nr_pages: number;
  flags?: number;
  /** Bytes per page (pgsize_mask allows 0x1000 only; the default). */
  pgsize?: number;
}

/**
 * `get_paged_frame(d, gfn)` of pv-iommu.c: the MFN behind d's gfn and whether a page reference is
 * to be taken, or the errno: unbacked → ENOENT; RAM / grant / foreign of another owner (unless d is
 * the hardware domain) → EPERM; MMIO or an iomem-permitted frame → no reference; others → EPERM.
 *
 * `run`: how many gfns from this one (at most `max`) resolve the same way, to the MFNs that follow
 * this one — gfns in one p2m extent (PV: MFNs of host RAM outside RMRRs) whose pages are there and
 * the caller's (unless it is the hardware domain); MMIO: one `mmio_direct` extent, or the hardware
 * domain's MFNs outside host RAM or in one RMRR (PV). Other iomem frames: 1.
 */
function pagedFrame(m: Machine, d: DomainModel, gfn: number, max: number): { mfn: number; ref: boolean; run: number } | string {
  const hw = isHardwareDomain(m, d);
  if (isTranslated(d)) {
    const e = p2mLookup(d, gfn);
    if (!e || e.type === 'populate_on_demand' || e.type === 'ram_paged' || e.type === 'mmio_dm') return 'ENOENT';
    if (isAnyRam(e.type)) {
      if (!mayReference(pageAt(m, e.mfn), d, hw)) return 'EPERM';
      return { mfn: e.mfn, ref: true, run: max === 1 ? 1 : pageRun(m, d, hw, e.mfn, extentRest(d, gfn, max)) };
    }
    if (e.type === 'mmio_direct') return { mfn: e.mfn, ref: false, run: max === 1 ? 1 : extentRest(d, gfn, max) };
    if (iomemPermitted(m, d, e.mfn)) return { mfn: e.mfn, ref: false, run: 1 };
    return 'EPERM';
  }
  // PV: the gfn is an MFN (get_gfn_type reports p2m_ram_rw).
  if (isHostRam(m, gfn) && !m.rmrr.has(gfn)) {
    if (!mayReference(pageAt(m, gfn), d, hw)) return 'EPERM';
    if (max === 1) return { mfn: gfn, ref: true, run: 1 };
    const n = Math.min(max, m.ram.get(gfn)!.end - gfn + 1);
    return { mfn: gfn, ref: true, run: pageRun(m, d, hw, gfn, uncoveredRun(m.rmrr, gfn, n)) };
  }
  if (!iomemPermitted(m, d, gfn)) return 'EPERM';
  if (max === 1 || !hw || !isFrame(gfn)) return { mfn: gfn, ref: false, run: 1 };
  const n = Math.min(max, MAX_FRAME - gfn + 1);
  const q = m.rmrr.get(gfn);
  return { mfn: gfn, ref: false, run: q !== undefined ? Math.min(n, q.end - gfn + 1) : uncoveredRun(m.ram, gfn, n) };
}

/**
 * Whether `get_paged_frame` takes a reference on the page: `page_get_owner_and_reference` finds
 * an owner (not a free page, not one of Xen's own: their count is 0, so no owner → -EPERM), and
 * it is d's unless d is the hardware domain.
 */
function mayReference(p: PageInfo | undefined, d: DomainModel, hw: boolean): boolean {
  return p !== undefined && p.owner !== DOMID_XEN && (hw || p.owner === d.domid);
}

/** How many gfns from `gfn` (at most `max`) the p2m extent holding it covers: one type, mfns in a line. */
function extentRest(d: DomainModel, gfn: number, max: number): number {
  return Math.min(max, d.p2m.get(gfn)!.end - gfn + 1);
}

/** How many frames from `mfn` (at most `n`, the first one checked) are pages d may map: there, and d's unless it is the hardware domain. */
function pageRun(m: Machine, d: DomainModel, hw: boolean, mfn: number, n: number): number {
  let run = 0;
  for (const p of segments(m.pages, mfn, mfn + n - 1)) {
    if (!mayReference(p.value, d, hw)) break;
    run += p.end - p.start + 1;
  }
  return run;
}

/**
 * `iomem_access_permitted(d, mfn)`: the hardware domain has every non-RAM frame (of the machine's
 * address space: none past 2^52 − 1); others their `iomem` ranges.
 */
function iomemPermitted(m: Machine, d: DomainModel, mfn: number): boolean {
  if (!isFrame(mfn)) return false;
  if (isHardwareDomain(m, d)) return !isHostRam(m, mfn) || m.rmrr.has(mfn);
  return d.cfg.iomem.some((r) => mfn >= r.mfns.start && mfn <= r.mfns.end);
}

/** How many frames from `start` (at most `max`) `map` does not cover. */
function uncoveredRun<T>(map: ExtentTable<T>, start: number, max: number): number {
  const f = map.firstCovered(start, start + max - 1);
  return f === undefined ? max : f - start;
}

/**
 * How many DFNs from `dfn` (at most `max`; its DFN in the table `eff`) map_pages / unmap_pages
 * treat alike: up to where the effective DFN wraps (the IOMMU's width) and outside the context's
 * reserved regions (none past the model's last frame, 2^52 − 1).
 */
function dfnRun(m: Machine, c: IommuContext, dfn: number, eff: number, max: number): number {
  const n = Math.min(max, iommuWidthFrames(m) - eff);
  return isFrame(dfn) ? uncoveredRun(c.reserved, dfn, Math.min(n, MAX_FRAME - dfn + 1)) : n;
}

function mapPages(ctx: OpContext, d: DomainModel, a: TaMapArgs): CallResult {
  const m = ctx.machine;
  // map_pages_op: ctx_no 0 or a context that does not exist → -EINVAL; a page size not in
  // pgsize_mask (4 KiB only) → -EINVAL (the header's rule; quirk Q12 does not check it). `mapped`
  // is copied back whatever the result: 0 here.
  const c = ctxOf(d, a.ctx_no);
  if (!c || (a.pgsize ?? PAGE_SIZE_4K) !== PAGE_SIZE_4K) return ret(err('EINVAL'), { mapped: 0 });
  const flags = a.flags ?? 0;
  const r = (flags & IOMMU_MAP_readable) !== 0;
  const w = (flags & IOMMU_MAP_writeable) !== 0;
  let mapped = 0; // from 0 (quirk Q8 would add to the caller's value)
  let rc = 0;
  let wrapReported = false;
  for (let i = 0; i < a.nr_pages; i++) {
    const dfn = a.dfn + i;
    const gfn = a.gfn + i;
    // 1. Inside one of the context's identity / RMRR regions → -EADDRNOTAVAIL (at dfn+i, not Q7's dfn0).
    //    (dfn + i may pass the last frame the model holds, 2^52 − 1: no region is there.)
    if (isFrame(dfn) && c.reserved.has(dfn)) {
      rc = err('EADDRNOTAVAIL');
      break;
    }
    // 2. Resolve the gfn (and take the reference, with the mapping below).
    const f = pagedFrame(m, d, gfn, a.nr_pages - i);
    if (typeof f === 'string') {
      rc = err(f);
      break;
    }
    // 3. Already mapped in this context → -EADDRINUSE (the header's -EINVAL is quirk Q11).
    // (a DFN VT-d masks: reported once a call, at the first)
    const eff = wrapReported ? effectiveDfn(m, dfn) : mappedDfn(ctx, dfn, 'map_pages', ['dfn']);
    if (eff !== dfn) wrapReported = true;
    if (eff < 0) {
      rc = err('EFAULT'); // AMD: a DFN its page-table levels cannot hold
      break;
    }
    if (c.table.has(eff)) {
      rc = err('EADDRINUSE');
      break;
    }
    // 4. Map; a failure drops the reference and returns the error. The frames after this one
    //    that pass 1.–3. the same way (DFNs alike and unmapped, gfns in the same run) are mapped
    //    with it: what the loop would do frame by frame, at the cost of the extents instead.
    //    Mapping a frame changes none of these checks for the next (its own page and DFN only).
    const n = f.run === 1 ? 1 : uncoveredRun(c.table, eff, dfnRun(m, c, dfn, eff, f.run));
    if (iommuMap(m, c, eff, f.mfn, n, { r, w, origin: 'map_pages', ref: f.ref }) !== n) {
      rc = err('EIO');
      break;
    }
    mapped += n;
    i += n - 1;
  }
  // Pages already mapped are not rolled back.
  return ret(rc, { mapped });
}

export interface TaUnmapArgs {
  ctx_no: number;
  dfn: number;
  nr_pages: number;
  pgsize?: number;
}

function unmapPages(ctx: OpContext, d: DomainModel, a: TaUnmapArgs): CallResult {
  const m = ctx.machine;
  const c = ctxOf(d, a.ctx_no);
  if (!c || (a.pgsize ?? PAGE_SIZE_4K) !== PAGE_SIZE_4K) return ret(err('EINVAL'), { unmapped: 0 });
  let unmapped = 0;
  let rc = 0;
  let wrapReported = false;
  for (let i = 0; i < a.nr_pages; i++) {
    const dfn = a.dfn + i;
    if (isFrame(dfn) && c.reserved.has(dfn)) {
      rc = err('EADDRNOTAVAIL');
      break;
    }
    const eff = wrapReported ? effectiveDfn(m, dfn) : mappedDfn(ctx, dfn, 'unmap_pages', ['dfn']);
    if (eff !== dfn) wrapReported = true;
    if (eff < 0 || !c.table.has(eff)) {
      rc = err('ENOENT');
      break;
    }
    // This frame and the ones after it that pass the same checks (DFNs alike, mapped) go at once;
    // each entry's page reference is dropped.
    let n = dfnRun(m, c, dfn, eff, a.nr_pages - i);
    const gap = c.table.firstGap(eff, eff + n - 1);
    if (gap !== undefined) n = gap - eff;
    iommuUnmap(m, c, eff, n);
    unmapped += n;
    i += n - 1;
  }
  return ret(rc, { unmapped });
}

export interface TaRemoteArgs {
  domid: number;
  subop: number;
  args: unknown;
}

/** The subops runnable by number (remote_cmd dispatches through this). */
type Runner = { run: Body<any>; keys: ReadonlySet<string>; parse(r: ArgReader): unknown };

function remoteCmd(ctx: OpContext, d: DomainModel, a: TaRemoteArgs & { parsed?: unknown }): CallResult {
  const m = ctx.machine;
  const st = stateOf(m);
  // Called recursively → -EINVAL.
  if (st.remoteDepth > 0) return fail('EINVAL');
  // "TODO: use a better permission logic": the hardware domain only → -EPERM.
  if (!isHardwareDomain(m, d)) return fail('EPERM');
  // get_domain_by_id → -ENOENT.
  const t = domainById(m, a.domid);
  if (!t) return fail('ENOENT');
  const sub = RUNNERS.get(a.subop);
  if (!sub) return fail('EOPNOTSUPP');
  // The subop acts on the target; the target's own `allow_pv_iommu` is not checked. A target
  // without an IOMMU (no passthrough) has no contexts to act on: Xen would dereference its
  // missing platform ops, the intended answer is the gate's -ENODEV.
  if (!t.iommu) return fail('ENODEV');
  st.remoteDepth++;
  try {
    return sub.run(ctx, t, a.parsed);
  } finally {
    st.remoteDepth--;
  }
}

const unsupported: Body<unknown> = () => fail('EOPNOTSUPP');

// ---------------------------------------------------------------------------------------------
// Argument reading and op specs.

const CTX_NO = (r: ArgReader) => r.int('ctx_no', 0, 0xffff);

const RUNNERS = new Map<number, Runner>([
  [0, { run: () => ret(0), keys: new Set(), parse: () => ({}) }],
  [1, { run: queryCapabilities, keys: new Set(), parse: () => ({}) }],
  [2, { run: init, keys: new Set(['max_ctx_no', 'arena_order']), parse: (r) => ({ max_ctx_no: r.int('max_ctx_no', 0, 0xffffffff), arena_order: r.int('arena_order', 0, 0xffffffff, 0) }) }],
  [3, { run: allocContext, keys: new Set(['alloc_flags']), parse: (r) => (r.int('alloc_flags', 0, 0xffffffff, 0), {}) }],
  [4, { run: freeContext, keys: new Set(['ctx_no', 'reattach_default']), parse: (r) => ({ ctx_no: CTX_NO(r), reattach_default: r.bool('reattach_default', false) }) }],
  [5, { run: reattachDevice, keys: new Set(['ctx_no', 'device', 'pasid']), parse: (r) => (r.int('pasid', 0, 0xffffffff, 0), { ctx_no: CTX_NO(r), device: r.device('device') }) }],
  [
    6,
    {
      run: mapPages,
      keys: new Set(['ctx_no', 'gfn', 'dfn', 'bfn_of', 'mfn_of', 'nr_pages', 'flags', 'pgsize']),
      parse: (r) => ({ pgsize: r.int('pgsize', 0, 0xffffffff, PAGE_SIZE_4K), ctx_no: CTX_NO(r), gfn: r.frame('gfn'), dfn: r.bfn('dfn'), nr_pages: r.int('nr_pages', 0, 0xffffffff), flags: r.flags('flags', TA_MAP_FLAG_NAMES, 32) }),
    },
  ],
  [7, { run: unmapPages, keys: new Set(['ctx_no', 'dfn', 'bfn_of', 'mfn_of', 'nr_pages', 'pgsize']), parse: (r) => ({ pgsize: r.int('pgsize', 0, 0xffffffff, PAGE_SIZE_4K), ctx_no: CTX_NO(r), dfn: r.bfn('dfn'), nr_pages: r.int('nr_pages', 0, 0xffffffff) }) }],
  // (Nested, its own arguments are not read: Xen refuses the recursion before them, -EINVAL.)
  [8, { run: remoteCmd, keys: new Set(['domid', 'subop', 'args']), parse: () => ({}) }],
  [9, { run: unsupported, keys: new Set(['ctx_no', 'pgtable_gfn', 'nested_flags']), parse: () => ({}) }],
  [10, { run: unsupported, keys: new Set(['ctx_no']), parse: () => ({}) }],
  [11, { run: unsupported, keys: new Set(['ctx_no', 'device', 'pasid']), parse: () => ({}) }],
  [12, { run: unsupported, keys: new Set(['device', 'pasid']), parse: () => ({}) }],
]);

function spec<A>(name: string, summary: string, subop: number) {
  const r = RUNNERS.get(subop)!;
  return defineOp<A>({ name: `iommu.${name}`, abi: 'ta', summary, keys: r.keys, parse: (rd) => r.parse(rd) as A, run: entry(r.run as Body<A>) });
}

/** Direct entry points (the caller acts on itself). */
export const taQueryCapabilities = entry<unknown>(queryCapabilities);
export const taInit = entry<TaInitArgs>(init);
export const taAllocContext = entry<unknown>(allocContext);
export const taFreeContext = entry<TaFreeArgs>(freeContext);
export const taReattachDevice = entry<TaReattachArgs>(reattachDevice);
export const taMapPages = entry<TaMapArgs>(mapPages);
export const taUnmapPages = entry<TaUnmapArgs>(unmapPages);
/** remote_cmd with already-read inner arguments (`args` as the inner subop takes them). */
export function taRemoteCmd(ctx: OpContext, a: { domid: number; subop: number; args?: unknown }): CallResult {
  return gate(ctx) ?? remoteCmd(ctx, ctx.caller, { domid: a.domid, subop: a.subop, args: a.args, parsed: a.args ?? {} });
}

const REMOTE_KEYS = new Set(['domid', 'subop', 'args']);

export const TA_OPS = [
  spec('noop', 'ta: no operation', 0),
  spec('query_capabilities', 'ta: max_ctx_no, max_iova_addr, cap_flags, pgsize_mask', 1),
  spec<TaInitArgs>('init', 'ta: set up max_ctx_no non-default contexts (once)', 2),
  spec('alloc_context', 'ta: allocate the lowest free context number', 3),
  spec<TaFreeArgs>('free_context', 'ta: free a context (reattach_default moves its devices back to context 0)', 4),
  spec<TaReattachArgs>('reattach_device', "ta: attach one of the caller's devices to a context", 5),
  spec<TaMapArgs>('map_pages', 'ta: map nr_pages gfns at dfns of a context; out.mapped', 6),
  spec<TaUnmapArgs>('unmap_pages', 'ta: unmap nr_pages dfns of a context; out.unmapped', 7),
  defineOp<TaRemoteArgs & { parsed?: unknown }>({
    name: 'iommu.remote_cmd',
    abi: 'ta',
    summary: 'ta: the hardware domain runs a subop on behalf of another domain',
    keys: REMOTE_KEYS,
    parse(r) {
      const domid = r.domid('domid');
      const raw = r.get('subop');
      let subop = -1;
      if (typeof raw === 'string' && Object.prototype.hasOwnProperty.call(TA_SUBOPS, raw)) subop = TA_SUBOPS[raw]!;
      else if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw <= 0xffff) subop = raw;
      else r.bad(raw === undefined ? [] : ['subop'], `iommu.remote_cmd needs \`subop\`, one of ${Object.keys(TA_SUBOPS).join(', ')}`);
      const inner = r.get('args');
      const innerObj = inner !== undefined && inner !== null && typeof inner === 'object' && !Array.isArray(inner) ? (inner as Record<string, unknown>) : {};
      if (inner !== undefined && inner !== innerObj) r.bad(['args'], '`args` of iommu.remote_cmd must be a mapping of the subop’s arguments');
      const runner = RUNNERS.get(subop);
      let parsed: unknown = {};
      if (runner) {
        const ir = new ArgReader(r.m, innerObj, `iommu.remote_cmd ${String(raw)}`, ['args'], r.issues);
        if (r.earlier) ir.earlier = r.earlier;
        parsed = runner.parse(ir);
        ir.finish(runner.keys, new Set());
      }
      return { domid, subop, args: innerObj, parsed };
    },
    run: (ctx, a) => gate(ctx) ?? remoteCmd(ctx, ctx.caller, a),
  }),
];

/** For docs/tests: subops by name, unsupported ones included. */
export const TA_UNSUPPORTED_OPS = ['alloc_nested', 'flush_nested', 'attach_pasid', 'detach_pasid'].map((n) =>
  spec(n, `ta: ${n} (not implemented by Xen: EOPNOTSUPP)`, TA_SUBOPS[n]!),
);

