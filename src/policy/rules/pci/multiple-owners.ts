/**
 * pci/multiple-owners — one PCI device (or a phantom function of it) claimed by two `pci`
 * lists, or twice by one.
 *
 * Xen: `xen/drivers/passthrough/pci.c:device_assigned` lets a device move only away from the
 * hardware domain or dom_io; a device already owned by a guest gives `-EBUSY`. Phantom functions
 * have no pdev of their own: `assign_device` moves them with the real function
 * (`devfn += phantom_stride`), so naming one on its own finds no device (`-ENODEV`).
 */
import { defineRule } from '../../rule.js';
import type { DeviceCfg } from '../../../config/validate.js';
import {
  assignments,
  devLabel,
  domainSubject,
  entryAt,
  hardwareDomain,
  isHardware,
  phantomParent,
  type Assignment,
} from './_util.js';

export default defineRule({
  id: 'pci/multiple-owners',
  severity: 'error',
  phase: 'static',
  description: 'A PCI device (or a phantom function of it) is in the pci list of two domains, or twice in one.',
  check({ hc, report }) {
    const hw = hardwareDomain(hc);
    // Group the entries by the real device they reach (a phantom function → its real function).
    const groups = new Map<DeviceCfg, Assignment[]>();
    for (const a of assignments(hc)) {
      const real = phantomParent(hc, a.dev) ?? a.dev;
      const g = groups.get(real);
      if (g) g.push(a);
      else groups.set(real, [a]);
    }

    for (const [real, group] of groups) {
      const phantomNote = (a: Assignment) =>
        `${devLabel(a.dev)}, a phantom function of ${real.name} (${real.bdf}, phantom_stride ${real.phantom_stride}),`;
      // The reference claim: the first entry naming the real function, else the first entry.
      const ref = group.find((a) => a.dev === real) ?? group[0]!;

      if (ref.dev !== real && hw && ref.dom !== hw) {
        // Only phantom functions are listed: the real function stays with the hardware domain.
        report({
          at: entryAt(ref),
          subject: domainSubject(ref.dom),
          message:
            `${phantomNote(ref)} is assigned to ${ref.dom.name}, while ${real.name} itself stays with ${hw.name}; ` +
            `Xen has no PCI device for a phantom function and moves it only together with its real function ` +
            `(assign_device finds no such device: ENODEV) — assign ${real.name} to ${ref.dom.name} instead`,
          related: [{ at: { src: real.src, path: ['phantom_stride'] }, message: `${real.name} has phantom functions` }],
        });
      }

      for (const a of group) {
        if (a === ref) continue;
        const related = [{ at: entryAt(ref), message: `also assigned to ${ref.dom.name} here` }];
        let message: string;
        if (a.dom === ref.dom) {
          message =
            a.dev === ref.dev
              ? `device ${devLabel(a.dev)} is listed twice in ${a.dom.name}'s pci list; after the first entry the device already ` +
                `belongs to ${a.dom.name}, so the second assign_device fails with EBUSY — remove the duplicate entry`
              : `${a.dev === real ? `device ${devLabel(a.dev)}` : phantomNote(a)} is already assigned to ${a.dom.name} through its entry for ` +
                `${ref.dev.name}; Xen assigns a device and its phantom functions together, so this second assignment fails with ` +
                `EBUSY — remove this entry`;
        } else if (a.dev === ref.dev) {
          const hwNote =
            isHardware(ref.dom) || isHardware(a.dom)
              ? ` (assigning it to ${isHardware(ref.dom) ? a.dom.name : ref.dom.name} takes it away from the hardware domain ` +
                `${isHardware(ref.dom) ? ref.dom.name : a.dom.name})`
              : ' (assign_device fails with EBUSY for the second)';
          message =
            `device ${devLabel(a.dev)} is assigned to ${ref.dom.name} and ${a.dom.name}; Xen gives a device to one domain ` +
            `at a time${hwNote} — remove it from one of them`;
        } else {
          message =
            `${a.dev === real ? `device ${devLabel(a.dev)}` : phantomNote(a)} is assigned to ${a.dom.name}, but ` +
            `${ref.dev === real ? real.name : `${ref.dev.name} (another function of ${real.name})`} is assigned to ${ref.dom.name}; ` +
            `phantom functions are extra requester ids of the same device, which Xen assigns together with it, so they ` +
            `cannot go to different domains (EBUSY) — assign ${real.name} to one domain only and drop the phantom entry`;
        }
        report({ at: entryAt(a), subject: domainSubject(a.dom), message, related });
      }
    }
  },
});
