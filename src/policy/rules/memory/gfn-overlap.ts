/**
 * memory/gfn-overlap — explicit p2m extents of one domain that overlap in guest frames.
 *
 * A gfn (a PV domain's pfn) has exactly one p2m entry: Xen's `p2m_set_entry` replaces whatever
 * was there, so of two overlapping extents the later silently wins and the earlier loses part of
 * its mapping (and, for RAM, the page it pointed at is orphaned).
 */
import { defineRule } from '../../rule.js';
import { domainSubject, intersect, rangeWithSize } from '../pci/_util.js';

export default defineRule({
  id: 'memory/gfn-overlap',
  severity: 'error',
  phase: 'static',
  description: 'Explicit p2m extents of one domain overlap in guest frames.',
  check({ hc, report }) {
    for (const dom of hc.domains) {
      if (!dom.p2m || dom.p2m.length < 2) continue;
      const word = dom.type === 'pv' ? 'pfns' : 'gfns';
      const exts = dom.p2m.map((e, index) => ({ index, gfns: e.gfns })).sort((a, b) => a.gfns.start - b.gfns.start || a.index - b.index);
      for (let i = 0; i < exts.length; i++) {
        const a = exts[i]!;
        for (let j = i + 1; j < exts.length && exts[j]!.gfns.start <= a.gfns.end; j++) {
          const b = exts[j]!;
          const [first, second] = a.index < b.index ? [a, b] : [b, a];
          const hit = intersect(a.gfns, b.gfns)!;
          report({
            at: { src: dom.src, path: ['p2m', second.index, 'gfns'] },
            subject: domainSubject(dom),
            message:
              `${dom.name}'s p2m entries ${first.index} and ${second.index} both map ${word} ${rangeWithSize(hit)}; a ` +
              `${word.slice(0, -1)} has one p2m entry, so the later entry silently replaces part of the earlier one — make ` +
              `the ${word} ranges disjoint`,
            related: [{ at: { src: dom.src, path: ['p2m', first.index, 'gfns'] }, message: `p2m entry ${first.index}` }],
          });
        }
      }
    }
  },
});
