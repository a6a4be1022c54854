/**
 * `device.dma` (SPEC §4.4): what a device's DMA actually reaches. Not a hypercall — the IOMMU
 * page walk of the device's context (Xen: the domain's page tables its context entry points at,
 * vtd/iommu.c `addr_to_dma_page_maddr`, amd/iommu_map.c), followed by the checks that make it a
 * finding: dma/fault, dma/permission, dma/address-wrap, dma/wrong-page, dma/isolation.
 *
 * Result: rc 0 when the DMA reached memory (out.mfn, out.owner), −EFAULT when the IOMMU (or the
 * device's address width) faulted it, −EACCES when the mapping refused the access, −ENODEV for a
 * device the host does not have.
 */
import type { CallResult, OpContext } from './types.js';
import { defineOp } from './types.js';
import { fail, ret } from './errno.js';
import { ownerName, queryGfn } from './mm.js';
import { framesBelow, hex } from '../config/units.js';
import type { DomId, IommuContext, Machine } from '../model/types.js';
import { DOMID_IO, DOMID_SELF, DOMID_XEN } from '../model/types.js';
import { contextOfDevice, deviceOf, iommuLookup, iommuWidthFrames } from '../model/iommu.js';
import { isFrame, isFree, isHostRam, pageAt } from '../model/pages.js';
import { p2mLookup } from '../model/p2m.js';

export interface DmaArgs {
  /** Canonical BDF (undefined: a name no Device has). */
  device: string | undefined;
  bfn: number;
  access: 'read' | 'write';
  target?: { domid: number; gfn: number };
  /** The key that gave the BFN (`bfn`, or `bfn_of` / `mfn_of`): where findings about the address point. */
  bfnKey?: 'bfn' | 'bfn_of' | 'mfn_of';
}

/** What lies at a machine frame, as `out.owner` names it. */
function frameOwner(m: Machine, mfn: number): { name: string; owner?: number; free: boolean } {
  const p = pageAt(m, mfn);
  if (p) return { name: ownerName(m, p.owner), owner: p.owner, free: false };
  if (isFree(m, mfn)) return { name: 'free', free: true };
  if (m.rmrr.has(mfn)) return { name: 'rmrr', free: false };
  if (isHostRam(m, mfn)) return { name: 'reserved', free: false };
  const t = m.e820.lookup(mfn);
  return { name: t ?? 'none', free: false };
}

