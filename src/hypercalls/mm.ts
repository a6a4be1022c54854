/**
 * Emulator-side helpers over the machine model: domain lookup with Xen's rules, XSM default
 * policy, gfn resolution as `get_page_from_gfn` sees it, and the state a run keeps beside the
 * Machine (grant maptrack, remembered raw translations, destroyed domains).
 */
import type { Location } from '../policy/types.js';
import type { OpContext } from './types.js';
import type { PathSeg } from '../config/source.js';
import { hex } from '../config/units.js';
import type { P2mType } from '../config/schema.js';
import type { DomId, DomainModel, IommuContext, Machine } from '../model/types.js';
import { DOMID_IO, DOMID_SELF, DOMID_XEN } from '../model/types.js';
import { getRef, isFrame, pageAt, putRef } from '../model/pages.js';
import { isTranslated, p2mRemove } from '../model/p2m.js';
import { iommuWidthFrames } from '../model/iommu.js';

// ---------------------------------------------------------------------------------------------
// State a run keeps beside the machine.

/** One grant mapping (a maptrack entry of the mapper). */
export interface GrantMapping {
  handle: number;
  mapper: DomId;
  granter: DomId;
  /** The granter's gfn (for a PV granter: the MFN). */
  gfn: number;
  mfn: number;
  readonly: boolean;
  deviceMap: boolean;
  hostMap: boolean;
  /** Translated mapper: the gfn of its `grant_map_rw/ro` p2m entry. */
  hostGfn?: number;
  /** PV mapper with a synced IOMMU: the identity entry (DFN = MFN) this mapping counts in. */
  iommu?: IommuContext;
}

/**
 * Frames handed out without a reference (memory.translate, xs map_page with no_ref_cnt), as runs:
 * [mfn, mfn + count), translated from [gfn, gfn + count) of `domid` (translate), or mapped at `bfn`
 * of `ctx` (no_ref_cnt: one frame). One record per run a call handed out, never one per frame.
 * (The shape {@link RawLog.at} gives; the log itself holds them as columns.)
 */
export interface RawFrame {
  kind: 'translate' | 'no_ref_cnt';
  /** The first frame. */
  mfn: number;
  /** Frames in the run (1 for no_ref_cnt). */
  count: number;
  /** Owner of the run's pages when they were handed out (undefined: not a domain's page). */
  owner: DomId | undefined;
  /** For translate: the domain and first gfn translated. For no_ref_cnt: the context and bfn mapped. */
  domid?: DomId;
  gfn?: number;
  ctx?: IommuContext;
  bfn?: number;
  at?: Location;
  index?: number;
}

const KIND_TRANSLATE = 0;
const KIND_NO_REF = 1;
/** `owner` column: no domain's page. */
const NO_OWNER = -1;
/** Runs per chunk of the columns (a power of two): a log grows a chunk at a time, never copied. */
const CHUNK_BITS = 12;
const CHUNK = 1 << CHUNK_BITS;
const IN_CHUNK = CHUNK - 1;

/** One chunk of the log's columns (run r is at r & IN_CHUNK of chunk r >> CHUNK_BITS). */
class RawChunk {
  readonly kind = new Uint8Array(CHUNK);
  readonly mfns = new Float64Array(CHUNK);
  /** translate: the first gfn; no_ref_cnt: the bfn. */
  readonly where = new Float64Array(CHUNK);
  /** Frames in the run (a run is one call's: at most the 2048 gfns of a translate). */
  readonly counts = new Int32Array(CHUNK);
  readonly owners = new Int32Array(CHUNK);
  /** translate: the domid; no_ref_cnt: the context's slot in `RawLog.ctxs`. */
  readonly doms = new Int32Array(CHUNK);
  /** The slot in the log's call columns of the call that handed the run out. */
  readonly calls = new Int32Array(CHUNK);
}

/**
 * The raw frames a run handed out, in call order, as chunks of number columns: a trace that
 * translates millions of scattered pages keeps ~33 bytes per run instead of an object each (and a
 * call's place in the input once per call, not per run).
 */
