/**
 * iomem/overlaps-ram — an iomem GFN window overlaps the domain's own RAM.
 *
 * `XEN_DOMCTL_memory_mapping` installs `p2m_mmio_direct` entries GFN → MFN (1:1 unless `@GFN`);
 * on a translated guest those replace whatever RAM was at those GFNs (p2m.c:set_typed_p2m_entry),
 * silently shadowing guest memory. PV guests map iomem through their own page tables: no GFN window.
 */
import { defineRule } from '../../rule.js';
import { FOUR_GIB, domainSubject, guestRam, intersect, overlaps, rangeText } from '../iommu/_util.js';

export default defineRule({
  id: 'iomem/overlaps-ram',
  severity: 'warning',
  phase: 'static',
  description: "An iomem GFN window overlaps the domain's RAM (the MMIO mapping silently replaces guest RAM pages).",
  check({ hc, report }) {
    for (const dom of hc.domains) {
      if (dom.type === 'pv' || !dom.iomem.length) continue;
      const ram = guestRam(dom).ranges;
      dom.iomem.forEach((entry, j) => {
        const start = entry.gfn ?? entry.mfns.start;
        const window = { start, end: start + (entry.mfns.end - entry.mfns.start) };
        const hit = ram.find((r) => overlaps(r, window));
        if (!hit) return;
        const both = intersect(hit, window)!;
        const hole = { start: FOUR_GIB - dom.mmio_hole, end: FOUR_GIB - 1 };
        report({
          at: { src: dom.src, path: ['iomem', j] },
          message: `iomem MFNs ${rangeText(entry.mfns)} appear in ${dom.name} at GFNs ${rangeText(window)}, which overlaps its RAM at GFNs ${rangeText(both)}: the mmio_direct entries replace those RAM pages, so guest memory there silently becomes device registers; map it at a GFN outside ${dom.name}'s RAM ("@GFN"), e.g. in its MMIO hole (GFNs ${rangeText(hole)})`,
          subject: domainSubject(dom),
        });
      });
    }
  },
});
