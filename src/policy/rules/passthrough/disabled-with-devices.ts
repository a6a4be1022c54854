/**
 * passthrough/disabled-with-devices — `passthrough: disabled` on a domain that lists pci devices.
 *
 * libxl (`tools/libs/light/libxl_create.c`): "passthrough disabled but devices are specified";
 * such a domain gets no IOMMU context, and assigning to it would fail with `-EOPNOTSUPP`
 * (`iommu_do_domctl`).
 */
import { defineRule } from '../../rule.js';
import { domainSubject, isHardware, devicesText } from '../pci/_util.js';

export default defineRule({
  id: 'passthrough/disabled-with-devices',
  severity: 'error',
  phase: 'static',
  description: '`passthrough: disabled` on a domain that has pci devices.',
  check({ hc, report }) {
    for (const dom of hc.domains) {
      if (isHardware(dom) || dom.passthrough !== 'disabled' || !dom.pci.length) continue;
      report({
        at: { src: dom.src, path: ['passthrough'] },
        subject: domainSubject(dom),
        message:
          `${dom.name} has \`passthrough: disabled\` but lists ${devicesText(hc, dom)}; without passthrough the domain has ` +
          `no IOMMU context, and xl refuses to create it ("passthrough disabled but devices are specified") — remove ` +
          `the pci entries, or set \`passthrough: default\``,
        related: [{ at: { src: dom.src, path: ['pci', 0, 'dev'] }, message: 'device assigned here' }],
      });
    }
  },
});
