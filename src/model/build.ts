/**
 * Validated host config → the machine a real Xen would hold (SPEC §3).
 *
 * Order (each step sees the previous ones; everything is deterministic):
 *  1. host memory: RAM (`ram` or E820 RAM), non-RAM E820 ranges, Xen's frames (DOMID_XEN), RMRRs;
 *  2. domains (ascending domid), the hardware and control domain, device models;
 *  3. device ownership (first domain whose `pci` names it, else the hardware domain), phantoms;
 *  4. explicit `p2m` layouts, then the automatic layout of the other domains (ascending domid),
 *     then the 1:1 RMRR / iomem entries of translated domains (layout.ts);
 *  5. the quarantine scratch page;
 *  6. IOMMU contexts (SPEC §3.2) and the devices attached to them; the xs PV-IOMMU mappings.
 *
 * Lenient: nothing here fails on a config the rules will complain about. Conflicts are recorded
 * (Machine.aliases, DomainModel.shortfall) and the first claimant keeps what it claimed.
 */
import { ExtentMap, constant } from './extents.js';
import { PAGE_OPS, freeRanges, pageInfo, segments } from './pages.js';
import { P2mImageTable, P2mTable, iommuPermsForType, isTranslated } from './p2m.js';
import { attachDevice, iommuWidthFrames, makeEntry, newContext, quarantineContext, setEntries } from './iommu.js';
import { layoutAuto, layoutExplicit, layoutIdentity, newClaims } from './layout.js';
import type { DeviceModel, DomId, DomainModel, IommuContext, Machine, PageInfo, Passthrough } from './types.js';
import { DOMID_INVALID, DOMID_IO, DOMID_XEN } from './types.js';
import { findDevice, type DomainCfg, type HostConfig } from '../config/validate.js';
import { phantomBdfs } from '../config/units.js';

export function buildMachine(hc: HostConfig): Machine {
  const host = hc.host;
  const m: Machine = {
    hc,
    host,
    vendor: host.cpu_vendor,
    ram: new ExtentMap<true>(constant),
    e820: new ExtentMap<string>(constant),
    rmrr: new ExtentMap<string[]>(constant),
    pages: new ExtentMap<PageInfo>(PAGE_OPS, { trackCoverage: true }),
    maxRamMfn: -1,
    domains: new Map(),
    devices: new Map(),
    iommu: host.iommu,
    pvIommu: { abi: host.pv_iommu.abi, offset: host.pv_iommu.foreign_offset, elfNote: host.pv_iommu.elf_note, usable: false },
    aliases: [],
    phantoms: new Map(),
  };

  buildMemory(m);

  // Domains, ascending domid (validate.ts sorts them; sort again so the model does not depend on it).
  const cfgs = [...hc.domains].sort((a, b) => a.domid - b.domid);
  const hw = cfgs.find((d) => d.role === 'hardware');
  if (hw) m.hwdom = hw.domid;
  const ctl = cfgs.find((d) => d.role === 'control') ?? hw;
  if (ctl) m.controlDom = ctl.domid;
  for (const cfg of cfgs) if (!m.domains.has(cfg.domid)) m.domains.set(cfg.domid, newDomain(m, cfg, cfgs));
  const domains = [...m.domains.values()];

  buildDevices(m, domains);

  // Memory layout: explicit extents first (their frames are never free), then the automatic
  // layout, then the 1:1 entries.
  const claims = newClaims();
  for (const d of domains) if (d.layout === 'explicit') layoutExplicit(m, d, claims);
  for (const d of domains) if (d.layout === 'auto') layoutAuto(m, d);
  for (const d of domains) {
    const owned: { start: number; end: number }[] = [];
    for (const dev of m.devices.values()) if (dev.owner === d.domid) owned.push(...dev.cfg.rmrr);
    layoutIdentity(m, d, owned);
  }

  if (m.iommu.enabled && m.iommu.quarantine === 'scratch-page') allocScratch(m);

  m.pvIommu.usable = m.pvIommu.abi === 'xs' && xsConditionsMet(m);
  buildContexts(m);
  return m;
}

/** Host RAM, E820 non-RAM ranges, Xen's frames, RMRRs. */
function buildMemory(m: Machine): void {
  const host = m.host;
  if (host.ram !== undefined) {
    if (host.ram > 0) m.ram.set(0, host.ram - 1, true);
  } else {
    for (const e of host.memory_map ?? []) {
      if (e.type === 'ram') m.ram.set(e.mfns.start, e.mfns.end, true);
      else m.e820.set(e.mfns.start, e.mfns.end, e.type);
    }
  }
  m.maxRamMfn = m.ram.highest()?.end ?? -1;
  // Xen's frames: only their host-RAM part has a page_info.
  const xen = pageInfo(DOMID_XEN, true, 0, false);
  for (const x of m.host.xen_mfns) {
    for (const r of [...m.ram.overlapping(x.start, x.end)]) m.pages.set(r.start, r.end, xen);
  }
  // RMRRs: mfn → BDFs of every device listing the range (sorted, unique).
  for (const dev of [...m.hc.devices].sort((a, b) => (a.bdf < b.bdf ? -1 : a.bdf > b.bdf ? 1 : 0))) {
    for (const r of dev.rmrr) {
      for (const s of segments(m.rmrr, r.start, r.end)) {
        const bdfs = s.value ?? [];
        if (!bdfs.includes(dev.bdf)) m.rmrr.set(s.start, s.end, [...bdfs, dev.bdf]);
      }
    }
  }
}

