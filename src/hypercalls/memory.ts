/**
 * XENMEM operations (`HYPERVISOR_memory_op`, xen/common/memory.c `do_memory_op`, x86
 * xen/arch/x86/mm/p2m.c `xenmem_add_to_physmap_one` / `p2m_add_foreign`), reference/xen-model.md §4.
 *
 * Reservation ops (populate_physmap, decrease_reservation) return the number of extents done, as
 * Xen does: every failure — an unknown domain, an XSM denial, `max_pages`, an unbacked gfn — just
 * stops the count early (xen-model.md §9.7). All extents are order 0.
 */
import type { ArgReader, FrameList } from './args.js';
import type { CallResult, OpContext } from './types.js';
import { defineOp } from './types.js';
import { fail, ret } from './errno.js';
import {
  isControlDomain,
  domainByAnyId,
  getPageFromGfn,
  isHardwareDomain,
  isMappableRam,
  isSpecialType,
  p2mClear,
  p2mTypeAt,
  queryMfn,
  stateOf,
  xsmTarget,
} from './mm.js';
import { hex } from '../config/units.js';
import type { P2mType } from '../config/schema.js';
import type { DomId, DomainModel, Machine } from '../model/types.js';
import { DOMID_SELF, DOMID_XEN } from '../model/types.js';
import { allocFrames, isFrame, pageAt, putRef, releaseAllocation, segments } from '../model/pages.js';
import { isRamType, isTranslated, p2mLookup, p2mRemove, p2mSet, pfnRangesOfMfns, pvReleased } from '../model/p2m.js';

/** `XENMEM_get_mfn_from_pfn`'s limit ("sanity check for security"). */
export const TRANSLATE_MAX = 2048;

export interface ReservationArgs {
  /** Target domain (default DOMID_SELF). */
  domid?: number;
  gfns: FrameList;
}

/** The reservation ops' preamble (do_memory_op): unknown domain or XSM_TARGET denial → 0 done. */
function reservationTarget(ctx: OpContext, domid: number | undefined): DomainModel | undefined {
  const d = domainByAnyId(ctx.machine, domid ?? DOMID_SELF, ctx.caller);
  if (!d) return undefined; // rcu_lock_domain_by_any_id failed: return start_extent (0)
  if (!xsmTarget(ctx.machine, ctx.caller, d)) return undefined; // xsm_memory_adjust_reservation
  return d;
}

/** A reservation op's result: the extents done (and, for a PV guest's populate, the MFNs given). */
function done(n: number, mfns?: string[]): CallResult {
  return ret(n, mfns === undefined ? { done: n } : { done: n, mfns });
}

/**
 * XENMEM_populate_physmap (memory.c `populate_physmap`): for each gpfn, allocate a frame (first
 * fit, lowest free) and add it as `ram_rw` (translated: `guest_physmap_add_page` → p2m_add_page,
 * mirrored in the IOMMU; PV: the pfn's P2M entry, and the MFN written back). Stops at `max_pages`,
 * when the host runs out, or at a gpfn holding a grant / foreign / direct-MMIO entry (Xen crashes
 * the domain there). A gpfn already holding RAM gets the new frame; the old one stays allocated
 * to the domain, unmapped (p2m_add_page only clears its M2P entry).
 */
export function populatePhysmap(ctx: OpContext, a: ReservationArgs): CallResult {
  const m = ctx.machine;
  const d = reservationTarget(ctx, a.domid);
  if (!d) return done(0);
  const pv = !isTranslated(d);
  const mfns: string[] = [];
  let n = 0;
  outer: for (const r of a.gfns.ranges) {
    let gfn = r.start;
    while (gfn <= r.end) {
      // What is at [gfn, r.end]? Walk it in runs (one gfn: a look-up).
      let segEnd = gfn;
      let type: P2mType | undefined;
      if (gfn === r.end) {
        type = p2mTypeAt(d, gfn);
      } else {
        const seg = segments(d.p2m, gfn, r.end)[0]!;
        segEnd = seg.end;
        type = seg.value?.type;
      }
      if (type !== undefined && isSpecialType(type)) break outer; // p2m_add_page: domain_crash, -EPERM
      const want = segEnd - gfn + 1;
      const room = d.maxPages - d.totPages;
      if (room <= 0) break outer; // assign_pages: over max_pages
      const got = allocFrames(m, d.domid, Math.min(want, room));
      if (got.length === 0) break outer; // alloc_domheap_pages failed
      for (const g of got) {
        const len = g.end - g.start + 1;
        p2mSet(m, d, gfn, len, g.start, 'ram_rw');
        if (pv) for (let i = 0; i < len; i++) mfns.push(hex(g.start + i));
        gfn += len;
        n += len;
      }
      if (gfn <= segEnd) break outer; // fewer frames than asked: the host ran out
    }
  }
  return pv ? done(n, mfns) : done(n);
}

