/**
 * Device assignment and domain destruction (`HYPERVISOR_domctl`: xen/common/domctl.c `do_domctl`,
 * xen/drivers/passthrough/iommu.c `iommu_do_domctl`, pci.c `iommu_do_pci_domctl` /
 * `device_assigned` / `assign_device` / `deassign_device`, vtd/iommu.c `intel_iommu_assign_device`,
 * xen/common/domain.c `domain_kill` → `domain_relinquish_resources`). reference/xen-model.md §6.
 */
import type { CallResult, OpContext } from './types.js';
import { defineOp } from './types.js';
import { fail, ret } from './errno.js';
import { domainById, isHardwareDomain, p2mClear, stateOf, xsmPriv } from './mm.js';
import { destroyContext } from './pv-iommu-ta.js';
import { releaseGrant } from './grant.js';
import type { DeviceModel, DomainModel, IommuContext, Machine } from '../model/types.js';
import { DOMID_IO } from '../model/types.js';
import { attachDevice, detachDevice, iommuUnmap, pdevOf, makeEntry, quarantineContext, setEntries } from '../model/iommu.js';
import { isTranslated, p2mRemove, p2mSet } from '../model/p2m.js';
import { releaseAllocation, segments, unpinPage } from '../model/pages.js';

/** A domctl target: a live domain, or DOMID_IO (the quarantine pseudo-domain). */
type Target = DomainModel | 'dom_io';

function lookupTarget(m: Machine, domid: number): Target | undefined {
  if (domid === DOMID_IO) return 'dom_io';
  return domainById(m, domid);
}

/** `is_iommu_enabled(d)`: the domain has an IOMMU context (dom_io: the host IOMMU is on). */
function iommuEnabled(m: Machine, t: Target): boolean {
  if (!m.iommu.enabled) return false;
  return t === 'dom_io' ? true : t.iommu !== undefined;
}

/** `device_assigned(sbdf)`: 0, or ENODEV (no such device) / EBUSY (owned by a guest). */
function deviceAssigned(m: Machine, bdf: string | undefined): string | undefined {
  const dev = bdf !== undefined ? pdevOf(m, bdf) : undefined;
  if (!dev) return 'ENODEV';
  if (dev.owner !== m.hwdom && dev.owner !== DOMID_IO) return 'EBUSY';
  return undefined;
}

/** Devices whose RMRR is also listed by another device ("shared RMRR"). */
function hasSharedRmrr(m: Machine, dev: DeviceModel): boolean {
  for (const r of dev.cfg.rmrr) {
    for (const e of m.rmrr.overlapping(r.start, r.end)) if (e.value.length > 1) return true;
  }
  return false;
}

/** The context a device is attached to now. */
function currentContext(m: Machine, dev: DeviceModel): IommuContext | undefined {
  if (dev.owner === DOMID_IO) return dev.quarantine;
  const d = m.domains.get(dev.owner);
  if (!d) return undefined;
  return dev.ctxNo === 0 ? d.iommu : d.ta.contexts.get(dev.ctxNo);
}

function detach(m: Machine, dev: DeviceModel): void {
  const c = currentContext(m, dev);
  if (c) detachDevice(m, c, dev);
  if (dev.owner === DOMID_IO) delete dev.quarantine;
}

/** Hand a device (and its phantom functions) to `to` — a domain's default context or quarantine. */
export function reassignDevice(m: Machine, dev: DeviceModel, to: Target): void {
  detach(m, dev);
  dev.ctxNo = 0;
  if (to === 'dom_io') {
    dev.owner = DOMID_IO;
    dev.quarantine = quarantineContext(m, dev.bdf);
    stateOf(m).quarantined.add(dev.bdf);
    attachDevice(m, dev.quarantine, dev);
    return;
  }
  dev.owner = to.domid;
  if (to.iommu) attachDevice(m, to.iommu, dev);
}

/**
 * `iommu_identity_mapping(d, p2m_access_rw, rmrr)`: RMRR 1:1 in the target. Translated: a
 * `mmio_direct` p2m entry at GFN = MFN (p2m_add_identity_entry: an existing different entry →
 * -EBUSY, or left alone with RDM_RELAXED); PV: an IOMMU identity entry. Returns the errno, or a
 * function undoing exactly what was added (intel_iommu_assign_device removes the identity maps
 * again with `p2m_access_x` when the assignment fails after them).
 */
