/**
 * Static rules of group passthrough/* (SPEC §5.2, xl semantics §3.3): trigger and quiet cases,
 * anchors, and the hardware-domain / explicit-mode / vendor variants.
 */
import { loadText } from '../../src/config/load.js';
import { validateDocs } from '../../src/config/validate.js';
import { buildMachine } from '../../src/model/build.js';
import { describe, expect, it } from 'vitest';

import passthrough from '../../src/policy/rules/passthrough/index.js';
import disabledWithDevices from '../../src/policy/rules/passthrough/disabled-with-devices.js';
import noIommu from '../../src/policy/rules/passthrough/no-iommu.js';
import sharePtInvalid from '../../src/policy/rules/passthrough/share-pt-invalid.js';
import pvh from '../../src/policy/rules/passthrough/pvh.js';
import pod from '../../src/policy/rules/passthrough/pod.js';
import liveMigration from '../../src/policy/rules/passthrough/live-migration.js';
import { resolvePassthrough } from '../../src/policy/rules/pci/_util.js';
import { dev, vm, table, yamlOf, type Obj } from './harness.js';

// ---- harness: config objects → YAML text → load → validate → model → one rule's findings ----

const vf = dev('nic-vf1', '0000:03:10.0', { class: 'network' });
const withVf = { pci: [{ dev: 'nic-vf1' }] };
const dom0 = (extra: Obj = {}) => vm('dom0', 0, { type: 'pv', role: 'hardware', memory: '2GiB', ...extra });
const iommuOff = { iommu: { enabled: false, dom0: 'strict' } };

describe('passthrough group', () => {
  it('exports its six static rules', () => {
    expect(passthrough.map((r) => r.id).sort()).toEqual([
      'passthrough/disabled-with-devices',
      'passthrough/live-migration',
      'passthrough/no-iommu',
      'passthrough/pod',
      'passthrough/pvh',
      'passthrough/share-pt-invalid',
    ]);
  });
});

describe('resolvePassthrough (xl, SPEC §3.3) agrees with the model', () => {
  it.each([
    ['hvm, no devices', {}, {}, 'disabled'],
    ['hvm with a device, intel, hap', {}, withVf, 'share_pt'],
    ['hvm with a device, hap off', {}, { ...withVf, hap: false }, 'sync_pt'],
    ['hvm with a device, amd', { cpu_vendor: 'amd' }, withVf, 'sync_pt'],
    ['hvm with a device, sharept off', { iommu: { dom0: 'strict', sharept: false } }, withVf, 'sync_pt'],
    ['pv with a device', {}, { ...withVf, type: 'pv' }, 'sync_pt'],
    ['explicit enabled without devices', {}, { passthrough: 'enabled' }, 'share_pt'],
    ['explicit share_pt on pv is kept', {}, { passthrough: 'share_pt', type: 'pv' }, 'share_pt'],
    ['explicit disabled', {}, { passthrough: 'disabled' }, 'disabled'],
  ])('%s', (_name, host, extra, want) => {
    const loaded = loadText('t.yaml', yamlOf({ host, devices: [vf], domains: [vm('vm1', 1, extra)] }));
    const hc = validateDocs(loaded.docs).config.hosts[0]!;
    const dom = hc.domains.find((d) => d.name === 'vm1')!;
    expect(resolvePassthrough(hc, dom)).toBe(want);
    expect(buildMachine(hc).domains.get(1)!.passthrough).toBe(want);
  });
});

table(disabledWithDevices, [
  {
    name: 'disabled with a device',
    spec: { devices: [vf], domains: [vm('vm1', 1, { passthrough: 'disabled', ...withVf })] },
    want: ['disabled'],
    says: ['vm1 has `passthrough: disabled` but lists 1 pci device (nic-vf1)', 'passthrough disabled but devices are specified'],
    related: 'nic-vf1',
  },
  { name: 'disabled without devices', spec: { domains: [vm('vm1', 1, { passthrough: 'disabled' })] }, want: [] },
  { name: 'default with a device', spec: { devices: [vf], domains: [vm('vm1', 1, withVf)] }, want: [] },
  { name: 'sync_pt with a device', spec: { devices: [vf], domains: [vm('vm1', 1, { passthrough: 'sync_pt', ...withVf })] }, want: [] },
  { name: 'the hardware domain', spec: { devices: [vf], domains: [dom0({ passthrough: 'disabled', ...withVf })] }, want: [] },
]);

