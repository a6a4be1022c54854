/**
 * pci/host-bridge — a host bridge assigned to a domain other than the hardware domain.
 *
 * Host bridges can only belong to the hardware domain: VT-d `intel_iommu_assign_device` /
 * `reassign_device_ownership` refuse to move one (`-EPERM`).
 */
import { defineRule } from '../../rule.js';
import { assignments, devLabel, domainSubject, entryAt, hardwareDomain, isHardware } from './_util.js';

export default defineRule({
  id: 'pci/host-bridge',
  severity: 'error',
  phase: 'static',
  description: 'A host bridge is assigned to a domain other than the hardware domain.',
  check({ hc, report }) {
    const hw = hardwareDomain(hc);
    for (const a of assignments(hc)) {
      if (!a.dev.host_bridge || isHardware(a.dom)) continue;
      report({
        at: entryAt(a),
        subject: domainSubject(a.dom),
        message:
          `device ${devLabel(a.dev)} is a host bridge, assigned to ${a.dom.name}; Xen lets only the hardware domain` +
          `${hw ? ` (${hw.name})` : ''} own host bridges (assign_device: EPERM) — remove it from ${a.dom.name}'s pci list`,
        related: [{ at: { src: a.dev.src, path: ['host_bridge'] }, message: `Device ${a.dev.name} is a host bridge` }],
      });
    }
  },
});
