/**
 * Grant-table mappings (`HYPERVISOR_grant_table_op`, xen/common/grant_table.c `map_grant_ref` /
 * `unmap_common`, xen/arch/x86/hvm/grant_table.c `create_grant_p2m_mapping`), reference/xen-model.md §5.
 *
 * The grant table is modelled implicitly: a grant is "`granter` grants its `gfn`" (for a PV granter
 * the gfn is an MFN it owns). Each mapping holds one page reference until it is unmapped, so a page
 * the granter balloons out stays allocated (and still belongs to the granter) while mapped.
 * Statuses are GNTST_* codes; the hypercall itself returns 0.
 */
import type { CallResult, OpContext } from './types.js';
import { defineOp } from './types.js';
import { GNTST, gnt } from './errno.js';
import { domainById, isHardwareDomain, isSpecialType, queryGfn, stateOf, type GrantMapping } from './mm.js';
import { hex } from '../config/units.js';
import type { DomainModel, IommuContext, Machine } from '../model/types.js';
import { getRef, pageAt, putRef } from '../model/pages.js';
import { isTranslated, p2mLookup, p2mRemove, p2mSet } from '../model/p2m.js';
import { iommuMap, iommuUnmap, makeEntry } from '../model/iommu.js';

export const GNTMAP_device_map = 1 << 0;
export const GNTMAP_host_map = 1 << 1;
export const GNTMAP_readonly = 1 << 2;
export const GNT_FLAG_NAMES: Readonly<Record<string, number>> = {
  device_map: GNTMAP_device_map,
  host_map: GNTMAP_host_map,
  readonly: GNTMAP_readonly,
};

export interface GrantMapArgs {
  granter: number;
  gfn: number;
  flags: number;
  host_gfn?: number;
}

/**
 * `gnttab_need_iommu_mapping(ld)`: a PV mapper whose IOMMU is kept in step with its pages — a PV
 * guest with passthrough, or a strict PV hardware domain (a relaxed one maps all RAM already).
 */
function needIommuMapping(m: Machine, d: DomainModel): IommuContext | undefined {
  if (isTranslated(d) || !d.iommu || d.iommu.mode !== 'table') return undefined;
  if (isHardwareDomain(m, d) && m.iommu.dom0 !== 'strict') return undefined;
  return d.iommu;
}

/** GNTTABOP_map_grant_ref (grant_table.c `map_grant_ref`), checks in its order. */
export function grantMap(ctx: OpContext, a: GrantMapArgs): CallResult {
  const m = ctx.machine;
  const ld = ctx.caller;
  const dev = (a.flags & GNTMAP_device_map) !== 0;
  const host = (a.flags & GNTMAP_host_map) !== 0;
  const ro = (a.flags & GNTMAP_readonly) !== 0;
  // At least one of device_map / host_map → else GNTST_bad_gntref.
  if (!dev && !host) return gnt(GNTST.GNTST_bad_gntref!);
  // "No device mapping in HVM domain": a translated mapper with device_map → GNTST_general_error.
  if (isTranslated(ld) && dev) return gnt(GNTST.GNTST_general_error!);
  // rcu_lock_domain_by_id(op->dom) → GNTST_bad_domain.
  const rd = domainById(m, a.granter);
  if (!rd) return gnt(GNTST.GNTST_bad_domain!);
  // (XSM grant_mapref: XSM_HOOK, always allowed; maptrack handles are not limited here.)
  // get_paged_frame → check_get_page_from_gfn(P2M_ALLOC, or P2M_UNSHARE when writable): a paged-out
  // frame, or a CoW-shared one to be written, is GNTST_eagain (Xen starts the page-in or unshare);
  // a broken frame has no page. The granted frame must be a page of the granter: else
  // GNTST_bad_page. (A paged-out gfn has no frame: its type is looked at only then.)
  const r = queryGfn(m, rd, a.gfn);
  if (r === undefined && isTranslated(rd) && p2mLookup(rd, a.gfn)?.type === 'ram_paged') return gnt(GNTST.GNTST_eagain!);
  if (r?.type === 'ram_shared' && !ro) return gnt(GNTST.GNTST_eagain!);
  if (r?.type === 'ram_broken') return gnt(GNTST.GNTST_bad_page!);
  const page = r ? pageAt(m, r.mfn) : undefined;
  if (!r || !page || page.owner !== rd.domid || !page.allocated || isSpecialType(r.type)) return gnt(GNTST.GNTST_bad_page!);
  const mfn = r.mfn;
  const mapping: GrantMapping = { handle: 0, mapper: ld.domid, granter: rd.domid, gfn: a.gfn, mfn, readonly: ro, deviceMap: dev, hostMap: host };
  if (isTranslated(ld)) {
    // create_grant_p2m_mapping at host_addr >> 12 with p2m_grant_map_rw/ro (mirrored in the IOMMU).
    if (a.host_gfn === undefined) return gnt(GNTST.GNTST_bad_virt_addr!);
    const prev = p2mLookup(ld, a.host_gfn);
    if (prev && isSpecialType(prev.type)) return gnt(GNTST.GNTST_general_error!); // p2m_add_page: -EPERM
    if (!getRef(m, mfn)) return gnt(GNTST.GNTST_bad_page!);
    p2mSet(m, ld, a.host_gfn, 1, mfn, ro ? 'grant_map_ro' : 'grant_map_rw');
    mapping.hostGfn = a.host_gfn;
  } else {
    if (!getRef(m, mfn)) return gnt(GNTST.GNTST_bad_page!);
    // PV mapper with a synced IOMMU (and not mapping its own page): identity DFN = MFN, refcounted
    // per MFN with separate read / write counts.
    const c = ld !== rd ? needIommuMapping(m, ld) : undefined;
    if (c) {
      const e = c.table.raw(mfn); // (origin and counts only: no shifted copy)
      if (!e) {
        iommuMap(m, c, mfn, mfn, 1, { r: true, w: !ro, origin: 'grant', ref: false, grantReaders: ro ? 1 : 0, grantWriters: ro ? 0 : 1 });
        mapping.iommu = c;
      } else if (e.origin === 'grant') {
        const readers = (e.grantReaders ?? 0) + (ro ? 1 : 0);
        const writers = (e.grantWriters ?? 0) + (ro ? 0 : 1);
        c.table.set(mfn, mfn, makeEntry(mfn, true, writers > 0, 'grant', { grantReaders: readers, grantWriters: writers }));
        mapping.iommu = c;
      }
      // Another kind of entry already at DFN = MFN: left as it is.
    }
  }
  const st = stateOf(m);
  const handle = st.nextHandle.get(ld.domid) ?? 0;
  st.nextHandle.set(ld.domid, handle + 1);
  mapping.handle = handle;
  let mine = st.grants.get(ld.domid);
  if (!mine) st.grants.set(ld.domid, (mine = new Map()));
  mine.set(handle, mapping);
  const out: Record<string, string | number> = { handle };
  if (dev && !isTranslated(ld)) {
    // dev_bus_addr: the frame's machine address (meaningful for PV mappers).
    out.dev_bus_addr = hex(BigInt(mfn) * 4096n);
    out.mfn = hex(mfn);
  }
  return gnt(0, out);
}