function identityMapRmrrs(m: Machine, d: DomainModel, dev: DeviceModel, relaxed: boolean): string | (() => void) {
  // (The p2m is walked by extents: an RMRR of a GiB is a handful of pieces, not 262,144 frames.)
  for (const r of dev.cfg.rmrr) {
    if (isTranslated(d)) {
      for (const p of segments(d.p2m, r.start, r.end)) {
        const e = p.value;
        if (!e || e.type === 'mmio_dm') continue;
        if (e.type === 'mmio_direct' && e.base === p.start) continue; // already 1:1
        if (!relaxed) return 'EBUSY';
      }
    }
  }
  const undo: (() => void)[] = [];
  for (const r of dev.cfg.rmrr) {
    if (isTranslated(d)) {
      for (const p of segments(d.p2m, r.start, r.end)) {
        const e = p.value;
        if (e && e.type !== 'mmio_dm') continue;
        const n = p.end - p.start + 1;
        p2mSet(m, d, p.start, n, p.start, 'mmio_direct');
        undo.push(e ? () => p2mSet(m, d, p.start, n, e.base, e.type) : () => p2mRemove(m, d, p.start, n));
      }
    } else if (d.iommu && d.iommu.mode === 'table') {
      const c = d.iommu;
      for (const gap of [...c.table.gaps(r.start, r.end)]) {
        setEntries(m, c, gap.start, gap.end, makeEntry(gap.start, true, true, 'config'));
        undo.push(() => iommuUnmap(m, c, gap.start, gap.end - gap.start + 1));
      }
    }
  }
  return () => {
    for (const u of undo.reverse()) u();
  };
}

/** Remove the RMRR 1:1 entries a departing device needed, unless another device of d lists them. */
function unmapRmrrs(m: Machine, d: DomainModel, dev: DeviceModel): void {
  for (const r of dev.cfg.rmrr) {
    const shared = [...m.devices.values()].some(
      (o) => o !== dev && o.owner === d.domid && o.cfg.rmrr.some((x) => x.start <= r.end && x.end >= r.start),
    );
    if (shared || isHardwareDomain(m, d)) continue;
    if (isTranslated(d)) {
      for (const p of segments(d.p2m, r.start, r.end)) {
        if (p.value && p.value.type === 'mmio_direct' && p.value.base === p.start) p2mRemove(m, d, p.start, p.end - p.start + 1);
      }
    } else if (d.iommu) {
      for (const e of [...d.iommu.table.overlapping(r.start, r.end)]) {
        if (e.value.origin === 'config' && e.value.base === e.start && !e.value.follows) iommuUnmap(m, d.iommu, e.start, e.end - e.start + 1);
      }
    }
    d.iommu?.reserved.delete(r.start, r.end);
  }
}

export interface AssignArgs {
  domid: number;
  device: string | undefined;
  rdm_relaxed?: boolean;
}

