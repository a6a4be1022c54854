/**
 * IOMMU contexts: DFN (bus frame) → MFN translation tables, what a device's DMA reaches, and which
 * DMA addresses reach a given page (xen/drivers/passthrough/{iommu.c, vtd/iommu.c, amd/iommu_map.c}).
 *
 * A context's `table` is an ExtentMap of linear IommuEntry payloads: dfn range → mfn range with
 * permissions. DFNs at or above 2^(address_width − 12) do not exist and are never stored; a lookup
 * of one wraps (VT-d masks the address to the width) or faults (AMD).
 */
import { ExtentMap, constant, linear, type PayloadOps } from './extents.js';
import { getRef, isFrame, putRef } from './pages.js';
import type { ContextMode, DeviceModel, DomId, EntryOrigin, IommuContext, IommuEntry, Machine } from './types.js';
import { DOMID_IO } from './types.js';
import { formatBdf, framesBelow, parseBdf } from '../config/units.js';

/** Number of DFNs a context can hold: 2^(address_width − 12) (frames beyond do not exist). */
export function iommuWidthFrames(m: Machine): number {
  return framesBelow(m.iommu.address_width);
}

/**
 * Every field of an IommuEntry (a new field fails to compile here until IOMMU_OPS compares it,
 * and `makeEntry` — which also makes IOMMU_OPS's shifted copies — sets it). Entries are built by
 * `makeEntry`, which sets an optional field only to a defined value.
 */
const ENTRY_FIELDS: Record<keyof IommuEntry, true> = {
  base: true,
  r: true,
  w: true,
  origin: true,
  ref: true,
  noRef: true,
  grantReaders: true,
  grantWriters: true,
  follows: true,
};
void ENTRY_FIELDS;

/**
 * Payload ops of an IOMMU table: linear (dfn d of an extent maps to base + (d − start));
 * neighbours join when the mfns continue and every other field is equal — `linear()`'s default
 * rule, field by field instead of listing keys (an optional field is absent or defined, never
 * undefined).
 */
export const IOMMU_OPS: PayloadOps<IommuEntry> = linear<IommuEntry>(
  (a, b) =>
    a.r === b.r &&
    a.w === b.w &&
    a.origin === b.origin &&
    a.ref === b.ref &&
    a.noRef === b.noRef &&
    a.grantReaders === b.grantReaders &&
    a.grantWriters === b.grantWriters &&
    a.follows === b.follows,
  // (a shifted copy made as every entry is, by makeEntry: the same fields, in the same order)
  (v, base) => makeEntry(base, v.r, v.w, v.origin, v),
);

/** A new, empty context. */
export function newContext(id: string, domid: DomId, mode: ContextMode, ctxNo = 0): IommuContext {
  return {
    id,
    domid,
    ctxNo,
    mode,
    table: new ExtentMap<IommuEntry>(IOMMU_OPS),
    devices: new Set<string>(),
    reserved: new ExtentMap<true>(constant),
  };
}

/**
 * An IommuEntry in canonical form (no undefined-valued keys), so that equal entries merge.
 * `extra` may carry ref / noRef / follows / grant counts.
 */
export function makeEntry(
  base: number,
  r: boolean,
  w: boolean,
  origin: EntryOrigin,
  extra: Partial<Omit<IommuEntry, 'base' | 'r' | 'w' | 'origin'>> = {},
): IommuEntry {
  const e: IommuEntry = { base, r, w, origin, ref: extra.ref ?? false };
  if (extra.noRef !== undefined) e.noRef = extra.noRef;
  if (extra.grantReaders !== undefined) e.grantReaders = extra.grantReaders;
  if (extra.grantWriters !== undefined) e.grantWriters = extra.grantWriters;
  if (extra.follows) e.follows = true;
  return e;
}

/**
 * Store `entry` at [dfn, end] of `ctx`, clipped to the IOMMU address width (BFNs beyond it do
 * not exist). No reference bookkeeping. Returns the number of frames stored.
 */
export function setEntries(m: Machine, ctx: IommuContext, dfn: number, end: number, entry: IommuEntry): number {
  const last = Math.min(end, iommuWidthFrames(m) - 1);
  if (!isFrame(dfn) || dfn > last) return 0;
  ctx.table.set(dfn, last, entry);
  return last - dfn + 1;
}

