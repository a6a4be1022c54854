/**
 * Static rules of group pci/* (SPEC §5.2): trigger and quiet cases, anchors, edge cases
 * (phantom functions, VFs, the hardware domain, trusted domains).
 */
import { loadText } from '../../src/config/load.js';
import { describe, expect, it } from 'vitest';
import { validateDocs, type DeviceCfg } from '../../src/config/validate.js';

import pci from '../../src/policy/rules/pci/index.js';
import multipleOwners from '../../src/policy/rules/pci/multiple-owners.js';
import notAssignable from '../../src/policy/rules/pci/not-assignable.js';
import bridgeSplit from '../../src/policy/rules/pci/bridge-split.js';
import orphanVf from '../../src/policy/rules/pci/orphan-vf.js';
import broken from '../../src/policy/rules/pci/broken.js';
import hostBridge from '../../src/policy/rules/pci/host-bridge.js';
import permissive from '../../src/policy/rules/pci/permissive.js';
import seize from '../../src/policy/rules/pci/seize.js';
import { phantomFunctions, phantomParent } from '../../src/policy/rules/pci/_util.js';
import { dev, vm, table, yamlOf } from './harness.js';

const igd = dev('igd', '0000:00:02.0', { class: 'display' });
const nic = dev('nic', '0000:03:00.0', { class: 'network' });
const nvme = dev('nvme', '0000:04:00.0', { class: 'storage', phantom_stride: 2 });
const nvmePh = dev('nvme-ph', '0000:04:00.2', { class: 'storage' });
const nvmeFn1 = dev('nvme-fn1', '0000:04:00.1', { class: 'storage' });

// ---- harness: config objects → YAML text → load → validate → model → one rule's findings ----

describe('pci group', () => {
  it('exports its eight static rules', () => {
    expect(pci.map((r) => r.id).sort()).toEqual([
      'pci/bridge-split',
      'pci/broken',
      'pci/host-bridge',
      'pci/multiple-owners',
      'pci/not-assignable',
      'pci/orphan-vf',
      'pci/permissive',
      'pci/seize',
    ]);
    for (const r of pci) expect(r.phase).toBe('static');
  });
});

describe('phantom functions', () => {
  it.each([
    [1, '0000:04:00.0', ['0000:04:00.1', '0000:04:00.2', '0000:04:00.3', '0000:04:00.4', '0000:04:00.5', '0000:04:00.6', '0000:04:00.7']],
    [2, '0000:04:00.0', ['0000:04:00.2', '0000:04:00.4', '0000:04:00.6']],
    [4, '0000:04:00.0', ['0000:04:00.4']],
    [4, '0000:04:00.4', []],
    // a function at or above the stride has none (Xen's alloc_pdev: phantom_stride 0)
    [2, '0000:04:00.5', []],
    [1, '0000:04:00.1', []],
    [4, '0000:04:00.3', ['0000:04:00.7']],
    [0, '0000:04:00.0', []],
  ])('stride %i from %s', (stride, bdf, want) => {
    expect(phantomFunctions({ ...nvme, bdf, phantom_stride: stride } as unknown as DeviceCfg)).toEqual(want);
  });

  it('finds the real function of a phantom Device', () => {
    const loaded = loadText('t.yaml', yamlOf({ devices: [nvme, nvmePh, nvmeFn1] }));
    const hc = validateDocs(loaded.docs).config.hosts[0]!;
    const byName = (n: string) => hc.devices.find((d) => d.name === n)!;
    expect(phantomParent(hc, byName('nvme-ph'))?.name).toBe('nvme');
    expect(phantomParent(hc, byName('nvme-fn1'))).toBeUndefined();
    expect(phantomParent(hc, byName('nvme'))).toBeUndefined();
  });
});