/** XEN_DOMCTL_assign_device, checks in Xen's order. */
export function assignDevice(ctx: OpContext, a: AssignArgs): CallResult {
  const m = ctx.machine;
  // do_domctl: rcu_lock_domain_by_id → -ESRCH; xsm_domctl (XSM_PRIV) → -EPERM.
  const t = lookupTarget(m, a.domid);
  if (!t) return fail('ESRCH');
  if (!xsmPriv(m, ctx.caller)) return fail('EPERM');
  // iommu_do_domctl: a target without an IOMMU context → -EOPNOTSUPP.
  if (!iommuEnabled(m, t)) return fail('EOPNOTSUPP');
  // iommu_do_pci_domctl: self-assignment → -EINVAL.
  if (t === ctx.caller) return fail('EINVAL');
  // device_assigned: -ENODEV / -EBUSY.
  const busy = deviceAssigned(m, a.device);
  if (busy) return fail(busy);
  const dev = pdevOf(m, a.device!)!;
  // assign_device: arch_iommu_use_permitted (PoD, log-dirty) → -EXDEV; broken → -EBADF.
  if (t !== 'dom_io' && (t.pod || t.logDirty)) return fail('EXDEV');
  const toHw = t !== 'dom_io' && isHardwareDomain(m, t);
  if (dev.cfg.broken && t !== 'dom_io' && !toHw) return fail('EBADF');
  // intel_iommu_assign_device: a shared RMRR without XEN_DOMCTL_DEV_RDM_RELAXED → -EPERM.
  if (m.vendor === 'intel' && hasSharedRmrr(m, dev) && !a.rdm_relaxed) return fail('EPERM');
  if (t === 'dom_io') {
    // domain_context_mapping for dom_io: a host bridge only ever belongs to the hardware domain.
    if (dev.cfg.host_bridge) return fail('EPERM');
    reassignDevice(m, dev, 'dom_io');
    return ret(0);
  }
  // RMRR identity maps in the target (conflict → -EBUSY unless relaxed).
  const id = identityMapRmrrs(m, t, dev, a.rdm_relaxed === true);
  if (typeof id === 'string') return fail(id);
  // reassign_device_ownership → domain_context_mapping: a host bridge may only belong to the
  // hardware domain → -EPERM; the identity maps just made are removed again.
  if (dev.cfg.host_bridge && !toHw) {
    id();
    return fail('EPERM');
  }
  reassignDevice(m, dev, t);
  return ret(0);
}

export interface TestAssignArgs {
  device: string | undefined;
  domid?: number;
}

/** XEN_DOMCTL_test_assign_device: 0, or -EINVAL for "already assigned, or non-existent". */
export function testAssignDevice(ctx: OpContext, a: TestAssignArgs): CallResult {
  const m = ctx.machine;
  let t: Target | undefined;
  if (a.domid !== undefined) {
    t = lookupTarget(m, a.domid);
    if (!t) return fail('ESRCH');
  }
  if (!xsmPriv(m, ctx.caller)) return fail('EPERM');
  if (!iommuEnabled(m, t ?? 'dom_io')) return fail('EOPNOTSUPP');
  if (t === ctx.caller) return fail('EINVAL');
  if (deviceAssigned(m, a.device)) return fail('EINVAL');
  return ret(0);
}

export interface DeassignArgs {
  domid: number;
  device: string | undefined;
}

/** XEN_DOMCTL_deassign_device → pci.c `deassign_device`. */
export function deassignDevice(ctx: OpContext, a: DeassignArgs): CallResult {
  const m = ctx.machine;
  const t = lookupTarget(m, a.domid);
  if (!t) return fail('ESRCH');
  if (!xsmPriv(m, ctx.caller)) return fail('EPERM');
  if (!iommuEnabled(m, t)) return fail('EOPNOTSUPP');
  if (t === ctx.caller) return fail('EINVAL');
  // pci_get_pdev(d, sbdf): the device must belong to d → -ENODEV.
  const dev = a.device !== undefined ? pdevOf(m, a.device) : undefined;
  const owner = t === 'dom_io' ? DOMID_IO : t.domid;
  if (!dev || dev.owner !== owner) return fail('ENODEV');
  deassign(m, dev);
  return ret(0);
}

/**
 * Move a device away from its owner: to dom_io when quarantining (host `quarantine` not none, or
 * the device was quarantined before: `pdev->quarantine`), else to the hardware domain; a device
 * leaving dom_io goes to the hardware domain.
 */
export function deassign(m: Machine, dev: DeviceModel): void {
  const from = dev.owner === DOMID_IO ? undefined : m.domains.get(dev.owner);
  const quarantine = m.iommu.quarantine !== 'none' || stateOf(m).quarantined.has(dev.bdf);
  const hw = m.hwdom !== undefined ? m.domains.get(m.hwdom) : undefined;
  if (from) unmapRmrrs(m, from, dev);
  if (dev.owner !== DOMID_IO && quarantine) reassignDevice(m, dev, 'dom_io');
  else if (hw && !hw.destroyed && hw !== from) reassignDevice(m, dev, hw);
  else reassignDevice(m, dev, 'dom_io');
}

export interface DestroyArgs {
  domid: number;
}

