/**
 * p2m updates that keep the IOMMU contexts following them in sync (Xen: `p2m_set_entry` and, for
 * `sync_pt`, `iommu_legacy_map` / `iommu_legacy_unmap` with `p2m_get_iommu_flags`).
 *
 * A translated domain's (hvm/pvh) p2m is gfn → mfn; a PV domain's is its pfn → mfn list. The
 * contexts that follow a domain (`followsP2m` / `followsOwnership`, set by build.ts) show entries
 * marked `follows`: a translated domain's context reads them from the p2m (`P2mImageTable`, at the
 * end of this file), a PV domain's holds them and they are rewritten here. Other entries at the
 * same DFNs (fixed config entries, mappings made by calls) are never touched by a p2m change.
 */
import { P2M_TYPES, type P2mType } from '../config/schema.js';
import { isFrame, segments } from './pages.js';
import { IOMMU_OPS, makeEntry, setEntries } from './iommu.js';
import type { DomId, DomainModel, IommuContext, IommuEntry, Machine, P2mEntry } from './types.js';
import { ExtentMap, MAX_FRAME, constant, type Extent, type ExtentTable, type PayloadOps } from './extents.js';

// ---------------------------------------------------------------------------------------------
// The p2m table: each extent's base and type packed into one number.

/**
 * A p2m payload as the table stores it: `base × 16 + the type's index` (exact while base < 2^48,
 * which every MFN of a real host is), else the P2mEntry itself. A number needs no object per
 * extent: in a p2m fragmented to one extent per frame (a guest ballooning at random gfns) a
 * million payload objects were each a cache miss of their own after the extent was found.
 */
type Packed = number | P2mEntry;

/** Bases below this pack into a number (base × 16 + 15 < 2^52). */
const PACK_LIMIT = 2 ** 48;
const TYPE_INDEX = new Map<P2mType, number>(P2M_TYPES.map((t, i) => [t, i]));

function pack(base: number, type: P2mType): Packed {
  return base < PACK_LIMIT ? base * 16 + TYPE_INDEX.get(type)! : { base, type };
}

function baseOf(p: Packed): number {
  return typeof p === 'number' ? Math.floor(p / 16) : p.base;
}

function typeOf(p: Packed): P2mType {
  return typeof p === 'number' ? P2M_TYPES[p % 16]! : p.type;
}

/**
 * Payload ops of the packed p2m: gfn g of an extent maps to base + (g − start); neighbours join
 * when the mfns continue and the types are equal — for two numbers, exactly when
 * b = a + 16 × aLength (the type is the low four bits). Blank slots hold 0: the value columns
 * hold numbers only (unless a base reaches 2^48), which V8 keeps unboxed.
 */
const PACKED_P2M_OPS: PayloadOps<Packed> = {
  shift: (v, delta) => (delta === 0 ? v : pack(baseOf(v) + delta, typeOf(v))),
  joinable: (a, aLength, b) =>
    typeof a === 'number' && typeof b === 'number' ? b === a + aLength * 16 : baseOf(b) === baseOf(a) + aLength && typeOf(a) === typeOf(b),
  blank: 0,
};

/**
 * A domain's p2m: gfn (pfn for PV) → mfn and type, as extents. Its readers and writers see
 * P2mEntry values (`ExtentTable<P2mEntry>`); it stores them packed (see `Packed`). A look-up that
 * wants the frame's MFN and type without an object made for them asks `probe`.
 */
export class P2mTable implements ExtentTable<P2mEntry> {
  private readonly map = new ExtentMap<Packed>(PACKED_P2M_OPS);
  /** Set by `probe`: the MFN at the frame it found mapped (read it at once). */
  mfn = 0;

  /** The type at `gfn`, and in `mfn` its MFN; undefined: nothing mapped there. */
  probe(gfn: number): P2mType | undefined {
    const v = this.map.raw(gfn);
    if (v === undefined) return undefined;
    this.mfn = baseOf(v) + (gfn - this.map.rawStart);
    return typeOf(v);
  }