table(multipleOwners, [
  {
    name: 'one device in two guests',
    spec: { devices: [igd], domains: [vm('vm1', 1, { pci: [{ dev: 'igd' }] }), vm('vm2', 2, { pci: [{ dev: 'igd' }] })] },
    want: ['igd'],
    says: ['device igd (0000:00:02.0) is assigned to vm1 and vm2', 'EBUSY', 'remove it from one of them'],
    related: 'igd',
  },
  {
    name: 'three guests: two findings, both related to the first claim',
    spec: {
      devices: [igd],
      domains: [vm('vm1', 1, { pci: [{ dev: 'igd' }] }), vm('vm2', 2, { pci: [{ dev: 'igd' }] }), vm('vm3', 3, { pci: [{ dev: 'igd' }] })],
    },
    want: ['igd', 'igd'],
  },
  {
    name: 'twice in one list, by name and by BDF',
    spec: { devices: [igd], domains: [vm('vm1', 1, { pci: [{ dev: 'igd' }, { dev: '00:02.0' }] })] },
    want: ['00:02.0'],
    says: ["listed twice in vm1's pci list"],
  },
  {
    name: 'a phantom function in another guest',
    spec: { devices: [nvme, nvmePh], domains: [vm('vm1', 1, { pci: [{ dev: 'nvme' }] }), vm('vm2', 2, { pci: [{ dev: 'nvme-ph' }] })] },
    want: ['nvme-ph'],
    says: ['a phantom function of nvme (0000:04:00.0, phantom_stride 2)', 'but nvme is assigned to vm1', 'EBUSY'],
  },
  {
    name: 'a phantom function listed by the guest that has the device',
    spec: { devices: [nvme, nvmePh], domains: [vm('vm1', 1, { pci: [{ dev: 'nvme-ph' }, { dev: 'nvme' }] })] },
    want: ['nvme-ph'],
    says: ['already assigned to vm1'],
  },
  {
    name: 'a phantom function alone while its device stays with dom0',
    spec: { devices: [nvme, nvmePh], domains: [vm('vm1', 1, { pci: [{ dev: 'nvme-ph' }] })] },
    want: ['nvme-ph'],
    says: ['stays with dom0', 'ENODEV', 'assign nvme to vm1 instead'],
    related: '2',
  },
  {
    name: 'a phantom function in the hardware domain, device unlisted: dom0 owns both',
    spec: { devices: [nvme, nvmePh], domains: [vm('dom0', 0, { type: 'pv', role: 'hardware', memory: '2GiB', pci: [{ dev: 'nvme-ph' }] })] },
    want: [],
  },
  {
    name: 'a function that is not a phantom (stride 2 skips fn 1) may go elsewhere',
    spec: { devices: [nvme, nvmeFn1], domains: [vm('vm1', 1, { pci: [{ dev: 'nvme' }] }), vm('vm2', 2, { pci: [{ dev: 'nvme-fn1' }] })] },
    want: [],
  },
  {
    name: 'the hardware domain and a guest both list it',
    spec: {
      devices: [igd],
      domains: [vm('dom0', 0, { type: 'pv', role: 'hardware', memory: '2GiB', pci: [{ dev: 'igd' }] }), vm('vm1', 1, { pci: [{ dev: 'igd' }] })],
    },
    want: ['igd'],
    says: ['assigned to dom0 and vm1', 'takes it away from the hardware domain dom0'],
  },
  {
    name: 'different devices in different guests',
    spec: { devices: [igd, nic], domains: [vm('vm1', 1, { pci: [{ dev: 'igd' }] }), vm('vm2', 2, { pci: [{ dev: 'nic' }] })] },
    want: [],
  },
]);

table(notAssignable, [
  {
    name: 'not assignable (default), not seized',
    spec: { devices: [{ name: 'nic', bdf: '0000:03:00.0' }], domains: [vm('vm1', 1, { pci: [{ dev: 'nic' }] })] },
    want: ['nic'],
    says: ['is not assignable', 'xl pci-assignable-add 0000:03:00.0', 'seize: true'],
    related: 'nic',
  },
  {
    name: 'assignable: false written out',
    spec: { devices: [{ ...nic, assignable: false }], domains: [vm('vm1', 1, { pci: [{ dev: '03:00.0' }] })] },
    want: ['03:00.0'],
    related: 'false',
  },
  { name: 'assignable', spec: { devices: [nic], domains: [vm('vm1', 1, { pci: [{ dev: 'nic' }] })] }, want: [] },
  {
    name: 'seized',
    spec: { devices: [{ ...nic, assignable: false }], domains: [vm('vm1', 1, { pci: [{ dev: 'nic', seize: true }] })] },
    want: [],
  },
  {
    name: 'in the hardware domain',
    spec: {
      devices: [{ ...nic, assignable: false }],
      domains: [vm('dom0', 0, { type: 'pv', role: 'hardware', memory: '2GiB', pci: [{ dev: 'nic' }] })],
    },
    want: [],
  },
  {
    name: 'an assignable VF of a PF that is not',
    spec: {
      devices: [{ ...nic, assignable: false }, dev('nic-vf1', '0000:03:10.0', { pf: '0000:03:00.0' })],
      domains: [vm('vm1', 1, { pci: [{ dev: 'nic-vf1' }] })],
    },
    want: [],
  },
]);