/**
 * XEN_DOMCTL_destroydomain → `domain_kill` → `domain_relinquish_resources`: devices go to
 * quarantine (or the hardware domain), PV-IOMMU contexts and the domain's IOMMU mappings go
 * (dropping the references they hold), grant mappings it holds are unmapped, its foreign p2m
 * entries drop their references, the foreign pins of its pages are released (relinquish_memory
 * clears `_PGC_foreign_map`), and every page it owns loses its allocation reference — pages still
 * referenced by others stay allocated, owned by the dead domain, until released
 * (`mapping/leaked-pin` at the end of the scenario).
 */
export function destroyDomain(ctx: OpContext, a: DestroyArgs): CallResult {
  const m = ctx.machine;
  const d = domainById(m, a.domid);
  if (!d) return fail('ESRCH');
  if (!xsmPriv(m, ctx.caller)) return fail('EPERM');
  if (d === ctx.caller) return fail('EINVAL');
  relinquish(m, d);
  const st = stateOf(m);
  const rec = { domid: d.domid, name: d.name };
  st.destroyed.push(ctx.origin ? { ...rec, at: ctx.origin.locate(), index: ctx.origin.index } : rec);
  return ret(0);
}

function relinquish(m: Machine, d: DomainModel): void {
  // Devices (pci_release_devices).
  for (const dev of m.devices.values()) if (dev.owner === d.domid) deassign(m, dev);
  // PV-IOMMU contexts, then the default context.
  for (const c of d.ta.contexts.values()) destroyContext(m, c);
  d.ta.contexts.clear();
  // (and the arena their page tables came from)
  for (const r of d.ta.arena) releaseAllocation(m, r.start, r.end - r.start + 1);
  d.ta.arena = [];
  if (d.iommu) destroyContext(m, d.iommu);
  d.iommu = undefined;
  // Grant mappings it holds.
  const st = stateOf(m);
  const mine = st.grants.get(d.domid);
  if (mine) {
    for (const g of mine.values()) releaseGrant(m, g);
    st.grants.delete(d.domid);
  }
  // Its p2m (foreign entries hold references on other domains' pages).
  const hi = d.p2m.highest();
  const lo = d.p2m.lowest();
  if (hi && lo) p2mClear(m, d, lo.start, hi.end - lo.start + 1);
  // Its pages: foreign pins released, allocation references dropped.
  const owned: { start: number; end: number; pinned: boolean }[] = [];
  for (const e of m.pages.entries()) if (e.value.owner === d.domid) owned.push({ start: e.start, end: e.end, pinned: e.value.pinned });
  for (const o of owned) {
    if (o.pinned) for (let f = o.start; f <= o.end; f++) unpinPage(m, f);
    releaseAllocation(m, o.start, o.end - o.start + 1);
  }
  d.destroyed = true;
}

const DEVICE_KEYS = new Set(['domid', 'device', 'rdm_relaxed']);

export const DOMCTL_OPS = [
  defineOp<AssignArgs>({
    name: 'domctl.assign_device',
    summary: 'assign a PCI device to a domain (control domain only)',
    keys: DEVICE_KEYS,
    parse: (r) => ({ domid: r.domid('domid'), device: r.device('device'), rdm_relaxed: r.bool('rdm_relaxed', false) }),
    run: assignDevice,
  }),
  defineOp<TestAssignArgs>({
    name: 'domctl.test_assign_device',
    summary: 'can the device be assigned? 0 or EINVAL',
    keys: new Set(['domid', 'device']),
    parse(r) {
      const a: TestAssignArgs = { device: r.device('device') };
      if (r.has('domid')) a.domid = r.domid('domid');
      return a;
    },
    run: testAssignDevice,
  }),
  defineOp<DeassignArgs>({
    name: 'domctl.deassign_device',
    summary: 'take a device back (to quarantine, or the hardware domain)',
    keys: new Set(['domid', 'device']),
    parse: (r) => ({ domid: r.domid('domid'), device: r.device('device') }),
    run: deassignDevice,
  }),
  defineOp<DestroyArgs>({
    name: 'domain.destroy',
    summary: 'destroy a domain and relinquish its resources',
    keys: new Set(['domid']),
    parse: (r) => ({ domid: r.domid('domid') }),
    run: destroyDomain,
  }),
];