  /** The stored payload at `gfn` and, in `rawStart`, its extent's start (P2mImageTable's look-up). */
  rawPacked(gfn: number): Packed | undefined {
    return this.map.raw(gfn);
  }

  get rawStart(): number {
    return this.map.rawStart;
  }

  /** A number that changes with every modification (`ExtentMap.revision`). */
  get revision(): number {
    return this.map.revision;
  }

  get size(): number {
    return this.map.size;
  }

  get frames(): number {
    return this.map.frames;
  }

  get(frame: number): Extent<P2mEntry> | undefined {
    const e = this.map.get(frame);
    return e === undefined ? undefined : unpacked(e);
  }

  lookup(frame: number): P2mEntry | undefined {
    const type = this.probe(frame);
    return type === undefined ? undefined : { base: this.mfn, type };
  }

  /** The stored entry holding `frame`, unshifted (made anew from a packed payload: `probe` makes none). */
  raw(frame: number): P2mEntry | undefined {
    const v = this.map.raw(frame);
    return v === undefined ? undefined : entryOf(v);
  }

  has(frame: number): boolean {
    return this.map.has(frame);
  }

  set(start: number, end: number, value: P2mEntry): void {
    this.map.set(start, end, pack(value.base, value.type));
  }

  setPoint(frame: number, value: P2mEntry): void {
    this.map.setPoint(frame, pack(value.base, value.type));
  }

  delete(start: number, end: number): void {
    this.map.delete(start, end);
  }

  *overlapping(start: number, end: number): Generator<Extent<P2mEntry>, void, undefined> {
    for (const e of this.map.overlapping(start, end)) yield unpacked(e);
  }

  *entries(): Generator<Extent<P2mEntry>, void, undefined> {
    for (const e of this.map.entries()) yield unpacked(e);
  }

  gaps(start: number, end: number): Generator<{ start: number; end: number }, void, undefined> {
    return this.map.gaps(start, end);
  }

  firstGap(from: number, limit: number): number | undefined {
    return this.map.firstGap(from, limit);
  }

  firstCovered(from: number, limit: number): number | undefined {
    return this.map.firstCovered(from, limit);
  }

  covered(start: number, end: number): boolean {
    return this.map.covered(start, end);
  }

  anyIn(start: number, end: number): boolean {
    return this.map.anyIn(start, end);
  }

  lowest(): Extent<P2mEntry> | undefined {
    const e = this.map.lowest();
    return e === undefined ? undefined : unpacked(e);
  }

  highest(): Extent<P2mEntry> | undefined {
    const e = this.map.highest();
    return e === undefined ? undefined : unpacked(e);
  }

  toArray(): Extent<P2mEntry>[] {
    return [...this.entries()];
  }

  checkInvariants(): void {
    this.map.checkInvariants();
  }
}

function entryOf(v: Packed): P2mEntry {
  return typeof v === 'number' ? { base: baseOf(v), type: typeOf(v) } : v;
}

function unpacked(e: Extent<Packed>): Extent<P2mEntry> {
  return { start: e.start, end: e.end, value: entryOf(e.value) };
}

/** Xen's RAM types (`P2M_RAM_TYPES` plus ram_broken): a p2m extent of these owns its frames. */
export const RAM_TYPES: ReadonlySet<P2mType> = new Set<P2mType>([
  'ram_rw',
  'ram_ro',
  'ram_logdirty',
  'ram_shared',
  'ram_paged',
  'ioreq_server',
  'ram_broken',
]);

export function isRamType(t: P2mType): boolean {
  return RAM_TYPES.has(t);
}

/** hvm and pvh guests are translated (have a real p2m); PV guests are not. */
export function isTranslated(d: DomainModel): boolean {
  return d.type !== 'pv';
}

