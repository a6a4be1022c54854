/**
 * iommu/quarantine-off — `quarantine: none` on a host that passes devices to guests.
 *
 * Without quarantine (iommu=quarantine=0), deassign_device hands a device straight back to the
 * hardware domain (pci.c:deassign_device), so DMA still in flight from the guest — or a device
 * the guest left programmed — writes into dom0's memory.
 */
import { defineRule } from '../../rule.js';
import { devLabel, guestAssignments } from './_util.js';

export default defineRule({
  id: 'iommu/quarantine-off',
  severity: 'warning',
  phase: 'static',
  description: '`quarantine: none` on a host that passes devices to guests: a detached device goes straight back to dom0 with its DMA still running.',
  check({ hc, report }) {
    const iommu = hc.host.iommu;
    if (!iommu.enabled || iommu.quarantine !== 'none') return;
    const given = guestAssignments(hc);
    if (!given.length) return;
    const list = given.map((a) => `${a.dev.name} → ${a.dom.name}`).join(', ');
    report({
      at: { src: hc.host.src, path: ['iommu', 'quarantine'] },
      message: `IOMMU quarantine is off while devices are passed to guests (${list}): when such a device is detached, Xen gives it straight back to dom0, so DMA the guest left in flight or programmed lands in dom0's memory; use quarantine: basic (the default) or scratch-page`,
      subject: { kind: 'Host', name: hc.host.name },
      related: given.slice(0, 3).map((a) => ({ at: { src: a.dom.src, path: ['pci', a.index, 'dev'] }, message: `${devLabel(a.dev)} is passed to ${a.dom.name}` })),
    });
  },
});
