/**
 * Domain memory layout (SPEC §3.1): explicit `p2m` extents, the automatic "lowest free frame first"
 * layout, and the 1:1 (GFN = MFN, `mmio_direct`) entries of RMRRs and `iomem` in translated guests.
 *
 * Lenient by design: conflicts are recorded (Machine.aliases, DomainModel.shortfall) for the rules
 * to report, never thrown. Deterministic: domains are laid out in ascending domid order.
 */
import { ExtentMap, MAX_FRAME, constantWith } from './extents.js';
import { allocFrames, pageInfo, segments } from './pages.js';
import { isRamType, isTranslated } from './p2m.js';
import type { DomainModel, Machine, MfnAlias } from './types.js';
import { DOMID_XEN } from './types.js';
import type { P2mType } from '../config/schema.js';

/** First gfn of high RAM: 4 GiB. */
export const HIGH_RAM_START = 0x100000;

/** hvm/pvh: the end (exclusive, in gfns) of the low RAM region, 4 GiB − mmio_hole. */
export function lowRamLimit(d: DomainModel): number {
  return HIGH_RAM_START - d.cfg.mmio_hole;
}

/** Who claimed a frame through an explicit p2m (build-time only: gives aliases their `heldByEntry`). */
export interface Claim {
  domid: number;
  entry: number;
}

/** A fresh claims map (claims by different entries never merge). */
export function newClaims(): ExtentMap<Claim> {
  return new ExtentMap<Claim>(constantWith<Claim>((a, b) => a.domid === b.domid && a.entry === b.entry));
}

/**
 * Lay out a domain's explicit `p2m`: each extent maps its gfns to its mfns (gfns and mfns ranges
 * of different lengths: the shorter length is used). A gfn already mapped by an earlier extent
 * keeps it (memory/gfn-overlap reports the overlap). Extents of a RAM type take ownership of their
 * frames: frames already held (another domain's claim, Xen's frames, an RMRR inside RAM) or that
 * are not host RAM are not taken, and the claim is recorded in `m.aliases` (memory/mfn-alias).
 */
export function layoutExplicit(m: Machine, d: DomainModel, claims: ExtentMap<Claim>): void {
  (d.cfg.p2m ?? []).forEach((x, entry) => {
    const count = Math.min(x.gfns.end - x.gfns.start, x.mfns.end - x.mfns.start) + 1;
    for (const g of [...d.p2m.gaps(x.gfns.start, x.gfns.start + count - 1)]) {
      const mfn = x.mfns.start + (g.start - x.gfns.start);
      d.p2m.set(g.start, g.end, { base: mfn, type: x.type });
      if (isRamType(x.type)) claimRam(m, d, entry, g.start, mfn, g.end - g.start + 1, claims);
    }
  });
}

/** Take [mfn, mfn+count) as RAM of `d` (p2m entry `entry`, first gfn `gfn`), recording aliases. */
function claimRam(m: Machine, d: DomainModel, entry: number, gfn: number, mfn: number, count: number, claims: ExtentMap<Claim>): void {
  const alias = (start: number, end: number, heldBy: MfnAlias['heldBy'], heldByEntry?: number) => {
    const a: MfnAlias = { domid: d.domid, entry, gfn: gfn + (start - mfn), mfn: start, count: end - start + 1, heldBy };
    if (heldByEntry !== undefined) a.heldByEntry = heldByEntry;
    m.aliases.push(a);
  };
  const mine = pageInfo(d.domid, true, 0, false);
  for (const ram of segments(m.ram, mfn, mfn + count - 1)) {
    if (!ram.value) {
      alias(ram.start, ram.end, 'non-ram');
      continue;
    }
    for (const rs of segments(m.rmrr, ram.start, ram.end)) {
      if (rs.value) {
        alias(rs.start, rs.end, 'rmrr');
        continue;
      }
      for (const p of segments(m.pages, rs.start, rs.end)) {
        if (!p.value) {
          m.pages.set(p.start, p.end, mine);
          claims.set(p.start, p.end, { domid: d.domid, entry });
          d.totPages += p.end - p.start + 1;
        } else if (p.value.owner === DOMID_XEN) {
          alias(p.start, p.end, 'xen');
        } else {
          const owner = p.value.owner;
          for (const c of segments(claims, p.start, p.end)) {
            alias(c.start, c.end, owner, c.value?.domid === owner ? c.value.entry : undefined);
          }
        }
      }
    }
  }
}

/** 2 MiB in frames: libxl aligns a relocated end of low RAM down to it with HAP. */
const TWO_MIB_FRAMES = 512;

/**
 * libxl's `libxl__domain_device_construct_rdm`, step 2: a reserved region (RDM) above
 * `rdm_mem_boundary` that low RAM would cover ends low RAM below it (aligned down to 2 MiB with
 * HAP), the rest of the memory going above 4 GiB; regions at or below the boundary stay where low
 * RAM covers them (rdm/conflict). Returns the new end (exclusive, gfns) of low RAM.
 */