export function deviceDma(ctx: OpContext, a: DmaArgs): CallResult {
  const m = ctx.machine;
  const dev = a.device !== undefined ? deviceOf(m, a.device) : undefined;
  if (!dev) return fail('ENODEV');
  const name = dev.cfg.name;
  const bfn = a.bfn;
  const at = [a.bfnKey ?? 'bfn'];
  // The device cannot emit an address beyond its own DMA width.
  if (dev.cfg.dma_bits < 64 && bfn >= framesBelow(dev.cfg.dma_bits)) {
    ctx.report('dma/fault', `${name} cannot emit BFN ${hex(bfn)}: it is beyond the device's ${dev.cfg.dma_bits}-bit DMA address width; the mediator must hand it addresses below ${hex(framesBelow(dev.cfg.dma_bits))}`, { path: at });
    return fail('EFAULT', { fault: 'dma_bits' });
  }
  const c = contextOfDevice(m, dev.bdf);
  const ownerDom = dev.owner === DOMID_IO ? 'quarantine (dom_io)' : ownerName(m, dev.owner);
  if (!c) {
    ctx.report('dma/fault', `${name} DMA to BFN ${hex(bfn)} faults: its owner ${ownerDom} has no IOMMU context`, { path: ['device'] });
    return fail('EFAULT', { fault: 'no-context' });
  }
  const r = iommuLookup(m, c, bfn);
  if (r.wrapped) {
    const width = m.iommu.address_width;
    ctx.report(
      'dma/address-wrap',
      `BFN ${hex(bfn)} is beyond the ${width}-bit VT-d address width: the IOMMU masks it to ${hex(bfn % iommuWidthFrames(m))}, a different (aliased) address; keep BFNs below ${hex(iommuWidthFrames(m))} (move the PV-IOMMU foreign window down, or widen address_width)`,
      { path: at },
    );
  }
  if (r.fault === 'beyond-width') {
    ctx.report('dma/fault', `${name} DMA to BFN ${hex(bfn)} faults: beyond the ${m.iommu.address_width}-bit address width of the AMD IOMMU (its page-table levels cannot represent it)`, { path: at });
    return fail('EFAULT', { fault: 'beyond-width' });
  }
  if (r.fault) {
    ctx.report('dma/fault', `${name} DMA to BFN ${hex(bfn)} faults: context ${c.id} (${ownerDom}) does not map it; the address the device was given is not mapped for it`, { path: at });
    return fail('EFAULT', { fault: 'unmapped' });
  }
  const reached = frameOwner(m, r.mfn);
  const out = { mfn: hex(r.mfn), owner: reached.name };
  if ((a.access === 'write' && !r.w) || (a.access === 'read' && !r.r)) {
    ctx.report('dma/permission', `${name} ${a.access}s BFN ${hex(bfn)}, but context ${c.id} maps it ${r.r ? (r.w ? 'read-write' : 'read-only') : r.w ? 'write-only' : 'with no access'}: the IOMMU blocks the ${a.access}`, { path: ['access'] });
    return fail('EACCES', out);
  }
  // The page the DMA was meant for, while it is backed.
  let targetDomid: number | undefined;
  /** The DMA reached the very page the target's gfn is (its own, or one granted or mapped to it). */
  let atTarget = false;
  if (a.target) {
    // The target may be a destroyed domain: its pages kept alive by references are still its own.
    const t = a.target.domid === DOMID_SELF ? ctx.caller : m.domains.get(a.target.domid);
    if (t) {
      targetDomid = t.domid;
      const want = queryGfn(m, t, a.target.gfn);
      atTarget = want !== undefined && want.mfn === r.mfn;
      if (want && want.mfn !== r.mfn) {
        ctx.report(
          'dma/wrong-page',
          `${name} DMA to BFN ${hex(bfn)} reached MFN ${hex(r.mfn)} (${reached.name}), but ${t.name}'s gfn ${hex(a.target.gfn)} is MFN ${hex(want.mfn)}: the address programmed into the device is stale or wrong`,
          { path: ['target'] },
        );
      }
    }
  }
  // Isolation: a free page, Xen's page (other than the quarantine scratch page), or a page of a
  // domain that is neither the device's owner nor the target. Without a target, a mediated device
  // may also reach the memory of its vgpus (it DMAs on their behalf).
  const scratch = c.mode === 'scratch' && r.mfn === m.scratchMfn;
  const vgpus = targetDomid === undefined ? (dev.cfg.mediated?.vgpus ?? []) : [];
  // A page its owner granted to the device's owner (a grant map: the entry a PV mapper's grant
  // made, or a grant slot of a translated owner's p2m that its context follows) is DMA the
  // granter allowed, as is the target's own gfn reached exactly. (Looked at last: only for
  // another domain's page.)
  const granted = () => r.entry?.origin === 'grant' || grantSlot(m, c, dev.owner, bfn, r.mfn);
  let why: string | undefined;
  if (reached.free) why = 'a free page (it may be handed to any domain next)';
  else if (reached.owner === DOMID_XEN && !scratch) why = "Xen's own memory";
  else if (
    reached.owner !== undefined &&
    reached.owner !== DOMID_XEN &&
    reached.owner !== dev.owner &&
    reached.owner !== targetDomid &&
    !vgpus.includes(reached.name) &&
    !atTarget &&
    !granted()
  ) {
    const allowed = targetDomid !== undefined ? `the target (${ownerName(m, targetDomid)})` : vgpus.length ? `one of its vgpus (${vgpus.join(', ')})` : 'a declared target';
    why = `memory of ${reached.name}, which is neither the device's owner (${ownerDom}) nor ${allowed}`;
  }
  if (why) {
    ctx.report('dma/isolation', `${name} DMA (${a.access}) to BFN ${hex(bfn)} reached MFN ${hex(r.mfn)}: ${why}`, { path: a.target ? ['target'] : at });
  }
  return ret(0, out);
}

/** Whether context `c` follows `owner`'s p2m and maps DFN `bfn` through a grant slot of it to `mfn`. */
function grantSlot(m: Machine, c: IommuContext, owner: DomId, bfn: number, mfn: number): boolean {
  if (c.followsP2m !== owner || !isFrame(bfn)) return false;
  const d = m.domains.get(owner);
  const e = d ? p2mLookup(d, bfn) : undefined;
  return e !== undefined && (e.type === 'grant_map_rw' || e.type === 'grant_map_ro') && e.mfn === mfn;
}

export const DMA_OPS = [
  defineOp<DmaArgs>({
    name: 'device.dma',
    summary: 'a device DMAs to a BFN: what does it reach? (out.mfn, out.owner)',
    keys: new Set(['device', 'bfn', 'bfn_of', 'mfn_of', 'access', 'target']),
    parse(r) {
      // (Every field from the start: one shape for every call, whichever fields it has.)
      const a: DmaArgs = { device: r.device('device'), bfn: r.bfn(), access: r.choice('access', ['read', 'write'] as const, 'write'), target: undefined, bfnKey: undefined };
      if (r.has('bfn_of')) a.bfnKey = 'bfn_of';
      else if (r.has('mfn_of')) a.bfnKey = 'mfn_of';
      const t = r.get('target');
      if (t !== undefined && t !== null) {
        if (typeof t !== 'object' || Array.isArray(t)) r.bad(['target'], '`target` must be a mapping {domain, gfn}');
        else {
          const o = t as Record<string, unknown>;
          for (const k of Object.keys(o)) if (k !== 'domain' && k !== 'gfn') r.bad(['target', k], `unknown key \`${k}\` in target (use domain and gfn)`);
          if (o.domain === undefined || o.gfn === undefined) r.bad(['target'], '`target` needs `domain` and `gfn`');
          else {
            const domid = r.domidValue(o.domain, ['target', 'domain']);
            const gr = r.frameValue(o.gfn, ['target', 'gfn']);
            a.target = { domid, gfn: gr };
          }
        }
      }
      return a;
    },
    run: deviceDma,
  }),
];
