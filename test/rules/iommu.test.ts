/** iommu/* static rules: address width (VT-d 39/48 bits, AMD), quarantine. */
import { describe, expect, it } from 'vitest';

import { type Obj, DOM0, hvm, run, pos, at, HOST, device as dev } from './harness.js';

const BIG: Obj = { ...HOST, name: 'lab-2', ram: '640GiB', iommu: { address_width: 39, dom0: 'relaxed' } };

describe('iommu/address-width', () => {
  it("VT-d 39-bit: a relaxed dom0's identity map of 640 GiB wraps — error at address_width", () => {
    const { findings, text } = run('iommu/address-width', BIG, DOM0);
    expect(findings.map(at)).toEqual([pos(text, 'address_width: 39')]);
    expect(findings[0]!.severity).toBe('error');
    expect(findings[0]!.message).toMatch(/wraps/);
    expect(findings[0]!.related?.[0]?.line).toBe(Number(pos(text, 'ram: 640GiB').split(':')[0]));
  });

  it('VT-d 48-bit: the same host is fine', () => {
    expect(run('iommu/address-width', { ...BIG, iommu: { address_width: 48, dom0: 'relaxed' } }, DOM0).findings).toEqual([]);
  });

  it('AMD: the map fails and the domain crashes', () => {
    const { findings } = run('iommu/address-width', { ...BIG, cpu_vendor: 'amd' }, DOM0);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/AMD.*crashes/);
  });

  it('the default width (48) anchors at the RAM that lies beyond it', () => {
    const { findings, text } = run('iommu/address-width', { ...HOST, ram: '300TiB', iommu: { dom0: 'relaxed' } }, DOM0);
    expect(findings.map(at)).toEqual([pos(text, 'ram: 300TiB')]);
  });

  it("a strict dom0 maps only its own (low) RAM: quiet", () => {
    expect(run('iommu/address-width', { ...BIG, iommu: { address_width: 39, dom0: 'strict' } }, DOM0).findings).toEqual([]);
  });

  it('an hvm guest with passthrough whose GFNs pass the width: error at its memory', () => {
    const host = { ...BIG, iommu: { address_width: 39, dom0: 'strict' } };
    const nic = dev('nic', '0000:03:00.0', { class: 'network' });
    const { findings, text } = run('iommu/address-width', host, nic, DOM0, hvm('db', 1, { memory: '600GiB', pci: [{ dev: 'nic' }] }));
    expect(findings.map(at)).toEqual([pos(text, 'memory: 600GiB')]);
    expect(findings[0]!.message).toMatch(/DFN = GFN/);
    // without passthrough the guest has no IOMMU context
    expect(run('iommu/address-width', host, DOM0, hvm('db', 1, { memory: '600GiB' })).findings).toEqual([]);
  });

  it('a PV guest with passthrough maps its own MFNs: error at the p2m extent beyond the width', () => {
    const host = { ...BIG, iommu: { address_width: 39, dom0: 'strict' } };
    const pv = { kind: 'Domain', name: 'vm1', domid: 1, type: 'pv', memory: '4GiB', passthrough: 'enabled', p2m: [{ gfns: '0x0-0xfffff', mfns: '0x9000000-0x90fffff', type: 'ram_rw' }] };
    const { findings, text } = run('iommu/address-width', host, DOM0, pv);
    expect(findings.map(at)).toEqual([pos(text, 'mfns: 0x9000000-0x90fffff')]);
  });

  it("an RMRR beyond the IOMMU width and the device's dma_bits: one error at the rmrr entry", () => {
    const fpga = dev('fpga', '0000:65:00.0', { dma_bits: 39, rmrr: ['0x9000000-0x90000ff'] });
    const { findings, text } = run('iommu/address-width', { ...BIG, iommu: { address_width: 39, dom0: 'strict' } }, fpga, DOM0);
    expect(findings.map(at)).toEqual([pos(text, '0x9000000-0x90000ff')]);
    expect(findings[0]!.message).toMatch(/identity-map.*and the device must DMA/);
  });

  it("an RMRR within a 48-bit IOMMU but beyond a 32-bit device's reach", () => {
    const dev32 = dev('hba', '0000:06:00.0', { dma_bits: 32, rmrr: ['0x120000-0x1200ff'] });
    const { findings } = run('iommu/address-width', HOST, dev32, DOM0);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/32-bit DMA reach/);
    expect(findings[0]!.message).not.toMatch(/identity-map/);
  });

  it('IOMMU disabled: nothing is mapped (only dma_bits still matters)', () => {
    expect(run('iommu/address-width', { ...BIG, iommu: { enabled: false, address_width: 39 } }, DOM0).findings).toEqual([]);
    const dev32 = dev('hba', '0000:06:00.0', { dma_bits: 32, rmrr: ['0x120000-0x1200ff'] });
    expect(run('iommu/address-width', { ...HOST, iommu: { enabled: false } }, dev32, DOM0).findings).toHaveLength(1);
  });

  it("dom0 passthrough: its devices' RMRRs need no IOMMU entry", () => {
    const fpga = dev('fpga', '0000:65:00.0', { rmrr: ['0x9000000-0x90000ff'] });
    expect(run('iommu/address-width', { ...BIG, iommu: { address_width: 39, dom0: 'passthrough' } }, fpga, DOM0).findings).toEqual([]);
  });

  it('the xs foreign window beyond the width: error at pv_iommu (abi when the offset is the default)', () => {
    const host = { ...HOST, ram: '300GiB', iommu: { address_width: 39, dom0: 'strict' }, pv_iommu: { abi: 'xs' } };
    const { findings, text } = run('iommu/address-width', host, DOM0);
    expect(findings.map(at)).toEqual([pos(text, 'abi: xs')]);
    expect(findings[0]!.message).toMatch(/foreign window ends at BFN 0x88fffff/);
    // not usable (AMD) → no window
    expect(run('iommu/address-width', { ...host, cpu_vendor: 'amd' }, DOM0).findings).toEqual([]);
  });

  it("mediated translation mfn: the vgpus' MFNs must fit the device's dma_bits", () => {
    const gpu = dev('igd', '0000:00:02.0', { class: 'display', dma_bits: 32, assignable: false, mediated: { vgpus: ['vm1'], translation: 'mfn' } });
    const { findings, text } = run('iommu/address-width', { ...HOST, iommu: { dom0: 'relaxed' } }, gpu, DOM0, hvm('vm1', 1));
    expect(findings.map(at)).toEqual([pos(text, 'dma_bits: 32')]);
    expect(findings[0]!.message).toMatch(/raw MFNs/);
  });

  it('mediated translation gpa: the vgpu GFNs must fit the device dma_bits', () => {
    const gpu = dev('igd', '0000:00:02.0', { class: 'display', dma_bits: 32, assignable: false, mediated: { vgpus: ['vm1'], translation: 'gpa' } });
    expect(run('iommu/address-width', HOST, gpu, DOM0, hvm('vm1', 1, { memory: '8GiB' })).findings).toHaveLength(1);
    expect(run('iommu/address-width', HOST, gpu, DOM0, hvm('vm1', 1, { memory: '2GiB' })).findings).toEqual([]);
  });
});