export function relocateLowEnd(lowEnd: number, regionStarts: readonly number[], boundary: number, hap: boolean): number {
  let end = lowEnd;
  for (const s of regionStarts) {
    if (!(end > 0 && s < end && s > boundary)) continue;
    end = hap && s > TWO_MIB_FRAMES ? s - (s % TWO_MIB_FRAMES) : s;
  }
  return end;
}

/**
 * The RDM regions libxl reserves in an hvm guest: the RMRRs of the devices it is given and, with
 * `rdm.strategy: host` (and no global policy, which makes xl drop the string), every host RMRR.
 */
export function rdmRegionStarts(m: Machine, d: DomainModel): number[] {
  if (d.type !== 'hvm') return [];
  const starts = new Set<number>();
  const hostWide = d.cfg.rdm?.strategy === 'host' && d.cfg.rdm.policy === undefined;
  for (const dev of m.devices.values()) if (hostWide || dev.owner === d.domid) for (const r of dev.cfg.rmrr) starts.add(r.start);
  return [...starts];
}

/**
 * Automatic layout: `memory` frames, lowest free first (`allocFrames`; RAM may be split across
 * holes). Whatever the host cannot provide is `shortfall` (memory/overcommit).
 * - hvm/pvh: gfns 0 .. min(memory, 4 GiB − mmio_hole) − 1 (hvm: less, below an RDM region above
 *   rdm_mem_boundary, `relocateLowEnd`), the rest from gfn 0x100000 (4 GiB);
 * - pv: pfn 0 upward, contiguous.
 */
export function layoutAuto(m: Machine, d: DomainModel): void {
  const want = d.cfg.memory;
  const runs = allocFrames(m, d.domid, want);
  let got = 0;
  for (const r of runs) got += r.end - r.start + 1;
  d.shortfall = want - got;
  // (hvm: low RAM ends below an RDM region above rdm_mem_boundary, as libxl lays it out)
  const lowEnd = isTranslated(d) ? relocateLowEnd(Math.min(want, lowRamLimit(d)), rdmRegionStarts(m, d), d.cfg.rdm_mem_boundary, d.cfg.hap) : Infinity;
  let gfn = 0;
  for (const r of runs) {
    let mfn = r.start;
    let left = r.end - r.start + 1;
    while (left > 0) {
      if (gfn === lowEnd) gfn = Math.max(gfn, HIGH_RAM_START);
      const take = gfn < lowEnd ? Math.min(left, lowEnd - gfn) : left;
      d.p2m.set(gfn, gfn + take - 1, { base: mfn, type: 'ram_rw' });
      gfn += take;
      mfn += take;
      left -= take;
    }
  }
  if (isTranslated(d)) d.lowRamEnd = Math.min(got, lowEnd);
}

/** Map [gfn, gfn + count) → mfn 1:1-style with `type` where the p2m has nothing yet (existing entries win). */
export function mapIntoGaps(d: DomainModel, gfn: number, mfn: number, count: number, type: P2mType): void {
  const n = Math.min(count, MAX_FRAME - gfn + 1, MAX_FRAME - mfn + 1);
  if (n < 1) return;
  for (const g of [...d.p2m.gaps(gfn, gfn + n - 1)]) {
    d.p2m.set(g.start, g.end, { base: mfn + (g.start - gfn), type });
  }
}

/**
 * 1:1 entries of a translated domain (Xen `iommu_identity_mapping` → `p2m_add_identity_entry`,
 * `map_mmio_regions`): the RMRRs of the devices it owns and its `iomem` ranges (GFN = MFN unless
 * `@gfn`), as `mmio_direct`. The hardware domain (PVH) gets every RMRR and, with `map_reserved`,
 * the E820 reserved ranges (`arch_iommu_hwdom_init`). Added only where the p2m is empty: a guest's
 * RAM stays where it is (Xen's RDM "relaxed" outcome; rdm/conflict reports the overlap).
 */
export function layoutIdentity(m: Machine, d: DomainModel, ownedRmrrs: { start: number; end: number }[]): void {
  if (!isTranslated(d)) return;
  const isHw = m.hwdom === d.domid;
  const rmrrs = isHw ? m.rmrr.toArray() : ownedRmrrs;
  for (const r of rmrrs) mapIntoGaps(d, r.start, r.start, r.end - r.start + 1, 'mmio_direct');
  if (isHw && m.iommu.map_reserved) {
    for (const e of m.e820.toArray()) {
      if (e.value === 'reserved') mapIntoGaps(d, e.start, e.start, e.end - e.start + 1, 'mmio_direct');
    }
  }
  for (const io of d.cfg.iomem) {
    const n = io.mfns.end - io.mfns.start + 1;
    mapIntoGaps(d, io.gfn ?? io.mfns.start, io.mfns.start, n, 'mmio_direct');
  }
}