const sata = dev('sata', '0000:05:01.0', { bridge: '0000:00:1e.0' });
const usb = dev('usb-legacy', '0000:05:02.0', { bridge: '0000:00:1e.0' });
const audio = dev('audio', '0000:05:03.0', { bridge: '0000:00:1e.0' });
const other = dev('other', '0000:06:01.0', { bridge: '0000:00:1c.0' });

table(bridgeSplit, [
  {
    name: 'one device to a guest, its neighbour stays with dom0',
    spec: { devices: [sata, usb], domains: [vm('vm1', 1, { pci: [{ dev: 'usb-legacy' }] })] },
    want: ['usb-legacy'],
    says: ['behind PCIe-to-PCI bridge 0000:00:1e.0', 'sata (0000:05:01.0) owned by dom0', 'give all devices behind 0000:00:1e.0 to one domain'],
    related: '0000:00:1e.0',
  },
  {
    name: 'every device behind the bridge to one guest',
    spec: { devices: [sata, usb, audio], domains: [vm('vm1', 1, { pci: [{ dev: 'usb-legacy' }, { dev: 'sata' }, { dev: 'audio' }] })] },
    want: [],
  },
  {
    name: 'two guests split the bridge: each guest entry is reported',
    spec: { devices: [sata, usb], domains: [vm('vm1', 1, { pci: [{ dev: 'sata' }] }), vm('vm2', 2, { pci: [{ dev: 'usb-legacy' }] })] },
    want: ['sata', 'usb-legacy'],
    related: 'usb-legacy',
  },
  {
    name: 'two of three to a guest: one finding per guest entry',
    spec: { devices: [sata, usb, audio], domains: [vm('vm1', 1, { pci: [{ dev: 'sata' }, { dev: 'audio' }] })] },
    want: ['sata', 'audio'],
  },
  { name: 'all with dom0', spec: { devices: [sata, usb] }, want: [] },
  {
    name: 'devices behind different bridges',
    spec: { devices: [sata, other], domains: [vm('vm1', 1, { pci: [{ dev: 'other' }] })] },
    want: [],
  },
  {
    name: 'the hardware domain listing one of them is not blamed',
    spec: {
      devices: [sata, usb],
      domains: [vm('dom0', 0, { type: 'pv', role: 'hardware', memory: '2GiB', pci: [{ dev: 'sata' }] }), vm('vm1', 1, { pci: [{ dev: 'usb-legacy' }] })],
    },
    want: ['usb-legacy'],
    related: 'sata',
  },
]);

table(orphanVf, [
  {
    name: 'PF missing',
    spec: { devices: [dev('nic-vf1', '0000:03:10.0', { pf: '0000:03:00.0' })] },
    want: ['0000:03:00.0'],
    says: ['SR-IOV VF of 0000:03:00.0', 'ENODEV', 'add a Device for the PF'],
  },
  { name: 'PF present', spec: { devices: [nic, dev('nic-vf1', '0000:03:10.0', { pf: '0000:03:00.0' })] }, want: [] },
  { name: 'PF given in short form', spec: { devices: [nic, dev('nic-vf1', '0000:03:10.0', { pf: '03:00.0' })] }, want: [] },
  {
    name: 'its own PF',
    spec: { devices: [dev('nic-vf1', '0000:03:10.0', { pf: '0000:03:10.0' })] },
    want: ['0000:03:10.0'],
    says: ['names itself'],
  },
  { name: 'no pf', spec: { devices: [nic] }, want: [] },
]);