/**
 * XENMEM_decrease_reservation (memory.c `decrease_reservation` → `guest_remove_page`): for each
 * gmfn, remove its p2m entry and drop the allocation reference; the page returns to the free pool
 * when nothing else references it. Stops at the first gmfn that cannot be removed: unmapped /
 * `mmio_dm` (-EINVAL), `mmio_direct` (-EPERM), a page the domain does not own — grant or foreign
 * entries — (-ENXIO). PoD entries are just dropped. PV: the gmfn is an MFN the domain owns.
 */
export function decreaseReservation(ctx: OpContext, a: ReservationArgs): CallResult {
  const m = ctx.machine;
  const d = reservationTarget(ctx, a.domid);
  if (!d) return done(0);
  let n = 0;
  for (const r of a.gfns.ranges) {
    // By extents (the same as frame by frame: a frame's removal touches only its own p2m entries
    // and page), so a range costs its extents, not its frames.
    const k = removeRange(m, d, r.start, r.end);
    n += k;
    if (k < r.end - r.start + 1) return done(n);
  }
  return done(n);
}

/**
 * `guest_remove_page` for each gfn of [start, end] of a translated domain, in order, stopping at
 * the first that cannot be removed; returns how many were. A p2m extent (and, within it, a run
 * of pages) at a time: the same as frame by frame, as a frame's removal touches only its own p2m
 * entry and page.
 */
function removeRun(m: Machine, d: DomainModel, start: number, end: number): number {
  if (!isFrame(start) || !isFrame(end)) return 0;
  if (start === end) {
    // One gfn (call after call in a trace): one look-up, no range walk, nothing made for it.
    const type = d.p2m.probe(start);
    return type === undefined ? 0 : removeExtent(m, d, start, 1, d.p2m.mfn, type);
  }
  let n = 0;
  for (const s of segments(d.p2m, start, end)) {
    const len = s.end - s.start + 1;
    const k = s.value === undefined ? 0 : removeExtent(m, d, s.start, len, s.value.base, s.value.type);
    n += k;
    if (k < len) break;
  }
  return n;
}

/** Remove [gfn, gfn + len) → [mfn, mfn + len) of type `type` up to the first frame that cannot go; how many went. */
function removeExtent(m: Machine, d: DomainModel, gfn: number, len: number, mfn: number, type: P2mType): number {
  if (type === 'mmio_dm' || type === 'mmio_direct') return 0; // -EINVAL / -EPERM
  if (type === 'populate_on_demand' || type === 'ram_paged') {
    p2mRemove(m, d, gfn, len); // PoD: p2m_pod_decrease_reservation; paged out: no page to release
    return len;
  }
  if (!isRamType(type)) return 0; // grant / foreign: not d's page, "Bad page free": -ENXIO
  const ok = ownedPrefix(m, d.domid, mfn, len, false);
  if (ok > 0) {
    p2mRemove(m, d, gfn, ok);
    releaseAllocation(m, mfn, ok); // test_and_clear(_PGC_allocated) + put_page; pages already given up keep their state
  }
  return ok;
}

/**
 * How many frames from `mfn` (at most `len`) are pages `domid` owns (`allocated`: and still holds
 * the allocation reference of), before the first that is not.
 */
function ownedPrefix(m: Machine, domid: DomId, mfn: number, len: number, allocated: boolean): number {
  if (len === 1) {
    const p = pageAt(m, mfn);
    return p !== undefined && p.owner === domid && (p.allocated || !allocated) ? 1 : 0;
  }
  for (const p of segments(m.pages, mfn, mfn + len - 1)) {
    if (!p.value || p.value.owner !== domid || (allocated && !p.value.allocated)) return p.start - mfn;
  }
  return len;
}

/**
 * `guest_remove_page` for each gmfn of [start, end] of a PV domain, in order, stopping at the first
 * that cannot be removed (not a page the domain owns with its allocation reference: get_page
 * fails, -ENXIO); returns how many were. The gmfns are MFNs: their P2M slots are found through
 * the M2P, a run of frames at a time.
 */
