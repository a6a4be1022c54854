/**
 * pci/bridge-split — conventional PCI devices behind one PCIe-to-PCI bridge owned by different
 * domains.
 *
 * Behind such a bridge every device reaches the IOMMU with the bridge's requester id
 * (secondary bus, 00.0): VT-d maps that id to one domain (`vtd/iommu.c`, and `-EOPNOTSUPP` when
 * a device with RMRRs finds it owned by another), and `docs/misc/vtd.txt` requires all devices
 * behind one PCIe-to-PCI bridge to go to the same domain.
 */
import { defineRule, type NodeRef } from '../../rule.js';
import type { DeviceCfg, DomainCfg } from '../../../config/validate.js';
import { assignments, devLabel, domainSubject, entryAt, isHardware, ownerOf } from './_util.js';

export default defineRule({
  id: 'pci/bridge-split',
  severity: 'error',
  phase: 'static',
  description: 'Devices behind one conventional PCI (PCIe-to-PCI) bridge are owned by different domains.',
  check({ hc, report }) {
    const list = assignments(hc);
    const behind = new Map<string, DeviceCfg[]>();
    for (const dev of hc.devices) {
      if (dev.bridge === undefined) continue;
      const g = behind.get(dev.bridge);
      if (g) g.push(dev);
      else behind.set(dev.bridge, [dev]);
    }

    for (const [bridge, devs] of behind) {
      if (devs.length < 2) continue;
      const owner = new Map<DeviceCfg, DomainCfg | undefined>(devs.map((d) => [d, ownerOf(hc, d, list)]));
      if (new Set(owner.values()).size < 2) continue;
      // Where a device's ownership is stated: its first pci entry, or (hardware domain by default) its `bridge`.
      const claimAt = (d: DeviceCfg): NodeRef => {
        const a = list.find((x) => x.dev === d);
        return a ? entryAt(a) : { src: d.src, path: ['bridge'] };
      };

      for (const a of list) {
        if (!devs.includes(a.dev) || isHardware(a.dom)) continue;
        if (list.find((x) => x.dev === a.dev) !== a) continue; // a second claim is pci/multiple-owners' business
        const others = devs.filter((d) => owner.get(d) !== a.dom);
        if (!others.length) continue;
        const ownerName = (d: DeviceCfg) => owner.get(d)?.name ?? 'no domain';
        report({
          at: entryAt(a),
          subject: domainSubject(a.dom),
          message:
            `device ${devLabel(a.dev)} is assigned to ${a.dom.name}, but it sits behind PCIe-to-PCI bridge ${bridge} with ` +
            `${others.map((d) => `${devLabel(d)} owned by ${ownerName(d)}`).join(', ')}; devices behind a conventional PCI ` +
            `bridge reach the IOMMU with the bridge's requester id, so Xen cannot isolate them from each other ` +
            `(docs/misc/vtd.txt) — give all devices behind ${bridge} to one domain`,
          related: others.map((d) => ({ at: claimAt(d), message: `${d.name} is behind the same bridge, owned by ${ownerName(d)}` })),
        });
      }
    }
  },
});