/**
 * IOMMU permissions of a p2m type (SPEC §3.2; Xen `p2m_get_iommu_flags`): ram_rw, ram_logdirty,
 * grant_map_rw, map_foreign and mmio_direct → RW; ram_ro, grant_map_ro → R; everything else is
 * not mapped. The same table serves share_pt (SPEC; real EPT sharing differs for logdirty,
 * ram_shared and ioreq_server, see reference/xen-model.md §3.1).
 */
export function iommuPermsForType(t: P2mType): Readonly<{ r: boolean; w: boolean }> | undefined {
  switch (t) {
    case 'ram_rw':
    case 'ram_logdirty':
    case 'grant_map_rw':
    case 'map_foreign':
    case 'mmio_direct':
      return PERMS_RW;
    case 'ram_ro':
    case 'grant_map_ro':
      return PERMS_R;
    default:
      return undefined;
  }
}

const PERMS_RW = Object.freeze({ r: true, w: true });
const PERMS_R = Object.freeze({ r: true, w: false });

/** gfn (pfn for PV) → mfn and type, or undefined when nothing is mapped there (Xen: `p2m_get_entry`). */
export function p2mLookup(d: DomainModel, gfn: number): { mfn: number; type: P2mType } | undefined {
  if (!isFrame(gfn)) return undefined;
  const type = d.p2m.probe(gfn);
  return type === undefined ? undefined : { mfn: d.p2m.mfn, type };
}

// ---------------------------------------------------------------------------------------------
// The M2P of PV domains (Xen's `machine_to_phys_mapping`): mfn → pfn, what `guest_remove_page`
// needs to find the P2M slots of a frame a PV guest gives back. Built on first use from the p2m and
// then kept in step by p2mSet / p2mRemove, so a decrease_reservation is O(log n) rather than a
// walk of every p2m extent (which made a long PV balloon trace quadratic). Translated domains'
// p2m changes do not look for one (an index built for them anyway goes stale and is rebuilt).

interface M2p {
  /** mfn → pfn (linear: the pfn of mfn m in an extent starting at s is the value + (m − s)). */
  map: ExtentMap<number>;
  /** The p2m's revision this index describes; any other write to the p2m makes it stale. */
  revision: number;
  /**
   * Some mfn sits at two pfns (an explicit config p2m can do that): one pfn per mfn cannot say
   * so, and `pfnRangesOfMfns` walks the p2m instead for this domain from then on.
   */
  aliased: boolean;
}

const M2PS = new WeakMap<DomainModel, M2p>();
/** The M2P's payload is the pfn of the extent's first mfn: a number, no object per extent. */
const M2P_OPS: PayloadOps<number> = {
  shift: (v, delta) => v + delta,
  joinable: (a, aLength, b) => b === a + aLength,
  blank: 0,
};

/** The domain's M2P if it exists and is in step with the p2m (before a change is made to both). */
function liveM2p(d: DomainModel): M2p | undefined {
  const x = M2PS.get(d);
  if (x === undefined) return undefined;
  if (x.revision === d.p2m.revision) return x;
  M2PS.delete(d); // someone wrote the p2m directly: rebuilt on next use
  return undefined;
}

/** Record [mfn, mfn + count) → pfn in an in-step M2P (the p2m just gained that extent). */
function m2pAdd(x: M2p, pfn: number, mfn: number, count: number): void {
  if (!x.aliased) {
    if (x.map.anyIn(mfn, mfn + count - 1)) x.aliased = true;
    else x.map.set(mfn, mfn + count - 1, pfn);
  }
}

/**
 * The pfn ranges of a PV domain's P2M that map the mfns of [start, end] (each range maps a run of
 * those mfns in order; more than one pfn per mfn only when the config's p2m maps a frame twice,
 * and the ranges are then ascending), from the M2P: O(log n + k) in its extents, whatever the
 * number of frames. A new array, so the caller may change the p2m while walking it.
 */
