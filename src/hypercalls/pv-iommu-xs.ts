/**
 * The PV-IOMMU hypercall, XenServer ABI ("xs": Crossley/Durrant design, XenServer patch queue
 * `add-pv-iommu-local-domain-ops.patch` + `add-pv-iommu-foreign-support.patch`, xen/common/pv_iommu.c
 * `do_iommu_op` / `iommu_op`). reference/pv-iommu.md §2.
 *
 * One hypercall carries an array of ops, each with its own status; the hypercall itself returns 0
 * unless the caller is not the hardware domain (ENOSYS) or the count is negative (EINVAL).
 * The intended behaviour is implemented, not the quirks of pv-iommu.md §9: the page-order field is
 * bits 10–15 (not Q1's 0xc400), map_foreign_page accepts ordinary guest RAM (not Q2), a second
 * map_foreign_page of a page maps the new BFN (not Q4), and every mapping's reference follows the
 * mapping itself (unmap drops what map took, whatever `no_ref_cnt` says at unmap time).
 *
 * Foreign references: `lookup_foreign_page` pins a page once (`_PGC_foreign_map`, at most one pin
 * per page; its BFN is the fixed foreign window, mfn + offset); `map_foreign_page` makes an IOMMU
 * entry at the caller's BFN that holds its own page reference. `unmap_foreign_page` releases the
 * pin (window BFN, or a raw MFN when the PV-IOMMU is not usable) or the map_foreign entry.
 */
import { ArgReader, asObject } from './args.js';
import type { CallResult, OpContext, Out, OutValue } from './types.js';
import { defineOp } from './types.js';
import { err, errnoName, NO_OUT } from './errno.js';
import { domainByAnyId, isHardwareDomain, mappedDfn, pageFromGfn, queryGfn, stateOf, xsmDmPriv } from './mm.js';
import type { PathSeg } from '../config/source.js';
import { hex } from '../config/units.js';
import type { DomainModel, Machine } from '../model/types.js';
import { DOMID_SELF, DOMID_XEN } from '../model/types.js';
import { iommuUnmap, makeEntry } from '../model/iommu.js';
import { getRef, isFrame, pageAt, pinPage, unpinPage } from '../model/pages.js';

// Subop ids (public/pv-iommu.h).
export const IOMMUOP_query_caps = 1;
export const IOMMUOP_map_page = 2;
export const IOMMUOP_unmap_page = 3;
export const IOMMUOP_map_foreign_page = 4;
export const IOMMUOP_lookup_foreign_page = 5;
export const IOMMUOP_unmap_foreign_page = 6;

export const XS_SUBOPS: Readonly<Record<string, number>> = {
  query_caps: IOMMUOP_query_caps,
  map_page: IOMMUOP_map_page,
  unmap_page: IOMMUOP_unmap_page,
  map_foreign_page: IOMMUOP_map_foreign_page,
  lookup_foreign_page: IOMMUOP_lookup_foreign_page,
  unmap_foreign_page: IOMMUOP_unmap_foreign_page,
};

// Flag bits (u16 `flags`).
export const IOMMU_OP_readable = 1 << 0;
export const IOMMU_OP_writeable = 1 << 1;
export const IOMMU_MAP_OP_no_ref_cnt = 1 << 2;
/** The page-order field: bits 10–15 (intended; the shipped mask `0xf1 << 10` is quirk Q1). */
export const IOMMU_page_order_shift = 10;
export const IOMMU_page_order_mask = 0x3f << IOMMU_page_order_shift;

export const XS_FLAG_NAMES: Readonly<Record<string, number>> = {
  read: IOMMU_OP_readable,
  readable: IOMMU_OP_readable,
  write: IOMMU_OP_writeable,
  writeable: IOMMU_OP_writeable,
  writable: IOMMU_OP_writeable,
  no_ref_cnt: IOMMU_MAP_OP_no_ref_cnt,
};