export interface GrantUnmapArgs {
  handle: number;
}

/** GNTTABOP_unmap_grant_ref (grant_table.c `unmap_common`): reverses exactly one map. */
export function grantUnmap(ctx: OpContext, a: GrantUnmapArgs): CallResult {
  const m = ctx.machine;
  const mine = stateOf(m).grants.get(ctx.caller.domid);
  const g = mine?.get(a.handle);
  // A handle not in the caller's maptrack → GNTST_bad_handle.
  if (!g || !mine) return gnt(GNTST.GNTST_bad_handle!);
  releaseGrant(m, g);
  mine.delete(a.handle);
  return gnt(0);
}

/** Undo one grant mapping: its p2m entry or IOMMU count, then its page reference. */
export function releaseGrant(m: Machine, g: GrantMapping): void {
  const ld = m.domains.get(g.mapper);
  if (ld && g.hostGfn !== undefined) {
    const e = p2mLookup(ld, g.hostGfn);
    if (e && e.mfn === g.mfn && (e.type === 'grant_map_rw' || e.type === 'grant_map_ro')) p2mRemove(m, ld, g.hostGfn, 1);
  }
  const c = g.iommu;
  if (c) {
    const e = c.table.raw(g.mfn); // (origin and counts only: no shifted copy)
    if (e && e.origin === 'grant') {
      const readers = Math.max(0, (e.grantReaders ?? 0) - (g.readonly ? 1 : 0));
      const writers = Math.max(0, (e.grantWriters ?? 0) - (g.readonly ? 0 : 1));
      // Last reference → unmap; last writer gone but readers remain → downgrade to R.
      if (readers + writers === 0) iommuUnmap(m, c, g.mfn, 1);
      else c.table.set(g.mfn, g.mfn, makeEntry(g.mfn, true, writers > 0, 'grant', { grantReaders: readers, grantWriters: writers }));
    }
  }
  putRef(m, g.mfn);
}

export const GRANT_OPS = [
  defineOp<GrantMapArgs>({
    name: 'grant.map',
    summary: "map a page the granter grants (device_map / host_map / readonly); out.handle",
    keys: new Set(['granter', 'gfn', 'flags', 'host_gfn']),
    parse(r) {
      const a: GrantMapArgs = { granter: r.domid('granter'), gfn: r.frame('gfn'), flags: r.flags('flags', GNT_FLAG_NAMES, 32) };
      const hg = r.optFrame('host_gfn');
      if (hg !== undefined) a.host_gfn = hg;
      return a;
    },
    run: grantMap,
  }),
  defineOp<GrantUnmapArgs>({
    name: 'grant.unmap',
    summary: 'unmap one grant mapping by handle',
    keys: new Set(['handle']),
    parse: (r) => ({ handle: r.int('handle', 0, 0xffffffff) }),
    run: grantUnmap,
  }),
];
