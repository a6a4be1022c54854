/**
 * The machine model (SPEC §3): what a real Xen would hold for one host. (CONTRACT)
 *
 * Everything frame-indexed is an ExtentMap (extents.ts): never one object per 4 KiB page.
 * Names follow Xen: gfn (guest frame), mfn (machine frame), pfn (PV pseudo-physical frame),
 * dfn/bfn (device/bus frame, the address a device emits before IOMMU translation).
 */
import type { ExtentMap, ExtentTable } from './extents.js';
import type { DeviceCfg, DomainCfg, HostCfg, HostConfig } from '../config/validate.js';
import type { P2mType } from '../config/schema.js';
import type { P2mTable } from './p2m.js';

export type DomId = number;
/** Xen's reserved domain ids (xen/include/public/xen.h). */
export const DOMID_SELF = 0x7ff0;
export const DOMID_IO = 0x7ff1; // the quarantine domain "dom_io"
export const DOMID_XEN = 0x7ff2;
export const DOMID_INVALID = 0x7ff4;

/** A p2m extent: gfn range → mfn range (linear: mfn = base + (gfn − start)). */
export interface P2mEntry {
  base: number;
  type: P2mType;
}

/**
 * Ownership and references of machine frames (Xen's `struct page_info`), for frames that are
 * not free. A frame of host RAM absent from `Machine.pages` (and not reserved) is free.
 * - `owner`: domid, or DOMID_XEN for Xen's own frames.
 * - `allocated`: the owner's allocation reference (PGC_allocated) is still held.
 * - `refs`: other references (IOMMU mappings made by calls, foreign pins, grant maps, p2m
 *   foreign entries). A frame returns to the free pool when !allocated && refs === 0.
 * - `pinned`: xs ABI `_PGC_foreign_map` (at most one pin per page, counted in refs).
 */
export interface PageInfo {
  owner: DomId;
  allocated: boolean;
  refs: number;
  pinned: boolean;
}

/** Where an IOMMU entry came from. Entries from `config` hold no reference and never dangle. */
export type EntryOrigin =
  | 'config' // built from the config: identity maps, RMRRs, p2m-derived, xs BFN=PFN
  | 'window' // xs foreign window BFN = foreign_offset + MFN (config-built, fixed)
  | 'map_page' // xs IOMMUOP_map_page
  | 'map_foreign' // xs IOMMUOP_map_foreign_page
  | 'map_pages' // ta IOMMU_map_pages
  | 'grant'; // grant map identity entry (PV mapper)

/** An IOMMU extent: dfn range → mfn range (linear), permissions, and whether each page holds a reference. */
export interface IommuEntry {
  base: number;
  r: boolean;
  w: boolean;
  origin: EntryOrigin;
  /** Each frame of the extent holds one page reference (dropped on unmap). */
  ref: boolean;
  /** Made with no_ref_cnt (gfn taken as a raw MFN, unreferenced): can dangle. */
  noRef?: boolean;
  /** Grant identity entries: per-MFN read/write mapping counts (PV mapper, xen-model §5.3). */
  grantReaders?: number;
  grantWriters?: number;
  /**
   * Derived from the owning domain's p2m (context `followsP2m`: read from the p2m itself, see
   * `P2mImageTable`) or from its page ownership (context `followsOwnership`: p2m.ts updates or
   * removes it when the P2M changes). Config entries
   * without it (identity maps, RMRRs, xs BFN = PFN, the foreign window) are fixed for the run.
   * Only ever `true` or absent (payloads merge by shallow equality).
   */
  follows?: true;
}

export type ContextMode =
  | 'table' // translate through `table`
  | 'passthrough' // dom0-iommu=passthrough: no translation, DFN = MFN everywhere
  | 'scratch'; // quarantine scratch-page: every DMA reaches one Xen-owned scratch page

/**
 * One IOMMU context (Xen keeps one DMA address space per domain; the ta ABI adds contexts 1..n).
 */
export interface IommuContext {
  /** Readable id: "dom0", "vm1", "vm1#ctx2", "quarantine:0000:03:00.1". */
  id: string;
  domid: DomId;
  /** ta ABI context number (0 = default). */
  ctxNo: number;
  mode: ContextMode;
  /**
   * DFN → MFN (mode 'table'): an ExtentMap, or for a context following a translated domain's p2m
   * a view that reads it (`P2mImageTable`, p2m.ts).
   */
  table: ExtentTable<IommuEntry>;
  /** The p2m-derived entries of this context follow this domain's p2m during emulation. */
  followsP2m?: DomId;
  /** PV domain whose own RAM is identity-mapped and follows its ownership (PV passthrough, strict PV dom0). */
  followsOwnership?: DomId;
  /** BDFs of devices attached to this context. */
  devices: Set<string>;
  /** Reserved (RMRR / identity) DFN ranges: ta map/unmap there → EADDRNOTAVAIL. */
  reserved: ExtentMap<true>;
  /** ta: being freed (attach → EINVAL). */
  dying?: boolean;
}

export type Passthrough = 'disabled' | 'sync_pt' | 'share_pt';