export class RawLog {
  /** Runs recorded. */
  length = 0;
  private chunks: RawChunk[] = [];
  /** Per call (a slot for each call that recorded runs; consecutive runs of a call share it). */
  private callIndex: (number | undefined)[] = [];
  private callAt: (Location | undefined)[] = [];
  private ctxs: IommuContext[] = [];
  private ctxSlots = new Map<IommuContext, number>();

  /**
   * Remember that a call translated `gfn` of `domid` to `mfn` (owned by `owner` then): extends the
   * run the same call recorded last when this frame continues it, else starts a new one.
   */
  translated(domid: DomId, gfn: number, mfn: number, owner: DomId | undefined, at: Location | undefined, index: number | undefined): void {
    const o = owner === undefined ? NO_OWNER : owner;
    const r = this.length - 1;
    if (r >= 0) {
      const c = this.chunks[r >> CHUNK_BITS]!;
      const i = r & IN_CHUNK;
      const n = c.counts[i]!;
      if (
        c.kind[i] === KIND_TRANSLATE &&
        this.isCall(c.calls[i]!, at, index) &&
        c.doms[i] === domid &&
        c.owners[i] === o &&
        c.where[i]! + n === gfn &&
        c.mfns[i]! + n === mfn
      ) {
        c.counts[i] = n + 1;
        return;
      }
    }
    this.push(KIND_TRANSLATE, mfn, o, domid, gfn, at, index);
  }

  /** Remember that a call mapped `mfn` (owned by `owner` then) at `bfn` of `ctx` without a reference. */
  unreferenced(ctx: IommuContext, bfn: number, mfn: number, owner: DomId | undefined, at: Location | undefined, index: number | undefined): void {
    let slot = this.ctxSlots.get(ctx);
    if (slot === undefined) {
      slot = this.ctxs.length;
      this.ctxs.push(ctx);
      this.ctxSlots.set(ctx, slot);
    }
    this.push(KIND_NO_REF, mfn, owner === undefined ? NO_OWNER : owner, slot, bfn, at, index);
  }

  /** Run `r` (0 ≤ r < length) as a record. */
  at(r: number): RawFrame {
    const c = this.chunks[r >> CHUNK_BITS]!;
    const i = r & IN_CHUNK;
    const owner = this.ownerOf(r);
    const x: RawFrame =
      c.kind[i] === KIND_TRANSLATE
        ? { kind: 'translate', mfn: c.mfns[i]!, count: c.counts[i]!, owner, domid: c.doms[i]!, gfn: c.where[i]! }
        : { kind: 'no_ref_cnt', mfn: c.mfns[i]!, count: 1, owner, ctx: this.ctxs[c.doms[i]!]!, bfn: c.where[i]! };
    const at = this.callAt[c.calls[i]!];
    const index = this.callIndex[c.calls[i]!];
    if (at !== undefined) x.at = at;
    if (index !== undefined) x.index = index;
    return x;
  }

  /** Run `r`'s frame when it is one frame a translate handed out, else -1 (a look at run `r` without a record). */
  singleTranslated(r: number): number {
    const c = this.chunks[r >> CHUNK_BITS]!;
    const i = r & IN_CHUNK;
    return c.kind[i] === KIND_TRANSLATE && c.counts[i] === 1 ? c.mfns[i]! : -1;
  }

  /** The owner of run `r`'s pages when they were handed out (undefined: not a domain's page). */
  ownerOf(r: number): DomId | undefined {
    const o = this.chunks[r >> CHUNK_BITS]!.owners[r & IN_CHUNK]!;
    return o === NO_OWNER ? undefined : o;
  }

