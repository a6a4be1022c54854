/**
 * memory/mfn-alias — an explicit p2m uses a machine frame as RAM that is not the domain's to
 * have: a frame another p2m extent (of another domain, or of the same one at another gfn) already
 * holds, one of Xen's own frames, reserved device memory (RMRR), or a frame that is not host RAM.
 *
 * Xen keeps one owner per RAM page (`xen/common/page_alloc.c:assign_pages` refuses a page that is
 * already allocated) and one gfn per page in the M2P; Xen's frames and RMRR ranges are never
 * given to a domain as RAM; a non-RAM frame (E820 reserved, MMIO, beyond the end of RAM) can only
 * be mapped as `mmio_direct`.
 *
 * The model lays explicit extents out first, in domid then list order; the first claimant keeps
 * the frames and every later claim is recorded in `Machine.aliases` — this rule reports those.
 */
import { defineRule, type NodeRef } from '../../rule.js';
import type { FrameRange } from '../../../config/units.js';
import type { MfnAlias } from '../../../model/types.js';
import { domainSubject, intersect, rangeWithSize } from '../pci/_util.js';

export default defineRule({
  id: 'memory/mfn-alias',
  severity: 'error',
  phase: 'static',
  description: "An explicit p2m gives one MFN to two domains (or twice) as RAM, or uses Xen's, reserved or non-RAM frames as RAM.",
  check({ hc, machine, report }) {
    // One finding per (claiming extent, holder): the model may record a claim in several runs.
    const groups = new Map<string, MfnAlias[]>();
    for (const a of machine.aliases) {
      const key = `${a.domid}/${a.entry}/${String(a.heldBy)}/${a.heldByEntry ?? ''}`;
      const g = groups.get(key);
      if (g) g.push(a);
      else groups.set(key, [a]);
    }
    const byId = new Map(hc.domains.map((d) => [d.domid, d]));

    for (const runs of groups.values()) {
      const first = runs[0]!;
      const dom = byId.get(first.domid);
      if (!dom?.p2m?.[first.entry]) continue;
      const ext = dom.p2m[first.entry]!;
      const frames = mergeRuns(runs.map((r) => ({ start: r.mfn, end: r.mfn + r.count - 1 })));
      const mfns = frames.map(rangeWithSize).join(', ');
      const at: NodeRef = { src: dom.src, path: ['p2m', first.entry, 'mfns'] };
      const who = `${dom.name}'s p2m entry ${first.entry}`;
      const base = { at, subject: domainSubject(dom) };
      const held = first.heldBy;

      if (held === 'non-ram') {
        report({
          ...base,
          message:
            `${who} uses MFNs ${mfns} as RAM (${ext.type}), but they are not host RAM on ${hc.host.name} (E820 ` +
            `reserved/MMIO, or beyond the end of RAM), so Xen has no page to give — map device memory as ` +
            `\`mmio_direct\` (or through iomem), and give ${dom.name} RAM frames`,
          related: [{ at: { src: hc.host.src, path: [hc.host.memory_map ? 'memory_map' : 'ram'] }, message: `host RAM of ${hc.host.name}` }],
        });
      } else if (held === 'xen') {
        report({
          ...base,
          message:
            `${who} gives Xen's own frames ${mfns} to ${dom.name} as RAM; frames in the host's xen_mfns belong to the ` +
            `hypervisor and are never handed to a domain — use frames outside xen_mfns`,
          related: [{ at: { src: hc.host.src, path: ['xen_mfns'] }, message: "Xen's frames" }],
        });
      } else if (held === 'rmrr') {
        const owners = hc.devices.flatMap((dev) =>
          dev.rmrr.flatMap((r, i) => (frames.some((f) => intersect(f, r)) ? [{ dev, i }] : [])),
        );
        const names = [...new Set(owners.map((o) => o.dev.name))];
        report({
          ...base,
          message:
            `${who} uses reserved device memory${names.length ? ` of ${names.join(', ')}` : ''} (RMRR ${mfns}) as RAM; ` +
            `the device DMAs to those frames, so they are never given to a domain as RAM — use other frames`,
          related: owners.map((o) => ({ at: { src: o.dev.src, path: ['rmrr', o.i] }, message: `RMRR of ${o.dev.name}` })),
        });
      } else {
        const holder = byId.get(held);
        const word = dom.type === 'pv' ? 'pfn' : 'gfn';
        const holderAt: NodeRef | undefined = holder
          ? { src: holder.src, path: first.heldByEntry !== undefined ? ['p2m', first.heldByEntry, 'mfns'] : ['memory'] }
          : undefined;
        const related = holderAt
          ? [{ at: holderAt, message: `${holder!.name}'s p2m${first.heldByEntry !== undefined ? ` entry ${first.heldByEntry}` : ''} holds these frames` }]
          : [];
        const message =
          held === dom.domid
            ? `${who} maps MFNs ${mfns} as RAM, but ${dom.name}'s p2m entry ${first.heldByEntry ?? '?'} already maps them; a ` +
              `RAM page has one ${word} in its owner (the M2P records one), so one of the two mappings is lost — map ` +
              `distinct frames`
            : `${who} gives MFNs ${mfns} to ${dom.name} as RAM, but ${holder ? `${holder.name}'s p2m` : `domain ${held}`} ` +
              `already has them as RAM; a machine frame has one owner (assign_pages refuses a page that is already ` +
              `allocated), and the two domains would read and write each other's memory — give ${dom.name} frames no ` +
              `other domain uses`;
        report({ ...base, message, related });
      }
    }
  },
});

/** Sort and merge adjacent/overlapping runs. */
function mergeRuns(runs: FrameRange[]): FrameRange[] {
  const sorted = [...runs].sort((a, b) => a.start - b.start);
  const out: FrameRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