table(noIommu, [
  {
    name: 'a device while the IOMMU is off',
    spec: { host: iommuOff, devices: [vf], domains: [vm('vm1', 1, withVf)] },
    want: ['nic-vf1'],
    says: ['vm1 asks for device passthrough (1 pci device (nic-vf1))', 'iommu.enabled: false', 'passthrough not supported on this platform'],
    related: 'false',
  },
  {
    name: 'explicit sync_pt without devices',
    spec: { host: iommuOff, domains: [vm('vm1', 1, { passthrough: 'sync_pt' })] },
    want: ['sync_pt'],
    says: ['passthrough: sync_pt'],
  },
  {
    name: 'explicit enabled with a device: anchored at passthrough',
    spec: { host: iommuOff, devices: [vf], domains: [vm('vm1', 1, { passthrough: 'enabled', ...withVf })] },
    want: ['enabled'],
  },
  {
    name: 'a PV guest with a device',
    spec: { host: iommuOff, devices: [vf], domains: [vm('vm1', 1, { type: 'pv', ...withVf })] },
    want: ['nic-vf1'],
  },
  { name: 'explicit disabled, no devices', spec: { host: iommuOff, domains: [vm('vm1', 1, { passthrough: 'disabled' })] }, want: [] },
  { name: 'default without devices', spec: { host: iommuOff, domains: [vm('vm1', 1)] }, want: [] },
  { name: 'the IOMMU on', spec: { devices: [vf], domains: [vm('vm1', 1, withVf)] }, want: [] },
  { name: "the hardware domain's own devices", spec: { host: iommuOff, devices: [vf], domains: [dom0(withVf)] }, want: [] },
]);

table(sharePtInvalid, [
  {
    name: 'PV guest',
    spec: { domains: [vm('vm1', 1, { type: 'pv', passthrough: 'share_pt' })] },
    want: ['share_pt'],
    says: ['not valid for a PV domain', 'sync_pt'],
  },
  {
    name: 'hap off',
    spec: { domains: [vm('vm1', 1, { hap: false, passthrough: 'share_pt' })] },
    want: ['share_pt'],
    says: ['only valid for HAP guests', 'hap: false'],
  },
  {
    name: 'AMD host',
    spec: { host: { cpu_vendor: 'amd' }, domains: [vm('vm1', 1, { passthrough: 'share_pt' })] },
    want: ['share_pt'],
    says: ['not supported on AMD host lab-1'],
  },
  {
    name: 'sharept off',
    spec: { host: { iommu: { dom0: 'strict', sharept: false } }, domains: [vm('vm1', 1, { passthrough: 'share_pt' })] },
    want: ['share_pt'],
    says: ['iommu.sharept: false'],
  },
  {
    name: 'PV on AMD: one finding naming both reasons',
    spec: { host: { cpu_vendor: 'amd' }, domains: [vm('vm1', 1, { type: 'pv', passthrough: 'share_pt' })] },
    want: ['share_pt'],
    says: ['not valid for a PV domain', '; and not supported on AMD host'],
  },
  { name: 'hvm with hap on intel', spec: { domains: [vm('vm1', 1, { passthrough: 'share_pt' })] }, want: [] },
  { name: 'enabled on AMD resolves to sync_pt', spec: { host: { cpu_vendor: 'amd' }, domains: [vm('vm1', 1, { passthrough: 'enabled' })] }, want: [] },
  { name: 'sync_pt on PV', spec: { domains: [vm('vm1', 1, { type: 'pv', passthrough: 'sync_pt' })] }, want: [] },
]);

