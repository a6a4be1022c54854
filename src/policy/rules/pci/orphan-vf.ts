/**
 * pci/orphan-vf — an SR-IOV VF whose PF is not a Device on the host.
 *
 * Xen (`xen/drivers/passthrough/pci.c:pci_add_device`) refuses to register a virtual function
 * whose physical function it does not know (`-ENODEV`); such a VF can be neither used nor assigned.
 */
import { defineRule } from '../../rule.js';
import { devLabel, deviceSubject } from './_util.js';

export default defineRule({
  id: 'pci/orphan-vf',
  severity: 'error',
  phase: 'static',
  description: 'An SR-IOV VF names a PF (`pf`) that is not a Device on the host.',
  check({ hc, report }) {
    for (const dev of hc.devices) {
      if (dev.pf === undefined) continue;
      const at = { src: dev.src, path: ['pf'] };
      if (dev.pf === dev.bdf) {
        report({
          at,
          subject: deviceSubject(dev),
          message: `Device ${devLabel(dev)} names itself as its own PF; a VF belongs to another function (its SR-IOV PF) — set \`pf\` to the PF's BDF or remove it`,
        });
      } else if (!hc.devices.some((d) => d.bdf === dev.pf)) {
        report({
          at,
          subject: deviceSubject(dev),
          message:
            `Device ${devLabel(dev)} is an SR-IOV VF of ${dev.pf}, but host ${hc.host.name} has no Device with that BDF; ` +
            `Xen refuses to add a VF whose PF it does not know (pci_add_device: ENODEV), so it can be neither used nor ` +
            `assigned — add a Device for the PF ${dev.pf} or correct \`pf\``,
        });
      }
    }
  },
});
