/**
 * Helpers shared by the `rdm/*`, `iomem/*`, `iommu/*`, `dom0/*`, `pviommu/*` and `mediated/*`
 * static rules.
 *
 * Most answers come from the validated config (HostConfig): guest RAM layout (SPEC §3.1), the
 * xs PV-IOMMU "usable" predicate (SPEC §4.3, pv-iommu.md §2.3), what each IOMMU context maps
 * (SPEC §3.2). Machine frames that only the model knows (which MFNs the automatic allocation gave
 * a domain) are read from the Machine, and the checks that need them are skipped when the model
 * has no entry for that domain.
 */
import type { DeviceCfg, DomainCfg, HostCfg, HostConfig } from '../../../config/validate.js';
import type { PathSeg } from '../../../config/source.js';
import type { DocSource } from '../../../config/source.js';
import { formatPages, type FrameRange } from '../../../config/units.js';
import type { P2mType } from '../../../config/schema.js';
import type { Machine } from '../../../model/types.js';
import type { NodeRef } from '../../rule.js';
import { assignments, hardwareDomain, hostRam, resolvePassthrough, subtract, type Assignment } from '../pci/_util.js';
import { RAM_TYPES as MODEL_RAM_TYPES, iommuPermsForType } from '../../../model/p2m.js';

export {
  assignments,
  deviceSubject,
  devLabel,
  domainSubject,
  hardwareDomain,
  hostRam,
  intersect,
  ownerOf,
  rangeText,
  rangeWithSize,
  resolvePassthrough,
  type Assignment,
} from '../pci/_util.js';

// ---------------------------------------------------------------------------------------------
// Frames

/** 4 GiB in frames: where hvm/pvh high RAM starts (GFN 0x100000). */
export const FOUR_GIB = 0x100000;


/** `39-bit (512 GiB)` */
export function widthText(bits: number): string {
  const bytes = 2n ** BigInt(bits);
  const units: [string, bigint][] = [
    ['EiB', 1n << 60n],
    ['PiB', 1n << 50n],
    ['TiB', 1n << 40n],
    ['GiB', 1n << 30n],
  ];
  for (const [u, m] of units) if (bytes >= m) return `${bits}-bit (${bytes / m} ${u})`;
  return `${bits}-bit`;
}

export function overlaps(a: FrameRange, b: FrameRange): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/** Highest frame of a list of ranges, or -1. */
export function highestOf(ranges: readonly FrameRange[]): number {
  let m = -1;
  for (const r of ranges) if (r.end > m) m = r.end;
  return m;
}

/** Highest host RAM frame (inclusive), or -1 without RAM. */
export function maxHostRamMfn(hc: HostConfig): number {
  return highestOf(hostRam(hc));
}

/** Host RAM minus Xen's own frames: what a relaxed PV dom0 identity-maps (xen-model §2.3). */
export function hostRamNotXen(hc: HostConfig): FrameRange[] {
  const xen = [...hc.host.xen_mfns].sort((a, b) => a.start - b.start);
  return hostRam(hc).flatMap((r) => subtract(r, xen));
}

// ---------------------------------------------------------------------------------------------
// Positions

function sameSpan(a: ReturnType<DocSource['locate']>, b: ReturnType<DocSource['locate']>): boolean {
  return a.line === b.line && a.column === b.column && a.endLine === b.endLine && a.endColumn === b.endColumn;
}

/**
 * Does the document spell out the node at `path`? (The schema fills defaults in, so the value
 * alone cannot tell.) A missing node locates to one of its ancestors' spans (source.ts fallbacks):
 * the parent's key, the parent mapping itself, or the top-level `name`.
 */
export function present(src: DocSource, path: readonly PathSeg[]): boolean {
  if (path.length === 0) return true;
  const here = src.locate(path, 'value');
  const parent = path.slice(0, -1);
  if (sameSpan(here, src.locate(parent, 'value'))) return false;
  if (parent.length > 0 && sameSpan(here, src.locate(parent, 'key'))) return false;
  if (parent.length === 0 && path[0] !== 'name' && sameSpan(here, src.locate(['name'], 'value'))) return false;
  return true;
}