export function pfnRangesOfMfns(d: DomainModel, start: number, end: number): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  if (!isFrame(start) || !isFrame(end) || start > end) return out;
  let x = liveM2p(d);
  if (x === undefined) {
    x = { map: new ExtentMap<number>(M2P_OPS), revision: d.p2m.revision, aliased: false };
    for (const e of d.p2m.entries()) {
      m2pAdd(x, e.start, e.value.base, e.end - e.start + 1);
      if (x.aliased) break;
    }
    M2PS.set(d, x);
  }
  if (x.aliased) {
    // Some mfn has two pfns: the P2M itself is the answer, every extent intersected with [start, end].
    for (const e of d.p2m.entries()) {
      const base = e.value.base;
      const lo = Math.max(start, base);
      const hi = Math.min(end, base + (e.end - e.start));
      if (lo <= hi) out.push({ start: e.start + (lo - base), end: e.start + (hi - base) });
    }
    return out;
  }
  for (const e of x.map.overlapping(start, end)) out.push({ start: e.value, end: e.value + (e.end - e.start) });
  return out;
}

/** The contexts whose `follows` entries show this domain's p2m or ownership. */
export function followingContexts(d: DomainModel): readonly IommuContext[] {
  const own = d.iommu !== undefined && follows(d.iommu, d.domid) ? d.iommu : undefined;
  // (Most domains: no ta contexts; the answer is the default context or nothing, no array built.)
  if (d.ta.contexts.size === 0) return own === undefined ? NO_CONTEXTS : [own];
  const out: IommuContext[] = own === undefined ? [] : [own];
  for (const c of d.ta.contexts.values()) if (follows(c, d.domid) && !out.includes(c)) out.push(c);
  return out;
}

const NO_CONTEXTS: readonly IommuContext[] = Object.freeze([]);

function follows(c: IommuContext, domid: DomId): boolean {
  return c.followsP2m === domid || c.followsOwnership === domid;
}

/** Whether [gfn, gfn + count) is a non-empty run of frames. */
function isRun(gfn: number, count: number): boolean {
  return isFrame(gfn) && Number.isInteger(count) && count >= 1 && isFrame(gfn + count - 1);
}

/** Delete the `follows` identity entries (DFN = MFN) of [start, end] in a context following PV ownership. */
function dropFollowing(ctx: IommuContext, start: number, end: number): void {
  const t = ctx.table;
  if (start === end) {
    // One frame (a balloon giving back page after page): one look-up, whose hit the delete reuses.
    const v = t.raw(start);
    if (v !== undefined && v.follows && v.base + (start - t.rawStart) === start) t.delete(start, end);
    return;
  }
  for (const e of [...t.overlapping(start, end)]) {
    if (e.value.follows && e.value.base === e.start) t.delete(e.start, e.end);
  }
}

/** Map [dfn, dfn+len) → mfn in ctx as a `follows` entry, only where the DFNs are unmapped. */
function addFollowing(m: Machine, ctx: IommuContext, dfn: number, len: number, mfn: number, perms: { r: boolean; w: boolean }): void {
  if (len === 1) {
    // One frame (a populate of scattered gfns): a look-up, whose position the set reuses.
    if (!ctx.table.has(dfn)) setEntries(m, ctx, dfn, dfn, makeEntry(mfn, perms.r, perms.w, 'config', { follows: true }));
    return;
  }
  for (const s of segments(ctx.table, dfn, dfn + len - 1)) {
    if (s.value !== undefined) continue;
    setEntries(m, ctx, s.start, s.end, makeEntry(mfn + (s.start - dfn), perms.r, perms.w, 'config', { follows: true }));
  }
}