/** query_caps OUT flags, in bit order. */
const QUERY_FLAG_NAMES = ['map_cap', 'map_all_mfns'] as const;

/** One element of the op array (`struct pv_iommu_op`). */
export interface XsOp {
  subop: number;
  flags?: number;
  bfn?: number;
  gfn?: number;
  domid?: number;
  ioserver?: number;
}

export interface XsBatchArgs {
  ops: XsOp[];
  /** The hypercall's `count` (default ops.length); beyond the array → EFAULT, like a copy fault. */
  count?: number;
}

interface ElemResult {
  status: number;
  out?: Out;
}

const OK: ElemResult = { status: 0 };
const st = (name: string): ElemResult => ({ status: err(name) });

/**
 * `can_use_iommu_check(d)` (pv-iommu.md §2.3): IOMMU enabled and `d` has a context, `d` is the
 * hardware domain, not dom0-passthrough, a PV (not PVH) dom0, an Intel host, and the dom0 kernel
 * advertised the XS ELF note.
 */
export function xsUsable(m: Machine, d: DomainModel): boolean {
  return (
    m.iommu.enabled &&
    d.iommu !== undefined &&
    isHardwareDomain(m, d) &&
    m.iommu.dom0 !== 'passthrough' &&
    d.type === 'pv' &&
    m.vendor === 'intel' &&
    m.pvIommu.elfNote
  );
}

/** `do_iommu_op(arg, count)`: the whole hypercall. */
export function iommuOp(ctx: OpContext, args: XsBatchArgs): CallResult {
  const { machine: m, caller: d } = ctx;
  const count = args.count ?? args.ops.length;
  // The xs hypercall exists only when the host runs the xs ABI.
  if (ctx.abi !== 'xs') return hypercallFail('ENOSYS');
  // "Restrict to Dom0": any other caller gets -ENOSYS for the whole hypercall.
  if (!isHardwareDomain(m, d)) return hypercallFail('ENOSYS');
  if (count < 0) return hypercallFail('EINVAL');
  const statuses: number[] = [];
  const outs: Out[] = [];
  let rc = 0;
  for (let i = 0; i < count; i++) {
    const op = args.ops[i];
    if (op === undefined) {
      // copy_from_guest beyond the caller's array: -EFAULT, later elements not processed.
      rc = err('EFAULT');
      break;
    }
    const r = iommuOpElement(ctx, op, ['ops', i]);
    statuses.push(r.status);
    outs.push(r.out ?? {});
  }
  const status = rc < 0 ? rc : 0;
  return { rc, status, errno: errnoName(status), statuses, errnos: statuses.map(errnoName), out: { ops: outs as OutValue[] } };
}

function hypercallFail(name: string): CallResult {
  const s = err(name);
  return { rc: s, status: s, errno: name, statuses: [], errnos: [], out: {} };
}

/** `iommu_op(op)`: one element, checks in pv_iommu.c's order. */
/** `at`: the element's path in the call (findings about its `bfn` point there). */
export function iommuOpElement(ctx: OpContext, op: XsOp, at: readonly PathSeg[] = []): ElemResult {
  const flags = op.flags ?? 0;
  // Only order-0 pages: any bit of the page-order field fails, before the subop switch (so for
  // query_caps too). Intended mask bits 10–15 (quirk Q1 would only look at bits 10, 14, 15).
  if ((flags & IOMMU_page_order_mask) !== 0) return st('ENOSPC');
  switch (op.subop) {
    case IOMMUOP_query_caps:
      return queryCaps(ctx);
    case IOMMUOP_map_page:
      return mapPage(ctx, op.bfn ?? 0, op.gfn ?? 0, flags, [...at, 'bfn']);
    case IOMMUOP_unmap_page:
      return unmapPage(ctx, op.bfn ?? 0, [...at, 'bfn']);
    case IOMMUOP_map_foreign_page:
      return mapForeignPage(ctx, op.bfn ?? 0, op.domid ?? DOMID_SELF, op.gfn ?? 0, flags, [...at, 'bfn']);
    case IOMMUOP_lookup_foreign_page:
      return lookupForeignPage(ctx, op.domid ?? DOMID_SELF, op.gfn ?? 0);
    case IOMMUOP_unmap_foreign_page:
      return unmapForeignPage(ctx, op.bfn ?? 0, [...at, 'bfn']);
    default:
      return st('ENODEV');
  }
}

