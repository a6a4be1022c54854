/** Device assignment and domain destruction (reference/xen-model.md §6.2), in Xen's order. */
import { describe, expect, it } from 'vitest';
import { env, lab, labScenario, scenario, rules } from './helpers.js';
import { assignDevice, deassignDevice, destroyDomain, testAssignDevice } from '../../src/hypercalls/domctl.js';
import { iommuOpElement, XS_SUBOPS } from '../../src/hypercalls/pv-iommu-xs.js';
import { populatePhysmap } from '../../src/hypercalls/memory.js';
import { frameList } from '../../src/hypercalls/args.js';
import { iommuLookup, contextOfDevice, deviceOf } from '../../src/model/iommu.js';
import { DOMID_IO } from '../../src/model/types.js';
import { pageAt } from '../../src/model/pages.js';
import { p2mLookup } from '../../src/model/p2m.js';

const NIC = '0000:03:00.0';
const NIC2 = '0000:03:00.1';
const dev = (name: string, bdf: string, extra = '') => `apiVersion: pviommu/v1\nkind: Device\nname: ${name}\nbdf: "${bdf}"\nassignable: true\n${extra}`;
const dom = (name: string, domid: number, extra = '') => `apiVersion: pviommu/v1\nkind: Domain\nname: ${name}\ndomid: ${domid}\ntype: hvm\nmemory: 4MiB\n${extra}`;

