/** iomem/* static rules: shared, untrusted and RAM-shadowing iomem grants. */
import { describe, expect, it } from 'vitest';

import { type Obj, DOM0, hvm, run, pos, at } from './harness.js';

const HOST: Obj = {
  kind: 'Host',
  name: 'lab-1',
  cpu_vendor: 'intel',
  iommu: { dom0: 'strict' },
  memory_map: [
    { mfns: '0x0-0x9f', type: 'ram' },
    { mfns: '0xa0-0xff', type: 'reserved' },
    { mfns: '0x100-0xbffff', type: 'ram' },
    { mfns: '0xc0000-0xfffff', type: 'mmio' },
    { mfns: '0x100000-0x83ffff', type: 'ram' },
  ],
};

describe('iomem/shared', () => {
  it('a range granted to two domains: warning at the later grant, related to the first', () => {
    const { findings, text } = run(
      'iomem/shared',
      HOST,
      DOM0,
      hvm('vm1', 1, { trusted: true, iomem: ['0xf7c00-0xf7c0f'] }),
      hvm('vm2', 2, { trusted: true, iomem: ['0xf7d00-0xf7d0f', '0xf7c0f'] }),
    );
    expect(findings.map(at)).toEqual([pos(text, '- "0xf7c0f"').replace(/:(\d+)$/, (_, c) => `:${Number(c) + 2}`)]);
    expect(findings[0]!.severity).toBe('warning');
    expect(findings[0]!.related?.map((r) => `${r.line}:${r.column}`)).toEqual([pos(text, '0xf7c00-0xf7c0f')]);
  });

  it('three domains: each later grant is reported once, with every earlier one related', () => {
    const grant = { trusted: true, iomem: ['0xf7c00-0xf7c0f'] };
    const { findings } = run('iomem/shared', HOST, DOM0, hvm('vm1', 1, grant), hvm('vm2', 2, grant), hvm('vm3', 3, grant));
    expect(findings.map((f) => f.related?.length)).toEqual([1, 2]);
  });

  it('disjoint ranges, or one domain listing a range twice: quiet', () => {
    expect(run('iomem/shared', HOST, DOM0, hvm('vm1', 1, { trusted: true, iomem: ['0xf7c00-0xf7c0f'] }), hvm('vm2', 2, { trusted: true, iomem: ['0xf7c10-0xf7c1f'] })).findings).toEqual([]);
    expect(run('iomem/shared', HOST, DOM0, hvm('vm1', 1, { trusted: true, iomem: ['0xf7c00-0xf7c0f', '0xf7c08'] })).findings).toEqual([]);
  });
});

describe('iomem/untrusted', () => {
  it('an untrusted guest (the default) with iomem: warning at the iomem key', () => {
    const { findings, text } = run('iomem/untrusted', HOST, DOM0, hvm('vm1', 1, { iomem: ['0xf7c00-0xf7c0f'] }));
    expect(findings.map(at)).toEqual([pos(text, 'iomem:')]);
  });

  it('trusted guests and the hardware domain (trusted by default): quiet', () => {
    expect(run('iomem/untrusted', HOST, DOM0, hvm('vm1', 1, { trusted: true, iomem: ['0xf7c00-0xf7c0f'] })).findings).toEqual([]);
    expect(run('iomem/untrusted', HOST, { ...DOM0, iomem: ['0xf7c00-0xf7c0f'] }).findings).toEqual([]);
  });

  it('an untrusted guest without iomem: quiet', () => {
    expect(run('iomem/untrusted', HOST, DOM0, hvm('vm1', 1)).findings).toEqual([]);
  });
});

describe('iomem/overlaps-ram', () => {
  it('@GFN inside low RAM: warning at the entry', () => {
    const { findings, text } = run('iomem/overlaps-ram', HOST, DOM0, hvm('vm1', 1, { trusted: true, iomem: ['0xf7c00-0xf7c0f@0x8000'] }));
    expect(findings.map(at)).toEqual([pos(text, '0xf7c00-0xf7c0f@0x8000')]);
    expect(findings[0]!.message).toMatch(/0x8000-0x800f/);
  });

  it('1:1 into the MMIO hole: quiet', () => {
    expect(run('iomem/overlaps-ram', HOST, DOM0, hvm('vm1', 1, { trusted: true, iomem: ['0xf7c00-0xf7c0f'] })).findings).toEqual([]);
  });

  it('a window placed in high RAM (4.5 GiB of an 8 GiB guest): warning', () => {
    const { findings } = run('iomem/overlaps-ram', HOST, DOM0, hvm('vm1', 1, { trusted: true, memory: '8GiB', iomem: ['0xf7c00-0xf7c0f@0x120000'] }));
    expect(findings).toHaveLength(1);
  });

  it('an explicit p2m: overlaps with its RAM extents', () => {
    const p2m = [{ gfns: '0x0-0x3ffff', mfns: '0x400000-0x43ffff', type: 'ram_rw' }];
    expect(run('iomem/overlaps-ram', HOST, DOM0, hvm('vm1', 1, { trusted: true, memory: '1GiB', p2m, iomem: ['0xf7c00-0xf7c0f@0x1000'] })).findings).toHaveLength(1);
    expect(run('iomem/overlaps-ram', HOST, DOM0, hvm('vm1', 1, { trusted: true, memory: '1GiB', p2m, iomem: ['0xf7c00-0xf7c0f@0x80000'] })).findings).toEqual([]);
  });

  it('pv guests map iomem through their own page tables: quiet', () => {
    const pv = { kind: 'Domain', name: 'vm1', domid: 1, type: 'pv', memory: '4GiB', trusted: true, iomem: ['0xf7c00-0xf7c0f@0x10'] };
    expect(run('iomem/overlaps-ram', HOST, DOM0, pv).findings).toEqual([]);
  });
});
