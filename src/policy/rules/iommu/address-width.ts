/**
 * iommu/address-width — a frame the IOMMU must map lies beyond its address width, or a device
 * must DMA beyond its own `dma_bits`.
 *
 * DFNs ≥ 2^(address_width − 12) do not exist: VT-d masks the DMA address to the domain's AGAW
 * (vtd/iommu.c:addr_to_dma_page_maddr), so the entry silently aliases a low DFN; AMD cannot
 * represent it in its page-table levels and fails the map (-EFAULT, domain crashed).
 *
 * What a context must map (SPEC §3.2): the xs foreign window, every device's RMRR (identity),
 * the host RAM a context covers (relaxed PV dom0: all host RAM; strict PV dom0 and PV guests:
 * their own MFNs; PVH dom0 and translated guests with passthrough: their GFNs).
 * What a device must reach itself (`dma_bits`): its RMRR, and for a mediated device the
 * addresses its mediator programs (`mfn`: the vgpus' MFNs, `gpa`: their GFNs; the `pv-iommu`
 * window is pviommu/window-beyond-dma's). Ordinary DMA beyond `dma_bits` is not reported: the
 * OS bounces it through a DMA-able buffer.
 */
import { defineRule, type NodeRef, type ReportArgs } from '../../rule.js';
import type { DomainCfg, HostConfig } from '../../../config/validate.js';
import type { PathSeg } from '../../../config/source.js';
import { framesBelow, hex, type FrameRange } from '../../../config/units.js';
import type { Machine } from '../../../model/types.js';
import {
  addressWidthRelated,
  contextKind,
  devLabel,
  deviceSubject,
  domainMfns,
  domainSubject,
  foreignOffsetAt,
  guestRam,
  hardwareDomain,
  highestOf,
  hostRamNotXen,
  maxHostRamMfn,
  ownerOf,
  present,
  rangeText,
  RAM_TYPES,
  widthText,
  windowEnd,
  xsWindow,
} from './_util.js';

function effect(hc: HostConfig): string {
  return hc.host.cpu_vendor === 'amd'
    ? 'AMD IOMMU page tables cannot hold it, so Xen fails the mapping and crashes the domain'
    : 'VT-d masks DMA addresses to the width, so such a DFN silently wraps to a low one and reaches another page';
}

/** The Host node that holds the highest RAM frame (`ram`, or its memory_map entry). */
function hostRamAt(hc: HostConfig, frame: number): NodeRef {
  const mm = hc.host.memory_map;
  if (mm) {
    const i = mm.findIndex((e) => e.type === 'ram' && e.mfns.start <= frame && frame <= e.mfns.end);
    if (i >= 0) return { src: hc.host.src, path: ['memory_map', i, 'mfns'] };
  }
  return { src: hc.host.src, path: ['ram'] };
}

/**
 * The node of a domain responsible for its highest frame: the explicit p2m extent holding it
 * (by gfn or mfn), else `memory`.
 */
function domainTopAt(dom: DomainCfg, frame: number, by: 'gfns' | 'mfns'): NodeRef {
  if (dom.p2m) {
    const i = dom.p2m.findIndex((e) => RAM_TYPES.has(e.type) && e[by].start <= frame && frame <= e[by].end);
    if (i >= 0) return { src: dom.src, path: ['p2m', i, by] as PathSeg[] };
  }
  return { src: dom.src, path: ['memory'] };
}

/** Highest frame a domain's context maps (DFN space), with how it is counted, or undefined. */
function contextTop(hc: HostConfig, machine: Machine, dom: DomainCfg): { top: number; words: string; by: 'gfns' | 'mfns' } | undefined {
  const kind = contextKind(hc, dom);
  if (kind === 'own-mfn') {
    const mfns = domainMfns(machine, dom.domid);
    if (!mfns?.length) return undefined;
    return { top: highestOf(mfns), words: `its own RAM at DFN = MFN, up to MFN`, by: 'mfns' };
  }
  if (kind === 'gfn') {
    const ranges = guestRam(dom).ranges;
    if (!ranges.length) return undefined;
    return { top: highestOf(ranges), words: `its RAM at DFN = GFN, up to GFN`, by: 'gfns' };
  }
  return undefined;
}

