/**
 * dom0/relaxed-iommu — a relaxed PV dom0 on a host that runs untrusted guests.
 *
 * With dom0-iommu strict=0 (the PV default), arch_iommu_hwdom_init identity-maps all host RAM
 * in dom0's IOMMU context: any device dom0 owns (or a compromised dom0 driver) can DMA into every
 * guest's memory by machine address.
 */
import { defineRule } from '../../rule.js';
import { hardwareDomain, present } from '../iommu/_util.js';

export default defineRule({
  id: 'dom0/relaxed-iommu',
  severity: 'warning',
  phase: 'static',
  description: "`dom0: relaxed` (devices of the hardware domain can DMA to every guest's RAM) on a host that runs untrusted guests.",
  check({ hc, report }) {
    const host = hc.host;
    if (!host.iommu.enabled || host.iommu.dom0 !== 'relaxed') return;
    const hw = hardwareDomain(hc);
    if (!hw || hw.type !== 'pv') return; // a PVH hardware domain is always strict (dom0/pvh-not-strict)
    const untrusted = hc.domains.filter((d) => !d.trusted);
    if (!untrusted.length) return;
    const explicit = present(host.src, ['iommu', 'dom0']);
    const names = untrusted.map((d) => d.name).join(', ');
    report({
      // iommu.dom0 when written; else (source fallbacks) the `iommu:` key or the host's name.
      at: { src: host.src, path: ['iommu', 'dom0'] },
      message: `dom0's IOMMU mode is relaxed${explicit ? '' : ' (the default)'}: Xen identity-maps all host RAM in dom0's IOMMU context, so any device ${hw.name} owns can DMA into the memory of the untrusted guest${untrusted.length === 1 ? '' : 's'} ${names}; set iommu.dom0: strict (dom0's devices then reach only dom0's own RAM and grant-mapped pages)`,
      subject: { kind: 'Host', name: host.name },
      related: untrusted.slice(0, 3).map((d) => ({
        at: { src: d.src, path: present(d.src, ['trusted']) ? ['trusted'] : ['name'] },
        message: `${d.name} is not trusted`,
      })),
    });
  },
});
