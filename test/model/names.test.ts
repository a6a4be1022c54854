import { describe, expect, it } from 'vitest';
import { deviceNamed, domainNamed } from '../../src/model/names.js';
import { dom0, guest, machine } from './helpers.js';

function lab() {
  return machine({
    host: { ram: '64MiB' },
    devices: [
      { name: 'nic', bdf: '0000:03:00.0', assignable: true },
      { name: 'gpu', bdf: '0000:00:02.0' },
    ],
    domains: [dom0(), guest('vm1', 1, { pci: [{ dev: 'nic' }] }), guest('vm2', 2)],
  });
}

describe('domainNamed / deviceNamed', () => {
  it('finds domains and devices by name, and nothing for other names', () => {
    const m = lab();
    expect(domainNamed(m, 'vm2')?.domid).toBe(2);
    expect(domainNamed(m, 'dom0')?.domid).toBe(0);
    expect(domainNamed(m, 'vm2')).toBe(m.domains.get(2));
    expect(domainNamed(m, 'vm3')).toBeUndefined();
    expect(domainNamed(m, '2')).toBeUndefined(); // a name, not a domid
    expect(deviceNamed(m, 'nic')?.bdf).toBe('0000:03:00.0');
    expect(deviceNamed(m, 'gpu')?.bdf).toBe('0000:00:02.0');
    expect(deviceNamed(m, '0000:00:02.0')).toBeUndefined(); // a BDF is not a name
  });

  it('never answers from an index made before the maps changed', () => {
    const m = lab();
    const vm2 = m.domains.get(2)!;
    expect(domainNamed(m, 'vm2')).toBe(vm2); // the index is built
    // The domain goes away: the stale index entry must not answer.
    m.domains.delete(2);
    expect(domainNamed(m, 'vm2')).toBeUndefined();
    // Another domain takes the name.
    const other = { ...vm2, domid: 7 };
    m.domains.set(7, other);
    expect(domainNamed(m, 'vm2')).toBe(other);
    // A domain renamed in place.
    other.name = 'vm7';
    expect(domainNamed(m, 'vm2')).toBeUndefined();
    expect(domainNamed(m, 'vm7')).toBe(other);

    const gpu = m.devices.get('0000:00:02.0')!;
    expect(deviceNamed(m, 'gpu')).toBe(gpu);
    m.devices.delete('0000:00:02.0');
    expect(deviceNamed(m, 'gpu')).toBeUndefined();
    const moved = { ...gpu, bdf: '0000:00:04.0' };
    m.devices.set(moved.bdf, moved);
    expect(deviceNamed(m, 'gpu')).toBe(moved);
  });

  it('keeps one index per machine', () => {
    const a = lab();
    const b = lab();
    expect(domainNamed(a, 'vm1')).toBe(a.domains.get(1));
    expect(domainNamed(b, 'vm1')).toBe(b.domains.get(1));
    expect(domainNamed(a, 'vm1')).not.toBe(domainNamed(b, 'vm1'));
  });
});
