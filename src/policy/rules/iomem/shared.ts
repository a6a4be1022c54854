/**
 * iomem/shared — one MFN range granted (xl `iomem=`) to two domains.
 *
 * `XEN_DOMCTL_iomem_permission` adds the range to the domain's `iomem_caps` rangeset; Xen never
 * makes ranges exclusive, so two domains can both map the same device registers.
 */
import { defineRule } from '../../rule.js';
import { domainSubject, intersect, overlaps, rangeText } from '../iommu/_util.js';

export default defineRule({
  id: 'iomem/shared',
  severity: 'warning',
  phase: 'static',
  description: 'An iomem MFN range is granted to two domains (Xen does not make iomem grants exclusive).',
  check({ hc, report }) {
    hc.domains.forEach((dom, di) => {
      dom.iomem.forEach((entry, j) => {
        const earlier: { name: string; index: number; src: typeof dom.src; overlap: string }[] = [];
        for (const other of hc.domains.slice(0, di)) {
          other.iomem.forEach((o, k) => {
            if (overlaps(o.mfns, entry.mfns)) {
              earlier.push({ name: other.name, index: k, src: other.src, overlap: rangeText(intersect(o.mfns, entry.mfns)!) });
            }
          });
        }
        if (!earlier.length) return;
        const names = [...new Set(earlier.map((e) => e.name))].join(', ');
        report({
          at: { src: dom.src, path: ['iomem', j] },
          message: `iomem MFNs ${earlier[0]!.overlap} of ${dom.name} are also granted to ${names}: Xen's iomem permission is not exclusive, so both domains can map and program the same device registers; grant each MMIO range to one domain only (assign the device with pci= instead)`,
          subject: domainSubject(dom),
          related: earlier.map((e) => ({ at: { src: e.src, path: ['iomem', e.index] }, message: `also granted to ${e.name}` })),
        });
      });
    });
  },
});
