/**
 * pci/seize — `seize: true` on a pci entry.
 *
 * `xl-pci-configuration(5)`: with seize, xl makes a device assignable itself — unbinding dom0's
 * driver and binding pciback — and will happily take a disk or NIC dom0 is using.
 */
import { defineRule } from '../../rule.js';
import { assignments, devLabel, domainSubject, entryAt } from './_util.js';

export default defineRule({
  id: 'pci/seize',
  severity: 'warning',
  phase: 'static',
  description: '`seize: true` on a PCI device: xl takes the device from its dom0 driver.',
  check({ hc, report }) {
    for (const a of assignments(hc)) {
      if (!a.entry.seize) continue;
      // xl never creates the hardware domain: its pci list is no xl.cfg, and seize means nothing there.
      const message = a.dom.role === 'hardware'
        ? `\`seize: true\` on device ${devLabel(a.dev)} in the pci list of the hardware domain ${a.dom.name} means nothing: ` +
          `xl never creates ${a.dom.name}, and its devices stay with their dom0 drivers — remove \`seize\``
        : a.dev.assignable
        ? `\`seize: true\` on device ${devLabel(a.dev)} for ${a.dom.name} does nothing: the device is already assignable ` +
          `— remove \`seize\`, so that a later change cannot make xl seize a device dom0 is using`
        : `\`seize: true\` makes xl unbind device ${devLabel(a.dev)} from its dom0 driver and hand it to pciback when ` +
          `${a.dom.name} starts, even if dom0 is using it (a disk or NIC dom0 needs) — make it assignable ahead of time ` +
          `(\`xl pci-assignable-add ${a.dev.bdf}\`, \`assignable: true\`) and drop \`seize\``;
      report({ at: entryAt(a, 'seize'), subject: domainSubject(a.dom), message });
    }
  },
});