function removePvRun(m: Machine, d: DomainModel, start: number, end: number): number {
  if (!isFrame(start) || !isFrame(end)) return 0;
  const ok = ownedPrefix(m, d.domid, start, end - start + 1, true);
  if (ok === 0) return 0;
  for (const r of pfnRangesOfMfns(d, start, start + ok - 1)) p2mRemove(m, d, r.start, r.end - r.start + 1);
  pvReleased(d, start, start + ok - 1);
  releaseAllocation(m, start, ok);
  return ok;
}

/** `guest_remove_page` for each gmfn of [start, end], in order, up to the first that cannot go; how many went. */
function removeRange(m: Machine, d: DomainModel, start: number, end: number): number {
  return isTranslated(d) ? removeRun(m, d, start, end) : removePvRun(m, d, start, end);
}

/** guest_remove_page(d, gmfn): true when removed. */
function removeOne(m: Machine, d: DomainModel, gmfn: number): boolean {
  return removeRange(m, d, gmfn, gmfn) === 1;
}

export interface AddToPhysmapArgs {
  domid?: number;
  space: 'gmfn' | 'gmfn_foreign';
  idx: number;
  gpfn: number;
  foreign_domid?: number;
}

/**
 * XENMEM_add_to_physmap (memory.c `do_memory_op` → `xatp_permission_check` →
 * `xenmem_add_to_physmap_one`). `gmfn_foreign` is Xen's add_to_physmap_batch path with one
 * element (`p2m_add_foreign`); its error is the result.
 */
export function addToPhysmap(ctx: OpContext, a: AddToPhysmapArgs): CallResult {
  const m = ctx.machine;
  const caller = ctx.caller;
  // rcu_lock_domain_by_any_id → -ESRCH.
  const d = domainByAnyId(m, a.domid ?? DOMID_SELF, caller);
  if (!d) return fail('ESRCH');
  // xatp_permission_check: translated domains only (-EACCES), then XSM_TARGET (-EPERM).
  if (!isTranslated(d)) return fail('EACCES');
  if (!xsmTarget(m, caller, d)) return fail('EPERM');
  return a.space === 'gmfn' ? addGmfn(m, d, a.idx, a.gpfn) : addForeign(m, caller, d, a.foreign_domid ?? DOMID_SELF, a.idx, a.gpfn);
}

/** XENMAPSPACE_gmfn: move the RAM page at gfn idx to gpfn. */
function addGmfn(m: Machine, d: DomainModel, idx: number, gpfn: number): CallResult {
  // get_gfn_unshare(idx): shared → -ENOMEM; get_page_from_mfn(mfn, d) fails → -EINVAL.
  const src = p2mLookup(d, idx);
  if (src?.type === 'ram_shared') return fail('ENOMEM');
  const page = src ? pageAt(m, src.mfn) : undefined;
  if (!src || !page || page.owner !== d.domid || !isRamType(src.type) || src.type === 'ram_paged') return fail('EINVAL');
  // Source type must be ram_rw / ram_logdirty (else -EACCES).
  if (src.type !== 'ram_rw' && src.type !== 'ram_logdirty') return fail('EACCES');
  const mfn = src.mfn;
  // The destination: direct MMIO → -EPERM; a grant slot → -ENXIO; special entries are unhooked;
  // other RAM is freed.
  const dst = p2mLookup(d, gpfn);
  const refused = slotRefused(dst?.type);
  if (refused) return fail(refused);
  if (dst && !(dst.mfn === mfn && isRamType(dst.type))) {
    if (isSpecialType(dst.type)) p2mClear(m, d, gpfn, 1);
    else if (!removeOne(m, d, gpfn)) p2mRemove(m, d, gpfn, 1);
  }
  // Unmap from the old gfn, map at gpfn.
  if (idx !== gpfn) p2mRemove(m, d, idx, 1);
  p2mSet(m, d, gpfn, 1, mfn, src.type);
  return ret(0);
}

/**
 * What add_to_physmap cannot put over a gpfn of this type: a direct-MMIO slot (RMRR, iomem 1:1) —
 * `set_typed_p2m_entry` replacing a different special entry is -EPERM (and crashes the domain,
 * XSA-378) — or a grant slot, whose page is the granter's: `guest_remove_page` cannot take it
 * (-ENXIO). Undefined: the slot may be replaced.
 */
function slotRefused(t: P2mType | undefined): 'EPERM' | 'ENXIO' | undefined {
  if (t === 'mmio_direct') return 'EPERM';
  if (t === 'grant_map_rw' || t === 'grant_map_ro') return 'ENXIO';
  return undefined;
}