table(pvh, [
  {
    name: 'PVH guest with a device',
    spec: { devices: [vf], domains: [vm('vm1', 1, { type: 'pvh', ...withVf })] },
    want: ['nic-vf1'],
    says: ['vm1 is a PVH guest with passthrough (1 pci device (nic-vf1))', 'passthrough not yet supported for x86 PVH guests', 'type: hvm'],
  },
  { name: 'PVH guest with passthrough: enabled', spec: { domains: [vm('vm1', 1, { type: 'pvh', passthrough: 'enabled' })] }, want: ['enabled'] },
  { name: 'PVH guest with passthrough: sync_pt', spec: { domains: [vm('vm1', 1, { type: 'pvh', passthrough: 'sync_pt' })] }, want: ['sync_pt'] },
  { name: 'PVH guest without passthrough', spec: { domains: [vm('vm1', 1, { type: 'pvh' })] }, want: [] },
  { name: 'PVH guest with passthrough: disabled', spec: { domains: [vm('vm1', 1, { type: 'pvh', passthrough: 'disabled' })] }, want: [] },
  { name: 'HVM guest with a device', spec: { devices: [vf], domains: [vm('vm1', 1, withVf)] }, want: [] },
  {
    name: 'PVH hardware domain with devices',
    spec: { devices: [vf], domains: [dom0({ type: 'pvh', ...withVf })] },
    want: [],
  },
]);

table(pod, [
  {
    name: 'hvm, memory < maxmem, a device',
    spec: { devices: [vf], domains: [vm('vm1', 1, { memory: '2GiB', maxmem: '4GiB', ...withVf })] },
    want: ['4GiB'],
    says: ['memory 2 GiB below maxmem 4 GiB', 'populate-on-demand', 'not supported together with PoD', 'set maxmem equal to memory'],
    related: 'nic-vf1',
  },
  {
    name: 'pvh with explicit sync_pt, no devices',
    spec: { domains: [vm('vm1', 1, { type: 'pvh', memory: '2GiB', maxmem: '3GiB', passthrough: 'sync_pt' })] },
    want: ['3GiB'],
    related: 'sync_pt',
  },
  { name: 'memory = maxmem', spec: { devices: [vf], domains: [vm('vm1', 1, { memory: '2GiB', maxmem: '2GiB', ...withVf })] }, want: [] },
  { name: 'PoD without passthrough', spec: { domains: [vm('vm1', 1, { memory: '2GiB', maxmem: '4GiB' })] }, want: [] },
  {
    name: 'PoD with passthrough: disabled',
    spec: { domains: [vm('vm1', 1, { memory: '2GiB', maxmem: '4GiB', passthrough: 'disabled' })] },
    want: [],
  },
  {
    name: 'PV guest (ballooning, no PoD)',
    spec: { devices: [vf], domains: [vm('vm1', 1, { type: 'pv', memory: '2GiB', maxmem: '4GiB', ...withVf })] },
    want: [],
  },
  {
    name: 'memory > maxmem is memory/maxmem, not PoD',
    spec: { devices: [vf], domains: [vm('vm1', 1, { memory: '4GiB', maxmem: '2GiB', ...withVf })] },
    want: [],
  },
]);

table(liveMigration, [
  {
    name: 'migrated with a device',
    spec: { devices: [vf], domains: [vm('vm1', 1, { live_migration: true, ...withVf })] },
    want: ['true'],
    says: ['live_migration: true', '1 pci device (nic-vf1)', 'paging_log_dirty_enable'],
    related: 'nic-vf1',
  },
  { name: 'migrated without devices', spec: { domains: [vm('vm1', 1, { live_migration: true })] }, want: [] },
  {
    name: 'migrated with passthrough enabled but no devices',
    spec: { domains: [vm('vm1', 1, { live_migration: true, passthrough: 'enabled' })] },
    want: [],
  },
  { name: 'not migrated', spec: { devices: [vf], domains: [vm('vm1', 1, { live_migration: false, ...withVf })] }, want: [] },
]);