/** Every context of the machine: domains' default and ta contexts, quarantine contexts, the no-IOMMU bypass. */
export function allContexts(m: Machine): IommuContext[] {
  const out: IommuContext[] = [];
  for (const d of m.domains.values()) {
    if (d.iommu) out.push(d.iommu);
    for (const c of d.ta.contexts.values()) if (c !== d.iommu) out.push(c);
  }
  for (const dev of m.devices.values()) if (dev.quarantine) out.push(dev.quarantine);
  if (m.bypass) out.push(m.bypass);
  return out;
}

/** The Device of a BDF (any spelling; a phantom function resolves to its real function). */
export function deviceOf(m: Machine, bdf: string): DeviceModel | undefined {
  const canonical = canonicalBdf(bdf);
  if (canonical === null) return undefined;
  return m.devices.get(m.phantoms.get(canonical) ?? canonical);
}

function canonicalBdf(bdf: string): string | null {
  let canonical = CANONICAL_BDF.get(bdf);
  if (canonical === undefined) {
    const p = parseBdf(bdf);
    canonical = p.ok ? formatBdf(p.value) : null;
    if (CANONICAL_BDF.size >= 4096) CANONICAL_BDF.clear();
    CANONICAL_BDF.set(bdf, canonical);
  }
  return canonical;
}

/**
 * The Device that is the function at a BDF (`pci_get_pdev`): as `deviceOf`, but a phantom
 * function has no pdev of its own (undefined) — the ops that take a device from the caller
 * (assign, deassign, reattach) refuse it, while its DMA still goes through the real function.
 */
export function pdevOf(m: Machine, bdf: string): DeviceModel | undefined {
  const canonical = canonicalBdf(bdf);
  return canonical === null ? undefined : m.devices.get(canonical);
}

/** BDF spelling → canonical BDF (null: not a BDF); parsing is pure, so it is remembered. */
const CANONICAL_BDF = new Map<string, string | null>();

/**
 * The context a device's DMA is translated by (Xen: the domain's page tables that the device's
 * context entry points at, `DEVICE_PGTABLE`): its owner's context — with the ta ABI the one it is
 * attached to (`ctxNo`) — or its own quarantine context while owned by DOMID_IO, or the bypass
 * context when the host IOMMU is off. Undefined: no translation possible (unknown device, or an
 * owner without an IOMMU context): every DMA faults.
 */
export function contextOfDevice(m: Machine, bdf: string): IommuContext | undefined {
  const dev = deviceOf(m, bdf);
  if (!dev) return undefined;
  if (m.bypass) return m.bypass;
  if (dev.owner === DOMID_IO) return dev.quarantine;
  const d = m.domains.get(dev.owner);
  if (!d) return undefined;
  return dev.ctxNo === 0 ? d.iommu : d.ta.contexts.get(dev.ctxNo);
}

/**
 * Take a device (and its phantom functions) out of context `c`. A ta context (ctx_no > 0) then
 * loses the device's RMRR identity maps that no device left in it also has: ta's
 * `intel_iommu_reattach` / `intel_iommu_dettach` call `intel_iommu_unmap_dev_rmrr(prev_ctx)` when
 * `prev_ctx->id != 0`. (A domain's default context keeps them, as Xen's does.)
 */
export function detachDevice(m: Machine, c: IommuContext, dev: DeviceModel): void {
  c.devices.delete(dev.bdf);
  for (const p of dev.phantoms) c.devices.delete(p);
  if (c.ctxNo === 0 || dev.cfg.rmrr.length === 0) return;
  const kept = new ExtentMap<true>(constant);
  for (const bdf of c.devices) {
    const other = deviceOf(m, bdf);
    if (other && other !== dev) for (const r of other.cfg.rmrr) kept.set(r.start, r.end, true);
  }
  for (const r of dev.cfg.rmrr) {
    for (const g of [...kept.gaps(r.start, r.end)]) {
      c.reserved.delete(g.start, g.end);
      iommuUnmap(m, c, g.start, g.end - g.start + 1);
    }
  }
}

/**
 * Whether a device's RMRRs can be identity-mapped in ta context `c` (`intel_iommu_map_identity`):
 * every frame of them is unmapped or already mapped 1:1 (an RMRR another device of the context
 * shares); a frame mapped to anything else refuses the attach (-EINVAL).
 */
