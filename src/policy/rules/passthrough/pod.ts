/**
 * passthrough/pod — an hvm/pvh domain with passthrough that starts populate-on-demand
 * (memory < maxmem).
 *
 * libxl (`libxl_create.c`): "IOMMU required for device passthrough but not supported together
 * with PoD" — an active IOMMU needs a fully populated p2m; Xen refuses PoD on a domain with
 * assigned devices (`p2m-pod.c`, `-ENOTEMPTY`) and devices on a PoD domain
 * (`arch_iommu_use_permitted`, `-EXDEV`).
 */
import { defineRule } from '../../rule.js';
import { formatPages } from '../../../config/units.js';
import { domainSubject, isHardware, passthroughAt, passthroughWhy } from '../pci/_util.js';

export default defineRule({
  id: 'passthrough/pod',
  severity: 'error',
  phase: 'static',
  description: 'An hvm/pvh domain with passthrough has memory < maxmem (populate-on-demand).',
  check({ hc, machine, report }) {
    for (const dom of hc.domains) {
      if (isHardware(dom) || dom.type === 'pv' || dom.memory >= dom.maxmem) continue;
      if ((machine.domains.get(dom.domid)?.passthrough ?? 'disabled') === 'disabled') continue;
      report({
        at: { src: dom.src, path: ['maxmem'] },
        subject: domainSubject(dom),
        message:
          `${dom.name} starts with memory ${formatPages(dom.memory)} below maxmem ${formatPages(dom.maxmem)}, which makes ` +
          `it populate-on-demand, but it also has passthrough (${passthroughWhy(hc, dom)}); an IOMMU needs a fully ` +
          `populated p2m, so xl refuses ("IOMMU required for device passthrough but not supported together with PoD") ` +
          `— set maxmem equal to memory (or remove maxmem)`,
        related: [{ at: passthroughAt(dom), message: 'passthrough comes from here' }],
      });
    }
  },
});