/**
 * The first of `paths` the document spells out; the last one when none is (its fallback span).
 * Decided when `path` is first read: rules build these for every candidate finding, and asking a
 * document for positions is only worth it for the ones reported (see config/yaml/source.ts).
 */
export function firstPresent(src: DocSource, ...paths: (readonly PathSeg[])[]): NodeRef {
  let chosen: readonly PathSeg[] | undefined;
  return {
    src,
    get path(): readonly PathSeg[] {
      if (chosen === undefined) {
        chosen = paths[paths.length - 1]!;
        for (const p of paths) {
          if (present(src, p)) {
            chosen = p;
            break;
          }
        }
      }
      return chosen;
    },
  };
}

/**
 * A node of the Host document. When `path` is not written, its position falls back (source.ts) to
 * the parent key (`iommu:` for `iommu.dom0`) or the host's name.
 */
export function hostAt(hc: HostConfig, path: readonly PathSeg[]): NodeRef {
  return { src: hc.host.src, path };
}

/** `iommu.address_width`, when the host writes it (for `related`). */
export function addressWidthRelated(host: HostCfg): { at: NodeRef; message: string }[] {
  return present(host.src, ['iommu', 'address_width'])
    ? [{ at: { src: host.src, path: ['iommu', 'address_width'] }, message: `IOMMU address width ${host.iommu.address_width} bits` }]
    : [];
}

/**
 * Where a pci entry's RDM policy is decided: its `rdm_policy` when written, else its `dev`
 * (the entry then has xl's per-device default, strict).
 */
export function rdmPolicyAt(a: Assignment): NodeRef {
  return firstPresent(a.dom.src, ['pci', a.index, 'rdm_policy'], ['pci', a.index, 'dev']);
}

// ---------------------------------------------------------------------------------------------
// Guest memory (SPEC §3.1)

/** p2m types that are guest RAM (backed, or to be backed on demand, by the domain's own pages). */
export const RAM_TYPES: ReadonlySet<P2mType> = new Set<P2mType>([...MODEL_RAM_TYPES, 'populate_on_demand']);

export interface GuestRam {
  /** RAM GFN ranges (pv: PFN ranges), sorted. */
  ranges: FrameRange[];
  /** Automatic layout: end (exclusive) of low RAM below 4 GiB; undefined for an explicit p2m or pv. */
  lowEnd?: number;
  /** Automatic layout: end (exclusive) of high RAM from 4 GiB, or 0 without high RAM. */
  highEnd?: number;
  explicit: boolean;
}

/**
 * A domain's RAM in its own frame space (GFNs; PFNs for pv), from the config: an explicit `p2m`'s
 * RAM extents, or the automatic layout — hvm/pvh low RAM from GFN 0 up to 4 GiB − mmio_hole and
 * the rest from 4 GiB; pv PFN 0 upward.
 */
export function guestRam(dom: DomainCfg): GuestRam {
  if (dom.p2m) {
    const ranges = dom.p2m
      .filter((e) => RAM_TYPES.has(e.type))
      .map((e) => ({ start: e.gfns.start, end: e.gfns.end }))
      .sort((a, b) => a.start - b.start);
    return { ranges, explicit: true };
  }
  const pages = dom.memory;
  if (dom.type === 'pv') return { ranges: pages > 0 ? [{ start: 0, end: pages - 1 }] : [], explicit: false };
  const lowLimit = FOUR_GIB - dom.mmio_hole;
  const lowEnd = Math.min(pages, lowLimit);
  const high = pages - lowEnd;
  const ranges: FrameRange[] = [];
  if (lowEnd > 0) ranges.push({ start: 0, end: lowEnd - 1 });
  if (high > 0) ranges.push({ start: FOUR_GIB, end: FOUR_GIB + high - 1 });
  return { ranges, lowEnd, highEnd: high > 0 ? FOUR_GIB + high : 0, explicit: false };
}