export default defineRule({
  id: 'iommu/address-width',
  severity: 'error',
  phase: 'static',
  description:
    "A frame the IOMMU must map (xs foreign window, a device's RMRR, RAM a context maps) lies beyond the IOMMU address width, or beyond a device's dma_bits for DMA it must do.",
  check({ hc, machine, report }) {
    const host = hc.host;
    const aw = host.iommu.address_width;
    const limit = framesBelow(aw);
    const width = `the ${widthText(aw)} IOMMU address width (DFNs below ${hex(limit)})`;
    // only for findings: it looks the host document up (config/yaml/source.ts)
    let widthRelMemo: ReturnType<typeof addressWidthRelated> | undefined;
    const widthRel = () => (widthRelMemo ??= addressWidthRelated(host));
    const hw = hardwareDomain(hc);
    const enabled = host.iommu.enabled;

    // 1. The xs foreign window: BFN = foreign_offset + MFN for every host RAM frame.
    if (enabled && xsWindow(hc)) {
      const end = windowEnd(hc);
      if (end >= limit) {
        report({
          at: foreignOffsetAt(hc),
          message: `the xs PV-IOMMU foreign window ends at BFN ${hex(end)} (foreign_offset ${hex(host.pv_iommu.foreign_offset)} + highest host RAM MFN ${hex(maxHostRamMfn(hc))}), beyond ${width}: ${effect(hc)}; lower pv_iommu.foreign_offset (keeping it above dom0's highest PFN) so the window ends below ${hex(limit)}`,
          subject: { kind: 'Host', name: host.name },
          related: widthRel(),
        });
      }
    }

    // 2. RMRRs: identity-mapped in the owner's context, and the device's own reach.
    for (const dev of hc.devices) {
      const owner = ownerOf(hc, dev);
      const translated = enabled && (owner ? contextKind(hc, owner) !== 'passthrough' : host.iommu.dom0 !== 'passthrough');
      const dmaLimit = framesBelow(dev.dma_bits);
      dev.rmrr.forEach((range: FrameRange, i) => {
        const problems: string[] = [];
        const related: ReportArgs['related'] = [];
        if (translated && range.end >= limit) {
          problems.push(`Xen must identity-map it in ${owner ? `${owner.name}'s` : "the owner's"} IOMMU context, beyond ${width} (${effect(hc)})`);
          related.push(...widthRel());
        }
        if (range.end >= dmaLimit) {
          problems.push(`the device must DMA to it 1:1 but its own ${dev.dma_bits}-bit DMA reach ends below ${hex(dmaLimit)}`);
          related.push({ at: { src: dev.src, path: ['dma_bits'] }, message: `${dev.name} has dma_bits ${dev.dma_bits}` });
        }
        if (!problems.length) return;
        report({
          at: { src: dev.src, path: ['rmrr', i] },
          message: `RMRR ${rangeText(range)} of ${devLabel(dev)} ends at MFN ${hex(range.end)}: ${problems.join('; and ')}; check the range against the firmware's DMAR/IVRS table`,
          subject: deviceSubject(dev),
          related,
        });
      });
    }

    if (enabled) {
      // 3a. Relaxed PV hardware domain: identity map of all host RAM (not Xen's).
      if (hw ? contextKind(hc, hw) === 'all-ram' : host.iommu.dom0 === 'relaxed') {
        const top = highestOf(hostRamNotXen(hc));
        if (top >= limit) {
          const ramAt = hostRamAt(hc, top);
          const awPresent = present(host.src, ['iommu', 'address_width']);
          report({
            at: awPresent ? { src: host.src, path: ['iommu', 'address_width'] } : ramAt,
            message: `dom0's relaxed IOMMU context identity-maps all host RAM, up to MFN ${hex(top)}, beyond ${width}: ${effect(hc)}, so DMA by dom0's devices to RAM from MFN ${hex(limit)} up reaches the wrong pages; use an IOMMU with a wider address width, or dom0: strict and keep dom0's own RAM below ${hex(limit)}`,
            subject: { kind: 'Host', name: host.name },
            related: awPresent ? [{ at: ramAt, message: `host RAM reaches MFN ${hex(top)}` }] : [],
          });
        }
      }
      // 3b. Contexts derived from a domain's own memory: strict/PVH dom0, guests with passthrough.
      for (const dom of hc.domains) {
        const t = contextTop(hc, machine, dom);
        if (!t || t.top < limit) continue;
        report({
          at: domainTopAt(dom, t.top, t.by),
          message: `${dom.name}'s IOMMU context maps ${t.words} ${hex(t.top)}, beyond ${width}: ${effect(hc)}, so DMA by ${dom.name}'s devices to its RAM above that reaches the wrong pages; give ${dom.name} less memory (below ${hex(limit)} frames of ${t.by === 'gfns' ? 'GFN' : 'MFN'} space) or use an IOMMU with a wider address width`,
          subject: domainSubject(dom),
          related: widthRel(),
        });
      }
    }

    // 4. Mediated devices: the addresses the mediator programs must fit the device's dma_bits.
    for (const dev of hc.devices) {
      const med = dev.mediated;
      if (!med || med.translation === 'pv-iommu') continue;
      const dmaLimit = framesBelow(dev.dma_bits);
      for (const name of med.vgpus) {
        const vgpu = hc.domains.find((d) => d.name === name);
        if (!vgpu) continue;
        let top: number;
        let what: string;
        if (med.translation === 'mfn') {
          const mfns = domainMfns(machine, vgpu.domid);
          if (!mfns?.length) continue;
          top = highestOf(mfns);
          what = `machine frames (its mediator writes raw MFNs) up to MFN ${hex(top)}`;
        } else {
          const r = guestRam(vgpu).ranges;
          if (!r.length) continue;
          top = highestOf(r);
          what = `guest frames (its mediator writes GPAs) up to GFN ${hex(top)}`;
        }
        if (top < dmaLimit) continue;
        report({
          at: { src: dev.src, path: ['dma_bits'] },
          message: `mediated ${devLabel(dev)} must DMA to ${vgpu.name}'s ${what}, beyond its own ${dev.dma_bits}-bit DMA reach (frames below ${hex(dmaLimit)}): those buffers are unreachable and the GPU's accesses wrap to other pages; use translation: pv-iommu with a foreign window below the device's reach, or give ${vgpu.name} memory it can reach`,
          subject: deviceSubject(dev),
          related: [{ at: { src: vgpu.src, path: ['memory'] }, message: `${vgpu.name}'s memory` }],
        });
      }
    }
  },
});
