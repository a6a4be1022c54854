/**
 * passthrough/pvh — an x86 PVH guest with passthrough.
 *
 * libxl (`libxl_x86.c:libxl__arch_passthrough_mode_setdefault`): "passthrough not yet supported
 * for x86 PVH guests" whenever the resolved passthrough is not `disabled`.
 */
import { defineRule } from '../../rule.js';
import { domainSubject, isHardware, passthroughAt, passthroughWhy } from '../pci/_util.js';

export default defineRule({
  id: 'passthrough/pvh',
  severity: 'error',
  phase: 'static',
  description: 'A PVH guest has passthrough (pci devices or a passthrough mode other than disabled).',
  check({ hc, machine, report }) {
    for (const dom of hc.domains) {
      // A PVH hardware domain owns its devices without xl; dom0/pvh-not-strict judges its IOMMU mode.
      if (isHardware(dom) || dom.type !== 'pvh' || (machine.domains.get(dom.domid)?.passthrough ?? 'disabled') === 'disabled') continue;
      report({
        at: passthroughAt(dom),
        subject: domainSubject(dom),
        message:
          `${dom.name} is a PVH guest with passthrough (${passthroughWhy(hc, dom)}); xl refuses to create it ` +
          `("passthrough not yet supported for x86 PVH guests") — make it \`type: hvm\` if it needs devices, or remove ` +
          `the devices and the passthrough setting`,
      });
    }
  },
});
