/**
 * mediated/mfn-unreferenced — a mediator that writes raw MFNs on a dom0 whose context maps all
 * host RAM: it works, but nothing holds the pages.
 *
 * The gfn→mfn query (XENMEM_get_mfn_from_pfn, `memory.translate`) takes no page reference: when a
 * vgpu balloons a page out, Xen frees it and may hand it to another domain while the GPU still
 * DMAs to it; and the hardware domain learns host addresses. PV-IOMMU lookup_foreign_page pins.
 */
import { defineRule } from '../../rule.js';
import { contextKind, devLabel, deviceSubject, ownerOf } from '../iommu/_util.js';

export default defineRule({
  id: 'mediated/mfn-unreferenced',
  severity: 'warning',
  phase: 'static',
  description: '`translation: mfn` on a relaxed dom0: works, but holds no page reference (stale after ballooning) and exposes host addresses.',
  check({ hc, report }) {
    for (const dev of hc.devices) {
      const med = dev.mediated;
      if (!med || med.translation !== 'mfn') continue;
      const owner = ownerOf(hc, dev);
      if (!owner || owner.role !== 'hardware') continue;
      const kind = contextKind(hc, owner);
      if (kind !== 'all-ram' && kind !== 'passthrough') continue;
      const mode = !hc.host.iommu.enabled ? 'with the IOMMU off, DMA is untranslated' : kind === 'passthrough' ? "dom0's devices bypass the IOMMU" : "dom0's relaxed IOMMU context identity-maps all host RAM";
      report({
        at: { src: dev.src, path: ['mediated', 'translation'] },
        message: `mediated ${devLabel(dev)} writes raw MFNs of ${med.vgpus.join(', ')}: this works because ${mode}, but the gfn→mfn query holds no page reference — a page a vgpu balloons out can be given to another domain while the GPU still DMAs to it — and it exposes host addresses to dom0; use translation: pv-iommu (lookup_foreign_page pins each page until it is unmapped)`,
        subject: deviceSubject(dev),
      });
    }
  },
});