describe('iommu/quarantine-off', () => {
  const nic = dev('nic', '0000:03:00.0', { class: 'network' });
  const host = { ...HOST, iommu: { dom0: 'strict', quarantine: 'none' } };

  it('quarantine none with a device passed to a guest: warning at iommu.quarantine', () => {
    const { findings, text } = run('iommu/quarantine-off', host, nic, DOM0, hvm('vm1', 1, { pci: [{ dev: 'nic' }] }));
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['warning', pos(text, 'quarantine: none')]]);
    expect(findings[0]!.related?.map((r) => `${r.line}:${r.column}`)).toEqual([pos(text, 'dev: nic')]);
  });

  it('no device given to a guest, quarantine on, or the IOMMU off: quiet', () => {
    expect(run('iommu/quarantine-off', host, nic, DOM0, hvm('vm1', 1)).findings).toEqual([]);
    expect(run('iommu/quarantine-off', host, nic, { ...DOM0, pci: [{ dev: 'nic' }] }).findings).toEqual([]);
    expect(run('iommu/quarantine-off', HOST, nic, DOM0, hvm('vm1', 1, { pci: [{ dev: 'nic' }] })).findings).toEqual([]);
    expect(run('iommu/quarantine-off', { ...HOST, iommu: { enabled: false, quarantine: 'none' } }, nic, DOM0, hvm('vm1', 1, { pci: [{ dev: 'nic' }] })).findings).toEqual([]);
  });
});
