/**
 * dom0/passthrough — `dom0: passthrough` (dom0-iommu=passthrough).
 *
 * Devices owned by a PV dom0 bypass IOMMU translation entirely (arch_iommu_hwdom_init maps
 * nothing; VT-d puts their context entries in pass-through): their DMA reaches every machine
 * address, Xen's own memory included.
 */
import { defineRule } from '../../rule.js';
import { hardwareDomain } from '../iommu/_util.js';

export default defineRule({
  id: 'dom0/passthrough',
  severity: 'warning',
  phase: 'static',
  description: "`dom0: passthrough`: the hardware domain's devices DMA untranslated, to any machine address including Xen's.",
  check({ hc, report }) {
    const host = hc.host;
    if (!host.iommu.enabled || host.iommu.dom0 !== 'passthrough') return;
    const hw = hardwareDomain(hc);
    if (hw && hw.type !== 'pv') return; // ignored for a PVH hardware domain: dom0/pvh-not-strict reports it
    report({
      at: { src: host.src, path: ['iommu', 'dom0'] },
      message: `dom0's IOMMU mode is passthrough: devices owned by ${hw ? hw.name : 'the hardware domain'} are not translated, so their DMA reaches any machine address — every guest's RAM and Xen's own memory; use iommu.dom0: strict (or relaxed, if dom0's drivers need to reach all RAM)`,
      subject: { kind: 'Host', name: host.name },
    });
  },
});
