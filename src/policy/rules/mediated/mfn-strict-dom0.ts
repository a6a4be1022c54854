/**
 * mediated/mfn-strict-dom0 — a mediator that writes raw machine frames (MFNs) while the device's
 * IOMMU context does not identity-map the guests' RAM.
 *
 * XenGT-style mediators program MFNs from a gfn→mfn query (XENMEM_get_mfn_from_pfn, hardware
 * domain only). That only works when the owner's context maps every host frame 1:1: a relaxed PV
 * dom0, dom0-iommu=passthrough, or no IOMMU (xen-model §7.2). A strict dom0 maps only its own RAM,
 * a PVH dom0 or a guest owner maps GFNs: the GPU's DMA to guest MFNs faults. With the xs PV-IOMMU
 * in use, dom0's BFN = PFN entries replace the identity entries at its own PFNs (the model's
 * context, SPEC §3.2), so guest MFNs there reach dom0's pages instead.
 */
import { defineRule, type NodeRef } from '../../rule.js';
import {
  contextKind,
  contextWords,
  devLabel,
  deviceSubject,
  domainMfns,
  hardwareDomain,
  intersect,
  ownerOf,
  rangeText,
  xsPfnRanges,
  xsWindow,
} from '../iommu/_util.js';
import type { FrameRange } from '../../../config/units.js';

export default defineRule({
  id: 'mediated/mfn-strict-dom0',
  severity: 'error',
  phase: 'static',
  description: "`translation: mfn` while the owner's IOMMU context does not identity-map guest RAM (strict dom0): the device's DMA faults.",
  check({ hc, machine, report }) {
    const host = hc.host;
    for (const dev of hc.devices) {
      const med = dev.mediated;
      if (!med || med.translation !== 'mfn') continue;
      const at = { src: dev.src, path: ['mediated', 'translation'] };
      const owner = ownerOf(hc, dev);
      if (!owner) continue;
      const kind = contextKind(hc, owner);
      const related: { at: NodeRef; message: string }[] = [];
      if (owner.role !== 'hardware') {
        if (!host.iommu.enabled) continue; // passthrough/no-iommu reports a guest owner without IOMMU
        related.push({ at: { src: owner.src, path: ['name'] }, message: `${owner.name} owns ${dev.name}` });
        report({
          at,
          message: `mediated ${devLabel(dev)} writes raw MFNs, but it is owned by ${owner.name}, whose IOMMU context is ${contextWords(kind)}, not an identity map of guest RAM, and only the hardware domain may query gfn→mfn at all: the GPU's DMA to the vgpus' MFNs faults; use translation: pv-iommu with the device in the hardware domain`,
          subject: deviceSubject(dev),
          related,
        });
        continue;
      }
      if (kind === 'own-mfn' || kind === 'gfn') {
        const why = kind === 'gfn' ? `${owner.name} is PVH, so its IOMMU context maps its own GFNs, not machine frames` : `dom0's IOMMU mode is strict, so its context identity-maps only ${owner.name}'s own RAM`;
        report({
          at,
          message: `mediated ${devLabel(dev)} writes raw MFNs of ${med.vgpus.join(', ')} into the device's tables, but ${why}: those MFNs are not mapped and the GPU's DMA faults; use translation: pv-iommu (BFNs from the foreign window, pages pinned)${kind === 'own-mfn' ? ' — relaxing dom0 would make it work but lets every dom0 device reach all guest RAM' : ''}`,
          subject: deviceSubject(dev),
          related: kind === 'own-mfn' ? [{ at: { src: host.src, path: ['iommu', 'dom0'] }, message: 'dom0: strict' }] : [{ at: { src: owner.src, path: ['type'] }, message: `${owner.name} is ${owner.type}` }],
        });
        continue;
      }
      // relaxed dom0 with the xs PV-IOMMU: its BFN = PFN entries shadow the identity map at its own PFNs.
      if (kind === 'all-ram' && xsWindow(hc)) {
        const hw = hardwareDomain(hc)!;
        const shadows = xsPfnRanges(machine, hw.domid);
        for (const name of med.vgpus) {
          const vgpu = hc.domains.find((d) => d.name === name);
          if (!vgpu) continue;
          const first = firstOverlap(domainMfns(machine, vgpu.domid) ?? [], shadows);
          if (!first) continue;
          const { hit, shadow } = first;
          report({
            at,
            message: `mediated ${devLabel(dev)} writes raw MFNs, but with the xs PV-IOMMU in use dom0's BFN = PFN entries (BFNs ${rangeText(shadow)}, its own pages) replace the identity map there: ${vgpu.name}'s MFNs ${rangeText(hit)} reach dom0's own pages instead; use translation: pv-iommu (lookup_foreign_page gives BFNs in the foreign window)`,
            subject: deviceSubject(dev),
            related: [{ at: { src: host.src, path: ['pv_iommu', 'abi'] }, message: 'xs PV-IOMMU in use' }],
          });
        }
      }
    }
  },
});

/** The first overlap of a range of `mfns` with one of `shadows`, and that shadow. */
function firstOverlap(mfns: readonly FrameRange[], shadows: readonly FrameRange[]): { hit: FrameRange; shadow: FrameRange } | undefined {
  for (const r of mfns) {
    for (const shadow of shadows) {
      const hit = intersect(r, shadow);
      if (hit) return { hit, shadow };
    }
  }
  return undefined;
}