describe('domctl.assign_device', () => {
  it('moves a dom0 device to a guest: owner, context, RMRR 1:1 in the guest p2m', () => {
    const e = env(lab({ extra: [dev('nic3', '05:00.0', 'rmrr: ["0x3f10-0x3f1f"]')] }));
    expect(assignDevice(e.ctx(), { domid: 2, device: '0000:05:00.0' })).toMatchObject({ rc: 0, errno: 'OK' });
    expect(deviceOf(e.m, '0000:05:00.0')!.owner).toBe(2);
    expect(contextOfDevice(e.m, '0000:05:00.0')?.id).toBe('vm2');
    expect(e.dom('dom0').iommu!.devices.has('0000:05:00.0')).toBe(false);
    expect(p2mLookup(e.dom('vm2'), 0x3f15)).toEqual({ mfn: 0x3f15, type: 'mmio_direct' });
    expect(e.dom('vm2').iommu!.reserved.has(0x3f15)).toBe(true);
  });

  it('errors in order: ESRCH > EPERM (not control) > EOPNOTSUPP (no IOMMU) > EINVAL (self) > ENODEV / EBUSY', () => {
    const e = env(lab({ vm1: 'passthrough: sync_pt' }));
    expect(assignDevice(e.ctx('vm1'), { domid: 77, device: NIC2 }).errno).toBe('ESRCH');
    expect(assignDevice(e.ctx('vm1'), { domid: 3, device: NIC2 }).errno).toBe('EPERM');
    expect(assignDevice(e.ctx(), { domid: 3, device: '0000:09:00.0' }).errno).toBe('EOPNOTSUPP'); // vm3: no IOMMU context
    expect(assignDevice(e.ctx(), { domid: 0, device: '0000:09:00.0' }).errno).toBe('EINVAL');
    expect(assignDevice(e.ctx(), { domid: 1, device: '0000:09:00.0' }).errno).toBe('ENODEV');
    expect(assignDevice(e.ctx(), { domid: 1, device: undefined }).errno).toBe('ENODEV');
    expect(assignDevice(e.ctx(), { domid: 1, device: NIC }).errno).toBe('EBUSY'); // vm2's
  });

  it('EXDEV while PoD or log-dirty is active on the target (before EBADF)', () => {
    const e = env(lab({ extra: [dom('vm5', 5, 'maxmem: 8MiB\npassthrough: sync_pt'), dom('vm6', 6, 'live_migration: true\npassthrough: sync_pt'), dev('bad', '06:00.0', 'broken: true')] }));
    expect(assignDevice(e.ctx(), { domid: 5, device: '0000:06:00.0' }).errno).toBe('EXDEV');
    expect(assignDevice(e.ctx(), { domid: 6, device: NIC2 }).errno).toBe('EXDEV');
  });

  it('EBADF for a broken device (not for the hardware domain), before the shared-RMRR check', () => {
    const e = env(lab({ gpu: 'rmrr: ["0x3f20-0x3f2f"]', extra: [dev('bad', '06:00.0', 'broken: true\nrmrr: ["0x3f20-0x3f2f"]')] }));
    expect(assignDevice(e.ctx(), { domid: 2, device: '0000:06:00.0' }).errno).toBe('EBADF');
  });

  it('EPERM for a shared RMRR unless rdm_relaxed', () => {
    const e = env(lab({ gpu: 'rmrr: ["0x3f20-0x3f2f"]', extra: [dev('nic3', '05:00.0', 'rmrr: ["0x3f20-0x3f2f"]')] }));
    expect(assignDevice(e.ctx(), { domid: 2, device: '0000:05:00.0' }).errno).toBe('EPERM');
    expect(assignDevice(e.ctx(), { domid: 2, device: '0000:05:00.0', rdm_relaxed: true }).errno).toBe('OK');
  });

  it('RMRR over guest RAM: EBUSY (p2m_add_identity_entry) unless relaxed, which leaves the RAM in place', () => {
    const e = env(lab({ extra: [dev('nic3', '05:00.0', 'rmrr: ["0x3f30-0x3f3f"]')] }));
    populatePhysmap(e.ctx('vm3'), { gfns: frameList([0x3f30]) });
    // vm3 has no IOMMU; give vm2 RAM at gfn 0x3f30 instead
    e.dom('vm2').p2m.set(0x3f30, 0x3f30, { base: 0x1950, type: 'ram_rw' });
    expect(assignDevice(e.ctx(), { domid: 2, device: '0000:05:00.0' }).errno).toBe('EBUSY');
    expect(assignDevice(e.ctx(), { domid: 2, device: '0000:05:00.0', rdm_relaxed: true }).errno).toBe('OK');
    expect(p2mLookup(e.dom('vm2'), 0x3f30)).toEqual({ mfn: 0x1950, type: 'ram_rw' });
  });

  it('RMRR pieces: empty and mmio_dm become 1:1, an existing 1:1 stays; a failure after them restores each piece', () => {
    // 0x3f40-0x3f47: 0x3f40-41 empty, 0x3f42-43 mmio_dm, 0x3f44-45 already 1:1, 0x3f46-47 empty.
    const rmrr = 'rmrr: ["0x3f40-0x3f47"]';
    const e = env(lab({ extra: [dev('hb', '00:00.0', `host_bridge: true\n${rmrr}`), dev('nic3', '05:00.0', rmrr)] }));
    const vm2 = e.dom('vm2');
    vm2.p2m.set(0x3f42, 0x3f43, { base: 0x3000, type: 'mmio_dm' });
    vm2.p2m.set(0x3f44, 0x3f45, { base: 0x3f44, type: 'mmio_direct' });
    const before = vm2.p2m.toArray();
    // The host bridge: mapped, then EPERM and undone piece by piece.
    expect(assignDevice(e.ctx(), { domid: 2, device: '0000:00:00.0', rdm_relaxed: true }).errno).toBe('EPERM');
    expect(vm2.p2m.toArray()).toEqual(before);
    expect(assignDevice(e.ctx(), { domid: 2, device: '0000:05:00.0', rdm_relaxed: true }).errno).toBe('OK');
    expect(vm2.p2m.toArray().filter((x) => x.start >= 0x3f40 && x.end <= 0x3f47)).toEqual([{ start: 0x3f40, end: 0x3f47, value: { base: 0x3f40, type: 'mmio_direct' } }]);
    // Deassign removes the 1:1 entries (all of them: it cannot tell which were there before).
    expect(deassignDevice(e.ctx(), { domid: 2, device: '0000:05:00.0' }).errno).toBe('OK');
    expect(vm2.p2m.anyIn(0x3f40, 0x3f47)).toBe(false);
  });

  it('an RMRR of a GiB is mapped by extents, not frame by frame', () => {
    const e = env(lab({ extra: [dev('gpu2', '05:00.0', 'rmrr: ["0x100000-0x13ffff"]')] }));
    const p2m = e.dom('vm2').p2m;
    let sets = 0;
    const set = p2m.set.bind(p2m);
    p2m.set = (s: number, end: number, v) => {
      sets++;
      set(s, end, v);
    };
    expect(assignDevice(e.ctx(), { domid: 2, device: '0000:05:00.0' }).errno).toBe('OK');
    expect(p2mLookup(e.dom('vm2'), 0x13ffff)).toEqual({ mfn: 0x13ffff, type: 'mmio_direct' });
    expect(sets).toBe(1);
    expect(deassignDevice(e.ctx(), { domid: 2, device: '0000:05:00.0' }).errno).toBe('OK');
    expect(p2m.anyIn(0x100000, 0x13ffff)).toBe(false);
  });

  it('EPERM for a host bridge to a non-hardware domain', () => {
    const e = env(lab({ extra: [dev('hb', '00:00.0', 'host_bridge: true')] }));
    expect(assignDevice(e.ctx(), { domid: 2, device: '0000:00:00.0' }).errno).toBe('EPERM');
    // DOMID_IO (quarantine) is not the hardware domain either; the bridge stays where it was
    const owner = deviceOf(e.m, '0000:00:00.0')!.owner;
    expect(assignDevice(e.ctx(), { domid: DOMID_IO, device: '0000:00:00.0' }).errno).toBe('EPERM');
    expect(deviceOf(e.m, '0000:00:00.0')!.owner).toBe(owner);
  });

  it('DOMID_IO quarantines a device; deassigning from DOMID_IO gives it back to the hardware domain', () => {
    const e = env(lab());
    expect(assignDevice(e.ctx(), { domid: DOMID_IO, device: NIC2 }).errno).toBe('OK');
    expect(deviceOf(e.m, NIC2)!.owner).toBe(DOMID_IO);
    expect(deassignDevice(e.ctx(), { domid: DOMID_IO, device: NIC2 }).errno).toBe('OK');
    expect(deviceOf(e.m, NIC2)!.owner).toBe(0);
  });
});

