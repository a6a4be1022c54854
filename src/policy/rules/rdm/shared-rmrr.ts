/**
 * rdm/shared-rmrr — an assigned device's RMRR is also listed by another device.
 *
 * VT-d `intel_iommu_assign_device` refuses (-EPERM) a device whose RMRR scope names other
 * devices too, unless the toolstack passes XEN_DOMCTL_DEV_RDM_RELAXED (xl: `rdm_policy=relaxed`),
 * in which case it assigns with a "risky" warning: the region stays reachable by the devices left
 * behind, from other domains. AMD-Vi has no such check: there the finding is the warning (the
 * region stays reachable from the other devices' domains).
 */
import { defineRule } from '../../rule.js';
import { assignments, devLabel, domainSubject, overlaps, rangeText, rdmPolicyAt, rmrrEntries } from '../iommu/_util.js';

export default defineRule({
  id: 'rdm/shared-rmrr',
  severity: 'error',
  phase: 'static',
  description:
    'An assigned device has an RMRR that another device also lists (a shared RMRR): Xen refuses the assignment with rdm_policy strict (error) and warns it is risky with relaxed (warning).',
  check({ hc, report }) {
    const all = rmrrEntries(hc);
    const assigned = assignments(hc);
    for (const a of assigned) {
      if (a.dom.role === 'hardware') continue; // the hardware domain's devices are not assigned by domctl
      a.dev.rmrr.forEach((range) => {
        const others = all.filter((e) => e.dev !== a.dev && overlaps(e.range, range));
        if (!others.length) return;
        const names = [...new Set(others.map((o) => o.dev.name))].join(', ');
        // (Only VT-d refuses: AMD-Vi assigns the device and keeps the shared unity map.)
        const strict = a.entry.rdm_policy === 'strict' && hc.host.cpu_vendor !== 'amd';
        // Every other device in the same guest: no other domain reaches the region (the grouping
        // Xen's own TODO recommends), though Xen still calls the assignment risky.
        const together = others.every((o) => assigned.some((x) => x.dev === o.dev && x.dom === a.dom));
        const reach = together
          ? `${names} ${others.length === 1 ? 'is' : 'are'} assigned to ${a.dom.name} too, so no other domain reaches the region`
          : `${names} can still DMA to the same region from ${others.length === 1 ? 'its' : 'their'} own domain`;
        const xen = strict
          ? `Xen refuses to assign it to ${a.dom.name} (intel_iommu_assign_device → EPERM, xl create fails)`
          : hc.host.cpu_vendor === 'amd'
            ? `AMD-Vi assigns it to ${a.dom.name} without a check, and ${reach}`
            : `Xen assigns it to ${a.dom.name} with a "risky" warning: ${reach}`;
        const fix = strict
          ? together
            ? `set rdm_policy: relaxed on ${a.dev.name}'s entry: with every device of the region in ${a.dom.name} nothing else reaches it`
            : `keep ${a.dev.name} in the hardware domain, or set rdm_policy: relaxed only if you accept that risk`
          : together
            ? `keep ${names} in ${a.dom.name} with it`
            : `keep ${a.dev.name} in the hardware domain, or make sure ${names} ${others.length === 1 ? 'is' : 'are'} never given to another domain`;
        report({
          at: rdmPolicyAt(a),
          severity: strict ? 'error' : 'warning',
          message: `${devLabel(a.dev)} has RMRR ${rangeText(range)}, which ${names} also ${others.length === 1 ? 'lists' : 'list'} (a shared RMRR): ${xen}; ${fix}`,
          subject: domainSubject(a.dom),
          related: others.map((o) => ({ at: { src: o.dev.src, path: ['rmrr', o.index] }, message: `${o.dev.name} lists the same reserved region` })),
        });
      });
    }
  },
});