/** IOMMUOP_query_caps. */
function queryCaps(ctx: OpContext): ElemResult {
  const { machine: m, caller: d } = ctx;
  if (!xsUsable(m, d)) return { status: 0, out: { flags: [] } };
  return { status: 0, out: { flags: [...QUERY_FLAG_NAMES], offset: hex(m.pvIommu.offset) } };
}

/** IOMMUOP_map_page (pv_iommu.c `iommu_op_map_page`). */
function mapPage(ctx: OpContext, bfn: number, gfn: number, flags: number, at: readonly PathSeg[]): ElemResult {
  const { machine: m, caller: d } = ctx;
  // 1. !can_use → -EPERM.
  if (!xsUsable(m, d)) return st('EPERM');
  const ctxt = d.iommu!;
  const noRef = (flags & IOMMU_MAP_OP_no_ref_cnt) !== 0;
  // 2. Resolve the frame: no_ref_cnt takes gfn as a raw MFN (unchecked, unreferenced: Xen trusts
  //    the hardware domain); otherwise get_paged_frame(gfn, d) — a PV dom0's gfn is an MFN it must
  //    own. Any failure → -EPERM.
  const mfn = gfn;
  if (!noRef) {
    const r = queryGfn(m, d, gfn);
    if (!r) return st('EPERM');
  }
  // 3. BFN already mapped in d's table → -EPERM (the only overlap check).
  const dfn = mappedDfn(ctx, bfn, 'map_page', at);
  if (dfn < 0) return st('EIO');
  if (ctxt.table.has(dfn)) return st('EPERM');
  // 4. Map with R/W from the flags (neither bit is refused: the entry then has no permission).
  const r = (flags & IOMMU_OP_readable) !== 0;
  const w = (flags & IOMMU_OP_writeable) !== 0;
  // (iommu_map of one frame at an unmapped DFN: the fast path of the model's iommuMap.)
  if (!noRef && !getRef(m, mfn)) return st('EPERM');
  // (setPoint: a frame mapped and soon unmapped again, as a driver does around each DMA, is held
  // aside instead of inserting an extent into the table and removing it again.)
  ctxt.table.setPoint(dfn, noRef ? makeEntry(mfn, r, w, 'map_page', { noRef: true }) : makeEntry(mfn, r, w, 'map_page', { ref: true }));
  if (noRef) {
    const o = ctx.origin;
    stateOf(m).raw.unreferenced(ctxt, dfn, mfn, pageAt(m, mfn)?.owner, o?.locate(), o?.index);
  }
  return OK;
}

/** IOMMUOP_unmap_page: no can_use check. */
function unmapPage(ctx: OpContext, bfn: number, at: readonly PathSeg[]): ElemResult {
  const { machine: m, caller: d } = ctx;
  const ctxt = d.iommu;
  const dfn = mappedDfn(ctx, bfn, 'unmap_page', at);
  // 1. Not mapped → -ENOENT. 2.–4. Unmap; the entry's own reference (if it holds one) is dropped.
  return ctxt !== undefined && dfn >= 0 && iommuUnmap(m, ctxt, dfn, 1) === 1 ? OK : st('ENOENT');
}

