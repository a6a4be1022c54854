/** device.dma (SPEC §4.4): translation through the device's context and the dma/* findings. */
import { describe, expect, it } from 'vitest';
import { env, lab, labScenario, scenario, rules } from './helpers.js';
import { deviceDma } from '../../src/hypercalls/dma.js';
import { iommuOpElement, XS_SUBOPS, IOMMU_OP_readable as R } from '../../src/hypercalls/pv-iommu-xs.js';
import { deassignDevice } from '../../src/hypercalls/domctl.js';

const GPU = '0000:00:02.0';
const NIC = '0000:03:00.0';
const NIC2 = '0000:03:00.1';

function dma(e: ReturnType<typeof env>, device: string | undefined, bfn: number, access: 'read' | 'write' = 'write', target?: { domid: number; gfn: number }) {
  e.findings.length = 0;
  const r = deviceDma(e.ctx(), target ? { device, bfn, access, target } : { device, bfn, access });
  return { r, rules: e.findings.map((f) => f.rule), messages: e.findings.map((f) => f.message) };
}

describe('device.dma', () => {
  it('reaches the frame its context maps: out.mfn and out.owner', () => {
    const e = env(lab());
    const x = dma(e, GPU, 0x200); // xs: dom0's BFN = PFN region (pfn 0x200 is mfn 0x300)
    expect(x.r).toEqual({ rc: 0, status: 0, errno: 'OK', out: { mfn: '0x300', owner: 'dom0' } });
    expect(dma(env(lab({ abi: 'none' })), GPU, 0x200).r.out).toEqual({ mfn: '0x200', owner: 'dom0' }); // relaxed 1:1
    expect(x.rules).toEqual([]);
  });

  it('dma/isolation: another domain’s page, unless it is the target (or, without a target, a vgpu of a mediated device)', () => {
    const e = env(lab());
    expect(dma(e, GPU, 0x1200).rules).toEqual(['dma/isolation']);
    expect(dma(e, GPU, 0x1200, 'write', { domid: 1, gfn: 0x100 }).rules).toEqual([]);
    expect(dma(e, GPU, 0x1900, 'write', { domid: 1, gfn: 0x100 }).rules).toEqual(['dma/wrong-page', 'dma/isolation']);
    const med = env(lab({ gpu: 'mediated: { vgpus: [vm1], translation: mfn }' }));
    expect(dma(med, GPU, 0x1200).rules).toEqual([]);
    expect(dma(med, GPU, 0x1900).rules).toEqual(['dma/isolation']);
  });

  it('no dma/isolation for a page its owner granted: a translated guest’s grant slot (its context follows the p2m), a PV mapper’s grant entry, the target’s gfn reached exactly', () => {
    const rep = scenario(
      labScenario(`  - op: grant.map
    caller: vm2
    granter: vm1
    gfn: 0x100
    flags: [host_map]
    host_gfn: 0x3000
  - op: device.dma
    device: nic
    bfn: 0x3000
    target: { domain: vm2, gfn: 0x3000 }
    expect: { mfn: 0x1200, owner: vm1 }
  - op: device.dma
    device: nic
    bfn: 0x3000
    expect: { mfn: 0x1200, owner: vm1 }
`),
    );
    expect([rep.summary.failed_expectations, rules(rep)]).toEqual([0, []]);
    // a strict PV dom0 (the grant's identity entry in its context)
    const pv = scenario(
      labScenario(
        `  - op: device.dma
    device: gpu
    bfn: 0x1200
    expect: { status: EFAULT }
  - op: grant.map
    granter: vm1
    gfn: 0x100
    flags: [device_map]
  - op: device.dma
    device: gpu
    bfn: 0x1200
    expect: { mfn: 0x1200, owner: vm1 }
`,
        { dom0: 'strict' },
      ),
    );
    expect([pv.summary.failed_expectations, rules(pv)]).toEqual([0, ['dma/fault']]);
  });

  it('a PV guest’s IOMMU follows its pages, not its P2M: a pfn populated again leaves the old frame mapped while it is owned; given back, it goes', () => {
    const pv1 = 'apiVersion: pviommu/v1\nkind: Domain\nname: pv1\ndomid: 7\ntype: pv\nmemory: 1MiB\nmaxmem: 2MiB\npci: [{ dev: nic2 }]';
    // pv1's pfns 0.. are mfns 0x2500..; pfn 0 populated again gets the lowest free frame
    const rep = scenario(
      labScenario(
        `  - op: memory.populate_physmap
    caller: pv1
    gfns: [0]
    expect: { done: 1 }
  - op: device.dma
    device: nic2
    bfn: 0x2500
    expect: { mfn: 0x2500, owner: pv1 }
  - op: memory.decrease_reservation
    caller: pv1
    gfns: [0x2500]
    expect: { done: 1 }
  - op: device.dma
    device: nic2
    bfn: 0x2500
    expect: { status: EFAULT }
`,
        { extra: [pv1] },
      ),
    );
    expect(rep.summary.failed_expectations).toBe(0);
    expect(rules(rep)).toEqual(['dma/fault']);
  });

  it('dma/isolation for a free page and for Xen’s memory', () => {
    const e = env(lab());
    const free = dma(e, GPU, 0x3000);
    expect(free.r.out).toEqual({ mfn: '0x3000', owner: 'free' });
    expect(free.messages[0]).toContain('free page');
    const pt = env(lab({ dom0: 'passthrough' }));
    const xen = dma(pt, GPU, 0x10);
    expect(xen.r.out.owner).toBe('xen');
    expect(xen.rules).toEqual(['dma/isolation']);
  });

  it('dma/wrong-page only while the target gfn is backed', () => {
    const e = env(lab());
    expect(dma(e, GPU, 0x1201, 'write', { domid: 1, gfn: 0x100 }).rules).toEqual(['dma/wrong-page']);
    expect(dma(e, GPU, 0x1201, 'write', { domid: 1, gfn: 0x7ffff }).rules).toEqual([]);
  });

  it('dma/fault: unmapped BFN (strict dom0 does not map guest RAM) → EFAULT', () => {
    const e = env(lab({ dom0: 'strict' }));
    const x = dma(e, GPU, 0x1200);
    expect(x.r).toMatchObject({ rc: -14, errno: 'EFAULT', out: { fault: 'unmapped' } });
    expect(x.rules).toEqual(['dma/fault']);
  });

  it('dma/fault: a BFN beyond the device’s own dma_bits', () => {
    const e = env(lab());
    const x = dma(e, GPU, 2 ** 27);
    expect(x.r.out).toEqual({ fault: 'dma_bits' });
    expect(x.rules).toEqual(['dma/fault']);
  });

  it('dma/address-wrap on VT-d: the BFN is masked to the width and the DMA goes on', () => {
    const e = env(lab({ width: 39 }));
    const x = dma(e, NIC2, 2 ** 27 + 0x200);
    expect(x.r.out).toEqual({ mfn: '0x300', owner: 'dom0' });
    expect(x.rules).toEqual(['dma/address-wrap']);
    expect(dma(e, NIC2, 2 ** 27 + 0x1200).rules).toEqual(['dma/address-wrap', 'dma/isolation']);
  });

  it('AMD: beyond the width is a fault, not a wrap', () => {
    const e = env(lab({ width: 39, vendor: 'amd', abi: 'none' }));
    const x = dma(e, NIC2, 2 ** 27 + 0x200);
    expect(x.r.out).toEqual({ fault: 'beyond-width' });
    expect(x.rules).toEqual(['dma/fault']);
  });

  it('dma/permission: write through a read-only mapping (EACCES); a read is fine', () => {
    const e = env(lab());
    expect(iommuOpElement(e.ctx(), { subop: XS_SUBOPS.map_page!, bfn: 0x20000, gfn: 0x200, flags: R }).status).toBe(0);
    const w = dma(e, GPU, 0x20000, 'write');
    expect(w.r).toMatchObject({ errno: 'EACCES', out: { mfn: '0x200', owner: 'dom0' } });
    expect(w.rules).toEqual(['dma/permission']);
    expect(dma(e, GPU, 0x20000, 'read').rules).toEqual([]);
  });

  it('quarantine: basic faults; scratch-page reaches Xen’s scratch page without an isolation finding', () => {
    const basic = env(lab());
    deassignDevice(basic.ctx(), { domid: 2, device: NIC });
    expect(dma(basic, NIC, 0x10).rules).toEqual(['dma/fault']);
    const scratch = env(lab({ quarantine: 'scratch-page' }));
    deassignDevice(scratch.ctx(), { domid: 2, device: NIC });
    const x = dma(scratch, NIC, 0x10);
    expect(x.r.out.owner).toBe('xen');
    expect(x.rules).toEqual([]);
  });

  it('IOMMU disabled: DMA addresses are machine addresses', () => {
    const e = env(lab({ iommu: false, abi: 'none' }));
    expect(dma(e, NIC, 0x1910).r.out).toEqual({ mfn: '0x1910', owner: 'vm2' });
    expect(dma(e, NIC, 0x1200).rules).toEqual(['dma/isolation']);
  });

  it('RMRR frames are not a domain’s page: no isolation', () => {
    const e = env(lab({ nic: 'rmrr: ["0x3f00-0x3f0f"]' }));
    const x = dma(e, NIC, 0x3f00);
    expect(x.r.out).toEqual({ mfn: '0x3f00', owner: 'rmrr' });
    expect(x.rules).toEqual([]);
  });

  it('ENODEV for a device the host does not have; in a scenario an unknown name is ref/unknown', () => {
    const e = env(lab());
    expect(dma(e, '0000:09:00.0', 0x200).r.errno).toBe('ENODEV');
    const rep = scenario(labScenario(`  - op: device.dma\n    device: gpuu\n    bfn: 0x200\n    expect: { status: ENODEV }\n`));
    expect(rules(rep)).toEqual(['ref/unknown']);
    expect(rep.findings[0]!.message).toContain('did you mean `gpu`');
    expect(rep.summary.failed_expectations).toBe(0);
  });
});
