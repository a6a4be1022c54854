/**
 * rdm/conflict — a reserved region (RMRR) of a device assigned to an hvm guest overlaps the
 * guest's RAM where libxl cannot move it out of the way.
 *
 * Follows libxl_dm.c:libxl__domain_device_construct_rdm:
 * 1. regions: every host RMRR with `rdm.strategy: host` (global policy), then each assigned
 *    device's own (its pci entry's `rdm_policy` wins for a region already collected);
 * 2. a region overlapping low RAM [0, lowmem_end) that starts above `rdm_mem_boundary` moves
 *    lowmem_end down to its start (2 MiB-aligned with HAP) and high RAM up by as much — no finding;
 * 3. any region still overlapping [0, lowmem_end) or [4 GiB, highmem_end) is a conflict:
 *    strict → xl fails ("RDM conflict at …"), relaxed → xl warns ("Ignoring RDM conflict at …")
 *    and hides the region from the guest.
 * With an explicit `p2m`, libxl does not lay the guest out: any overlap with a RAM extent counts.
 */
import { defineRule, type NodeRef } from '../../rule.js';
import type { DeviceCfg, DomainCfg, HostConfig } from '../../../config/validate.js';
import { formatPages, hex, type FrameRange } from '../../../config/units.js';
import { relocateLowEnd } from '../../../model/layout.js';
import {
  FOUR_GIB,
  assignments,
  type Assignment,
  devLabel,
  domainSubject,
  firstPresent,
  guestRam,
  overlaps,
  rangeText,
  rdmPolicyAt,
  rmrrEntries,
} from '../iommu/_util.js';

type Policy = 'strict' | 'relaxed';

interface Region {
  range: FrameRange;
  policy: Policy;
  dev: DeviceCfg;
  rmrrIndex: number;
  /** The pci entry whose policy applies, or the `rdm.strategy` node for host-wide regions. */
  at: NodeRef;
  /** The region comes from `rdm.strategy: host`, not from one of the domain's own devices. */
  hostWide: boolean;
}

/** xl's rdm_mem_boundary is in MiB: the largest whole MiB below `frame`'s address. */
function boundaryHint(frame: number): string {
  const mib = Math.floor((frame - 1) / 256);
  return mib > 0 ? `${formatPages(frame)} (e.g. ${mib}MiB)` : formatPages(frame);
}

function byteAddr(frame: number): string {
  return hex(BigInt(frame) << 12n);
}

function collectRegions(hc: HostConfig, dom: DomainCfg, own: readonly Assignment[]): Region[] {
  const regions: Region[] = [];
  const byStart = new Map<number, Region>();
  // xl drops a global rdm string that holds `policy=`, strategy and all (rdm/global-policy-ignored):
  // then no host-wide region is reserved. Without it, libxl gives host-wide regions the global
  // policy, which is then libxl's default: relaxed.
  if (dom.rdm?.strategy === 'host' && dom.rdm.policy === undefined) {
    const all = rmrrEntries(hc).sort((a, b) => a.range.start - b.range.start || a.range.end - b.range.end);
    for (const e of all) {
      if (byStart.has(e.range.start)) continue;
      const r: Region = {
        range: e.range,
        policy: 'relaxed',
        dev: e.dev,
        rmrrIndex: e.index,
        at: firstPresent(dom.src, ['rdm', 'strategy']),
        hostWide: true,
      };
      byStart.set(e.range.start, r);
      regions.push(r);
    }
  }
  for (const a of own) {
    a.dev.rmrr.forEach((range, rmrrIndex) => {
      const prev = byStart.get(range.start);
      if (prev) {
        // "the per-device policy always override the global policy"
        prev.policy = a.entry.rdm_policy;
        prev.dev = a.dev;
        prev.rmrrIndex = rmrrIndex;
        prev.at = rdmPolicyAt(a);
        prev.hostWide = false;
        return;
      }
      const r: Region = { range, policy: a.entry.rdm_policy, dev: a.dev, rmrrIndex, at: rdmPolicyAt(a), hostWide: false };
      byStart.set(range.start, r);
      regions.push(r);
    });
  }
  return regions;
}

