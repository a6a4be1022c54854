/**
 * What `pviommu inspect` and `pviommu translate` print: the built tables as extents (JSON-able
 * data, frames as "0x…" strings, owners by name) and their text rendering. Pure: no I/O.
 */
import type { P2mType } from '../config/schema.js';
import { formatPages, hex } from '../config/units.js';
import { MAX_FRAME } from './extents.js';
import { allContexts, contextsReaching } from './iommu.js';
import { freeFrameCount, freeRanges, isFrame, isHostRam } from './pages.js';
import { isTranslated } from './p2m.js';
import { domainNamed } from './names.js';
import type { DomId, DomainModel, IommuContext, Machine } from './types.js';
import { DOMID_INVALID, DOMID_IO, DOMID_XEN } from './types.js';

export type Hex = string;
export interface HexRange {
  start: Hex;
  end: Hex;
}

export interface InspectP2mExtent {
  gfns: HexRange;
  mfns: HexRange;
  pages: number;
  type: P2mType;
}

export interface InspectIommuExtent {
  dfns: HexRange;
  mfns: HexRange;
  pages: number;
  /** "rw", "r-" or "-w". */
  perms: string;
  origin: string;
  /** Each frame holds a page reference. */
  ref: boolean;
  /** Follows the p2m / ownership (else fixed for the run). */
  follows: boolean;
  noRef?: boolean;
}

export interface InspectContext {
  id: string;
  /** Owner domain by name ("io" for quarantine, "none" for the no-IOMMU bypass). */
  domain: string;
  ctxNo: number;
  mode: string;
  /** "p2m of vm1" / "ownership of dom0" when its derived entries follow the domain. */
  follows?: string;
  devices: string[];
  reserved: HexRange[];
  extents: number;
  /** Present when `what` includes iommu. */
  table?: InspectIommuExtent[];
}

export interface InspectDomain {
  name: string;
  domid: number;
  type: string;
  role: string;
  layout: string;
  memoryPages: number;
  totPages: number;
  maxPages: number;
  shortfall: number;
  passthrough: string;
  deviceModel: string;
  pod: boolean;
  logDirty: boolean;
  context?: string;
  lowRamEnd?: Hex;
  p2mExtents: number;
  /** Present when `what` includes p2m. */
  p2m?: InspectP2mExtent[];
}

export interface InspectPageExtent {
  mfns: HexRange;
  pages: number;
  owner: string;
  allocated: boolean;
  refs: number;
  pinned: boolean;
}

export interface InspectData {
  host: string;
  vendor: string;
  ram: { ranges: HexRange[]; pages: number; maxMfn: Hex | null };
  e820: { mfns: HexRange; type: string }[];
  rmrr: { mfns: HexRange; devices: string[] }[];
  iommu: {
    enabled: boolean;
    addressWidth: number;
    dom0: string;
    mapReserved: boolean;
    sharept: boolean;
    quarantine: string;
    scratchMfn?: Hex;
  };
  pvIommu: { abi: string; foreignOffset: Hex; usable: boolean };
  /** The domain the output is limited to, if any. */
  domain?: string;
  domains: InspectDomain[];
  devices: { name: string; bdf: string; owner: string; context?: string; phantoms: string[] }[];
  contexts: InspectContext[];
  aliases: { domain: string; entry: number; gfns: HexRange; mfns: HexRange; heldBy: string; heldByEntry?: number }[];
  /** Present when `what` includes pages. */
  pages?: { extents: InspectPageExtent[]; free?: HexRange[]; freePages?: number };
}

export type InspectWhat = 'p2m' | 'iommu' | 'pages';

const hr = (start: number, end: number): HexRange => ({ start: hex(start), end: hex(end) });

/** A domain's name, or Xen's pseudo-domains by name ("xen", "io"), else the number. */
export function domainName(m: Machine, domid: DomId): string {
  if (domid === DOMID_XEN) return 'xen';
  if (domid === DOMID_IO) return 'io';
  if (domid === DOMID_INVALID) return 'none';
  return m.domains.get(domid)?.name ?? String(domid);
}

/** A domain by name, or by domid (decimal or 0x hex). */
export function findDomain(m: Machine, ref: string | number): DomainModel | undefined {
  if (typeof ref === 'number') return m.domains.get(ref);
  const named = domainNamed(m, ref);
  if (named !== undefined) return named;
  if (/^\s*(0x[0-9a-f]+|\d+)\s*$/i.test(ref)) return m.domains.get(Number(ref.trim()));
  return undefined;
}

