/**
 * pci/broken — a device Xen marked broken, assigned to a domain.
 *
 * `xen/drivers/passthrough/pci.c:assign_device` refuses a broken device with `-EBADF` (Xen marks
 * a device broken e.g. when a phantom-function rollback failed or its PF was removed under VFs).
 */
import { defineRule } from '../../rule.js';
import { assignments, devLabel, domainSubject, entryAt, isHardware } from './_util.js';

export default defineRule({
  id: 'pci/broken',
  severity: 'error',
  phase: 'static',
  description: 'A PCI device marked broken is assigned to a domain.',
  check({ hc, report }) {
    for (const a of assignments(hc)) {
      // The hardware domain holds its devices from boot; no assign_device is involved.
      if (!a.dev.broken || isHardware(a.dom)) continue;
      report({
        at: entryAt(a),
        subject: domainSubject(a.dom),
        message:
          `device ${devLabel(a.dev)} is marked broken by Xen, yet assigned to ${a.dom.name}; assign_device refuses a broken ` +
          `device (EBADF) — remove it from ${a.dom.name}'s pci list (clear \`broken\` only if the device was really repaired)`,
        related: [{ at: { src: a.dev.src, path: ['broken'] }, message: `Device ${a.dev.name} is marked broken` }],
      });
    }
  },
});