describe('domctl.test_assign_device / deassign_device', () => {
  it('test_assign: 0, or EINVAL for assigned / non-existent; EPERM for a non-control caller', () => {
    const e = env(lab());
    expect(testAssignDevice(e.ctx(), { device: NIC2 }).errno).toBe('OK');
    expect(testAssignDevice(e.ctx(), { device: NIC }).errno).toBe('EINVAL');
    expect(testAssignDevice(e.ctx(), { device: '0000:09:00.0' }).errno).toBe('EINVAL');
    expect(testAssignDevice(e.ctx('vm2'), { device: NIC2 }).errno).toBe('EPERM');
    expect(testAssignDevice(e.ctx('vm2'), { device: NIC2, domid: 77 }).errno).toBe('ESRCH');
    expect(testAssignDevice(e.ctx(), { device: NIC2, domid: 0 }).errno).toBe('EINVAL'); // self
    expect(testAssignDevice(env(lab({ iommu: false, abi: 'none' })).ctx(), { device: NIC2 }).errno).toBe('EOPNOTSUPP');
  });

  it('deassign: to quarantine (basic: DMA faults, but for its RMRRs, which stay mapped 1:1), the p2m RMRR entries go', () => {
    const e = env(lab({ nic: 'rmrr: ["0x3f00-0x3f0f"]' }));
    expect(p2mLookup(e.dom('vm2'), 0x3f00)?.type).toBe('mmio_direct');
    expect(deassignDevice(e.ctx(), { domid: 2, device: NIC }).errno).toBe('OK');
    expect(deviceOf(e.m, NIC)!.owner).toBe(DOMID_IO);
    const q = contextOfDevice(e.m, NIC)!;
    expect(q.mode).toBe('table');
    // Xen 4.17+ quarantine page tables keep a device's RMRR mappings (it may still DMA there)
    expect(q.table.toArray().map((x) => [x.start, x.end, x.value.base])).toEqual([[0x3f00, 0x3f0f, 0x3f00]]);
    expect(iommuLookup(e.m, q, 0x3f05).mfn).toBe(0x3f05);
    expect(iommuLookup(e.m, q, 0x1200).fault).toBe('unmapped');
    expect(p2mLookup(e.dom('vm2'), 0x3f00)).toBeUndefined();
    // scratch-page: the RMRR 1:1, everything else the scratch page
    const s = env(lab({ nic: 'rmrr: ["0x3f00-0x3f0f"]', quarantine: 'scratch-page' }));
    deassignDevice(s.ctx(), { domid: 2, device: NIC });
    const sq = contextOfDevice(s.m, NIC)!;
    expect([iommuLookup(s.m, sq, 0x3f05).mfn, iommuLookup(s.m, sq, 0x1200).mfn]).toEqual([0x3f05, s.m.scratchMfn]);
  });

  it('deassign with quarantine: none → the hardware domain (unless the device had been quarantined)', () => {
    const e = env(lab({ quarantine: 'none' }));
    expect(deassignDevice(e.ctx(), { domid: 2, device: NIC }).errno).toBe('OK');
    expect(deviceOf(e.m, NIC)!.owner).toBe(0);
    expect(assignDevice(e.ctx(), { domid: DOMID_IO, device: NIC2 }).errno).toBe('OK');
    expect(assignDevice(e.ctx(), { domid: 2, device: NIC2 }).errno).toBe('OK');
    expect(deassignDevice(e.ctx(), { domid: 2, device: NIC2 }).errno).toBe('OK');
    expect(deviceOf(e.m, NIC2)!.owner).toBe(DOMID_IO); // pdev->quarantine
  });

  it('deassign errors: ESRCH > EPERM > EOPNOTSUPP > EINVAL (self) > ENODEV (not the domain’s)', () => {
    const e = env(lab());
    expect(deassignDevice(e.ctx('vm2'), { domid: 77, device: NIC }).errno).toBe('ESRCH');
    expect(deassignDevice(e.ctx('vm2'), { domid: 2, device: NIC }).errno).toBe('EPERM');
    expect(deassignDevice(e.ctx(), { domid: 1, device: NIC }).errno).toBe('EOPNOTSUPP');
    expect(deassignDevice(e.ctx(), { domid: 0, device: NIC }).errno).toBe('EINVAL');
    expect(deassignDevice(e.ctx(), { domid: 2, device: NIC2 }).errno).toBe('ENODEV');
  });
});