function perms(r: boolean, w: boolean): string {
  return `${r ? 'r' : '-'}${w ? 'w' : '-'}`;
}

function contextData(m: Machine, c: IommuContext, withTable: boolean): InspectContext {
  const out: InspectContext = {
    id: c.id,
    domain: domainName(m, c.domid),
    ctxNo: c.ctxNo,
    mode: c.mode,
    devices: [...c.devices].sort(),
    reserved: c.reserved.toArray().map((r) => hr(r.start, r.end)),
    extents: c.table.size,
  };
  if (c.followsP2m !== undefined) out.follows = `p2m of ${domainName(m, c.followsP2m)}`;
  else if (c.followsOwnership !== undefined) out.follows = `ownership of ${domainName(m, c.followsOwnership)}`;
  if (withTable) {
    out.table = c.table.toArray().map((e) => {
      const x: InspectIommuExtent = {
        dfns: hr(e.start, e.end),
        mfns: hr(e.value.base, e.value.base + (e.end - e.start)),
        pages: e.end - e.start + 1,
        perms: perms(e.value.r, e.value.w),
        origin: e.value.origin,
        ref: e.value.ref,
        follows: e.value.follows === true,
      };
      if (e.value.noRef) x.noRef = true;
      return x;
    });
  }
  return out;
}

/**
 * The machine's tables as JSON-able data. `domain` limits domains, contexts, devices and pages to
 * one domain (by name or domid); `what` chooses the tables printed in full (default all three:
 * p2m extents, IOMMU context tables, page ownership extents). An unknown domain gives `{error}`.
 */
export function inspect(m: Machine, opts: { domain?: string; what?: InspectWhat[] } = {}): InspectData | { error: string } {
  const what = new Set<InspectWhat>(opts.what && opts.what.length ? opts.what : ['p2m', 'iommu', 'pages']);
  let only: DomainModel | undefined;
  if (opts.domain !== undefined) {
    only = findDomain(m, opts.domain);
    if (!only) return { error: unknownDomain(m, opts.domain) };
  }
  const inScope = (domid: DomId) => only === undefined || only.domid === domid;

  const domains: InspectDomain[] = [];
  for (const d of m.domains.values()) {
    if (!inScope(d.domid)) continue;
    const x: InspectDomain = {
      name: d.name,
      domid: d.domid,
      type: d.type,
      role: d.role,
      layout: d.layout,
      memoryPages: d.cfg.memory,
      totPages: d.totPages,
      maxPages: d.maxPages,
      shortfall: d.shortfall,
      passthrough: d.passthrough,
      deviceModel: domainName(m, d.deviceModel),
      pod: d.pod,
      logDirty: d.logDirty,
      p2mExtents: d.p2m.size,
    };
    if (d.iommu) x.context = d.iommu.id;
    if (d.lowRamEnd !== undefined) x.lowRamEnd = hex(d.lowRamEnd);
    if (what.has('p2m')) {
      x.p2m = d.p2m.toArray().map((e) => ({
        gfns: hr(e.start, e.end),
        mfns: hr(e.value.base, e.value.base + (e.end - e.start)),
        pages: e.end - e.start + 1,
        type: e.value.type,
      }));
    }
    domains.push(x);
  }

  const contexts = allContexts(m)
    .filter((c) => only === undefined || c.domid === only.domid || [...c.devices].some((b) => m.devices.get(b)?.owner === only!.domid))
    .map((c) => contextData(m, c, what.has('iommu')));

  const devices = [...m.devices.values()]
    .filter((dev) => inScope(dev.owner))
    .map((dev) => {
      const ctx = m.bypass ?? (dev.owner === DOMID_IO ? dev.quarantine : m.domains.get(dev.owner)?.iommu);
      const x: InspectData['devices'][number] = { name: dev.cfg.name, bdf: dev.bdf, owner: domainName(m, dev.owner), phantoms: dev.phantoms };
      if (ctx) x.context = dev.ctxNo === 0 ? ctx.id : (m.domains.get(dev.owner)?.ta.contexts.get(dev.ctxNo)?.id ?? ctx.id);
      return x;
    });

  const data: InspectData = {
    host: m.host.name,
    vendor: m.vendor,
    ram: {
      ranges: m.ram.toArray().map((r) => hr(r.start, r.end)),
      pages: m.ram.frames,
      maxMfn: m.maxRamMfn >= 0 ? hex(m.maxRamMfn) : null,
    },
    e820: m.e820.toArray().map((e) => ({ mfns: hr(e.start, e.end), type: e.value })),
    rmrr: m.rmrr.toArray().map((e) => ({ mfns: hr(e.start, e.end), devices: e.value })),
    iommu: {
      enabled: m.iommu.enabled,
      addressWidth: m.iommu.address_width,
      dom0: m.iommu.dom0,
      mapReserved: m.iommu.map_reserved,
      sharept: m.iommu.sharept,
      quarantine: m.iommu.quarantine,
    },
    pvIommu: { abi: m.pvIommu.abi, foreignOffset: hex(m.pvIommu.offset), usable: m.pvIommu.usable },
    domains,
    devices,
    contexts,
    aliases: m.aliases
      .filter((a) => inScope(a.domid) || (typeof a.heldBy === 'number' && inScope(a.heldBy)))
      .map((a) => {
        const x: InspectData['aliases'][number] = {
          domain: domainName(m, a.domid),
          entry: a.entry,
          gfns: hr(a.gfn, a.gfn + a.count - 1),
          mfns: hr(a.mfn, a.mfn + a.count - 1),
          heldBy: typeof a.heldBy === 'number' ? domainName(m, a.heldBy) : a.heldBy,
        };
        if (a.heldByEntry !== undefined) x.heldByEntry = a.heldByEntry;
        return x;
      }),
  };
  if (m.scratchMfn !== undefined) data.iommu.scratchMfn = hex(m.scratchMfn);
  if (only) data.domain = only.name;
  if (what.has('pages')) {
    const extents: InspectPageExtent[] = [];
    for (const e of m.pages.entries()) {
      if (!inScope(e.value.owner)) continue;
      extents.push({
        mfns: hr(e.start, e.end),
        pages: e.end - e.start + 1,
        owner: domainName(m, e.value.owner),
        allocated: e.value.allocated,
        refs: e.value.refs,
        pinned: e.value.pinned,
      });
    }
    data.pages = { extents };
    if (!only) {
      data.pages.free = [...freeRanges(m)].map((r) => hr(r.start, r.end));
      data.pages.freePages = freeFrameCount(m);
    }
  }
  return data;
}