/**
 * Map [gfn, gfn + count) → [mfn, mfn + count) with `type` (Xen: `p2m_set_entry`), replacing what
 * was there, and keep the contexts that follow the domain in step:
 * - translated domain, `followsP2m`: the context reads the p2m (P2mImageTable), DFN = GFN with
 *   `iommuPermsForType(type)` (none: unmapped); it is told where the p2m changed;
 * - PV domain, `followsOwnership`: DFN = MFN, RW, for the frames of a RAM type the domain owns
 *   (Xen gives a PV page a writable type, hence an IOMMU mapping, when it enters the P2M).
 * Page ownership and references are the caller's business (pages.ts).
 */
export function p2mSet(m: Machine, d: DomainModel, gfn: number, count: number, mfn: number, type: P2mType): void {
  if (!isRun(gfn, count) || !isFrame(mfn) || !isFrame(mfn + count - 1)) return;
  const end = gfn + count - 1;
  if (isTranslated(d)) {
    d.p2m.set(gfn, end, { base: mfn, type });
    imagesChanged(d, gfn, end);
    return;
  }
  const ctxs = followingContexts(d);
  const m2p = liveM2p(d);
  // (Nothing mirrored: `set` overwrites what was there, no removal first.) The frames a PV P2M
  // slot held before keep their IOMMU entries: those follow page ownership, and the domain still
  // owns them (Xen unmaps a PV page when it is given back, `pvReleased`, not when its slot is reused).
  if (m2p !== undefined) removeMirrored(d, gfn, end, NO_CONTEXTS, m2p);
  d.p2m.set(gfn, end, { base: mfn, type });
  if (m2p !== undefined) {
    m2pAdd(m2p, gfn, mfn, count);
    m2p.revision = d.p2m.revision;
  }
  if (ctxs.length === 0 || !isRamType(type) || iommuPermsForType(type) === undefined) return;
  for (const ctx of ctxs) {
    if (ctx.followsOwnership !== d.domid) continue;
    for (const p of segments(m.pages, mfn, mfn + count - 1)) {
      if (p.value?.owner === d.domid) addFollowing(m, ctx, p.start, p.end - p.start + 1, p.start, PERMS_RW);
    }
  }
}

/**
 * PV d gave frames [mfn, end] back (`guest_remove_page` → `guest_physmap_remove_page`, PV: an
 * `iommu_legacy_unmap` of the MFNs, wherever the guest's P2M had them): their identity entries
 * leave the contexts that follow its ownership.
 */
export function pvReleased(d: DomainModel, mfn: number, end: number): void {
  for (const ctx of followingContexts(d)) if (ctx.followsOwnership === d.domid) dropFollowing(ctx, mfn, end);
}

/** The contexts reading translated d's p2m: it changed over [gfn, end]. */
function imagesChanged(d: DomainModel, gfn: number, end: number): void {
  for (const ctx of followingContexts(d)) if (ctx.table instanceof P2mImageTable) ctx.table.p2mChanged(gfn, end);
}

/**
 * Remove [gfn, gfn + count) from the p2m (Xen: `p2m_remove_page` / `guest_physmap_remove_page`) and
 * its image from the following contexts: translated — the contexts reading the p2m are told; PV —
 * the `follows` identity entries of the MFNs that left (a page leaving the P2M leaves the context).
 * Ownership and references are the caller's business (`m` is taken for symmetry with p2mSet).
 */
export function p2mRemove(_m: Machine, d: DomainModel, gfn: number, count: number): void {
  if (!isRun(gfn, count)) return;
  const end = gfn + count - 1;
  if (isTranslated(d)) {
    d.p2m.delete(gfn, end);
    imagesChanged(d, gfn, end);
    return;
  }
  const ctxs = followingContexts(d);
  const m2p = liveM2p(d);
  // (Nothing mirrored — no following context, no M2P kept in step: deleting is the whole change.)
  if (ctxs.length !== 0 || m2p !== undefined) removeMirrored(d, gfn, end, ctxs, m2p);
  else d.p2m.delete(gfn, end);
}

