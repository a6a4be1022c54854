/** dom0/* static rules: the hardware domain's IOMMU mode. */
import { describe, expect, it } from 'vitest';

import { type Obj, DOM0, hvm, run, pos, at, HOST } from './harness.js';

const BARE: Obj = { kind: 'Host', name: 'lab-1', ram: '32GiB' };
const PVH0: Obj = { ...DOM0, type: 'pvh' };

describe('dom0/relaxed-iommu', () => {
  it('explicit relaxed with an untrusted guest: warning at iommu.dom0, related to the guest', () => {
    const { findings, text } = run('dom0/relaxed-iommu', { ...HOST, iommu: { dom0: 'relaxed' } }, DOM0, hvm('vm1', 1));
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['warning', pos(text, 'dom0: relaxed')]]);
    expect(findings[0]!.related?.map((r) => `${r.line}:${r.column}`)).toEqual([pos(text, 'name: vm1')]);
  });

  it('relaxed by default: at the `iommu` key when present, else at the host name', () => {
    const withKey = run('dom0/relaxed-iommu', { ...BARE, iommu: { quarantine: 'basic' } }, DOM0, hvm('vm1', 1, { trusted: false }));
    expect(withKey.findings.map(at)).toEqual([pos(withKey.text, 'iommu:')]);
    expect(withKey.findings[0]!.message).toMatch(/the default/);
    expect(withKey.findings[0]!.related?.map((r) => `${r.line}:${r.column}`)).toEqual([pos(withKey.text, 'trusted: false')]);
    const bare = run('dom0/relaxed-iommu', BARE, DOM0, hvm('vm1', 1));
    expect(bare.findings.map(at)).toEqual([pos(bare.text, 'name: lab-1')]);
  });

  it('only trusted guests, strict, IOMMU off, or a PVH dom0: quiet', () => {
    expect(run('dom0/relaxed-iommu', BARE, DOM0, hvm('vm1', 1, { trusted: true })).findings).toEqual([]);
    expect(run('dom0/relaxed-iommu', HOST, DOM0, hvm('vm1', 1)).findings).toEqual([]);
    expect(run('dom0/relaxed-iommu', { ...BARE, iommu: { enabled: false } }, DOM0, hvm('vm1', 1)).findings).toEqual([]);
    expect(run('dom0/relaxed-iommu', BARE, PVH0, hvm('vm1', 1)).findings).toEqual([]);
  });
});

describe('dom0/passthrough', () => {
  it('fires at iommu.dom0', () => {
    const { findings, text } = run('dom0/passthrough', { ...HOST, iommu: { dom0: 'passthrough' } }, DOM0);
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['warning', pos(text, 'dom0: passthrough')]]);
  });

  it('also on a host without domains', () => {
    expect(run('dom0/passthrough', { ...HOST, iommu: { dom0: 'passthrough' } }).findings).toHaveLength(1);
  });

  it('ignored for a PVH dom0 (dom0/pvh-not-strict reports it), moot with the IOMMU off, quiet otherwise', () => {
    expect(run('dom0/passthrough', { ...HOST, iommu: { dom0: 'passthrough' } }, PVH0).findings).toEqual([]);
    expect(run('dom0/passthrough', { ...HOST, iommu: { dom0: 'passthrough', enabled: false } }, DOM0).findings).toEqual([]);
    expect(run('dom0/passthrough', HOST, DOM0).findings).toEqual([]);
  });
});

describe('dom0/pvh-not-strict', () => {
  it('relaxed (explicit): error at iommu.dom0, related to the domain type', () => {
    const { findings, text } = run('dom0/pvh-not-strict', { ...HOST, iommu: { dom0: 'relaxed' } }, PVH0);
    expect(findings.map((f) => [f.severity, at(f)])).toEqual([['error', pos(text, 'dom0: relaxed')]]);
    expect(findings[0]!.related?.map((r) => `${r.line}:${r.column}`)).toEqual([pos(text, 'type: pvh')]);
  });

  it('relaxed by default (no iommu key): anchored at the host name', () => {
    const { findings, text } = run('dom0/pvh-not-strict', BARE, PVH0);
    expect(findings.map(at)).toEqual([pos(text, 'name: lab-1')]);
  });

  it('passthrough', () => {
    expect(run('dom0/pvh-not-strict', { ...HOST, iommu: { dom0: 'passthrough' } }, PVH0).findings).toHaveLength(1);
  });

  it('the IOMMU disabled: Xen panics — error at iommu.enabled', () => {
    const { findings, text } = run('dom0/pvh-not-strict', { ...HOST, iommu: { enabled: false, dom0: 'strict' } }, PVH0);
    expect(findings.map(at)).toEqual([pos(text, 'enabled: false')]);
    expect(findings[0]!.message).toMatch(/panics/);
  });

  it('strict PVH dom0, or a PV dom0: quiet', () => {
    expect(run('dom0/pvh-not-strict', HOST, PVH0).findings).toEqual([]);
    expect(run('dom0/pvh-not-strict', BARE, DOM0).findings).toEqual([]);
  });
});