export default defineRule({
  id: 'rdm/conflict',
  severity: 'error',
  phase: 'static',
  description:
    "A reserved region (RMRR) of a device assigned to an hvm guest overlaps the guest's low RAM below rdm_mem_boundary or its high RAM (error with rdm_policy strict, warning with relaxed).",
  check({ hc, report }) {
    const all = assignments(hc);
    for (const dom of hc.domains) {
      if (dom.type !== 'hvm') continue; // RDM is HVM/x86 only (xl.cfg)
      const own = all.filter((a) => a.dom === dom);
      if (!own.length && dom.rdm?.strategy !== 'host') continue; // libxl returns early
      const regions = collectRegions(hc, dom, own);
      if (!regions.length) continue;
      const ram = guestRam(dom);
      const boundary = dom.rdm_mem_boundary;

      type Hit = { region: Region; where: string; fix: string };
      // A host-wide region of a device this guest does not have: what is at stake is a later
      // hotplug of that device into it, and moving the device elsewhere is no fix.
      const isAssigned = (region: Region) => own.some((a) => a.dev === region.dev);
      const orMove = (region: Region, alt: string) => (isAssigned(region) ? `, or ${alt}` : '');
      const hits: Hit[] = [];
      if (ram.explicit) {
        for (const region of regions) {
          const r = ram.ranges.find((x) => overlaps(x, region.range));
          if (r) {
            hits.push({
              region,
              where: `${dom.name}'s RAM at GFNs ${rangeText(r)} (explicit p2m)`,
              fix: `move that RAM extent away from the region in ${dom.name}'s p2m`,
            });
          }
        }
      } else {
        // Step 2: regions above the boundary move lowmem_end below them (no conflict), as the
        // model lays the guest out.
        const lowEnd = relocateLowEnd(ram.lowEnd ?? 0, regions.map((r) => r.range.start), boundary, dom.hap);
        let highEnd = ram.highEnd ?? 0;
        if (lowEnd < (ram.lowEnd ?? 0)) highEnd = (highEnd || FOUR_GIB) + (ram.lowEnd ?? 0) - lowEnd;
        // Step 3: what still overlaps low RAM (below the boundary) or high RAM.
        for (const region of regions) {
          const low = lowEnd > 0 && region.range.start < lowEnd;
          const high = highEnd > 0 && overlaps(region.range, { start: FOUR_GIB, end: highEnd - 1 });
          if (low) {
            hits.push({
              region,
              where: `${dom.name}'s low RAM (GFNs 0x0-${hex(lowEnd - 1)}), below rdm_mem_boundary ${formatPages(boundary)}`,
              fix:
                region.range.start > 0
                  ? `set rdm_mem_boundary below ${boundaryHint(region.range.start)} so libxl ends low RAM under the region${orMove(region, 'assign the device to a domain that does not need it')}`
                  : isAssigned(region)
                    ? `assign the device to a domain that does not need it`
                    : `drop rdm strategy=host from ${dom.name} if ${region.dev.name} will never be hot-plugged into it`,
            });
          } else if (high) {
            hits.push({
              region,
              where: `${dom.name}'s high RAM (GFNs ${hex(FOUR_GIB)}-${hex(highEnd - 1)})`,
              fix: `libxl does not relocate high RAM: lower ${dom.name}'s memory so high RAM ends below GFN ${hex(region.range.start)} (${formatPages(region.range.start)})${orMove(region, 'do not assign the device')}`,
            });
          }
        }
      }

      for (const { region, where, fix } of hits) {
        const assigned = isAssigned(region);
        const what = `RMRR ${rangeText(region.range)} of ${devLabel(region.dev)}${region.hostWide ? ' (reserved in every guest by rdm.strategy: host)' : ''}`;
        const xen =
          region.policy === 'strict'
            ? `with rdm_policy strict xl refuses to create the domain ("RDM conflict at ${byteAddr(region.range.start)}")`
            : `with ${region.hostWide ? "libxl's global policy relaxed" : 'rdm_policy relaxed'} xl only warns ("Ignoring RDM conflict at ${byteAddr(region.range.start)}") and hides the region from the guest, so ${assigned ? "the device's DMA to it lands" : `if ${region.dev.name} is hot-plugged into ${dom.name} later, its DMA to the region lands`} in guest RAM`;
        report({
          at: region.at,
          severity: region.policy === 'strict' ? 'error' : 'warning',
          message: `${what} overlaps ${where}: ${xen}; ${fix}`,
          subject: domainSubject(dom),
          related: [{ at: { src: region.dev.src, path: ['rmrr', region.rmrrIndex] }, message: `reserved region of ${region.dev.name}` }],
        });
      }
    }
  },
});