/**
 * p2mRemove of [gfn, end] (a valid run) for a domain whose p2m is mirrored: into `ctxs` (its
 * following contexts) and `m2p` (its M2P, when live).
 */
function removeMirrored(d: DomainModel, gfn: number, end: number, ctxs: readonly IommuContext[], m2p: M2p | undefined): void {
  if (gfn === end) {
    // One frame (a balloon giving back page after page): one look-up, nothing made for it.
    if (d.p2m.probe(gfn) === undefined) return;
    const mfn = d.p2m.mfn;
    d.p2m.delete(gfn, gfn);
    dropMirrored(d, gfn, gfn, mfn, ctxs, m2p);
    return;
  }
  // What leaves: each run of gfns with the mfn it mapped first.
  const old: { start: number; end: number; mfn: number }[] = [];
  for (const e of d.p2m.overlapping(gfn, end)) old.push({ start: e.start, end: e.end, mfn: e.value.base });
  if (old.length === 0) return;
  d.p2m.delete(gfn, end);
  for (const e of old) dropMirrored(d, e.start, e.end, e.mfn, ctxs, m2p);
}

/** The images of [pfn, end] → [mfn, …], just removed from PV d's p2m, leave its M2P and following contexts. */
function dropMirrored(d: DomainModel, gfn: number, end: number, mfn: number, ctxs: readonly IommuContext[], m2p: M2p | undefined): void {
  if (m2p !== undefined) {
    // Each frame that left had one pfn (not aliased), and it was this one.
    if (!m2p.aliased) m2p.map.delete(mfn, mfn + (end - gfn));
    m2p.revision = d.p2m.revision;
  }
  for (const ctx of ctxs) {
    // (A PV guest mapping one MFN at two PFNs loses the identity entry with the first removal.)
    if (ctx.followsOwnership === d.domid) dropFollowing(ctx, mfn, mfn + (end - gfn));
  }
}

// ---------------------------------------------------------------------------------------------
// The IOMMU context of a translated domain reads its p2m.

/** The payload of a p2m image entry at DFN = GFN (what build.ts made for every extent, once). */
const IMAGE_EXTRA = { follows: true } as const;

/** The IOMMU entry a p2m mapping to `base` with `type` shows at DFN = GFN (none for a type without IOMMU permissions). */
function imageEntry(base: number, type: P2mType): IommuEntry | undefined {
  const perms = iommuPermsForType(type);
  return perms === undefined ? undefined : makeEntry(base, perms.r, perms.w, 'config', IMAGE_EXTRA);
}

/**
 * The table of an IOMMU context that follows a translated domain's p2m (build.ts: the context of
 * a PVH hardware domain, of a translated guest with passthrough): DFN = GFN with the permissions
 * of the p2m type, read from the p2m itself instead of kept as a second copy of it (Xen's
 * `iommu_use_hap_pt` shares the page tables the same way; `sync_pt` keeps tables that hold the
 * same mappings). At a DFN the context holds:
 * - the entry mapped there explicitly, if any (`own`: grant maps, ta map_pages, …);
 * - else nothing, if the DFN was unmapped explicitly and the p2m has not changed there since
 *   (`hidden`);
 * - else the p2m's image: its MFN, RW or R by type (none for a type without IOMMU permissions),
 *   origin 'config', `follows`, no page reference; only below the IOMMU's address width.
 * That is what a copy kept in step held (a p2m change rewrote the `follows` entries wherever no
 * other entry was, an explicit unmap removed whatever was there); the tests hold this table to
 * such a copy. A p2m change costs nothing here but clearing `hidden` over its range, which is
 * empty unless calls unmapped p2m-derived DFNs.
 *
 * Reading one DFN (`raw`, `has`, `lookup`) is a look-up in `own`, `hidden` and the p2m; walking a
 * range (`overlapping`, `entries`, `gaps`, …) merges the three, joining neighbouring image pieces
 * that continue each other as the copy's extents were joined. `get`, `lowest`, `highest`, `size`
 * and `frames` walk from the start: O(extents) (inspect, tests and the end of a domain).
 */
