/**
 * iomem/untrusted — raw MMIO (xl `iomem=`) granted to a domain that is not trusted.
 *
 * xl.cfg: iomem is for trusted VMs only. The grant bypasses device assignment: the IOMMU does
 * not protect the device behind those registers from what the guest programs into it.
 */
import { defineRule } from '../../rule.js';
import { domainSubject, rangeText } from '../iommu/_util.js';

export default defineRule({
  id: 'iomem/untrusted',
  severity: 'warning',
  phase: 'static',
  description: 'iomem is granted to an untrusted domain (xl.cfg: iomem is for trusted VMs only).',
  check({ hc, report }) {
    for (const dom of hc.domains) {
      if (!dom.iomem.length || dom.trusted) continue;
      const ranges = dom.iomem.map((e) => rangeText(e.mfns)).join(', ');
      report({
        at: { src: dom.src, path: ['iomem'], part: 'key' },
        message: `${dom.name} is not trusted but is granted raw MMIO (iomem ${ranges}): the device behind those registers can be programmed to DMA anywhere its owner's IOMMU context reaches, outside Xen's device-assignment checks; assign the device with pci= instead, or mark the domain trusted: true if it really is`,
        subject: domainSubject(dom),
      });
    }
  },
});