export function rmrrsFit(c: IommuContext, dev: DeviceModel): boolean {
  for (const r of dev.cfg.rmrr) {
    for (const e of c.table.overlapping(r.start, r.end)) if (e.value.base !== e.start) return false;
  }
  return true;
}

/**
 * Put a device (and its phantom functions) in context `c`, its RMRRs reserved there; in a ta
 * context (ctx_no > 0) their unmapped frames are identity-mapped (`rmrrsFit` first), and so they
 * are in a quarantine context (Xen 4.17+ quarantine page tables keep a device's RMRR mappings:
 * "may not be left disconnected from the mappings of these regions").
 */
export function attachDevice(m: Machine, c: IommuContext, dev: DeviceModel): void {
  c.devices.add(dev.bdf);
  for (const p of dev.phantoms) c.devices.add(p);
  for (const r of dev.cfg.rmrr) {
    c.reserved.set(r.start, r.end, true);
    if (c.ctxNo === 0 && c.domid !== DOMID_IO) continue;
    for (const g of [...c.table.gaps(r.start, r.end)]) setEntries(m, c, g.start, g.end, makeEntry(g.start, true, true, 'config'));
  }
}

/**
 * A quarantine context for a device moved to DOMID_IO (Xen: `iommu_quarantine_dev_init`; each
 * quarantined device gets its own page table): empty ('table': DMA faults) or, with
 * `quarantine: scratch-page`, every DMA reaching the Xen-owned scratch page.
 */
export function quarantineContext(m: Machine, bdf: string): IommuContext {
  const scratch = m.iommu.quarantine === 'scratch-page' && m.scratchMfn !== undefined;
  return newContext(`quarantine:${bdf}`, DOMID_IO, scratch ? 'scratch' : 'table');
}

export interface IommuLookupResult {
  /** The machine frame reached, or −1 on a fault. */
  mfn: number;
  r: boolean;
  w: boolean;
  /**
   * The table entry used (mode 'table'), as stored: its `base` is the MFN of its extent's first
   * DFN, which may lie below the one looked up (`mfn` is the frame reached).
   */
  entry?: IommuEntry;
  /** VT-d: the DFN was beyond the address width and was masked to a low one (an alias). */
  wrapped?: boolean;
  fault?: 'unmapped' | 'beyond-width';
}

const FAULT = (fault: 'unmapped' | 'beyond-width', wrapped?: boolean): IommuLookupResult =>
  wrapped ? { mfn: -1, r: false, w: false, wrapped, fault } : { mfn: -1, r: false, w: false, fault };

/**
 * Translate one DFN through a context (the IOMMU page walk). 'passthrough': DFN = MFN, RW.
 * 'scratch': every DFN reaches the scratch page. 'table': the entry, or fault 'unmapped'.
 * A DFN ≥ 2^(address_width − 12): VT-d masks it to the width (`addr_to_dma_page_maddr`) and reports
 * `wrapped`; AMD faults 'beyond-width' (its page-table levels cannot represent it).
 */
export function iommuLookup(m: Machine, ctx: IommuContext, dfn: number): IommuLookupResult {
  if (!isFrame(dfn)) return FAULT('beyond-width');
  if (ctx.mode === 'passthrough') return { mfn: dfn, r: true, w: true };
  let wrapped = false;
  const width = iommuWidthFrames(m);
  if (dfn >= width) {
    if (m.vendor === 'amd') return FAULT('beyond-width');
    dfn = dfn % width;
    wrapped = true;
  }
  // (a scratch-page quarantine context still maps its device's RMRRs 1:1: those entries first)
  if (ctx.mode === 'scratch' && !ctx.table.has(dfn)) {
    if (m.scratchMfn === undefined) return FAULT('unmapped', wrapped);
    return wrapped ? { mfn: m.scratchMfn, r: true, w: true, wrapped } : { mfn: m.scratchMfn, r: true, w: true };
  }
  // (`raw`: the stored entry, its base moved by hand rather than a shifted copy made)
  const entry = ctx.table.raw(dfn);
  if (!entry) return FAULT('unmapped', wrapped);
  const res: IommuLookupResult = { mfn: entry.base + (dfn - ctx.table.rawStart), r: entry.r, w: entry.w, entry };
  if (wrapped) res.wrapped = true;
  return res;
}

