/**
 * pviommu/window-beyond-dma — the xs foreign window ends beyond what the IOMMU or a mediated
 * device can address.
 *
 * The window spans BFN foreign_offset .. foreign_offset + max host MFN (pv-iommu.md §2.6); the
 * default offset (248 GiB) was chosen as 1 TiB (a 40-bit GPU's DMA limit) − 768 GiB (largest
 * host) − 8 GiB. Past the IOMMU width the BFNs do not exist (VT-d wraps, AMD fails); past a
 * mediated device's `dma_bits` the device cannot emit them.
 */
import { defineRule } from '../../rule.js';
import { framesBelow, hex } from '../../../config/units.js';
import {
  addressWidthRelated,
  devLabel,
  foreignOffsetAt,
  maxHostRamMfn,
  widthText,
  windowEnd,
  xsWindow,
} from '../iommu/_util.js';

export default defineRule({
  id: 'pviommu/window-beyond-dma',
  severity: 'error',
  phase: 'static',
  description: "foreign_offset + the highest host RAM MFN is beyond the IOMMU address width or a mediated device's dma_bits.",
  check({ hc, report }) {
    if (!xsWindow(hc)) return;
    const host = hc.host;
    const end = windowEnd(hc);
    if (end < 0) return;
    const offset = host.pv_iommu.foreign_offset;
    const span = `the xs foreign window ends at BFN ${hex(end)} (foreign_offset ${hex(offset)} + highest host RAM MFN ${hex(maxHostRamMfn(hc))})`;
    const subject = { kind: 'Host' as const, name: host.name };
    const aw = host.iommu.address_width;
    if (end >= framesBelow(aw)) {
      report({
        at: foreignOffsetAt(hc),
        message: `${span}, beyond the ${widthText(aw)} IOMMU address width: ${host.cpu_vendor === 'amd' ? 'those BFNs cannot be mapped' : 'VT-d wraps those BFNs to low addresses, so foreign mappings alias other pages'}; lower foreign_offset (keeping it above dom0's highest PFN) so the window ends below ${hex(framesBelow(aw))}`,
        subject,
        related: addressWidthRelated(host),
      });
    }
    for (const dev of hc.devices) {
      if (dev.mediated?.translation !== 'pv-iommu') continue;
      const limit = framesBelow(dev.dma_bits);
      if (end < limit) continue;
      report({
        at: foreignOffsetAt(hc),
        message: `${span}, beyond the ${widthText(dev.dma_bits)} DMA reach of mediated ${devLabel(dev)}: BFNs the mediator gets from lookup_foreign_page for high host frames cannot be emitted by the device; lower foreign_offset so the window ends below ${hex(limit)} (1 TiB − host RAM is the design's rule for 40-bit GPUs)`,
        subject,
        related: [{ at: { src: dev.src, path: ['dma_bits'] }, message: `${dev.name} has dma_bits ${dev.dma_bits}` }],
      });
    }
  },
});