/**
 * xl passthrough= resolution (SPEC §3.3): `default` → `disabled` without pci devices, else
 * `enabled`; `enabled` → `share_pt` for hvm with hap on an intel host with iommu.sharept, else
 * `sync_pt`. The hardware domain always has an IOMMU context, so it is never `disabled`.
 * Explicit `sync_pt` / `share_pt` are kept as written (passthrough/share-pt-invalid judges them).
 */
export function resolvePassthrough(cfg: DomainCfg, vendor: 'intel' | 'amd', sharept: boolean, hardware: boolean): Passthrough {
  let p = cfg.passthrough;
  if (p === 'default') p = cfg.pci.length === 0 ? 'disabled' : 'enabled';
  if (hardware && p === 'disabled') p = 'enabled';
  if (p === 'enabled') p = cfg.type === 'hvm' && cfg.hap && vendor === 'intel' && sharept ? 'share_pt' : 'sync_pt';
  return p;
}

function newDomain(m: Machine, cfg: DomainCfg, all: DomainCfg[]): DomainModel {
  const hardware = m.hwdom === cfg.domid;
  let dm: DomId | undefined;
  if (cfg.device_model !== undefined) {
    const ref = cfg.device_model;
    dm = all.find((d) => (typeof ref === 'number' ? d.domid === ref : d.name === ref))?.domid;
  }
  return {
    cfg,
    domid: cfg.domid,
    name: cfg.name,
    type: cfg.type,
    role: cfg.role,
    p2m: new P2mTable(),
    passthrough: resolvePassthrough(cfg, m.vendor, m.iommu.sharept, hardware),
    ta: { initialized: false, count: 0, contexts: new Map(), arena: [] },
    totPages: 0,
    maxPages: cfg.maxmem,
    deviceModel: dm ?? m.controlDom ?? DOMID_INVALID,
    shortfall: 0,
    logDirty: cfg.live_migration,
    pod: cfg.type !== 'pv' && cfg.memory < cfg.maxmem,
    destroyed: false,
    layout: cfg.p2m !== undefined ? 'explicit' : 'auto',
  };
}

/** Devices: owner = first domain (ascending domid, list order) whose `pci` names it, else the hardware domain. */
function buildDevices(m: Machine, domains: DomainModel[]): void {
  const owner = new Map<string, DomId>();
  for (const d of domains) {
    for (const p of d.cfg.pci) {
      const dev = findDevice(m.hc, p.dev);
      if (dev && !owner.has(dev.bdf)) owner.set(dev.bdf, d.domid);
    }
  }
  const real = new Set(m.hc.devices.map((d) => d.bdf));
  for (const cfg of m.hc.devices) {
    if (m.devices.has(cfg.bdf)) continue;
    const phantoms = phantomBdfs(cfg.bdf, cfg.phantom_stride).filter((b) => !real.has(b) && !m.phantoms.has(b));
    for (const b of phantoms) m.phantoms.set(b, cfg.bdf);
    const dev: DeviceModel = { cfg, bdf: cfg.bdf, owner: owner.get(cfg.bdf) ?? m.hwdom ?? DOMID_IO, ctxNo: 0, phantoms };
    m.devices.set(cfg.bdf, dev);
  }
}

/**
 * The scratch page of `quarantine: scratch-page`: the lowest of Xen's own frames when `xen_mfns`
 * gives any, else the highest free RAM frame (taken after the domains' layout, so it never moves a
 * domain's RAM), owned by Xen. None when the host has no free frame left.
 */
function allocScratch(m: Machine): void {
  for (const e of m.pages.entries()) {
    if (e.value.owner === DOMID_XEN) {
      m.scratchMfn = e.start;
      return;
    }
  }
  let top: number | undefined;
  for (const f of freeRanges(m)) top = f.end;
  if (top === undefined) return;
  m.pages.set(top, top, pageInfo(DOMID_XEN, true, 0, false));
  m.scratchMfn = top;
}

/**
 * The xs ABI is usable (SPEC §4.3): IOMMU enabled, dom0 not `passthrough`, a PV hardware domain,
 * an intel host, and a dom0 kernel advertising it (`elf_note`). Independent of the host's `abi`,
 * so a scenario that selects `abi: xs` can ask too.
 */
export function xsConditionsMet(m: Machine): boolean {
  const hw = m.hwdom !== undefined ? m.domains.get(m.hwdom) : undefined;
  return m.iommu.enabled && m.iommu.dom0 !== 'passthrough' && hw?.type === 'pv' && m.vendor === 'intel' && m.pvIommu.elfNote;
}

/** Identity entries (DFN = MFN, RW) for [start, end]. */
function identity(m: Machine, ctx: IommuContext, start: number, end: number, follows = false): void {
  setEntries(m, ctx, start, end, makeEntry(start, true, true, 'config', follows ? { follows: true } : {}));
}

