/**
 * pviommu/window-overlap — the hardware domain's highest PFN reaches `foreign_offset`.
 *
 * xs PV-IOMMU layout of dom0's DMA space (pv-iommu.md §2.6): BFN = PFN for dom0's own pages,
 * BFN = foreign_offset + MFN for every host RAM frame. If dom0's max_pfn reaches the offset the two
 * regions share BFNs; XenServer's Linux glue then refuses ("bfn_foreign_offset … is too small for
 * Dom0") and falls back to swiotlb or BUG()s, depending on the version.
 */
import { defineRule } from '../../rule.js';
import { foreignOffsetAt, formatTop, hardwareDomain, highestPfn, xsWindow } from '../iommu/_util.js';
import { hex } from '../../../config/units.js';

export default defineRule({
  id: 'pviommu/window-overlap',
  severity: 'error',
  phase: 'static',
  description: "The hardware domain's highest PFN is at or above pv_iommu.foreign_offset: dom0's BFN = PFN region runs into the xs foreign window.",
  check({ hc, report }) {
    if (!xsWindow(hc)) return;
    const hw = hardwareDomain(hc);
    if (!hw) return;
    const top = highestPfn(hw);
    const offset = hc.host.pv_iommu.foreign_offset;
    if (top < offset) return;
    const cause = formatTop(hw, top);
    report({
      at: foreignOffsetAt(hc),
      message: `${hw.name}'s PFNs reach ${hex(top)} (${cause.words}), at or above pv_iommu.foreign_offset ${hex(offset)}: dom0's BFN = PFN region overlaps the foreign window (BFN = foreign_offset + MFN), so one BFN would name two pages; dom0's kernel refuses the layout ("bfn_foreign_offset is too small for Dom0") and falls back to bounce buffers or crashes; raise foreign_offset above ${hex(top)} or give ${hw.name} less memory`,
      subject: { kind: 'Host', name: hc.host.name },
      related: [{ at: cause.at, message: `${hw.name}'s ${cause.words}` }],
    });
  },
});
