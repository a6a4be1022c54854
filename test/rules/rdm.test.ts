/** rdm/* static rules: RMRR conflicts with guest RAM, shared RMRRs, the ignored global policy. */
import { describe, expect, it } from 'vitest';

import { DOM0, hvm, run, pos, at, HOST, device as dev } from './harness.js';

const IGD = dev('igd', '0000:00:02.0', { class: 'display', rmrr: ['0x7b800-0x7ffff'] }); // 1976 MiB
const RAID = dev('raid', '0000:04:00.0', { class: 'storage', rmrr: ['0x120000-0x1200ff'] }); // 4.5 GiB

describe('rdm/conflict', () => {
  it('strict (default) region in low RAM below the boundary: error at the pci entry', () => {
    const { findings, text } = run('rdm/conflict', HOST, IGD, DOM0, hvm('vm1', 1, { pci: [{ dev: 'igd' }] }));
    expect(findings).toHaveLength(1);
    expect(findings[0]!.severity).toBe('error');
    expect(at(findings[0]!)).toBe(pos(text, 'dev: igd'));
    expect(findings[0]!.message).toMatch(/RDM conflict at 0x7b800000/);
    expect(findings[0]!.related?.[0]?.line).toBe(Number(pos(text, '0x7b800-0x7ffff').split(':')[0]));
  });

  it('relaxed: warning, anchored at rdm_policy', () => {
    const { findings, text } = run('rdm/conflict', HOST, IGD, DOM0, hvm('vm1', 1, { pci: [{ dev: 'igd', rdm_policy: 'relaxed' }] }));
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['warning', pos(text, 'rdm_policy: relaxed')]]);
    expect(findings[0]!.message).toMatch(/Ignoring RDM conflict/);
  });

  it('a region above rdm_mem_boundary is resolved by moving low RAM: quiet', () => {
    expect(run('rdm/conflict', HOST, IGD, DOM0, hvm('vm1', 1, { rdm_mem_boundary: '1GiB', pci: [{ dev: 'igd' }] })).findings).toEqual([]);
  });

  it('a guest whose low RAM ends below the region: quiet', () => {
    expect(run('rdm/conflict', HOST, IGD, DOM0, hvm('vm1', 1, { memory: '1GiB', pci: [{ dev: 'igd' }] })).findings).toEqual([]);
  });

  it('a region in high RAM: error (libxl never relocates high RAM)', () => {
    const big = run('rdm/conflict', HOST, RAID, DOM0, hvm('vm1', 1, { memory: '8GiB', pci: [{ dev: 'raid' }] }));
    expect(big.findings).toHaveLength(1);
    expect(big.findings[0]!.message).toMatch(/high RAM/);
    expect(run('rdm/conflict', HOST, RAID, DOM0, hvm('vm1', 1, { memory: '4GiB', pci: [{ dev: 'raid' }] })).findings).toEqual([]);
  });

  it('RAM relocated above 4 GiB by the boundary step can run into a high region', () => {
    // 4 GiB guest: low RAM 0..0xeffff, high 0x100000..0x10ffff. igd at 0x7b800 (> 1 GiB boundary)
    // moves low RAM's end to 0x7b800 and high RAM's end to 0x184800, now covering 0x150000.
    const high = dev('nvme', '0000:05:00.0', { class: 'storage', rmrr: ['0x150000-0x1500ff'] });
    const { findings, text } = run('rdm/conflict', HOST, IGD, high, DOM0, hvm('vm1', 1, { rdm_mem_boundary: '1GiB', pci: [{ dev: 'igd' }, { dev: 'nvme' }] }));
    expect(findings.map(at)).toEqual([pos(text, 'dev: nvme')]);
    expect(findings[0]!.message).toMatch(/0x100000-0x1847ff/);
  });

  it('rdm.strategy host reserves every host RMRR, with the global (relaxed) policy', () => {
    const { findings, text } = run('rdm/conflict', HOST, { ...IGD, assignable: false }, DOM0, hvm('vm1', 1, { rdm: { strategy: 'host' } }));
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['warning', pos(text, 'strategy: host')]]);
    expect(findings[0]!.message).toMatch(/rdm\.strategy: host/);
    // igd is not vm1's: what is at stake is a later hotplug, and moving igd elsewhere is no fix
    expect(findings[0]!.message).toMatch(/if igd is hot-plugged into vm1 later, its DMA to the region lands in guest RAM/);
    expect(findings[0]!.message).not.toMatch(/assign the device to a domain/);
    // assigned, the message says so
    const own = run('rdm/conflict', HOST, IGD, DOM0, hvm('vm1', 1, { rdm: { strategy: 'host' }, pci: [{ dev: 'igd', rdm_policy: 'relaxed' }] })).findings;
    expect(own[0]!.message).toMatch(/the device's DMA to it lands in guest RAM.*or assign the device to a domain that does not need it$/);
  });

  it('rdm.strategy host with a policy: xl drops the whole string, so no host-wide region is reserved — quiet', () => {
    for (const policy of ['strict', 'relaxed']) {
      expect(run('rdm/conflict', HOST, { ...IGD, assignable: false }, DOM0, hvm('vm1', 1, { rdm: { strategy: 'host', policy } })).findings).toEqual([]);
    }
    // an assigned device's region is still the device's, with its own policy
    const { findings, text } = run('rdm/conflict', HOST, IGD, DOM0, hvm('vm1', 1, { rdm: { strategy: 'host', policy: 'relaxed' }, pci: [{ dev: 'igd' }] }));
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['error', pos(text, 'dev: igd')]]);
  });

  it("the device's own policy overrides the global one for the same region (one finding)", () => {
    const { findings, text } = run('rdm/conflict', HOST, IGD, DOM0, hvm('vm1', 1, { rdm: { strategy: 'host' }, pci: [{ dev: 'igd' }] }));
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['error', pos(text, 'dev: igd')]]);
  });

  it('an explicit p2m: any RAM extent over the region conflicts', () => {
    const p2m = [{ gfns: '0x0-0x7ffff', mfns: '0x200000-0x27ffff', type: 'ram_rw' }];
    const { findings } = run('rdm/conflict', HOST, IGD, DOM0, hvm('vm1', 1, { memory: '2GiB', p2m, pci: [{ dev: 'igd' }] }));
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/explicit p2m/);
  });

  it('pv and pvh guests: not checked (RDM is HVM only)', () => {
    const pv = { kind: 'Domain', name: 'vm1', domid: 1, type: 'pv', memory: '4GiB', pci: [{ dev: 'igd' }] };
    expect(run('rdm/conflict', HOST, IGD, DOM0, pv).findings).toEqual([]);
  });

  it('a guest without devices and without strategy host: quiet', () => {
    expect(run('rdm/conflict', HOST, IGD, DOM0, hvm('vm1', 1)).findings).toEqual([]);
  });
});

