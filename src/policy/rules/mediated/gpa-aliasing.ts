/**
 * mediated/gpa-aliasing — a mediator that writes guest physical addresses (GPAs) into a shared
 * device's tables.
 *
 * A mediated device is one PCI function: all its DMA goes through one IOMMU context, its owner's
 * (xen-model §6.1, §7.2). Every guest's GPAs start at 0, so GPAs of two vgpus collide in that one
 * context; and even a single vgpu's GPAs mean nothing there unless the owner's context maps them
 * (DFN = GFN of that very guest — only when the device is assigned to the vgpu itself).
 */
import { defineRule } from '../../rule.js';
import { contextKind, contextWords, devLabel, deviceSubject, ownerOf } from '../iommu/_util.js';

export default defineRule({
  id: 'mediated/gpa-aliasing',
  severity: 'error',
  phase: 'static',
  description:
    "`translation: gpa` with two or more vgpus (their GPAs collide in the device's one IOMMU context), or one vgpu whose GPAs are not mapped in the owner's context.",
  check({ hc, report }) {
    for (const dev of hc.devices) {
      const med = dev.mediated;
      if (!med || med.translation !== 'gpa') continue;
      const at = { src: dev.src, path: ['mediated', 'translation'] };
      const vgpus = [...new Set(med.vgpus)];
      const owner = ownerOf(hc, dev);
      const ownerName = owner?.name ?? 'the hardware domain';
      if (vgpus.length >= 2) {
        report({
          at,
          message: `mediated ${devLabel(dev)} writes guest physical addresses for ${vgpus.length} vgpus (${vgpus.join(', ')}): the device is one PCI function, so all its DMA goes through ${ownerName}'s single IOMMU context, where GPA 0x1000 of ${vgpus[0]} and GPA 0x1000 of ${vgpus[1]} are the same DFN — one vgpu's buffers alias another's; use translation: pv-iommu (BFNs from the foreign window), or give each guest its own SR-IOV VF`,
          subject: deviceSubject(dev),
          related: med.vgpus.map((v, i) => ({ at: { src: dev.src, path: ['mediated', 'vgpus', i] }, message: `vgpu ${v}` })),
        });
        continue;
      }
      const vgpu = vgpus[0]!;
      if (owner && owner.name === vgpu) continue; // assigned to the guest itself: DFN = GFN of that guest
      const kind = owner ? contextKind(hc, owner) : undefined;
      report({
        at,
        message: `mediated ${devLabel(dev)} writes ${vgpu}'s guest physical addresses, but its DMA is translated by ${ownerName}'s IOMMU context (${contextWords(kind)}), which does not map ${vgpu}'s GPAs: the GPU reaches whatever ${ownerName}'s context has at those DFNs instead of ${vgpu}'s pages; use translation: pv-iommu, or assign the device to ${vgpu} itself`,
        subject: deviceSubject(dev),
        related: [{ at: { src: dev.src, path: ['mediated', 'vgpus', 0] }, message: `vgpu ${vgpu}` }],
      });
    }
  },
});
