/**
 * passthrough/no-iommu — a domain asks for passthrough (pci devices, or an explicit passthrough
 * mode) while the host IOMMU is disabled.
 *
 * libxl (`libxl_create.c`): "passthrough not supported on this platform" when the host has no
 * usable IOMMU; Xen (`xen/common/domain.c:sanitise_domain_config`): "IOMMU requested but not
 * available" (`-EINVAL`). Without an IOMMU a device's DMA is not translated at all.
 */
import { defineRule } from '../../rule.js';
import { domainSubject, explicitPassthroughOn, isHardware, passthroughAt, passthroughWhy } from '../pci/_util.js';

export default defineRule({
  id: 'passthrough/no-iommu',
  severity: 'error',
  phase: 'static',
  description: 'A domain has pci devices or an explicit passthrough mode while the host IOMMU is disabled.',
  check({ hc, report }) {
    if (hc.host.iommu.enabled) return;
    for (const dom of hc.domains) {
      // The hardware domain owns its devices without passthrough; dom0/* rules judge it.
      if (isHardware(dom)) continue;
      if (!dom.pci.length && !explicitPassthroughOn(dom)) continue;
      report({
        at: passthroughAt(dom),
        subject: domainSubject(dom),
        message:
          `${dom.name} asks for device passthrough (${passthroughWhy(hc, dom)}), but host ${hc.host.name} has the IOMMU ` +
          `disabled (\`iommu.enabled: false\`); xl refuses ("passthrough not supported on this platform") and Xen ` +
          `rejects an IOMMU domain without an IOMMU — enable the IOMMU on ${hc.host.name}, or remove the devices ` +
          `and the passthrough setting from ${dom.name}`,
        related: [{ at: { src: hc.host.src, path: ['iommu', 'enabled'] }, message: 'the IOMMU is disabled here' }],
      });
    }
  },
});