describe('rdm/shared-rmrr', () => {
  const XHCI = dev('xhci', '0000:00:14.0', { class: 'usb', rmrr: ['0x7a000-0x7a0ff'] });
  const EHCI = dev('ehci', '0000:00:1d.0', { class: 'usb', rmrr: ['0x7a000-0x7a0ff'] });

  it('strict: error at the pci entry, related to the other device', () => {
    const { findings, text } = run('rdm/shared-rmrr', HOST, XHCI, EHCI, DOM0, hvm('vm1', 1, { pci: [{ dev: 'xhci' }] }));
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['error', pos(text, 'dev: xhci')]]);
    expect(findings[0]!.message).toMatch(/EPERM/);
    expect(findings[0]!.related?.map((r) => r.line)).toEqual([Number(pos(text, '0x7a000-0x7a0ff', 1).split(':')[0])]);
  });

  it('relaxed: warning at rdm_policy', () => {
    const { findings, text } = run('rdm/shared-rmrr', HOST, XHCI, EHCI, DOM0, hvm('vm1', 1, { pci: [{ dev: 'ehci', rdm_policy: 'relaxed' }] }));
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['warning', pos(text, 'rdm_policy: relaxed')]]);
  });

  it('an overlapping (not identical) range counts as shared', () => {
    const other = dev('ehci', '0000:00:1d.0', { class: 'usb', rmrr: ['0x7a080-0x7a1ff'] });
    expect(run('rdm/shared-rmrr', HOST, XHCI, other, DOM0, hvm('vm1', 1, { pci: [{ dev: 'xhci' }] })).findings).toHaveLength(1);
  });

  it('also on AMD hosts (IVMD unity maps), as the warning: AMD-Vi does not refuse, so xl does not fail', () => {
    const { findings } = run('rdm/shared-rmrr', { ...HOST, cpu_vendor: 'amd' }, XHCI, EHCI, DOM0, hvm('vm1', 1, { pci: [{ dev: 'xhci' }] }));
    expect(findings.map((f) => f.severity)).toEqual(['warning']);
    expect(findings[0]!.message).toMatch(/AMD-Vi assigns it to vm1 without a check, and ehci can still DMA to the same region/);
    expect(findings[0]!.message).not.toMatch(/EPERM|xl create fails/);
  });

  it('every device of the region in the same guest: still reported (Xen calls it risky), without claiming another domain reaches it', () => {
    const both = (policy: 'strict' | 'relaxed') => run('rdm/shared-rmrr', HOST, XHCI, EHCI, DOM0, hvm('vm1', 1, { pci: [{ dev: 'xhci', rdm_policy: policy }, { dev: 'ehci', rdm_policy: policy }] })).findings;
    const relaxed = both('relaxed');
    expect(relaxed.map((f) => f.severity)).toEqual(['warning', 'warning']);
    expect(relaxed[0]!.message).toMatch(/ehci is assigned to vm1 too, so no other domain reaches the region; keep ehci in vm1 with it$/);
    expect(relaxed[0]!.message).not.toMatch(/from its own domain/);
    const strict = both('strict');
    expect(strict.map((f) => f.severity)).toEqual(['error', 'error']);
    expect(strict[0]!.message).toMatch(/EPERM.*set rdm_policy: relaxed on xhci's entry/);
  });

  it('a private RMRR, or devices left with the hardware domain: quiet', () => {
    const solo = dev('ehci', '0000:00:1d.0', { class: 'usb', rmrr: ['0x7b000-0x7b0ff'] });
    expect(run('rdm/shared-rmrr', HOST, XHCI, solo, DOM0, hvm('vm1', 1, { pci: [{ dev: 'xhci' }] })).findings).toEqual([]);
    expect(run('rdm/shared-rmrr', HOST, XHCI, EHCI, { ...DOM0, pci: [{ dev: 'xhci' }] }).findings).toEqual([]);
  });
});

describe('rdm/global-policy-ignored', () => {
  it('fires at rdm.policy', () => {
    const { findings, text } = run('rdm/global-policy-ignored', HOST, DOM0, hvm('vm1', 1, { rdm: { strategy: 'host', policy: 'relaxed' } }));
    expect(findings.map(at)).toEqual([pos(text, 'policy: relaxed')]);
    expect(findings[0]!.severity).toBe('warning');
    expect(findings[0]!.message).toMatch(/strategy=host/);
  });

  it('a strategy alone is fine', () => {
    expect(run('rdm/global-policy-ignored', HOST, DOM0, hvm('vm1', 1, { rdm: { strategy: 'host' } })).findings).toEqual([]);
  });
});