export interface DomainModel {
  cfg: DomainCfg;
  domid: DomId;
  name: string;
  type: 'pv' | 'pvh' | 'hvm';
  role: 'hardware' | 'control' | 'driver' | 'guest';
  /** Translated (hvm/pvh): gfn → mfn. PV: pfn → mfn (the guest's P2M list). */
  p2m: P2mTable;
  /**
   * The resolved xl `passthrough=` (SPEC §3.3). The hardware domain is never 'disabled' (Xen always
   * gives it an IOMMU context). This is the configured mode: the context itself exists only while
   * the host IOMMU is enabled — test `iommu`, not this field, for "has an IOMMU".
   */
  passthrough: Passthrough;
  /** The default IOMMU context (ctxNo 0), or undefined when passthrough is disabled or the host IOMMU is off. */
  iommu?: IommuContext;
  /** ta ABI state (contexts 1..count). */
  /**
   * ta ABI state: init done, its max_ctx_no, the allocated contexts, and the frames of the arena
   * init allocated for their page tables (Xen's, given back when the domain is destroyed).
   */
  ta: { initialized: boolean; count: number; contexts: Map<number, IommuContext>; arena: { start: number; end: number }[] };
  /** Pages currently owned with the allocation reference (Xen's tot_pages), and the limit (max_pages). */
  totPages: number;
  maxPages: number;
  /** The domain acting as this domain's device model (XSM DM_PRIV), resolved to a domid. */
  deviceModel: DomId;
  /** hvm/pvh automatic layout: end (exclusive) of low RAM below 4 GiB, in gfns. */
  lowRamEnd?: number;
  /** Frames the domain should have had but the host could not provide (memory/overcommit). */
  shortfall: number;
  /** Log-dirty active (live_migration), PoD active (memory < maxmem, hvm/pvh). */
  logDirty: boolean;
  pod: boolean;
  destroyed: boolean;
  /** xs ABI: the PV-IOMMU is usable by this (hardware) domain. */
  pvIommuUsable?: boolean;
  /** How the p2m was built: from the config's explicit `p2m`, or by the automatic layout (SPEC §3.1). */
  layout: 'explicit' | 'auto';
}

export interface DeviceModel {
  cfg: DeviceCfg;
  bdf: string;
  /** Owner: a domid, or DOMID_IO while quarantined. */
  owner: DomId;
  /** ta ABI: context number it is attached to within its owner (0 = default). */
  ctxNo: number;
  /** Its own empty (or scratch) context while quarantined. */
  quarantine?: IommuContext;
  /** BDFs of its phantom functions (phantom_stride): they have no Device of their own and follow it. */
  phantoms: string[];
}

/**
 * A range of frames an explicit `p2m` extent uses as RAM although someone else holds them
 * (rule memory/mfn-alias). The first claimant keeps the frames; this records the later claim.
 */
export interface MfnAlias {
  /** The domain whose explicit p2m makes the claim, and the index of that entry in its `p2m` list. */
  domid: DomId;
  entry: number;
  /** First gfn (pfn for PV) and mfn of the aliased run, and its length in frames. */
  gfn: number;
  mfn: number;
  count: number;
  /**
   * Who holds the frames: a domain that claimed them first (may be `domid` itself: one frame at two
   * gfns), Xen (`xen_mfns`), an RMRR (reserved inside host RAM), or nobody because they are not host RAM.
   */
  heldBy: DomId | 'xen' | 'rmrr' | 'non-ram';
  /** When `heldBy` is a domain whose explicit p2m claimed them: the index of that entry. */
  heldByEntry?: number;
}

export interface Machine {
  hc: HostConfig;
  host: HostCfg;
  vendor: 'intel' | 'amd';
  /** Host RAM frames (E820 RAM or `ram`), minus nothing. */
  ram: ExtentMap<true>;
  /** Non-RAM E820 ranges: reserved / acpi / nvs / unusable / mmio. */
  e820: ExtentMap<string>;
  /** RMRR ranges: mfn → BDFs of the devices listing them. */
  rmrr: ExtentMap<string[]>;
  /** Non-free frames: ownership and references. */
  pages: ExtentMap<PageInfo>;
  /** Highest host RAM frame (inclusive), or -1 with no RAM. */
  maxRamMfn: number;
  domains: Map<DomId, DomainModel>;
  devices: Map<string, DeviceModel>;
  hwdom?: DomId;
  controlDom?: DomId;
  iommu: HostCfg['iommu'];
  pvIommu: { abi: 'none' | 'xs' | 'ta'; offset: number; elfNote: boolean; usable: boolean };
  /** The scratch page quarantined devices DMA to (quarantine: scratch-page). */
  scratchMfn?: number;
  /** Explicit p2m RAM claims on frames someone else holds (rule memory/mfn-alias), in build order. */
  aliases: MfnAlias[];
  /** Phantom function BDF → the BDF of the real function it follows. */
  phantoms: Map<string, string>;
  /**
   * IOMMU disabled (`iommu.enabled: false`): the one context every device DMAs through — mode
   * 'passthrough' (DMA address = MFN, no translation). Undefined while the IOMMU is enabled.
   */
  bypass?: IommuContext;
}

export type { DeviceCfg, DomainCfg, HostCfg };
