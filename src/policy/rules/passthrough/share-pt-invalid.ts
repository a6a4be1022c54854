/**
 * passthrough/share-pt-invalid — an explicit `passthrough: share_pt` where the IOMMU cannot share
 * the domain's HAP page tables.
 *
 * libxl (`tools/libs/light/libxl_x86.c:libxl__arch_passthrough_mode_setdefault`), in this order:
 * "not valid for PV domain", "not supported on this platform" (no `iommu_hap_pt_share`: AMD, or
 * `iommu=no-sharept`), "only valid for HAP guests" (`hap=0`).
 */
import { defineRule } from '../../rule.js';
import { domainSubject, isHardware } from '../pci/_util.js';

export default defineRule({
  id: 'passthrough/share-pt-invalid',
  severity: 'error',
  phase: 'static',
  description: '`passthrough: share_pt` on a PV domain, with `hap: false`, on an AMD host, or with `iommu.sharept: false`.',
  check({ hc, report }) {
    const host = hc.host;
    for (const dom of hc.domains) {
      if (isHardware(dom) || dom.passthrough !== 'share_pt') continue;
      const why: string[] = [];
      if (dom.type === 'pv') why.push('not valid for a PV domain (it has no HAP page table to share)');
      if (host.cpu_vendor === 'amd') {
        why.push(`not supported on AMD host ${host.name} (the AMD IOMMU never shares the NPT; iommu=sharept is ignored there)`);
      } else if (!host.iommu.sharept) {
        why.push(`not supported on host ${host.name}, which has \`iommu.sharept: false\``);
      }
      if (dom.type !== 'pv' && !dom.hap) why.push(`only valid for HAP guests, and ${dom.name} has \`hap: false\``);
      if (!why.length) continue;
      report({
        at: { src: dom.src, path: ['passthrough'] },
        subject: domainSubject(dom),
        message:
          `${dom.name} has \`passthrough: share_pt\`, which is ${why.join('; and ')}; xl refuses to create the domain — ` +
          `use \`passthrough: sync_pt\` (or \`enabled\`, which picks share_pt only where it works)`,
      });
    }
  },
});