describe('domain.destroy', () => {
  it('errors: ESRCH > EPERM (not control) > EINVAL (self)', () => {
    const e = env(lab());
    expect(destroyDomain(e.ctx('vm1'), { domid: 77 }).errno).toBe('ESRCH');
    expect(destroyDomain(e.ctx('vm1'), { domid: 2 }).errno).toBe('EPERM');
    expect(destroyDomain(e.ctx(), { domid: 0 }).errno).toBe('EINVAL');
  });

  it('relinquishes: pages freed, devices quarantined, the domain gone for later calls', () => {
    const e = env(lab());
    expect(destroyDomain(e.ctx(), { domid: 2 }).errno).toBe('OK');
    expect(pageAt(e.m, 0x1900)).toBeUndefined();
    expect(e.dom('vm2').totPages).toBe(0);
    expect(deviceOf(e.m, NIC)!.owner).toBe(DOMID_IO);
    expect(destroyDomain(e.ctx(), { domid: 2 }).errno).toBe('ESRCH');
    expect(populatePhysmap(e.ctx(), { domid: 2, gfns: frameList([0]) }).rc).toBe(0);
  });

  it('drops the foreign pins of its pages (relinquish_memory), so a pinned page is freed', () => {
    const e = env(lab());
    iommuOpElement(e.ctx(), { subop: XS_SUBOPS.lookup_foreign_page!, domid: 1, gfn: 0x100 });
    destroyDomain(e.ctx(), { domid: 1 });
    expect(pageAt(e.m, 0x1200)).toBeUndefined();
  });

  it('pages still mapped by others stay allocated, owned by the dead domain: mapping/leaked-pin', () => {
    const rep = scenario(
      labScenario(`  - op: iommu.map_foreign_page
    bfn: 0x20000
    domid: vm1
    gfn: 0x100
    flags: [read, write]
  - op: grant.map
    caller: vm2
    granter: vm1
    gfn: 0x101
    flags: [host_map]
    host_gfn: 0x9000
  - op: domain.destroy
    domid: vm1
  - op: device.dma
    device: gpu
    bfn: 0x20000
    target: { domain: vm1, gfn: 0x100 }
    expect: { owner: vm1 }
  - op: memory.populate_physmap
    caller: vm1
    gfns: [0]
    expect: { rc: ESRCH }
`),
    );
    expect(rep.summary.failed_expectations).toBe(0);
    expect(rules(rep)).toEqual(['mapping/leaked-pin']);
    const f = rep.findings[0]!;
    expect(f.severity).toBe('warning');
    expect(f.message).toContain('vm1 was destroyed, but 2 of its pages are still referenced');
    expect(f.message).toContain("dom0's IOMMU (map_foreign at BFN 0x20000)");
    expect(f.message).toContain('a grant mapping of vm2');
  });

  it('mapping/leaked-pin names every holder of the held pages, not only those of the first page of each run', () => {
    const rep = scenario(
      labScenario(`  - op: grant.map
    caller: vm2
    granter: vm1
    gfn: 0x100
    flags: [host_map]
    host_gfn: 0x9000
${[0, 1, 2].map((i) => `  - op: iommu.map_foreign_page\n    bfn: ${0x20000 + i}\n    domid: vm1\n    gfn: ${0x101 + i}\n    flags: [read, write]\n`).join('')}  - op: domain.destroy
    domid: vm1
`),
    );
    expect(rules(rep)).toEqual(['mapping/leaked-pin']);
    const f = rep.findings[0]!;
    expect(f.message).toContain('4 of its pages are still referenced (e.g. MFN 0x1200)');
    expect(f.message).toContain("dom0's IOMMU (map_foreign at BFNs 0x20000-0x20002)");
    expect(f.message).toContain('a grant mapping of vm2');
  });

  it('destroying the mapper releases its grant maps and foreign entries: no leak', () => {
    const rep = scenario(
      labScenario(`  - op: grant.map
    caller: vm2
    granter: vm1
    gfn: 0x101
    flags: [host_map]
    host_gfn: 0x9000
  - op: domain.destroy
    domid: vm2
  - op: domain.destroy
    domid: vm1
`),
    );
    expect(rep.findings).toEqual([]);
  });
});