function unknownDomain(m: Machine, ref: string): string {
  const names = [...m.domains.values()].map((d) => d.name);
  return `host ${m.host.name} has no domain ${JSON.stringify(ref)}${names.length ? ` (domains: ${names.join(', ')})` : ' (it defines no domains)'}`;
}

// ---------------------------------------------------------------------------------------------
// Text.

/** Left-aligned columns separated by two spaces; numeric-looking columns right-aligned. */
function table(header: string[], rows: string[][], indent: string): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const right = header.map((_, i) => rows.length > 0 && rows.every((r) => /^\d+$/.test(r[i] ?? '')));
  const line = (cells: string[]) =>
    indent +
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

const rng = (r: HexRange) => (r.start === r.end ? r.start : `${r.start}-${r.end}`);

/** Readable aligned extent tables of an inspect result. */
export function formatInspectText(d: InspectData): string {
  const out: string[] = [];
  const ramDesc = `${formatPages(d.ram.pages)} RAM in ${d.ram.ranges.length} range${d.ram.ranges.length === 1 ? '' : 's'}`;
  out.push(`host ${d.host} (${d.vendor}, ${ramDesc}${d.ram.maxMfn ? `, highest MFN ${d.ram.maxMfn}` : ''})`);
  const io = d.iommu;
  out.push(
    io.enabled
      ? `  iommu: ${io.addressWidth}-bit, dom0 ${io.dom0}, map_reserved ${io.mapReserved ? 'on' : 'off'}, sharept ${io.sharept ? 'on' : 'off'}, quarantine ${io.quarantine}${io.scratchMfn ? ` (scratch page ${io.scratchMfn})` : ''}`
      : '  iommu: disabled (devices DMA to machine addresses untranslated)',
  );
  out.push(`  pv-iommu: abi ${d.pvIommu.abi}${d.pvIommu.abi === 'xs' ? `, ${d.pvIommu.usable ? 'usable' : 'not usable'}, foreign window at ${d.pvIommu.foreignOffset}` : ''}`);
  if (d.e820.length) out.push('', '  e820 (non-RAM)', ...table(['mfns', 'type'], d.e820.map((e) => [rng(e.mfns), e.type]), '    '));
  if (d.rmrr.length) out.push('', '  rmrr', ...table(['mfns', 'devices'], d.rmrr.map((e) => [rng(e.mfns), e.devices.join(' ')]), '    '));
  if (d.devices.length) {
    out.push('', '  devices');
    out.push(...table(['bdf', 'name', 'owner', 'context', 'phantoms'], d.devices.map((x) => [x.bdf, x.name, x.owner, x.context ?? '(none: DMA faults)', x.phantoms.join(' ')]), '    '));
  }
  for (const dom of d.domains) {
    out.push('');
    const mem = `${formatPages(dom.totPages)} of ${formatPages(dom.memoryPages)} (max ${formatPages(dom.maxPages)})`;
    const flags = [dom.pod ? 'pod' : '', dom.logDirty ? 'log-dirty' : '', dom.shortfall ? `SHORT ${formatPages(dom.shortfall)}` : ''].filter(Boolean);
    out.push(`domain ${dom.name} (domid ${dom.domid}, ${dom.type}, ${dom.role}) ${mem}, ${dom.layout} layout, passthrough ${dom.passthrough}${dom.context ? `, context ${dom.context}` : ''}, device model ${dom.deviceModel}${flags.length ? `, ${flags.join(', ')}` : ''}`);
    if (dom.p2m) {
      out.push(`  p2m (${dom.p2mExtents} extent${dom.p2mExtents === 1 ? '' : 's'})`);
      if (dom.p2m.length) out.push(...table([dom.type === 'pv' ? 'pfns' : 'gfns', 'mfns', 'pages', 'type'], dom.p2m.map((e) => [rng(e.gfns), rng(e.mfns), String(e.pages), e.type]), '    '));
      else out.push('    (empty)');
    }
  }
  if (d.contexts.length) {
    for (const c of d.contexts) {
      out.push('');
      out.push(`iommu context ${c.id} (${c.domain}, ctx ${c.ctxNo}, ${c.mode}, ${c.extents} extent${c.extents === 1 ? '' : 's'}${c.follows ? `, follows ${c.follows}` : ''})`);
      if (c.devices.length) out.push(`  devices: ${c.devices.join(' ')}`);
      if (c.reserved.length) out.push(`  reserved: ${c.reserved.map(rng).join(' ')}`);
      if (c.table) {
        if (c.mode === 'passthrough') out.push('  (no translation: DFN = MFN for every frame)');
        else if (c.mode === 'scratch') out.push('  (every DFN reaches the scratch page)');
        else if (c.table.length === 0) out.push('  (empty: every DMA faults)');
        else {
          out.push(
            ...table(
              ['dfns', 'mfns', 'pages', 'perm', 'origin', 'ref'],
              c.table.map((e) => [rng(e.dfns), rng(e.mfns), String(e.pages), e.perms, e.origin + (e.follows ? ' (follows)' : ''), e.ref ? 'ref' : e.noRef ? 'no_ref_cnt' : '-']),
              '  ',
            ),
          );
        }
      }
    }
  }
  if (d.aliases.length) {
    out.push('', 'explicit p2m claims on frames held by others');
    out.push(...table(['domain', 'entry', 'gfns', 'mfns', 'held by'], d.aliases.map((a) => [a.domain, `#${a.entry}`, rng(a.gfns), rng(a.mfns), a.heldBy + (a.heldByEntry !== undefined ? ` (p2m #${a.heldByEntry})` : '')]), '  '));
  }
  if (d.pages) {
    out.push('', `pages (${d.pages.extents.length} owned extent${d.pages.extents.length === 1 ? '' : 's'}${d.pages.freePages !== undefined ? `, ${formatPages(d.pages.freePages)} free` : ''})`);
    if (d.pages.extents.length) {
      out.push(...table(['mfns', 'pages', 'owner', 'alloc', 'refs', 'pinned'], d.pages.extents.map((e) => [rng(e.mfns), String(e.pages), e.owner, e.allocated ? 'yes' : 'no', String(e.refs), e.pinned ? 'yes' : '-']), '  '));
    }
    if (d.pages.free?.length) out.push(`  free: ${d.pages.free.map(rng).join(' ')}`);
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// translate

export interface TranslateData {
  host: string;
  domain: string;
  domid: number;
  /** 'gfn' for translated domains; 'pfn' for PV (the index into its P2M list). */
  space: 'gfn' | 'pfn';
  gfn: Hex;
  /** Whether the p2m maps the gfn. */
  backed: boolean;
  mfn?: Hex;
  type?: P2mType;
  /** The p2m extent the gfn lies in. */
  extent?: { gfns: HexRange; mfns: HexRange };
  /** What the machine frame is: owned RAM, free RAM, an RMRR frame of RAM, or not host RAM. */
  frame?: 'owned' | 'free' | 'rmrr' | 'non-ram';
  owner?: string;
  page?: { allocated: boolean; refs: number; pinned: boolean };
  /** Every (context, DFN) whose DMA reaches the frame. */
  reachedBy: { context: string; domain: string; dfn: Hex; perms: string; devices: string[] }[];
}

/**
 * Where a domain's gfn (pfn for PV) lives: its mfn and p2m type, the frame's owner and references,
 * and every IOMMU (context, DFN) reaching it. `{error}` for an unknown domain or a bad frame number.
 */
export function translateGfn(m: Machine, domain: string, gfn: number): TranslateData | { error: string } {
  const d = findDomain(m, domain);
  if (!d) return { error: unknownDomain(m, domain) };
  if (!isFrame(gfn)) return { error: `gfn ${String(gfn)} is not a frame number (0 ≤ gfn ≤ ${hex(MAX_FRAME)})` };
  const out: TranslateData = {
    host: m.host.name,
    domain: d.name,
    domid: d.domid,
    space: isTranslated(d) ? 'gfn' : 'pfn',
    gfn: hex(gfn),
    backed: false,
    reachedBy: [],
  };
  const ext = d.p2m.get(gfn);
  if (!ext) return out;
  const mfn = ext.value.base + (gfn - ext.start);
  out.backed = true;
  out.mfn = hex(mfn);
  out.type = ext.value.type;
  out.extent = { gfns: hr(ext.start, ext.end), mfns: hr(ext.value.base, ext.value.base + (ext.end - ext.start)) };
  const page = m.pages.lookup(mfn);
  if (page) {
    out.frame = 'owned';
    out.owner = domainName(m, page.owner);
    out.page = { allocated: page.allocated, refs: page.refs, pinned: page.pinned };
  } else if (!isHostRam(m, mfn)) out.frame = 'non-ram';
  else if (m.rmrr.has(mfn)) out.frame = 'rmrr';
  else out.frame = 'free';
  out.reachedBy = contextsReaching(m, mfn).map((r) => ({
    context: r.ctx.id,
    domain: domainName(m, r.ctx.domid),
    dfn: hex(r.dfn),
    perms: perms(r.r, r.w),
    devices: [...r.ctx.devices].sort(),
  }));
  return out;
}

export function formatTranslateText(d: TranslateData): string {
  const out: string[] = [];
  out.push(`${d.domain} (domid ${d.domid}) ${d.space} ${d.gfn} on host ${d.host}`);
  if (!d.backed) {
    out.push(`  not backed: the p2m of ${d.domain} maps nothing at ${d.gfn}`);
    return out.join('\n') + '\n';
  }
  out.push(`  mfn     ${d.mfn}  (${d.type}; extent ${rng(d.extent!.gfns)} → ${rng(d.extent!.mfns)})`);
  const frame =
    d.frame === 'owned'
      ? `owned by ${d.owner}, ${d.page!.allocated ? 'allocated' : 'released by its owner'}, ${d.page!.refs} reference${d.page!.refs === 1 ? '' : 's'}${d.page!.pinned ? ', pinned' : ''}`
      : d.frame === 'free'
        ? 'FREE host RAM'
        : d.frame === 'rmrr'
          ? 'reserved (RMRR) frame of host RAM'
          : 'not host RAM';
  out.push(`  frame   ${frame}`);
  if (d.reachedBy.length === 0) out.push('  reached by no IOMMU context (no device can DMA to it)');
  else {
    out.push('  reached by DMA through');
    out.push(...table(['context', 'domain', 'dfn', 'perm', 'devices'], d.reachedBy.map((r) => [r.context, r.domain, r.dfn, r.perms, r.devices.join(' ')]), '    '));
  }
  return out.join('\n') + '\n';
}
