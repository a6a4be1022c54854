/**
 * pci/not-assignable — a device given to a domain other than the hardware domain while it is
 * neither assignable (bound to pciback) nor seized.
 *
 * libxl (`tools/libs/light/libxl_pci.c`, device add): a device that is not in the assignable set
 * and has `seize=0` is refused with "is not assignable".
 */
import { defineRule } from '../../rule.js';
import { assignments, devLabel, domainSubject, entryAt, isHardware } from './_util.js';

export default defineRule({
  id: 'pci/not-assignable',
  severity: 'error',
  phase: 'static',
  description: 'A PCI device is assigned to a non-hardware domain without being assignable and without seize.',
  check({ hc, report }) {
    for (const a of assignments(hc)) {
      // The hardware domain owns every device nobody else claims: listing one there needs no pciback.
      if (isHardware(a.dom) || a.dev.assignable || a.entry.seize) continue;
      report({
        at: entryAt(a),
        subject: domainSubject(a.dom),
        message:
          `device ${devLabel(a.dev)} is assigned to ${a.dom.name} but is not assignable (still bound to its dom0 driver, ` +
          `not to pciback); xl refuses it ("is not assignable") — make it assignable (\`xl pci-assignable-add ${a.dev.bdf}\`, ` +
          `then \`assignable: true\` on Device ${a.dev.name}) or set \`seize: true\` on this entry`,
        related: [{ at: { src: a.dev.src, path: ['assignable'] }, message: `Device ${a.dev.name} is not assignable` }],
      });
    }
  },
});
