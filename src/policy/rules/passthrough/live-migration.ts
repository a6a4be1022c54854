/**
 * passthrough/live-migration — a domain with assigned devices that is live-migrated or saved.
 *
 * Migration and save need global log-dirty mode; Xen refuses to turn it on for a domain with
 * assigned PCI devices (`xen/arch/x86/mm/paging.c:paging_log_dirty_enable`, `-EINVAL`), and
 * refuses to assign devices while log-dirty is active (`arch_iommu_use_permitted`, `-EXDEV`).
 */
import { defineRule } from '../../rule.js';
import { domainSubject, isHardware, devicesText } from '../pci/_util.js';

export default defineRule({
  id: 'passthrough/live-migration',
  severity: 'error',
  phase: 'static',
  description: 'A domain with assigned PCI devices has `live_migration: true` (log-dirty).',
  check({ hc, report }) {
    for (const dom of hc.domains) {
      if (isHardware(dom) || !dom.live_migration || !dom.pci.length) continue;
      report({
        at: { src: dom.src, path: ['live_migration'] },
        subject: domainSubject(dom),
        message:
          `${dom.name} is live-migrated or saved (\`live_migration: true\`) but has ${devicesText(hc, dom)}; ` +
          `migration needs log-dirty mode, which Xen refuses for a domain with assigned devices ` +
          `(paging_log_dirty_enable: EINVAL) — detach the devices before migrating, or set \`live_migration: false\``,
        related: [{ at: { src: dom.src, path: ['pci', 0, 'dev'] }, message: 'device assigned here' }],
      });
    }
  },
});