/**
 * The machine frames (MFNs) of a domain's RAM, from the model's p2m (translated: gfn → mfn;
 * pv: pfn → mfn). Undefined when the model has no such domain.
 */
export function domainMfns(machine: Machine, domid: number): FrameRange[] | undefined {
  const dm = machine.domains?.get(domid);
  if (!dm) return undefined;
  const out: FrameRange[] = [];
  for (const e of dm.p2m.entries()) {
    if (!RAM_TYPES.has(e.value.type)) continue;
    out.push({ start: e.value.base, end: e.value.base + (e.end - e.start) });
  }
  return out.sort((a, b) => a.start - b.start);
}

/**
 * The BFNs of a PV hardware domain's xs BFN = PFN entries: the PFNs of its p2m that its IOMMU
 * context maps (what `installXsMappings` in the model puts there), adjacent runs merged. Its
 * own pages only: balloon room up to maxmem holds no page, so no entry.
 */
export function xsPfnRanges(machine: Machine, domid: number): FrameRange[] {
  const dm = machine.domains?.get(domid);
  if (!dm) return [];
  const out: FrameRange[] = [];
  for (const e of dm.p2m.entries()) {
    if (!iommuPermsForType(e.value.type)) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last.end + 1 === e.start) last.end = e.end;
    else out.push({ start: e.start, end: e.end });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Devices, owners, contexts

/** Every (device, rmrr index, range) of the host. */
export function rmrrEntries(hc: HostConfig): { dev: DeviceCfg; index: number; range: FrameRange }[] {
  const out: { dev: DeviceCfg; index: number; range: FrameRange }[] = [];
  for (const dev of hc.devices) dev.rmrr.forEach((range, index) => out.push({ dev, index, range }));
  return out;
}

/** The assignment (pci entry) that makes a domain own `dev`, first by domid. */
export function assignmentOf(hc: HostConfig, dev: DeviceCfg, list: readonly Assignment[] = assignments(hc)): Assignment | undefined {
  return list.find((a) => a.dev === dev);
}

/** Non-hardware domains with at least one pci entry: the host passes devices to guests. */
export function guestAssignments(hc: HostConfig): Assignment[] {
  return assignments(hc).filter((a) => a.dom.role !== 'hardware');
}

/**
 * How a domain's IOMMU context translates (SPEC §3.2), or undefined when it has none.
 * - `passthrough`: no translation (dom0-iommu=passthrough, or the IOMMU is off: DMA is untranslated)
 * - `all-ram`: identity map of all host RAM (relaxed PV hardware domain)
 * - `own-mfn`: identity map of the domain's own RAM (strict PV hardware domain, PV guests)
 * - `gfn`: DFN = GFN of its p2m (PVH hardware domain, translated guests)
 */
export type ContextKind = 'passthrough' | 'all-ram' | 'own-mfn' | 'gfn';

export function contextKind(hc: HostConfig, dom: DomainCfg): ContextKind | undefined {
  const iommu = hc.host.iommu;
  if (!iommu.enabled) return 'passthrough';
  if (dom.role === 'hardware') {
    if (dom.type !== 'pv') return 'gfn'; // Xen forces strict for a PVH hardware domain
    if (iommu.dom0 === 'passthrough') return 'passthrough';
    return iommu.dom0 === 'relaxed' ? 'all-ram' : 'own-mfn';
  }
  if (resolvePassthrough(hc, dom) === 'disabled') return undefined;
  return dom.type === 'pv' ? 'own-mfn' : 'gfn';
}

export function contextWords(kind: ContextKind | undefined): string {
  switch (kind) {
    case 'passthrough':
      return 'no translation (DMA addresses are machine addresses)';
    case 'all-ram':
      return 'an identity map of all host RAM (relaxed dom0)';
    case 'own-mfn':
      return "an identity map of the domain's own RAM only";
    case 'gfn':
      return "the domain's guest-physical addresses (DFN = GFN)";
    default:
      return 'no IOMMU context';
  }
}

// ---------------------------------------------------------------------------------------------
// PV-IOMMU (SPEC §4.3, pv-iommu.md §2.3)

export interface XsCondition {
  /** What fails, in words. */
  reason: string;
  /** The node that makes it fail. */
  at: NodeRef;
}

/**
 * Why the xs PV-IOMMU is not usable on this host (`can_use_iommu_check` for the hardware
 * domain): IOMMU disabled, dom0 passthrough, a PVH hardware domain, an AMD host, no ELF note.
 * Empty when usable. A host without a hardware domain is judged on its Host settings alone.
 */
export function xsFailures(hc: HostConfig): XsCondition[] {
  const h = hc.host;
  const out: XsCondition[] = [];
  const hw = hardwareDomain(hc);
  if (!h.iommu.enabled) out.push({ reason: 'the IOMMU is disabled (iommu.enabled: false)', at: hostAt(hc, ['iommu', 'enabled']) });
  else if (h.iommu.dom0 === 'passthrough' && hw?.type !== 'pvh') {
    out.push({ reason: "dom0's IOMMU mode is passthrough (dom0-iommu=passthrough)", at: hostAt(hc, ['iommu', 'dom0']) });
  }
  if (hw && hw.type !== 'pv') {
    out.push({ reason: `the hardware domain ${hw.name} is ${hw.type}, not PV (XenServer's PV-IOMMU refuses a translated dom0)`, at: { src: hw.src, path: ['type'] } });
  }
  if (h.cpu_vendor === 'amd') out.push({ reason: 'the host is AMD (the xs PV-IOMMU is Intel-only)', at: hostAt(hc, ['cpu_vendor']) });
  if (!h.pv_iommu.elf_note) {
    out.push({ reason: "dom0's kernel does not advertise PV-IOMMU support (pv_iommu.elf_note: false)", at: hostAt(hc, ['pv_iommu', 'elf_note']) });
  }
  return out;
}

/** The xs foreign window exists: abi xs and usable. */
export function xsWindow(hc: HostConfig): boolean {
  return hc.host.pv_iommu.abi === 'xs' && xsFailures(hc).length === 0;
}

/** Where findings about the foreign window are anchored: `foreign_offset` if written, else `abi`. */
export function foreignOffsetAt(hc: HostConfig): NodeRef {
  return firstPresent(hc.host.src, ['pv_iommu', 'foreign_offset'], ['pv_iommu', 'abi']);
}

/** Highest BFN of the xs foreign window (offset + highest host RAM MFN), or -1 without RAM. */
export function windowEnd(hc: HostConfig): number {
  const max = maxHostRamMfn(hc);
  return max < 0 ? -1 : hc.host.pv_iommu.foreign_offset + max;
}

/**
 * The hardware domain's highest PFN: of its explicit p2m, or PFN memory−1 of the automatic
 * layout; maxmem counts too (Linux sizes max_pfn to include the balloon's room).
 */
export function highestPfn(dom: DomainCfg): number {
  const fromRam = highestOf(guestRam(dom).ranges);
  return Math.max(fromRam, dom.maxmem - 1);
}

/** Which setting of a domain makes its highest PFN `top` (see highestPfn), in words and as a node. */
export function formatTop(dom: DomainCfg, top: number): { words: string; at: NodeRef } {
  if (dom.maxmem > dom.memory && dom.maxmem - 1 === top) {
    return { words: `maxmem ${formatPages(dom.maxmem)}`, at: { src: dom.src, path: ['maxmem'] } };
  }
  if (dom.p2m) {
    const i = dom.p2m.findIndex((e) => RAM_TYPES.has(e.type) && e.gfns.start <= top && top <= e.gfns.end);
    if (i >= 0) return { words: `its p2m reaches PFN 0x${top.toString(16)}`, at: { src: dom.src, path: ['p2m', i, 'gfns'] } };
  }
  return { words: `memory ${formatPages(dom.memory)}`, at: { src: dom.src, path: ['memory'] } };
}
