/** pviommu/* static rules: the xs foreign window and PV-IOMMU usability. */
import { describe, expect, it } from 'vitest';

import { type Obj, DOM0, hvm, run, pos, at, HOST, device as dev } from './harness.js';

const XS: Obj = { ...HOST, ram: '64GiB', pv_iommu: { abi: 'xs' } };
const gpu = (extra: Obj = {}): Obj => dev('igd', '0000:00:02.0', { class: 'display', assignable: false, dma_bits: 39, mediated: { vgpus: ['vm1'], translation: 'pv-iommu' }, ...extra });

describe('pviommu/window-overlap', () => {
  it("dom0's PFNs reaching foreign_offset: error at foreign_offset, related to dom0's memory", () => {
    const { findings, text } = run('pviommu/window-overlap', { ...XS, pv_iommu: { abi: 'xs', foreign_offset: 0x100000 } }, { ...DOM0, memory: '8GiB' });
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['error', pos(text, 'foreign_offset: ')]]);
    expect(findings[0]!.related?.map((r) => `${r.line}:${r.column}`)).toEqual([pos(text, 'memory: 8GiB')]);
  });

  it('maxmem counts (the balloon may populate up to it)', () => {
    const host = { ...XS, pv_iommu: { abi: 'xs', foreign_offset: 0x200000 } };
    const { findings, text } = run('pviommu/window-overlap', host, { ...DOM0, memory: '4GiB', maxmem: '16GiB' });
    expect(findings[0]!.related?.map((r) => `${r.line}:${r.column}`)).toEqual([pos(text, 'maxmem: 16GiB')]);
    expect(run('pviommu/window-overlap', host, { ...DOM0, memory: '4GiB' }).findings).toEqual([]);
  });

  it('the default offset (248 GiB) is anchored at pv_iommu.abi', () => {
    const { findings, text } = run('pviommu/window-overlap', { ...XS, ram: '512GiB' }, { ...DOM0, memory: '256GiB' });
    expect(findings.map(at)).toEqual([pos(text, 'abi: xs')]);
  });

  it('no window: abi none or ta, or xs not usable (AMD)', () => {
    const d0 = { ...DOM0, memory: '8GiB' };
    expect(run('pviommu/window-overlap', { ...XS, pv_iommu: { abi: 'none', foreign_offset: 0x100000 } }, d0).findings).toEqual([]);
    expect(run('pviommu/window-overlap', { ...XS, pv_iommu: { abi: 'ta', foreign_offset: 0x100000 } }, d0).findings).toEqual([]);
    expect(run('pviommu/window-overlap', { ...XS, cpu_vendor: 'amd', pv_iommu: { abi: 'xs', foreign_offset: 0x100000 } }, d0).findings).toEqual([]);
  });
});

describe('pviommu/window-beyond-dma', () => {
  it("beyond a mediated GPU's 39 bits: error at the window, related to dma_bits", () => {
    const { findings, text } = run('pviommu/window-beyond-dma', { ...XS, ram: '300GiB' }, gpu(), DOM0, hvm('vm1', 1));
    expect(findings.map(at)).toEqual([pos(text, 'abi: xs')]);
    expect(findings[0]!.related?.map((r) => `${r.line}:${r.column}`)).toEqual([pos(text, 'dma_bits: 39')]);
    expect(run('pviommu/window-beyond-dma', { ...XS, ram: '256GiB' }, gpu(), DOM0, hvm('vm1', 1)).findings).toEqual([]);
  });

  it('beyond a 39-bit VT-d IOMMU (no mediated device needed)', () => {
    const host = { ...XS, ram: '300GiB', iommu: { dom0: 'strict', address_width: 39 } };
    const { findings } = run('pviommu/window-beyond-dma', host, DOM0);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/39-bit .* IOMMU address width/);
  });

  it('48-bit IOMMU and a 64-bit device, or devices not using pv-iommu: quiet', () => {
    expect(run('pviommu/window-beyond-dma', { ...XS, ram: '300GiB' }, gpu({ dma_bits: 64 }), DOM0, hvm('vm1', 1)).findings).toEqual([]);
    const mfn = gpu({ mediated: { vgpus: ['vm1'], translation: 'mfn' } });
    expect(run('pviommu/window-beyond-dma', { ...XS, ram: '300GiB' }, mfn, DOM0, hvm('vm1', 1)).findings).toEqual([]);
  });
});

describe('pviommu/unusable', () => {
  const unusable = (host: Obj, ...docs: Obj[]) => run('pviommu/unusable', host, gpu(), ...(docs.length ? docs : [DOM0, hvm('vm1', 1)]));

  it('abi none: error at mediated.translation', () => {
    const { findings, text } = unusable({ ...HOST });
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['error', pos(text, 'translation: pv-iommu')]]);
    expect(findings[0]!.message).toMatch(/abi is none/);
  });

  it.each([
    ['the IOMMU disabled', { ...XS, iommu: { enabled: false } }, /IOMMU is disabled/],
    ['dom0 passthrough', { ...XS, iommu: { dom0: 'passthrough' } }, /passthrough/],
    ['an AMD host', { ...XS, cpu_vendor: 'amd' }, /AMD/],
    ['no ELF note', { ...XS, pv_iommu: { abi: 'xs', elf_note: false } }, /elf_note: false/],
  ])('xs with %s says which condition fails', (_what, host, re) => {
    const { findings } = unusable(host as Obj);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(re);
  });

  it('xs with a PVH hardware domain', () => {
    const { findings, text } = unusable(XS, { ...DOM0, type: 'pvh' }, hvm('vm1', 1));
    expect(findings[0]!.message).toMatch(/is pvh, not PV/);
    expect(findings[0]!.message).toMatch(/lookup_foreign_page hands back the raw MFN \(the page still pinned\)/);
    expect(findings[0]!.message).not.toMatch(/unpinned/);
    expect(findings[0]!.related?.map((r) => `${r.line}:${r.column}`)).toEqual([pos(text, 'type: pvh')]);
  });

  it('xs with the device owned by a driver domain (the xs hypercall serves dom0 only)', () => {
    const { findings } = run('pviommu/unusable', XS, gpu({ assignable: true }), DOM0, hvm('vm1', 1), hvm('gvt', 2, { role: 'driver', pci: [{ dev: 'igd' }] }));
    expect(findings[0]!.message).toMatch(/owned by gvt.*ENOSYS/);
    // the host's PV-IOMMU itself is usable: the consequence is the driver domain's, nothing about raw MFNs
    expect(findings[0]!.message).toMatch(/the xs PV-IOMMU cannot serve igd's mediator: .*every PV-IOMMU call of gvt, the mediator's domain, fails with ENOSYS;/);
    expect(findings[0]!.message).not.toMatch(/not usable on|raw MFN|unpinned/);
  });

  it('ta: usable by dom0; a driver domain needs pv_iommu: true', () => {
    const ta = { ...XS, pv_iommu: { abi: 'ta' } };
    expect(unusable(ta).findings).toEqual([]);
    const drv = (extra: Obj) => hvm('gvt', 2, { role: 'driver', pci: [{ dev: 'igd' }], ...extra });
    expect(run('pviommu/unusable', ta, gpu({ assignable: true }), DOM0, hvm('vm1', 1), drv({})).findings[0]!.message).toMatch(/ENODEV/);
    expect(run('pviommu/unusable', ta, gpu({ assignable: true }), DOM0, hvm('vm1', 1), drv({ pv_iommu: true })).findings).toEqual([]);
  });

  it('xs usable: quiet', () => {
    expect(unusable(XS).findings).toEqual([]);
  });
});
