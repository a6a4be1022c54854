/**
 * dom0/pvh-not-strict — a PVH hardware domain with `dom0` not strict, or the IOMMU disabled.
 *
 * iommu.c:check_hwdom_reqs: a PVH (translated) hardware domain needs the IOMMU ("iommu must be
 * enabled for PVH hardware domain" — boot panic) and strict mode (passthrough is hardwired off,
 * strict hardwired on: the configured relaxed/passthrough mode is not what Xen runs).
 */
import { defineRule } from '../../rule.js';
import { hardwareDomain, present } from '../iommu/_util.js';

export default defineRule({
  id: 'dom0/pvh-not-strict',
  severity: 'error',
  phase: 'static',
  description: 'A pvh hardware domain with `dom0` not strict, or with the IOMMU disabled (Xen panics or forces strict).',
  check({ hc, report }) {
    const host = hc.host;
    const hw = hardwareDomain(hc);
    if (!hw || hw.type !== 'pvh') return;
    const related = [{ at: { src: hw.src, path: ['type'] }, message: `${hw.name} is a pvh hardware domain` }];
    if (!host.iommu.enabled) {
      report({
        at: { src: host.src, path: ['iommu', 'enabled'] },
        message: `the IOMMU is disabled but the hardware domain ${hw.name} is PVH: Xen panics at boot ("iommu must be enabled for PVH hardware domain"); enable the IOMMU or boot a PV dom0`,
        subject: { kind: 'Host', name: host.name },
        related,
      });
      return;
    }
    if (host.iommu.dom0 === 'strict') return;
    const explicit = present(host.src, ['iommu', 'dom0']);
    report({
      at: { src: host.src, path: ['iommu', 'dom0'] },
      message: `dom0's IOMMU mode is ${host.iommu.dom0}${explicit ? '' : ' (the default)'} but the hardware domain ${hw.name} is PVH: Xen only supports strict for a PVH hardware domain (passthrough and relaxed are hardwired off), so the configured mode is not what runs; set iommu.dom0: strict`,
      subject: { kind: 'Host', name: host.name },
      related,
    });
  },
});
