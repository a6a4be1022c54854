/**
 * memory/overcommit — the host's domains need more RAM than the host has free.
 *
 * The automatic layout (SPEC §3.1) places domains in ascending domid order, lowest free frames
 * first, after Xen's frames, RMRRs and explicit p2m extents. The model records, per domain, the
 * frames it could not get (`DomainModel.shortfall`); on a real host the domain's build
 * (populate_physmap) runs out of memory and creation fails. Reported once, at the `memory` of the
 * first domain that cannot be fully placed.
 */
import { defineRule } from '../../rule.js';
import { formatPages } from '../../../config/units.js';
import { domainSubject, hostRam } from '../pci/_util.js';

export default defineRule({
  id: 'memory/overcommit',
  severity: 'error',
  phase: 'static',
  description: "The host's domains need more RAM than the host has free.",
  check({ hc, machine, report }) {
    const short = hc.domains.filter((d) => (machine.domains.get(d.domid)?.shortfall ?? 0) > 0);
    const first = short[0];
    if (!first) return;
    const shortfall = (d: typeof first) => machine.domains.get(d.domid)!.shortfall;
    const got = Math.max(0, first.memory - shortfall(first));
    const ramPages = hostRam(hc).reduce((n, r) => n + (r.end - r.start + 1), 0);
    const before = hc.domains.filter((d) => d.domid < first.domid).map((d) => d.name);
    const total = short.reduce((n, d) => n + shortfall(d), 0);
    const more =
      short.length > 1
        ? `; in all the host is ${formatPages(total)} short (${short.map((d) => `${d.name} ${formatPages(shortfall(d))}`).join(', ')})`
        : '';
    report({
      at: { src: first.src, path: ['memory'] },
      subject: domainSubject(first),
      message:
        `${first.name} needs ${formatPages(first.memory)} of RAM but ` +
        `${got > 0 ? `only ${formatPages(got)} of host RAM is still free` : 'no host RAM is left'} when it is placed (host ${hc.host.name} has ${formatPages(ramPages)}; Xen's frames, reserved device memory, ` +
        `explicit p2m extents${before.length ? ` and ${before.join(', ')}` : ''} take the rest)${more}; Xen cannot ` +
        `populate the domain and its creation fails (ENOMEM) — lower memory here or on the domains before it, or give ` +
        `the host more RAM`,
    });
  },
});
