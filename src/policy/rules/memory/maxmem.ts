/**
 * memory/maxmem — `memory` above `maxmem`.
 *
 * `xl.cfg(5)`: maxmem "must be equal to or greater than" memory; libxl cannot set a target
 * above the domain's maximum (`libxl_mem.c`), so the domain cannot be built as configured.
 */
import { defineRule } from '../../rule.js';
import { formatPages } from '../../../config/units.js';
import { domainSubject } from '../pci/_util.js';

export default defineRule({
  id: 'memory/maxmem',
  severity: 'error',
  phase: 'static',
  description: 'A domain has memory greater than maxmem.',
  check({ hc, report }) {
    for (const dom of hc.domains) {
      if (dom.memory <= dom.maxmem) continue;
      report({
        at: { src: dom.src, path: ['maxmem'] },
        subject: domainSubject(dom),
        message:
          `${dom.name} has memory ${formatPages(dom.memory)} above maxmem ${formatPages(dom.maxmem)}; maxmem is the most ` +
          `the domain may ever own (Xen's max_pages), so it must be at least memory (xl.cfg) — raise maxmem to ` +
          `${formatPages(dom.memory)} or more, or lower memory`,
        related: [{ at: { src: dom.src, path: ['memory'] }, message: `memory is ${formatPages(dom.memory)}` }],
      });
    }
  },
});