/** DFN = MFN, RW, for every frame `domid` owns; entries follow its ownership. */
function ownIdentity(m: Machine, ctx: IommuContext, domid: DomId): void {
  ctx.followsOwnership = domid;
  for (const e of m.pages.entries()) if (e.value.owner === domid) identity(m, ctx, e.start, e.end, true);
}

/** DFN = GFN with permissions from the p2m type (SPEC §3.2), read from the p2m as it changes. */
function p2mImage(m: Machine, ctx: IommuContext, d: DomainModel): void {
  ctx.followsP2m = d.domid;
  ctx.table = new P2mImageTable(d.p2m, iommuWidthFrames(m));
}

/**
 * The hardware domain's context (Xen `arch_iommu_hwdom_init`, `setup_hwdom_rmrr`): PVH — DFN = GFN
 * of its p2m, always strict; PV — `passthrough`: no translation; `relaxed`: all host RAM but Xen's,
 * 1:1; `strict`: its own RAM 1:1 (following ownership); both plus the E820 reserved ranges
 * (`map_reserved`) and every RMRR, 1:1.
 */
function hwdomContext(m: Machine, d: DomainModel): IommuContext {
  if (isTranslated(d)) {
    const ctx = newContext(d.name, d.domid, 'table');
    p2mImage(m, ctx, d);
    return ctx;
  }
  const dom0 = m.iommu.dom0;
  const ctx = newContext(d.name, d.domid, dom0 === 'passthrough' ? 'passthrough' : 'table');
  if (dom0 === 'passthrough') return ctx;
  if (dom0 === 'relaxed') {
    for (const r of m.ram.entries()) {
      for (const s of segments(m.pages, r.start, r.end)) if (s.value?.owner !== DOMID_XEN) identity(m, ctx, s.start, s.end);
    }
  } else {
    ownIdentity(m, ctx, d.domid);
  }
  if (m.iommu.map_reserved) for (const e of m.e820.entries()) if (e.value === 'reserved') identity(m, ctx, e.start, e.end);
  for (const r of m.rmrr.entries()) identity(m, ctx, r.start, r.end);
  return ctx;
}

/**
 * xs PV-IOMMU mappings of the (PV) hardware domain's context: BFN = PFN → its own MFN (replacing
 * what is at those BFNs, as dom0's kernel does at boot), then the foreign window BFN =
 * foreign_offset + MFN for every host RAM frame but Xen's own (origin 'window'; XS23 removes
 * Xen's ranges, pv-iommu §2.6). Fixed for the run; clipped to the address width.
 */
export function installXsMappings(m: Machine): void {
  const d = m.hwdom !== undefined ? m.domains.get(m.hwdom) : undefined;
  const ctx = d?.iommu;
  if (!d || !ctx || ctx.mode !== 'table') return;
  for (const e of d.p2m.entries()) {
    const perms = iommuPermsForType(e.value.type);
    if (perms) setEntries(m, ctx, e.start, e.end, makeEntry(e.value.base, perms.r, perms.w, 'config'));
  }
  const off = m.pvIommu.offset;
  for (const r of m.ram.entries()) {
    for (const s of segments(m.pages, r.start, r.end)) {
      if (s.value?.owner !== DOMID_XEN) setEntries(m, ctx, off + s.start, off + s.end, makeEntry(s.start, true, true, 'window'));
    }
  }
}

/** Guests: translated — the p2m image; PV — own RAM 1:1 plus its devices' RMRRs 1:1 (Xen maps PV RMRRs directly). */
function guestContext(m: Machine, d: DomainModel): IommuContext {
  const ctx = newContext(d.name, d.domid, 'table');
  if (isTranslated(d)) {
    p2mImage(m, ctx, d);
  } else {
    ownIdentity(m, ctx, d.domid);
    for (const dev of m.devices.values()) {
      if (dev.owner === d.domid) for (const r of dev.cfg.rmrr) identity(m, ctx, r.start, r.end);
    }
  }
  return ctx;
}

function buildContexts(m: Machine): void {
  if (!m.iommu.enabled) {
    // No IOMMU: every device DMAs to machine addresses untranslated.
    m.bypass = newContext('no-iommu', DOMID_INVALID, 'passthrough');
    for (const dev of m.devices.values()) attachDevice(m, m.bypass, dev);
    return;
  }
  for (const d of m.domains.values()) {
    if (d.domid === m.hwdom) {
      d.iommu = hwdomContext(m, d);
      d.pvIommuUsable = m.pvIommu.usable;
    } else if (d.passthrough !== 'disabled') {
      d.iommu = guestContext(m, d);
    }
  }
  if (m.pvIommu.usable) installXsMappings(m);
  for (const dev of m.devices.values()) {
    if (dev.owner === DOMID_IO) dev.quarantine = quarantineContext(m, dev.bdf);
    const ctx = dev.owner === DOMID_IO ? dev.quarantine : m.domains.get(dev.owner)?.iommu;
    if (ctx) attachDevice(m, ctx, dev);
  }
}