export class P2mImageTable implements ExtentTable<IommuEntry> {
  /** Entries mapped explicitly (never `follows`). */
  private readonly own = new ExtentMap<IommuEntry>(IOMMU_OPS);
  /** DFNs whose image was unmapped explicitly since the p2m last changed there. */
  private readonly hidden = new ExtentMap<true>(constant);
  /** The last image entry made by `raw`, and the p2m payload it was made of. */
  private lastP: Packed | undefined = undefined;
  private lastE: IommuEntry | undefined = undefined;
  /** Set by `raw` (read it at once: the next call of `raw` changes it). */
  rawStart = 0;

  /**
   * @param p2m the domain's p2m (the same object for the domain's life)
   * @param width DFNs the context can hold: 2^(address_width − 12)
   */
  constructor(
    private readonly p2m: P2mTable,
    private readonly width: number,
  ) {}

  /** The p2m changed over [start, end]: the image shows there again where nothing explicit is mapped. */
  p2mChanged(start: number, end: number): void {
    if (this.hidden.frames !== 0) this.hidden.delete(start, end);
  }

  raw(frame: number): IommuEntry | undefined {
    const v = this.own.raw(frame);
    if (v !== undefined) {
      this.rawStart = this.own.rawStart;
      return v;
    }
    if (frame >= this.width || (this.hidden.frames !== 0 && this.hidden.has(frame))) return undefined;
    const p = this.p2m.rawPacked(frame);
    if (p === undefined) return undefined;
    const e = this.image(p);
    if (e !== undefined) this.rawStart = this.p2m.rawStart;
    return e;
  }

  lookup(frame: number): IommuEntry | undefined {
    const v = this.raw(frame);
    return v === undefined ? undefined : IOMMU_OPS.shift(v, frame - this.rawStart);
  }

  has(frame: number): boolean {
    return this.raw(frame) !== undefined;
  }

  /** Map [start, end] explicitly (`value` is not a `follows` entry: those are the p2m's). */
  set(start: number, end: number, value: IommuEntry): void {
    this.own.set(start, end, value);
  }

  setPoint(frame: number, value: IommuEntry): void {
    this.own.setPoint(frame, value);
  }

  /** Unmap [start, end]: explicit entries go, and the image is hidden until the p2m changes there. */
  delete(start: number, end: number): void {
    this.own.delete(start, end);
    if (start < this.width) this.hidden.set(start, Math.min(end, this.width - 1), true);
  }

  overlapping(start: number, end: number): Generator<Extent<IommuEntry>, void, undefined> {
    return this.joined(start, end);
  }

  entries(): Generator<Extent<IommuEntry>, void, undefined> {
    return this.joined(0, MAX_FRAME);
  }

  *gaps(start: number, end: number): Generator<{ start: number; end: number }, void, undefined> {
    let cursor = start;
    for (const e of this.pieces(start, end)) {
      if (e.start > cursor) yield { start: cursor, end: e.start - 1 };
      cursor = e.end + 1;
    }
    if (cursor <= end) yield { start: cursor, end };
  }

  firstGap(from: number, limit: number): number | undefined {
    for (const g of this.gaps(from, limit)) return g.start;
    return undefined;
  }

  firstCovered(from: number, limit: number): number | undefined {
    for (const e of this.pieces(from, limit)) return e.start;
    return undefined;
  }

  covered(start: number, end: number): boolean {
    return this.firstGap(start, end) === undefined;
  }

  anyIn(start: number, end: number): boolean {
    return this.firstCovered(start, end) !== undefined;
  }

  get(frame: number): Extent<IommuEntry> | undefined {
    if (!this.has(frame)) return undefined;
    for (const e of this.entries()) if (e.end >= frame) return e;
    return undefined;
  }

