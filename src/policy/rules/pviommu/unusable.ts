/**
 * pviommu/unusable — a mediated device translates with `pv-iommu` on a host where the
 * PV-IOMMU does not exist or is not usable.
 *
 * xs (pv-iommu.md §2.3, `can_use_iommu_check`): IOMMU enabled, dom0 not passthrough, dom0 PV,
 * Intel, and dom0's kernel carries the XS PV-IOMMU ELF note; the hypercall only serves the
 * hardware domain (-ENOSYS otherwise). ta (§5.2): the caller's IOMMU must be enabled and the
 * domain allowed (hardware domain always; others `pv_iommu: true`), else -ENODEV.
 */
import { defineRule, type NodeRef } from '../../rule.js';
import { assignmentOf, devLabel, deviceSubject, ownerOf, xsFailures } from '../iommu/_util.js';

export default defineRule({
  id: 'pviommu/unusable',
  severity: 'error',
  phase: 'static',
  description: 'A mediated device uses `translation: pv-iommu` on a host where the PV-IOMMU is `none` or not usable.',
  check({ hc, report }) {
    const host = hc.host;
    const abi = host.pv_iommu.abi;
    for (const dev of hc.devices) {
      if (dev.mediated?.translation !== 'pv-iommu') continue;
      const owner = ownerOf(hc, dev);
      const fails: { reason: string; at: NodeRef }[] = [];
      // xs: can_use_iommu_check fails for the host, and/or the owner is not the hardware domain.
      let hostWide = false;
      let notHw = false;
      if (abi === 'none') {
        fails.push({ reason: 'pv_iommu.abi is none (the hypercall does not exist)', at: { src: host.src, path: ['pv_iommu', 'abi'] } });
      } else if (abi === 'xs') {
        const f = xsFailures(hc);
        hostWide = f.length > 0;
        fails.push(...f);
        if (owner && owner.role !== 'hardware') {
          notHw = true;
          const a = assignmentOf(hc, dev);
          fails.push({
            reason: `${dev.name} is owned by ${owner.name}, but the xs PV-IOMMU serves only the hardware domain (ENOSYS)`,
            at: a ? { src: a.dom.src, path: ['pci', a.index, 'dev'] } : { src: owner.src, path: ['name'] },
          });
        }
      } else {
        if (!host.iommu.enabled) fails.push({ reason: 'the IOMMU is disabled (iommu.enabled: false)', at: { src: host.src, path: ['iommu', 'enabled'] } });
        if (owner && owner.role !== 'hardware' && !owner.pv_iommu) {
          fails.push({ reason: `${dev.name}'s owner ${owner.name} may not use the PV-IOMMU (pv_iommu: false → ENODEV)`, at: { src: owner.src, path: ['pv_iommu'] } });
        }
      }
      if (!fails.length) continue;
      // What the mediator then gets, for the cause it has.
      const consequences: string[] = [];
      if (abi === 'none') consequences.push('the mediator has no way to get BFNs for guest pages');
      else if (abi === 'ta') consequences.push("the mediator's map_pages calls fail with ENODEV");
      else {
        if (notHw) consequences.push(`every PV-IOMMU call of ${owner!.name}, the mediator's domain, fails with ENOSYS`);
        if (hostWide) {
          consequences.push(
            `${notHw ? "and even the hardware domain's " : ''}query_caps reports no map_cap and lookup_foreign_page hands back the raw MFN (the page still pinned) instead of a foreign-window BFN, which the device reaches only where dom0's IOMMU context maps host RAM 1:1`,
          );
        }
      }
      const what = abi === 'none' ? 'host has no PV-IOMMU' : hostWide || abi === 'ta' ? `${abi} PV-IOMMU is not usable on ${host.name}` : `xs PV-IOMMU cannot serve ${dev.name}'s mediator`;
      report({
        at: { src: dev.src, path: ['mediated', 'translation'] },
        message: `mediated ${devLabel(dev)} uses translation: pv-iommu, but the ${what}: ${fails.map((f) => f.reason).join('; ')}; ${consequences.join(' ')}; ${abi === 'none' ? 'set pv_iommu.abi: xs on the host (Intel, PV dom0, IOMMU not in passthrough)' : `change ${fails.length === 1 ? 'that setting' : 'those settings'} so the PV-IOMMU is usable`}, or give each guest its own SR-IOV VF instead of mediating`,
        subject: deviceSubject(dev),
        related: fails.map((f) => ({ at: f.at, message: f.reason })),
      });
    }
  },
});
