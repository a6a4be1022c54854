/**
 * pci/permissive — `permissive: true` on a pci entry of an untrusted domain.
 *
 * `xl-pci-configuration(5)`: permissive lets the guest write any PCI config-space register
 * through the backend (pciback for PV, QEMU for HVM), not only the known-safe ones; it is meant
 * for trusted guests only.
 */
import { defineRule } from '../../rule.js';
import { assignments, devLabel, domainSubject, entryAt } from './_util.js';

export default defineRule({
  id: 'pci/permissive',
  severity: 'warning',
  phase: 'static',
  description: '`permissive: true` on a PCI device of an untrusted domain.',
  check({ hc, report }) {
    for (const a of assignments(hc)) {
      if (!a.entry.permissive || a.dom.trusted) continue;
      report({
        at: entryAt(a, 'permissive'),
        subject: domainSubject(a.dom),
        message:
          `${a.dom.name} is untrusted but gets permissive config-space access to device ${devLabel(a.dev)}: the backend ` +
          `lets it write every config register, not only the known-safe ones (xl-pci-configuration(5)), which can ` +
          `reprogram the device behind Xen's back — drop \`permissive: true\`, or set \`trusted: true\` on ${a.dom.name} if it is`,
      });
    }
  },
});