/** p2m_add_foreign(tdom = d, fgfn = idx, gpfn, foreigndom). */
function addForeign(m: Machine, caller: DomainModel, d: DomainModel, foreignDomid: number, idx: number, gpfn: number): CallResult {
  // rcu_lock_remote_domain_by_id(foreigndom): the caller itself → -EPERM; it does not accept
  // DOMID_SELF (no domain has that id) → -ESRCH, like any unknown id.
  if (foreignDomid === DOMID_SELF) return fail('ESRCH');
  if (foreignDomid === caller.domid) return fail('EPERM');
  if (foreignDomid === DOMID_XEN) {
    // dom_xen exists and is never the target. XSM_TARGET against it passes only for the control
    // domain (no domain is Xen's device model). It is not translated, so idx is an MFN, and
    // get_page(page, dom_xen) succeeds only for Xen pages shared with dom_xen: the model holds
    // none (xen_mfns are Xen's own) → -EINVAL.
    return fail(isControlDomain(m, d) ? 'EINVAL' : 'EPERM');
  }
  const f = domainByAnyId(m, foreignDomid, caller);
  if (!f) return fail('ESRCH');
  // tdom == fdom → -EINVAL.
  if (f === d) return fail('EINVAL');
  // xsm_map_gmfn_foreign(XSM_TARGET, tdom, fdom): the domain receiving the mapping must be the
  // foreign domain's device model or the control domain.
  if (!xsmTarget(m, d, f)) return fail('EPERM');
  // get_page_from_gfn(fdom, fgfn, P2M_ALLOC): RAM, not shared, not a hole → else -EINVAL.
  const r = getPageFromGfn(m, f, idx);
  if (!r) return fail('EINVAL');
  if (!isMappableRam(r.type)) {
    putRef(m, r.mfn);
    return fail('EINVAL');
  }
  // Whatever was at gpfn: direct MMIO and grant slots are refused (below), special pages are
  // unhooked, normal RAM is freed.
  const prev = p2mLookup(d, gpfn);
  const refused = slotRefused(prev?.type);
  if (refused) {
    putRef(m, r.mfn);
    return fail(refused);
  }
  if (prev) {
    if (isSpecialType(prev.type)) p2mClear(m, d, gpfn, 1);
    else if (!removeOne(m, d, gpfn)) p2mRemove(m, d, gpfn, 1);
  }
  // set_foreign_p2m_entry: the map_foreign entry keeps the reference taken above.
  p2mSet(m, d, gpfn, 1, r.mfn, 'map_foreign');
  return ret(0);
}

export interface RemoveFromPhysmapArgs {
  domid?: number;
  gpfn: number;
}

/**
 * XENMEM_remove_from_physmap: translated domains only (-EACCES), XSM_TARGET (-EPERM),
 * `get_page_from_gfn(P2M_ALLOC)` finds no page → -ENOENT (so grant slots cannot be removed this
 * way; foreign slots can, dropping their reference). A RAM page leaves the p2m but stays allocated
 * to the domain (`guest_physmap_remove_page` does not free it).
 */
export function removeFromPhysmap(ctx: OpContext, a: RemoveFromPhysmapArgs): CallResult {
  const m = ctx.machine;
  const d = domainByAnyId(m, a.domid ?? DOMID_SELF, ctx.caller);
  if (!d) return fail('ESRCH');
  if (!isTranslated(d)) return fail('EACCES');
  if (!xsmTarget(m, ctx.caller, d)) return fail('EPERM');
  const r = getPageFromGfn(m, d, a.gpfn);
  if (!r) return fail('ENOENT');
  putRef(m, r.mfn); // the lookup's reference
  p2mClear(m, d, a.gpfn, 1);
  return ret(0);
}

export interface TranslateArgs {
  domid?: number;
  gfns: FrameList;
}

/**
 * XenGT's out-of-tree `XENMEM_get_mfn_from_pfn` (QubesOS 1200-hypercall-XENMEM_get_mfn_from_pfn.patch,
 * `get_mfn_from_pfn`): hardware domain only (-EPERM), domain lookup (-ESRCH), at most 2048 gfns
 * (-E2BIG; the patch says -ENOMEM), then `get_gfn_query` per gfn — an invalid MFN stops with -EINVAL
 * and nothing is copied back. No page reference is taken: the answer is stale as soon as the guest
 * balloons the page out. Every successful call that returns MFNs reports
 * `hypercall/raw-mfn-exposed`, and the MFNs are remembered for `mapping/dangling` at the end of the
 * scenario.
 */
