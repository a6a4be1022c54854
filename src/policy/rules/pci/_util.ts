/**
 * Helpers shared by the `pci/*`, `passthrough/*` and `memory/*` static rules.
 *
 * Everything here reads the validated config (HostConfig) only: which domain's `pci` list names
 * which Device, who owns a device (SPEC §2.2), phantom functions, xl's passthrough resolution
 * (SPEC §3.3), host RAM as frame ranges. Pure functions, no model access.
 */
import type { DeviceCfg, DomainCfg, HostConfig } from '../../../config/validate.js';
import { findDevice } from '../../../config/validate.js';
import type { PciEntry } from '../../../config/schema.js';
import { formatPages, phantomBdfs, rangeText, type FrameRange } from '../../../config/units.js';
import type { NodeRef } from '../../rule.js';
import type { Subject } from '../../types.js';

// ---------------------------------------------------------------------------------------------
// Domains

export function isHardware(dom: DomainCfg): boolean {
  return dom.role === 'hardware';
}

export function hardwareDomain(hc: HostConfig): DomainCfg | undefined {
  return hc.domains.find(isHardware);
}

export function domainSubject(dom: DomainCfg): Subject {
  return { kind: 'Domain', name: dom.name };
}

export function deviceSubject(dev: DeviceCfg): Subject {
  return { kind: 'Device', name: dev.name };
}

// ---------------------------------------------------------------------------------------------
// Devices and assignments

/** One entry of a domain's `pci` list, with the Device it names. */
export interface Assignment {
  dom: DomainCfg;
  /** Index in the domain's `pci` list. */
  index: number;
  entry: PciEntry;
  dev: DeviceCfg;
}

/**
 * Every `pci` entry of the host whose device resolves, in domid order, then list order.
 * (Entries naming no Device are `ref/unknown`, and such a host is not checked statically.)
 */
export function assignments(hc: HostConfig): Assignment[] {
  const out: Assignment[] = [];
  for (const dom of hc.domains) {
    dom.pci.forEach((entry, index) => {
      const dev = findDevice(hc, entry.dev);
      if (dev) out.push({ dom, index, entry, dev });
    });
  }
  return out;
}

/** The `dev` node of a pci entry: where findings about an assignment are anchored. */
export function entryAt(a: Assignment, key: keyof PciEntry = 'dev'): NodeRef {
  return { src: a.dom.src, path: ['pci', a.index, key] };
}

/** `igd (0000:00:02.0)` */
export function devLabel(dev: DeviceCfg): string {
  return `${dev.name} (${dev.bdf})`;
}

/**
 * The owner of a device (SPEC §2.2): the first domain whose `pci` list names it, otherwise the
 * hardware domain. `undefined` only when the host has no hardware domain.
 */
export function ownerOf(hc: HostConfig, dev: DeviceCfg, list: readonly Assignment[] = assignments(hc)): DomainCfg | undefined {
  return list.find((a) => a.dev === dev)?.dom ?? hardwareDomain(hc);
}

/** BDFs of a device's phantom functions (`phantomBdfs`). */
export function phantomFunctions(dev: DeviceCfg): string[] {
  return phantomBdfs(dev.bdf, dev.phantom_stride);
}

/**
 * The real device whose phantom function `dev` is (another Device in the same slot with a
 * `phantom_stride` that reaches dev's function), or undefined. The lowest such function wins.
 */