table(broken, [
  {
    name: 'assigned to a guest',
    spec: { devices: [{ ...nic, broken: true }], domains: [vm('vm1', 1, { pci: [{ dev: 'nic' }] })] },
    want: ['nic'],
    says: ['marked broken', 'EBADF'],
    related: 'true',
  },
  { name: 'unassigned', spec: { devices: [{ ...nic, broken: true }] }, want: [] },
  {
    name: 'in the hardware domain',
    spec: { devices: [{ ...nic, broken: true }], domains: [vm('dom0', 0, { type: 'pv', role: 'hardware', memory: '2GiB', pci: [{ dev: 'nic' }] })] },
    want: [],
  },
  { name: 'not broken', spec: { devices: [nic], domains: [vm('vm1', 1, { pci: [{ dev: 'nic' }] })] }, want: [] },
]);

const hb = dev('hostbridge', '0000:00:00.0', { class: 'bridge', host_bridge: true });
table(hostBridge, [
  {
    name: 'assigned to a guest',
    spec: { devices: [hb], domains: [vm('vm1', 1, { pci: [{ dev: 'hostbridge' }] })] },
    want: ['hostbridge'],
    says: ['is a host bridge', 'only the hardware domain (dom0)', 'EPERM'],
    related: 'true',
  },
  {
    name: 'assigned to a driver domain',
    spec: { devices: [hb], domains: [vm('drv', 1, { role: 'driver', pci: [{ dev: 'hostbridge' }] })] },
    want: ['hostbridge'],
  },
  {
    name: 'in the hardware domain',
    spec: { devices: [hb], domains: [vm('dom0', 0, { type: 'pv', role: 'hardware', memory: '2GiB', pci: [{ dev: 'hostbridge' }] })] },
    want: [],
  },
  { name: 'unassigned', spec: { devices: [hb] }, want: [] },
]);

table(permissive, [
  {
    name: 'untrusted guest',
    spec: { devices: [nic], domains: [vm('vm1', 1, { pci: [{ dev: 'nic', permissive: true }] })] },
    want: ['true'],
    says: ['vm1 is untrusted', 'nic (0000:03:00.0)', 'trusted: true'],
  },
  {
    name: 'explicitly untrusted',
    spec: { devices: [nic], domains: [vm('vm1', 1, { trusted: false, pci: [{ dev: 'nic', permissive: true }] })] },
    want: ['true'],
  },
  { name: 'trusted guest', spec: { devices: [nic], domains: [vm('vm1', 1, { trusted: true, pci: [{ dev: 'nic', permissive: true }] })] }, want: [] },
  {
    name: 'control domain (trusted by default)',
    spec: { devices: [nic], domains: [vm('ctl', 1, { role: 'control', pci: [{ dev: 'nic', permissive: true }] })] },
    want: [],
  },
  { name: 'permissive false', spec: { devices: [nic], domains: [vm('vm1', 1, { pci: [{ dev: 'nic', permissive: false }] })] }, want: [] },
]);

table(seize, [
  {
    name: 'seizing a device dom0 drives',
    spec: { devices: [{ ...nic, assignable: false }], domains: [vm('vm1', 1, { pci: [{ dev: 'nic', seize: true }] })] },
    want: ['true'],
    says: ['unbind device nic (0000:03:00.0)', 'xl pci-assignable-add 0000:03:00.0'],
  },
  {
    name: 'seize on an assignable device',
    spec: { devices: [nic], domains: [vm('vm1', 1, { pci: [{ dev: 'nic', seize: true }] })] },
    want: ['true'],
    says: ['does nothing'],
  },
  {
    name: 'seize in the hardware domain’s list (xl never creates it): no xl advice',
    spec: { devices: [{ ...nic, assignable: false }], domains: [vm('dom0', 0, { type: 'pv', role: 'hardware', memory: '2GiB', pci: [{ dev: 'nic', seize: true }] })] },
    want: ['true'],
    says: ['hardware domain dom0 means nothing', 'xl never creates dom0'],
    saysNot: ['pci-assignable-add', 'unbind'],
  },
  { name: 'no seize', spec: { devices: [nic], domains: [vm('vm1', 1, { pci: [{ dev: 'nic' }] })] }, want: [] },
  { name: 'seize: false', spec: { devices: [nic], domains: [vm('vm1', 1, { pci: [{ dev: 'nic', seize: false }] })] }, want: [] },
]);