describe('pins held for a destroyed hardware domain', () => {
  it('a control domain destroys dom0 while dom0 holds foreign pins: mapping/leaked-pin', () => {
    const ctl = 'apiVersion: pviommu/v1\nkind: Domain\nname: ctl\ndomid: 7\ntype: pvh\nrole: control\nmemory: 1MiB';
    const rep = scenario(
      labScenario(
        `  - op: iommu.lookup_foreign_page
    domid: vm1
    gfn: 0x100
    caller: dom0
    expect: { status: EPERM }
`,
        { extra: [ctl] },
      ),
    );
    expect(rep.summary.failed_expectations).toBe(0); // dom0 is not vm1's device model here
    const rep2 = scenario(
      labScenario(
        `  - op: iommu.lookup_foreign_page
    domid: vm1
    gfn: 0x100
  - op: domain.destroy
    caller: ctl
    domid: dom0
`,
        { extra: [ctl], vm1: 'device_model: dom0' },
      ),
    );
    expect(rep2.calls.map((c) => c.errno)).toEqual(['OK', 'OK']);
    expect(rules(rep2)).toEqual(['mapping/leaked-pin']);
    expect(rep2.findings[0]!.message).toContain('dom0 was destroyed with 1 PV-IOMMU foreign pin still held for it (e.g. MFN 0x1200, vm1');
  });
});