/** IOMMUOP_map_foreign_page (XS23 `iommu_op_map_foreign_page`). */
function mapForeignPage(ctx: OpContext, bfn: number, domid: number, gfn: number, flags: number, at: readonly PathSeg[]): ElemResult {
  const { machine: m, caller: d } = ctx;
  // 1. !can_use → -EPERM.
  if (!xsUsable(m, d)) return st('EPERM');
  // 2. Domain lookup (DOMID_SELF is the caller) → -ENXIO.
  const t = domainByAnyId(m, domid, d);
  if (!t) return st('ENXIO');
  // 3. Only HVM guests can be foreign-mapped: PV target → -EPERM.
  if (t.type === 'pv') return st('EPERM');
  // 4. Oneself → -EPERM.
  if (t === d) return st('EPERM');
  // 5. XSM DM_PRIV (caller is the target's device model, or the control domain) → -EPERM.
  if (!xsmDmPriv(m, d, t)) return st('EPERM');
  // 6. get_paged_frame(gfn, target) → -ENXIO unless it is RAM of the target's (not shared) or a
  //    foreign page it maps: absent, paged, shared, grant slots, MMIO all fail.
  const r = pageFromGfn(m, t, gfn, true);
  if (!r) return st('ENXIO');
  const page = pageAt(m, r.mfn)!;
  // 8. Validity: Xen's frames, and pages not in use by their owner (refcount < 2), are refused.
  //    (The shipped check also refuses PGC_allocated pages, i.e. all guest RAM: quirk Q2, not done.)
  if (page.owner === DOMID_XEN || !page.allocated) return st('EPERM');
  // 9. BFN in use → -EPERM.
  const dfn = mappedDfn(ctx, bfn, 'map_foreign_page', at);
  if (dfn < 0) return st('EIO');
  const ctxt = d.iommu!;
  if (ctxt.table.has(dfn)) return st('EPERM');
  // 10.–11. Map; the entry holds the page reference.
  getRef(m, r.mfn);
  ctxt.table.setPoint(dfn, makeEntry(r.mfn, (flags & IOMMU_OP_readable) !== 0, (flags & IOMMU_OP_writeable) !== 0, 'map_foreign', { ref: true }));
  return OK;
}

/** IOMMUOP_lookup_foreign_page (XS23 `iommu_op_lookup_foreign_page`). */
function lookupForeignPage(ctx: OpContext, domid: number, gfn: number): ElemResult {
  const { machine: m, caller: d } = ctx;
  // 1. The caller itself or DOMID_SELF → -EPERM (before the lookup).
  if (domid === DOMID_SELF || domid === d.domid) return st('EPERM');
  // 2. Lookup → -ENXIO.
  const t = domainByAnyId(m, domid, d);
  if (!t) return st('ENXIO');
  // 3. PV target → -EPERM.
  if (t.type === 'pv') return st('EPERM');
  // 4. XSM DM_PRIV → -EPERM.
  if (!xsmDmPriv(m, d, t)) return st('EPERM');
  // 5. get_paged_frame → -ENXIO (as in map_foreign_page).
  const r = pageFromGfn(m, t, gfn, true);
  if (!r) return st('ENXIO');
  const page = pageAt(m, r.mfn)!;
  // 6. Not allocated / not in use → -EPERM.
  if (page.owner === DOMID_XEN || !page.allocated) return st('EPERM');
  // 7. Pin once (_PGC_foreign_map): repeated lookups keep one pin.
  if (!page.pinned) pinPage(m, r.mfn);
  // 8. The bus address: the foreign window when usable, else the raw MFN.
  const bfn = xsUsable(m, d) ? r.mfn + m.pvIommu.offset : r.mfn;
  return { status: 0, out: { bfn: hex(bfn) } };
}