  lowest(): Extent<IommuEntry> | undefined {
    for (const e of this.entries()) return e;
    return undefined;
  }

  highest(): Extent<IommuEntry> | undefined {
    let last: Extent<IommuEntry> | undefined;
    for (const e of this.entries()) last = e;
    return last;
  }

  get size(): number {
    let n = 0;
    for (const _ of this.entries()) n++;
    return n;
  }

  get frames(): number {
    let n = 0;
    for (const e of this.entries()) n += e.end - e.start + 1;
    return n;
  }

  toArray(): Extent<IommuEntry>[] {
    return [...this.entries()];
  }

  checkInvariants(): void {
    this.own.checkInvariants();
    this.hidden.checkInvariants();
    for (const e of this.own.entries()) {
      if (e.value.follows) throw new Error(`P2mImageTable: a follows entry at [${e.start}, ${e.end}] among the explicit ones`);
    }
    let prev: Extent<IommuEntry> | undefined;
    for (const e of this.entries()) {
      if (e.start > e.end || e.end >= this.width) throw new Error(`P2mImageTable: extent [${e.start}, ${e.end}] out of range`);
      if (prev !== undefined && (e.start <= prev.end || (e.start === prev.end + 1 && IOMMU_OPS.joinable(prev.value, prev.end - prev.start + 1, e.value)))) {
        throw new Error(`P2mImageTable: extents [${prev.start}, ${prev.end}] and [${e.start}, ${e.end}] overlap or were not joined`);
      }
      prev = e;
    }
  }

  /** The image entry of a stored p2m payload (none for a type without IOMMU permissions). */
  private image(p: Packed): IommuEntry | undefined {
    if (p === this.lastP) return this.lastE;
    const e = imageEntry(baseOf(p), typeOf(p));
    this.lastP = p;
    this.lastE = e;
    return e;
  }

  /** The pieces of [start, end] (clipped, ascending): explicit extents, and the image in their gaps. */
  private *pieces(start: number, end: number): Generator<Extent<IommuEntry>, void, undefined> {
    let cursor = start;
    for (const e of this.own.overlapping(start, end)) {
      if (e.start > cursor) yield* this.imageIn(cursor, e.start - 1);
      yield e;
      cursor = e.end + 1;
    }
    if (cursor <= end) yield* this.imageIn(cursor, end);
  }

  /** The p2m's image over [start, end], below the width and outside `hidden`. */
  private *imageIn(start: number, end: number): Generator<Extent<IommuEntry>, void, undefined> {
    const hi = Math.min(end, this.width - 1);
    if (start > hi) return;
    if (this.hidden.frames === 0) {
      yield* this.p2mImage(start, hi);
      return;
    }
    for (const g of this.hidden.gaps(start, hi)) yield* this.p2mImage(g.start, g.end);
  }

  private *p2mImage(start: number, end: number): Generator<Extent<IommuEntry>, void, undefined> {
    for (const e of this.p2m.overlapping(start, end)) {
      const v = imageEntry(e.value.base, e.value.type);
      if (v !== undefined) yield { start: e.start, end: e.end, value: v };
    }
  }

  /** `pieces`, neighbours that continue each other joined (the table's extents, clipped to [start, end]). */
  private *joined(start: number, end: number): Generator<Extent<IommuEntry>, void, undefined> {
    let cur: Extent<IommuEntry> | undefined;
    for (const e of this.pieces(start, end)) {
      if (cur !== undefined && e.start === cur.end + 1 && IOMMU_OPS.joinable(cur.value, cur.end - cur.start + 1, e.value)) {
        cur = { start: cur.start, end: e.end, value: cur.value };
        continue;
      }
      if (cur !== undefined) yield cur;
      cur = e;
    }
    if (cur !== undefined) yield cur;
  }
}