export function translate(ctx: OpContext, a: TranslateArgs): CallResult {
  const m = ctx.machine;
  if (!isHardwareDomain(m, ctx.caller)) return fail('EPERM');
  const d = domainByAnyId(m, a.domid ?? DOMID_SELF, ctx.caller);
  if (!d) return fail('ESRCH');
  if (a.gfns.count > TRANSLATE_MAX) return fail('E2BIG');
  // (gfns and mfns as numbers: a call may translate 2048 frames, a trace millions)
  const gfns: number[] = [];
  const mfns: number[] = [];
  const translated = isTranslated(d);
  for (const r of a.gfns.ranges) {
    for (let g = r.start; g <= r.end; g++) {
      // (PV: get_gfn_query returns the gfn itself)
      const mfn = translated ? queryMfn(m, d, g) : isFrame(g) ? g : -1;
      if (mfn < 0) return fail('EINVAL');
      gfns.push(g);
      mfns.push(mfn);
    }
  }
  const st = stateOf(m);
  const o = ctx.origin;
  const at = o?.locate();
  for (let i = 0; i < mfns.length; i++) st.raw.translated(d.domid, gfns[i]!, mfns[i]!, pageAt(m, mfns[i]!)?.owner, at, o?.index);
  const n = mfns.length;
  if (n > 0) {
    // (an empty list hands nothing out)
    ctx.report(
      'hypercall/raw-mfn-exposed',
      `memory.translate handed ${ctx.caller.name} ${n} raw MFN${n === 1 ? '' : 's'} of ${d.name} without a page reference: if ${d.name} balloons a page out, the frame can be reused by another domain while a device still uses it; use a mapping that holds a reference (PV-IOMMU lookup_foreign_page / map_foreign_page, grant maps)`,
      { path: ['gfns'] },
    );
  }
  return ret(0, { mfns: mfns.map((x) => hex(x)) });
}

// ---------------------------------------------------------------------------------------------
// Specs.

const DOMID = (r: ArgReader) => (r.has('domid') ? r.domid('domid') : undefined);

export const MEMORY_OPS = [
  defineOp<ReservationArgs>({
    name: 'memory.populate_physmap',
    summary: 'allocate frames (lowest free first) as ram_rw at gfns; rc/out.done = count',
    keys: new Set(['domid', 'gfns']),
    parse: (r) => ({ domid: DOMID(r), gfns: r.frames('gfns') }),
    run: populatePhysmap,
  }),
  defineOp<ReservationArgs>({
    name: 'memory.decrease_reservation',
    summary: 'remove gfns from the p2m and drop their allocation reference; rc/out.done = count',
    keys: new Set(['domid', 'gfns']),
    parse: (r) => ({ domid: DOMID(r), gfns: r.frames('gfns') }),
    run: decreaseReservation,
  }),
  defineOp<AddToPhysmapArgs>({
    name: 'memory.add_to_physmap',
    summary: "move an own page (gmfn) or map another domain's page (gmfn_foreign) at gpfn",
    keys: new Set(['domid', 'space', 'idx', 'gpfn', 'foreign_domid']),
    parse(r) {
      const space = r.choice('space', ['gmfn', 'gmfn_foreign'] as const);
      const a: AddToPhysmapArgs = { domid: DOMID(r), space, idx: r.frame('idx'), gpfn: r.frame('gpfn') };
      if (space === 'gmfn_foreign') a.foreign_domid = r.domid('foreign_domid');
      else if (r.has('foreign_domid')) r.bad(['foreign_domid'], '`foreign_domid` only goes with `space: gmfn_foreign`');
      return a;
    },
    run: addToPhysmap,
  }),
  defineOp<RemoveFromPhysmapArgs>({
    name: 'memory.remove_from_physmap',
    summary: 'remove the page at gpfn from a translated domain’s p2m',
    keys: new Set(['domid', 'gpfn']),
    parse: (r) => ({ domid: DOMID(r), gpfn: r.frame('gpfn') }),
    run: removeFromPhysmap,
  }),
  defineOp<TranslateArgs>({
    name: 'memory.translate',
    summary: 'gfn → raw mfn query (XenGT XENMEM_get_mfn_from_pfn): no reference held',
    keys: new Set(['domid', 'gfns']),
    parse: (r) => ({ domid: DOMID(r), gfns: r.frames('gfns') }),
    run: translate,
  }),
];