/**
 * Map [dfn, dfn + count) → [mfn, mfn + count) in `ctx` (Xen: `iommu_map`). Whatever was mapped
 * there is unmapped first (its references dropped). With `e.ref` each frame takes one page reference
 * (`get_page`); if that fails (a frame is free or not host RAM) nothing changes and 0 is returned.
 * Frames beyond the address width are not stored (AMD: the map fails, `-EFAULT`; VT-d would alias —
 * callers decide what to report). Validity checks (EADDRINUSE, ownership, …) are the caller's.
 * Returns the number of frames mapped.
 */
export function iommuMap(
  m: Machine,
  ctx: IommuContext,
  dfn: number,
  mfn: number,
  count: number,
  e: Omit<IommuEntry, 'base'>,
): number {
  if (!isFrame(dfn) || !isFrame(mfn) || !Number.isInteger(count) || count < 1) return 0;
  const n = Math.min(count, iommuWidthFrames(m) - dfn);
  if (n < 1) return 0;
  if (e.ref && !getRef(m, mfn, n)) return 0;
  iommuUnmap(m, ctx, dfn, n);
  const { r, w, origin, ...extra } = e;
  ctx.table.set(dfn, dfn + n - 1, makeEntry(mfn, r, w, origin, extra));
  return n;
}

/**
 * Unmap [dfn, dfn + count) in `ctx` (Xen: `iommu_unmap`), dropping the page reference of every
 * unmapped frame whose entry holds one (`put_page`). Returns the number of frames that were mapped.
 */
export function iommuUnmap(m: Machine, ctx: IommuContext, dfn: number, count: number): number {
  if (!isFrame(dfn) || !Number.isInteger(count) || count < 1) return 0;
  const end = Math.min(dfn + count - 1, iommuWidthFrames(m) - 1);
  if (end < dfn) return 0;
  if (end === dfn) {
    // One frame (an unmap of a trace, call after call): a look-up, no range walk (and not `get`,
    // which would write in the points held over the whole extent around the frame).
    const v = ctx.table.raw(dfn);
    if (v === undefined) return 0;
    const mfn = v.base + (dfn - ctx.table.rawStart);
    ctx.table.delete(dfn, dfn);
    if (v.ref) putRef(m, mfn, 1);
    return 1;
  }
  let n = 0;
  const held: { mfn: number; len: number }[] = [];
  for (const x of ctx.table.overlapping(dfn, end)) {
    const len = x.end - x.start + 1;
    n += len;
    if (x.value.ref) held.push({ mfn: x.value.base, len });
  }
  // (One delete of the range: what deleting each extent found does, in one edit.)
  if (n > 0) ctx.table.delete(dfn, end);
  for (const h of held) putRef(m, h.mfn, h.len);
  return n;
}

export interface Reach {
  ctx: IommuContext;
  /** The DFNs that reach the frames (one run of them): `dfn` reaches the first of those frames. */
  dfn: number;
  dfnEnd: number;
  r: boolean;
  w: boolean;
  /** The table entry (undefined for 'passthrough' and 'scratch' contexts). */
  entry?: IommuEntry;
}

/**
 * Every (context, run of DFNs) whose DMA reaches a frame of `mfn`…`last` (a reverse walk of all
 * tables). Walks each context's extents, never frames: O(total extents). 'passthrough' contexts
 * reach every frame at DFN = MFN; a 'scratch' context reaches the scratch page from every DFN
 * (reported once, at DFN 0).
 */
export function contextsReaching(m: Machine, mfn: number, last = mfn): Reach[] {
  const out: Reach[] = [];
  if (!isFrame(mfn) || !isFrame(last) || last < mfn) return out;
  for (const ctx of allContexts(m)) {
    if (ctx.mode === 'passthrough') {
      out.push({ ctx, dfn: mfn, dfnEnd: last, r: true, w: true });
      continue;
    }
    if (ctx.mode === 'scratch' && m.scratchMfn !== undefined && mfn <= m.scratchMfn && m.scratchMfn <= last) out.push({ ctx, dfn: 0, dfnEnd: 0, r: true, w: true });
    for (const e of ctx.table.entries()) {
      const base = e.value.base;
      const lo = Math.max(base, mfn);
      const hi = Math.min(base + (e.end - e.start), last);
      if (lo <= hi) out.push({ ctx, dfn: e.start + (lo - base), dfnEnd: e.start + (hi - base), r: e.value.r, w: e.value.w, entry: e.value });
    }
  }
  return out;
}
