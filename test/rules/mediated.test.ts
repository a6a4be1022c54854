/** mediated/* static rules: what a GPU mediator writes into the shared device's tables. */
import { describe, expect, it } from 'vitest';

import { type Obj, DOM0, hvm, run, pos, at, HOST, device as dev } from './harness.js';

const gpu = (translation: string, vgpus = ['vm1', 'vm2'], extra: Obj = {}): Obj =>
  dev('igd', '0000:00:02.0', { class: 'display', assignable: false, dma_bits: 39, mediated: { vgpus, translation }, ...extra });
const VMS = [hvm('vm1', 1), hvm('vm2', 2)];
const RELAXED: Obj = { ...HOST, iommu: { dom0: 'relaxed' } };

describe('mediated/gpa-aliasing', () => {
  it('two vgpus: error at mediated.translation, related to each vgpu', () => {
    const { findings, text } = run('mediated/gpa-aliasing', HOST, gpu('gpa'), DOM0, ...VMS);
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['error', pos(text, 'translation: gpa')]]);
    expect(findings[0]!.related).toHaveLength(2);
    expect(findings[0]!.message).toMatch(/same DFN/);
  });

  it("one vgpu, device in dom0: its GPAs are not in dom0's context", () => {
    const { findings } = run('mediated/gpa-aliasing', RELAXED, gpu('gpa', ['vm1']), DOM0, ...VMS);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/does not map vm1's GPAs/);
  });

  it('one vgpu that owns the device itself (DFN = GFN of that guest): quiet', () => {
    const own = gpu('gpa', ['vm1'], { assignable: true });
    expect(run('mediated/gpa-aliasing', HOST, own, DOM0, hvm('vm1', 1, { pci: [{ dev: 'igd' }] })).findings).toEqual([]);
  });

  it('other translations: quiet', () => {
    expect(run('mediated/gpa-aliasing', { ...HOST, pv_iommu: { abi: 'xs' } }, gpu('pv-iommu'), DOM0, ...VMS).findings).toEqual([]);
    expect(run('mediated/gpa-aliasing', RELAXED, gpu('mfn'), DOM0, ...VMS).findings).toEqual([]);
  });
});

describe('mediated/mfn-strict-dom0', () => {
  it('strict dom0: error at mediated.translation, related to iommu.dom0', () => {
    const { findings, text } = run('mediated/mfn-strict-dom0', HOST, gpu('mfn'), DOM0, ...VMS);
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['error', pos(text, 'translation: mfn')]]);
    expect(findings[0]!.related?.map((r) => `${r.line}:${r.column}`)).toEqual([pos(text, 'dom0: strict')]);
  });

  it('PVH dom0 (its context maps GFNs): error', () => {
    expect(run('mediated/mfn-strict-dom0', HOST, gpu('mfn'), { ...DOM0, type: 'pvh' }, ...VMS).findings[0]!.message).toMatch(/PVH/);
  });

  it('the device in a guest/driver domain: error (its context is not an identity map; no gfn→mfn query)', () => {
    const { findings } = run('mediated/mfn-strict-dom0', RELAXED, gpu('mfn', ['vm1'], { assignable: true }), DOM0, hvm('vm1', 1), hvm('gvt', 3, { role: 'driver', trusted: true, pci: [{ dev: 'igd' }] }));
    expect(findings[0]!.message).toMatch(/owned by gvt/);
  });

  it('relaxed or passthrough dom0, or no IOMMU: the MFNs are reachable — quiet', () => {
    expect(run('mediated/mfn-strict-dom0', RELAXED, gpu('mfn'), DOM0, ...VMS).findings).toEqual([]);
    expect(run('mediated/mfn-strict-dom0', { ...HOST, iommu: { dom0: 'passthrough' } }, gpu('mfn'), DOM0, ...VMS).findings).toEqual([]);
    expect(run('mediated/mfn-strict-dom0', { ...HOST, iommu: { enabled: false } }, gpu('mfn'), DOM0, ...VMS).findings).toEqual([]);
  });

  it("relaxed dom0 with the xs PV-IOMMU: dom0's BFN = PFN region shadows guest MFNs below dom0's top PFN", () => {
    const host = { ...RELAXED, pv_iommu: { abi: 'xs' } };
    // vm1's explicit p2m takes MFNs 0x1000.. before dom0 (8 GiB, PFNs up to 0x1fffff) is laid out.
    const vm1 = hvm('vm1', 1, { memory: '16MiB', p2m: [{ gfns: '0x0-0xfff', mfns: '0x1000-0x1fff', type: 'ram_rw' }] });
    const { findings } = run('mediated/mfn-strict-dom0', host, gpu('mfn', ['vm1']), { ...DOM0, memory: '8GiB' }, vm1);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/MFNs 0x1000-0x1fff reach dom0's own pages/);
    expect(findings[0]!.message).toMatch(/BFNs 0x0-0x1fffff, its own pages/);
    // automatic layout: guests get frames above dom0's, nothing is shadowed
    expect(run('mediated/mfn-strict-dom0', host, gpu('mfn', ['vm1']), { ...DOM0, memory: '4GiB' }, hvm('vm1', 1)).findings).toEqual([]);
  });

  it("dom0's balloon room (maxmem above memory) holds no page, so no BFN = PFN entry: MFNs there stay identity-mapped — quiet", () => {
    const host = { ...RELAXED, pv_iommu: { abi: 'xs' } };
    const dom0 = { ...DOM0, memory: '1GiB', maxmem: '2GiB' }; // PFNs 0x0-0x3ffff, room up to 0x7ffff
    const at = (mfns: string): ReturnType<typeof run> =>
      run('mediated/mfn-strict-dom0', host, gpu('mfn', ['vm1']), dom0, hvm('vm1', 1, { memory: '16MiB', p2m: [{ gfns: '0x0-0xfff', mfns, type: 'ram_rw' }] }));
    expect(at('0x40000-0x40fff').findings).toEqual([]);
    // the last 16 of them below 0x40000 are dom0's PFNs: shadowed
    const { findings } = at('0x3fff0-0x40fef');
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/BFNs 0x0-0x3ffff, its own pages.*MFNs 0x3fff0-0x3ffff reach/);
  });
});

describe('mediated/mfn-unreferenced', () => {
  it('relaxed dom0: warning at mediated.translation', () => {
    const { findings, text } = run('mediated/mfn-unreferenced', RELAXED, gpu('mfn'), DOM0, ...VMS);
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['warning', pos(text, 'translation: mfn')]]);
    expect(findings[0]!.message).toMatch(/no page reference/);
  });

  it('dom0 passthrough and the IOMMU off work the same way: warning', () => {
    expect(run('mediated/mfn-unreferenced', { ...HOST, iommu: { dom0: 'passthrough' } }, gpu('mfn'), DOM0, ...VMS).findings).toHaveLength(1);
    expect(run('mediated/mfn-unreferenced', { ...HOST, iommu: { enabled: false } }, gpu('mfn'), DOM0, ...VMS).findings).toHaveLength(1);
  });

  it('strict dom0 (mediated/mfn-strict-dom0 instead) or pv-iommu: quiet', () => {
    expect(run('mediated/mfn-unreferenced', HOST, gpu('mfn'), DOM0, ...VMS).findings).toEqual([]);
    expect(run('mediated/mfn-unreferenced', { ...RELAXED, pv_iommu: { abi: 'xs' } }, gpu('pv-iommu'), DOM0, ...VMS).findings).toEqual([]);
  });
});