  /**
   * The no_ref_cnt runs that describe the mapping now at their BFN: of the runs a context's BFN
   * got, the last (an earlier one was unmapped before the BFN was mapped again).
   */
  lastNoRef(): Set<number> {
    const out = new Set<number>();
    const seen = new Set<string>();
    for (let r = this.length - 1; r >= 0; r--) {
      const c = this.chunks[r >> CHUNK_BITS]!;
      const i = r & IN_CHUNK;
      if (c.kind[i] !== KIND_NO_REF) continue;
      const key = `${c.doms[i]}:${c.where[i]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.add(r);
    }
    return out;
  }

  /** The index of the call that recorded run `r` (0 ≤ r < length). */
  callOf(r: number): number | undefined {
    return this.callIndex[this.chunks[r >> CHUNK_BITS]!.calls[r & IN_CHUNK]!];
  }

  *[Symbol.iterator](): Generator<RawFrame, void, undefined> {
    for (let r = 0; r < this.length; r++) yield this.at(r);
  }

  /** Whether call slot `call` is the call at `at` with index `index`. */
  private isCall(call: number, at: Location | undefined, index: number | undefined): boolean {
    return this.callIndex[call] === index && this.callAt[call] === at;
  }

  private push(kind: number, mfn: number, owner: number, dom: number, where: number, at: Location | undefined, index: number | undefined): void {
    const r = this.length;
    // A new call slot unless the last run is the same call's (runs come in call order).
    let call = r > 0 ? this.chunks[(r - 1) >> CHUNK_BITS]!.calls[(r - 1) & IN_CHUNK]! : -1;
    if (call < 0 || !this.isCall(call, at, index)) {
      call = this.callIndex.length;
      this.callIndex.push(index);
      this.callAt.push(at);
    }
    if ((r & IN_CHUNK) === 0) this.chunks.push(new RawChunk());
    const c = this.chunks[r >> CHUNK_BITS]!;
    const i = r & IN_CHUNK;
    c.kind[i] = kind;
    c.mfns[i] = mfn;
    c.counts[i] = 1;
    c.owners[i] = owner;
    c.doms[i] = dom;
    c.where[i] = where;
    c.calls[i] = call;
    this.length = r + 1;
  }
}

export interface DestroyedDomain {
  domid: DomId;
  name: string;
  at?: Location;
  index?: number;
}

export interface EmuState {
  /** mapper domid → handle → mapping. */
  grants: Map<DomId, Map<number, GrantMapping>>;
  nextHandle: Map<DomId, number>;
  raw: RawLog;
  destroyed: DestroyedDomain[];
  /** Inside a ta `IOMMU_remote_cmd` (no nesting). */
  remoteDepth: number;
  /** BDFs that have been in quarantine (Xen's `pdev->quarantine`): deassign sends them back there. */
  quarantined: Set<string>;
}

const STATES = new WeakMap<Machine, EmuState>();

/** The emulator state of a machine (created on first use). */
export function stateOf(m: Machine): EmuState {
  let s = STATES.get(m);
  if (!s) {
    const quarantined = new Set<string>();
    for (const dev of m.devices.values()) if (dev.owner === DOMID_IO) quarantined.add(dev.bdf);
    s = { grants: new Map(), nextHandle: new Map(), raw: new RawLog(), destroyed: [], remoteDepth: 0, quarantined };
    STATES.set(m, s);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Domains and XSM.

/**
 * `rcu_lock_domain_by_any_id`: DOMID_SELF is the caller; a destroyed or unknown domain is not found.
 */
export function domainByAnyId(m: Machine, domid: DomId, caller: DomainModel): DomainModel | undefined {
  if (domid === DOMID_SELF) return caller.destroyed ? undefined : caller;
  const d = m.domains.get(domid);
  return d && !d.destroyed ? d : undefined;
}

/** `rcu_lock_domain_by_id`: no DOMID_SELF. */
export function domainById(m: Machine, domid: DomId): DomainModel | undefined {
  const d = m.domains.get(domid);
  return d && !d.destroyed ? d : undefined;
}

export function isHardwareDomain(m: Machine, d: DomainModel): boolean {
  return m.hwdom === d.domid;
}

/** The control domain: the one with role control, else the hardware domain. */
export function isControlDomain(m: Machine, d: DomainModel): boolean {
  return (m.controlDom ?? m.hwdom) === d.domid;
}

/** XSM_TARGET (xsm/dummy.h): the target itself, its device model, or the control domain. */
export function xsmTarget(m: Machine, caller: DomainModel, target: DomainModel): boolean {
  return caller === target || target.deviceModel === caller.domid || isControlDomain(m, caller);
}

/** XSM_DM_PRIV: the target's device model or the control domain. */
export function xsmDmPriv(m: Machine, caller: DomainModel, target: DomainModel): boolean {
  return target.deviceModel === caller.domid || isControlDomain(m, caller);
}

/** XSM_PRIV: the control domain only. */
export function xsmPriv(m: Machine, caller: DomainModel): boolean {
  return isControlDomain(m, caller);
}

/** A name for a page owner as outputs print it: domain name, "xen", "dom_io", or `d<id>`. */
export function ownerName(m: Machine, owner: DomId | undefined): string {
  if (owner === undefined) return 'free';
  if (owner === DOMID_XEN) return 'xen';
  const d = m.domains.get(owner);
  return d ? d.name : `d${owner}`;
}

export function domainName(m: Machine, domid: DomId): string {
  return m.domains.get(domid)?.name ?? `d${domid}`;
}

// ---------------------------------------------------------------------------------------------
// gfn resolution.

/** p2m types with no machine frame behind them (a lookup gives INVALID_MFN). */
const NO_MFN: ReadonlySet<P2mType> = new Set<P2mType>(['populate_on_demand', 'ram_paged', 'mmio_dm']);

/** "Any RAM" (`p2m_is_any_ram`): RAM, grant and foreign types. */
const ANY_RAM: ReadonlySet<P2mType> = new Set<P2mType>([
  'ram_rw',
  'ram_ro',
  'ram_logdirty',
  'ram_shared',
  'ioreq_server',
  'grant_map_rw',
  'grant_map_ro',
  'map_foreign',
]);

export function isAnyRam(t: P2mType): boolean {
  return ANY_RAM.has(t);
}

/** Plain RAM types a foreign mapping may target (`p2m_is_ram` minus shared/paged/holes). */
export function isMappableRam(t: P2mType): boolean {
  return t === 'ram_rw' || t === 'ram_ro' || t === 'ram_logdirty' || t === 'ioreq_server';
}

export interface Resolved {
  mfn: number;
  type: P2mType;
}

/**
 * `get_gfn_query` without a reference: what a gfn of `d` maps to. Translated: its p2m entry (types
 * without a frame → undefined). PV: the "gfn" is the MFN itself (`ram_rw` when `d` owns it).
 */
export function queryGfn(m: Machine, d: DomainModel, gfn: number): Resolved | undefined {
  if (!isTranslated(d)) {
    const mfn = queryMfn(m, d, gfn);
    return mfn < 0 ? undefined : { mfn, type: 'ram_rw' };
  }
  const type = isFrame(gfn) ? framedType(d, gfn) : undefined;
  return type === undefined ? undefined : { mfn: d.p2m.mfn, type };
}

/** The frame `queryGfn` finds for a gfn of `d`, or -1 (the same answer, without a record made for it). */
export function queryMfn(m: Machine, d: DomainModel, gfn: number): number {
  if (!isFrame(gfn)) return -1;
  if (!isTranslated(d)) {
    const p = pageAt(m, gfn);
    return p && p.owner === d.domid && p.allocated ? gfn : -1;
  }
  return framedType(d, gfn) === undefined ? -1 : d.p2m.mfn;
}

/** A translated domain's p2m type at `gfn` when it has a frame (its MFN then in `d.p2m.mfn`), else undefined. */
function framedType(d: DomainModel, gfn: number): P2mType | undefined {
  const type = d.p2m.probe(gfn);
  return type === undefined || NO_MFN.has(type) ? undefined : type;
}

/**
 * `get_page_from_gfn(d, gfn)` (xen-model §3.5): the frame of a RAM-backed gfn, with one page
 * reference taken. Translated: RAM types must belong to `d`, `map_foreign` to somebody else; other
 * types (mmio, grant, holes) give nothing. PV: `d` must own the MFN.
 */
export function getPageFromGfn(m: Machine, d: DomainModel, gfn: number): Resolved | undefined {
  const r = pageFromGfn(m, d, gfn);
  return r !== undefined && getRef(m, r.mfn) ? r : undefined;
}

/**
 * The frame `get_page_from_gfn(d, gfn)` resolves (xen-model §3.5), without taking the
 * reference: RAM that d owns (a shared page too, unless `unshare`: P2M_UNSHARE fails on it), or
 * a foreign mapping of another domain's page. Grant slots, MMIO, holes, paged-out and broken
 * frames resolve to nothing.
 */
export function pageFromGfn(m: Machine, d: DomainModel, gfn: number, unshare = false): Resolved | undefined {
  const r = queryGfn(m, d, gfn);
  if (!r) return undefined;
  const p = pageAt(m, r.mfn);
  if (!p) return undefined;
  if (r.type === 'map_foreign') return p.owner !== d.domid ? r : undefined;
  if (!isMappableRam(r.type) && (unshare || r.type !== 'ram_shared')) return undefined;
  return p.owner === d.domid ? r : undefined;
}

/**
 * Remove [gfn, gfn+count) from d's p2m, dropping the references its special entries hold: a
 * `map_foreign` entry holds one on the foreign page. (Grant entries are dropped by grant.unmap; RAM
 * pages keep their allocation: the caller decides whether to release it.)
 */
export function p2mClear(m: Machine, d: DomainModel, gfn: number, count = 1): void {
  if (!isFrame(gfn) || !isFrame(gfn + count - 1)) return;
  const foreign: { mfn: number; n: number }[] = [];
  for (const e of d.p2m.overlapping(gfn, gfn + count - 1)) {
    if (e.value.type === 'map_foreign') foreign.push({ mfn: e.value.base, n: e.end - e.start + 1 });
  }
  p2mRemove(m, d, gfn, count);
  for (const f of foreign) putRef(m, f.mfn, f.n);
}

/** The p2m type at a gfn (undefined: nothing). */
export function p2mTypeAt(d: DomainModel, gfn: number): P2mType | undefined {
  return isFrame(gfn) ? d.p2m.probe(gfn) : undefined;
}

/** Xen's "special" p2m types, only creatable/removable through their own paths. */
export function isSpecialType(t: P2mType | undefined): boolean {
  return t === 'grant_map_rw' || t === 'grant_map_ro' || t === 'map_foreign' || t === 'mmio_direct';
}

/**
 * The DFN an IOMMU really programs for `dfn`: VT-d masks the address to its width
 * (`addr_to_dma_page_maddr`), so a DFN beyond it aliases a low one; AMD cannot represent it (−1).
 */
export function effectiveDfn(m: Machine, dfn: number): number {
  const width = iommuWidthFrames(m);
  if (dfn < width) return dfn;
  return m.vendor === 'amd' ? -1 : dfn % width;
}

/**
 * `effectiveDfn` for a call that maps or unmaps at `dfn`, reporting `dma/address-wrap` at `path`
 * when VT-d masks it: the call then changes the low DFN it aliases (SPEC §3.2: "that aliasing is
 * a finding"), whatever DMA follows.
 */
export function mappedDfn(ctx: OpContext, dfn: number, what: string, path: readonly PathSeg[]): number {
  const m = ctx.machine;
  const eff = effectiveDfn(m, dfn);
  if (eff >= 0 && eff !== dfn) {
    ctx.report(
      'dma/address-wrap',
      `${what} at BFN ${hex(dfn)}, beyond the ${m.iommu.address_width}-bit VT-d address width: the IOMMU masks it to ${hex(eff)}, so the call acts on that (aliased) address; keep BFNs below ${hex(iommuWidthFrames(m))}`,
      { path },
    );
  }
  return eff;
}