/** IOMMUOP_unmap_foreign_page (XS23 `iommu_op_unmap_foreign_page`). */
function unmapForeignPage(ctx: OpContext, bfn: number, at: readonly PathSeg[]): ElemResult {
  const { machine: m, caller: d } = ctx;
  const usable = xsUsable(m, d);
  // 1. Find the page: without can_use the BFN is an MFN; otherwise look it up in d's table.
  if (!usable) {
    // 2.–3. No page, or no pin → -ENOENT.
    if (!isFrame(bfn) || !pageAt(m, bfn)?.pinned) return st('ENOENT');
    unpinPage(m, bfn);
    return OK;
  }
  const ctxt = d.iommu!;
  const dfn = mappedDfn(ctx, bfn, 'unmap_foreign_page', at);
  const e = dfn < 0 ? undefined : ctxt.table.raw(dfn);
  if (!e) return st('ENOENT');
  const mfn = e.base + (dfn - ctxt.table.rawStart);
  const page = pageAt(m, mfn);
  if (!page) return st('ENOENT');
  if (e.origin === 'map_foreign') {
    // A map_foreign_page mapping: unmap it, which drops the reference it holds.
    iommuUnmap(m, ctxt, dfn, 1);
    return OK;
  }
  // 4. The permanent foreign window (bfn == mfn + offset): release the pin, no IOMMU unmap.
  if (e.origin === 'window' && dfn === mfn + m.pvIommu.offset) {
    return unpinPage(m, mfn) ? OK : st('ENOENT');
  }
  // Any other mapping is not a foreign mapping.
  return st('ENOENT');
}

// ---------------------------------------------------------------------------------------------
// Argument reading and op specs.

const ELEMENT_KEYS: Readonly<Record<number, readonly string[]>> = {
  [IOMMUOP_query_caps]: [],
  [IOMMUOP_map_page]: ['bfn', 'gfn'],
  [IOMMUOP_unmap_page]: ['bfn'],
  [IOMMUOP_map_foreign_page]: ['bfn', 'domid', 'gfn', 'ioserver'],
  [IOMMUOP_lookup_foreign_page]: ['domid', 'gfn', 'ioserver'],
  [IOMMUOP_unmap_foreign_page]: ['bfn', 'ioserver'],
};
const ALL_ELEMENT_KEYS = ['bfn', 'gfn', 'domid', 'ioserver'];
const withRefs = (keys: readonly string[]) => (keys.includes('bfn') ? [...keys, 'bfn_of', 'mfn_of'] : keys);
const KEY_SETS = new Map<number, ReadonlySet<string>>(
  Object.entries(ELEMENT_KEYS).map(([k, v]) => [Number(k), new Set(['flags', 'page_order', ...withRefs(v)])]),
);
const UNKNOWN_SUBOP_KEYS: ReadonlySet<string> = new Set(['flags', 'page_order', ...ALL_ELEMENT_KEYS]);

/** Read the fields of one element (subop already known) from `r`. */
function readElement(r: ArgReader, subop: number): XsOp {
  // (Every field from the start: one shape for every element, whichever fields it has.)
  const op: XsOp = { subop, flags: undefined, bfn: undefined, gfn: undefined, domid: undefined, ioserver: undefined };
  const keys = ELEMENT_KEYS[subop] ?? ALL_ELEMENT_KEYS;
  for (const k of keys) {
    if (k === 'domid') op.domid = r.domid('domid', keys === ALL_ELEMENT_KEYS ? DOMID_SELF : undefined);
    else if (k === 'ioserver') op.ioserver = r.int('ioserver', 0, 0xffff, 0);
    else if (keys === ALL_ELEMENT_KEYS) {
      const v = r.optFrame(k);
      if (v !== undefined) op[k as 'bfn' | 'gfn'] = v;
    } else if (k === 'bfn') op.bfn = r.bfn('bfn');
    else op.gfn = r.frame(k);
  }
  let flags = r.flags('flags', XS_FLAG_NAMES, 16);
  if (r.has('page_order')) {
    const order = r.int('page_order', 0, 0x3f);
    flags |= order << IOMMU_page_order_shift;
  }
  op.flags = flags;
  return op;
}