export function phantomParent(hc: HostConfig, dev: DeviceCfg): DeviceCfg | undefined {
  let best: DeviceCfg | undefined;
  for (const other of hc.devices) {
    if (other === dev || !other.phantom_stride) continue;
    if (!phantomFunctions(other).includes(dev.bdf)) continue;
    if (!best || other.bdf < best.bdf) best = other;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Passthrough (xl semantics, SPEC §3.3; the resolved mode is DomainModel.passthrough)

export type ResolvedPassthrough = 'disabled' | 'sync_pt' | 'share_pt';

/**
 * libxl's resolution from the config alone (the model holds the same in DomainModel.passthrough):
 * `default` → disabled without devices, else enabled; `enabled` → share_pt for hvm with hap on an
 * intel host with `iommu.sharept`, else sync_pt. An explicit value is kept (an invalid explicit
 * share_pt is passthrough/share-pt-invalid's business). Unlike the model, a hardware domain is not
 * forced to have a context here.
 */
export function resolvePassthrough(hc: HostConfig, dom: DomainCfg): ResolvedPassthrough {
  let p = dom.passthrough;
  if (p === 'default') p = dom.pci.length ? 'enabled' : 'disabled';
  if (p === 'enabled') {
    return dom.type === 'hvm' && dom.hap && hc.host.cpu_vendor === 'intel' && hc.host.iommu.sharept ? 'share_pt' : 'sync_pt';
  }
  return p;
}

/** The explicit `passthrough:` value when it asks for an IOMMU (enabled, sync_pt, share_pt). */
export function explicitPassthroughOn(dom: DomainCfg): boolean {
  return dom.passthrough !== 'default' && dom.passthrough !== 'disabled';
}

/**
 * Where to anchor a finding about "this domain has passthrough": the `passthrough` value when it
 * explicitly asks for it, else the first `pci` entry (which makes `default` resolve to enabled).
 */
export function passthroughAt(dom: DomainCfg): NodeRef {
  if (explicitPassthroughOn(dom) || !dom.pci.length) return { src: dom.src, path: ['passthrough'] };
  return { src: dom.src, path: ['pci', 0, 'dev'] };
}

/** Short words for why the domain has passthrough: `passthrough: sync_pt` or `1 pci device (igd)`. */
export function passthroughWhy(hc: HostConfig, dom: DomainCfg): string {
  return explicitPassthroughOn(dom) ? `passthrough: ${dom.passthrough}` : devicesText(hc, dom);
}

/** `2 pci devices (igd, nic-vf1)` */
export function devicesText(hc: HostConfig, dom: DomainCfg): string {
  const names = dom.pci.map((p) => findDevice(hc, p.dev)?.name ?? p.dev);
  return `${names.length} pci device${names.length === 1 ? '' : 's'} (${names.join(', ')})`;
}

// ---------------------------------------------------------------------------------------------
// Host memory

/** Host RAM as sorted, disjoint inclusive frame ranges (`ram:` shorthand or E820 RAM entries). */
export function hostRam(hc: HostConfig): FrameRange[] {
  const h = hc.host;
  if (h.memory_map) {
    return h.memory_map
      .filter((e) => e.type === 'ram')
      .map((e) => ({ start: e.mfns.start, end: e.mfns.end }))
      .sort((a, b) => a.start - b.start);
  }
  if (h.ram !== undefined && h.ram > 0) return [{ start: 0, end: h.ram - 1 }];
  return [];
}

/** Parts of `r` not covered by `cover` (sorted, disjoint). */
export function subtract(r: FrameRange, cover: readonly FrameRange[]): FrameRange[] {
  const out: FrameRange[] = [];
  let pos = r.start;
  for (const c of cover) {
    if (c.end < pos) continue;
    if (c.start > r.end) break;
    if (c.start > pos) out.push({ start: pos, end: c.start - 1 });
    pos = Math.max(pos, c.end + 1);
    if (pos > r.end) return out;
  }
  if (pos <= r.end) out.push({ start: pos, end: r.end });
  return out;
}

/** The overlap of two ranges, or undefined. */
export function intersect(a: FrameRange, b: FrameRange): FrameRange | undefined {
  const start = Math.max(a.start, b.start);
  const end = Math.min(a.end, b.end);
  return start <= end ? { start, end } : undefined;
}

export { rangeText };

/** `0x100-0x1ff (1 MiB)` */
export function rangeWithSize(r: FrameRange): string {
  return `${rangeText(r)} (${formatPages(r.end - r.start + 1)})`;
}