function subopOf(r: ArgReader, v: unknown, at: (string | number)[]): number | undefined {
  if (typeof v === 'string' && Object.prototype.hasOwnProperty.call(XS_SUBOPS, v)) return XS_SUBOPS[v];
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff) return v; // unknown ids → -ENODEV
  r.bad(at, v === undefined ? `an iommu.op element needs \`subop\`, one of ${Object.keys(XS_SUBOPS).join(', ')} (or a number)` : `\`subop\` ${JSON.stringify(v)} is not an xs PV-IOMMU subop; use one of ${Object.keys(XS_SUBOPS).join(', ')} (or a number)`);
  return undefined;
}

/** `op: iommu.op` with `ops: [{subop, …}, …]`. */
export const xsBatchOp = defineOp<XsBatchArgs>({
  name: 'iommu.op',
  abi: 'xs',
  summary: 'xs PV-IOMMU hypercall with an array of subops (per-element statuses)',
  keys: new Set(['ops', 'count']),
  parse(r) {
    const raw = r.get('ops');
    const ops: XsOp[] = [];
    if (!Array.isArray(raw)) {
      r.bad(raw === undefined ? [] : ['ops'], 'iommu.op needs `ops`, a list of {subop, …} elements');
    } else {
      raw.forEach((el, j) => {
        const o = asObject(el);
        if (!o) {
          r.bad(['ops', j], `element ${j} of \`ops\` must be a mapping {subop, …}`);
          return;
        }
        const er = new ArgReader(r.m, o, `iommu.op element ${j}`, ['ops', j], r.issues);
        if (r.earlier) er.earlier = r.earlier;
        const subop = subopOf(er, o.subop, ['subop']);
        if (subop === undefined) return;
        ops.push(readElement(er, subop));
        er.finish(KEY_SETS.get(subop) ?? UNKNOWN_SUBOP_KEYS, SUBOP_KEY);
      });
    }
    const args: XsBatchArgs = { ops };
    // `unsigned int count` in the ABI, which Xen reads as an int: 0x80000000..0xffffffff are the
    // negative counts it refuses (EINVAL), as a negative written as such is.
    if (r.has('count')) {
      const c = r.int('count', -0x80000000, 0xffffffff);
      args.count = c > 0x7fffffff ? c - 0x100000000 : c;
    }
    return args;
  },
  run: iommuOp,
});

const SUBOP_KEY: ReadonlySet<string> = new Set(['subop']);

/** Single-element call forms: `op: iommu.map_page` etc. */
function singleOp(name: keyof typeof XS_SUBOPS, summary: string) {
  const subop = XS_SUBOPS[name]!;
  return defineOp<XsOp>({
    name: `iommu.${name}`,
    abi: 'xs',
    summary,
    keys: KEY_SETS.get(subop)!,
    parse: (r) => readElement(r, subop),
    run(ctx, op) {
      // do_iommu_op with count 1 (same checks as iommuOp, without the batch bookkeeping).
      if (ctx.abi !== 'xs' || !isHardwareDomain(ctx.machine, ctx.caller)) return { rc: -38, status: -38, errno: 'ENOSYS', out: {} };
      const r = iommuOpElement(ctx, op);
      return { rc: 0, status: r.status, errno: r.status === 0 ? 'OK' : errnoName(r.status), out: r.out ?? NO_OUT };
    },
  });
}

export const XS_OPS = [
  xsBatchOp,
  singleOp('query_caps', 'xs: capabilities (map_cap, map_all_mfns) and the foreign window offset'),
  singleOp('map_page', "xs: map one of the caller's frames (or a raw MFN with no_ref_cnt) at a BFN"),
  singleOp('unmap_page', 'xs: unmap a BFN of the caller'),
  singleOp('map_foreign_page', "xs: map a guest's frame at a BFN of the caller (reference held)"),
  singleOp('lookup_foreign_page', "xs: BFN of a guest's frame in the foreign window (pinned once)"),
  singleOp('unmap_foreign_page', 'xs: release a foreign pin or a map_foreign_page mapping'),
];
