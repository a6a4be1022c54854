/**
 * Static rules of group memory/* (SPEC §5.2, layout §3.1): trigger and quiet cases, anchors, and
 * the aliasing variants (another domain, the same domain, Xen, RMRR, non-RAM).
 */
import { describe, expect, it } from 'vitest';

import memory from '../../src/policy/rules/memory/index.js';
import maxmem from '../../src/policy/rules/memory/maxmem.js';
import overcommit from '../../src/policy/rules/memory/overcommit.js';
import mfnAlias from '../../src/policy/rules/memory/mfn-alias.js';
import gfnOverlap from '../../src/policy/rules/memory/gfn-overlap.js';
import { dev, vm, table, type Obj } from './harness.js';

// ---- harness: config objects → YAML text → load → validate → model → one rule's findings ----

const ext = (gfns: string, mfns: string, type = 'ram_rw') => ({ gfns, mfns, type });

describe('memory group', () => {
  it('exports its four static rules', () => {
    expect(memory.map((r) => r.id).sort()).toEqual(['memory/gfn-overlap', 'memory/maxmem', 'memory/mfn-alias', 'memory/overcommit']);
  });
});

table(maxmem, [
  {
    name: 'memory above maxmem',
    spec: { domains: [vm('vm1', 1, { memory: '4GiB', maxmem: '2GiB' })] },
    want: ['2GiB'],
    says: ['vm1 has memory 4 GiB above maxmem 2 GiB', 'raise maxmem to 4 GiB or more'],
    related: '4GiB',
  },
  { name: 'the hardware domain too', spec: { domains: [vm('dom0', 0, { type: 'pv', role: 'hardware', memory: '2GiB', maxmem: '1GiB' })] }, want: ['1GiB'] },
  { name: 'by one page', spec: { domains: [vm('vm1', 1, { memory: 8192, maxmem: 4096 })] }, want: ['4096'], says: ['8 KiB above maxmem 4 KiB'] },
  { name: 'equal', spec: { domains: [vm('vm1', 1, { memory: '2GiB', maxmem: '2GiB' })] }, want: [] },
  { name: 'maxmem absent', spec: { domains: [vm('vm1', 1, { memory: '2GiB' })] }, want: [] },
  { name: 'memory below maxmem', spec: { domains: [vm('vm1', 1, { memory: '2GiB', maxmem: '4GiB' })] }, want: [] },
]);

table(overcommit, [
  {
    name: 'the third domain does not fit',
    spec: { host: { ram: '8GiB' }, domains: [vm('vm1', 1, { memory: '4GiB' }), vm('vm2', 2, { memory: '4GiB' })] },
    want: ['4GiB'],
    says: ['vm2 needs 4 GiB of RAM but only 2 GiB of host RAM is still free', 'host lab-1 has 8 GiB', 'and dom0, vm1 take the rest'],
  },
  {
    name: 'reported once, at the first domain short, with the total',
    spec: {
      host: { ram: '8GiB' },
      domains: [vm('vm1', 1, { memory: '7GiB' }), vm('vm2', 2, { memory: '2GiB' }), vm('vm3', 3, { memory: '1GiB' })],
    },
    want: ['7GiB'],
    says: ['vm1 needs 7 GiB of RAM but only 6 GiB', 'in all the host is 4 GiB short (vm1 1 GiB, vm2 2 GiB, vm3 1 GiB)'],
  },
  {
    name: 'exactly full',
    spec: { host: { ram: '8GiB' }, domains: [vm('vm1', 1, { memory: '4GiB' }), vm('vm2', 2, { memory: '2GiB' })] },
    want: [],
  },
  {
    name: "Xen's frames are not free",
    spec: { host: { ram: '4GiB', xen_mfns: '0x0-0x7ffff' }, domains: [vm('vm1', 1, { memory: '1GiB' })] },
    want: ['1GiB'],
    says: ['vm1 needs 1 GiB of RAM but no host RAM is left when it is placed', "Xen's frames"],
  },
  {
    name: 'explicit p2m frames are not free',
    spec: {
      host: { ram: '4GiB' },
      domains: [vm('vm1', 1, { memory: '1GiB', p2m: [ext('0x0-0x3ffff', '0x0-0x3ffff')] }), vm('vm2', 2, { memory: '2GiB' })],
    },
    want: ['2GiB'],
    says: ['vm2 needs 2 GiB of RAM but only 1 GiB'],
  },
]);

const twoDomains = (second: Obj[], first: Obj[] = [ext('0x0-0xfff', '0x100000-0x100fff')]) => ({
  host: { xen_mfns: '0x100-0x8ff' },
  devices: [dev('igd', '0000:00:02.0', { rmrr: ['0x200000-0x2000ff'] })],
  domains: [vm('vm1', 1, { memory: '16MiB', p2m: first }), vm('vm2', 2, { memory: '16MiB', p2m: second })],
});

table(mfnAlias, [
  {
    name: "another domain's RAM",
    spec: twoDomains([ext('0x0-0xfff', '0x100800-0x1017ff')]),
    want: ['0x100800-0x1017ff'],
    says: ["vm2's p2m entry 0 gives MFNs 0x100800-0x100fff (8 MiB) to vm2 as RAM", "but vm1's p2m already has them", 'assign_pages'],
    related: '0x100000-0x100fff',
  },
  {
    name: 'the same frames twice in one domain',
    spec: { domains: [vm('vm1', 1, { memory: '17MiB', p2m: [ext('0x0-0xfff', '0x100000-0x100fff'), ext('0x1000-0x10ff', '0x100000-0x1000ff')] })] },
    want: ['0x100000-0x1000ff'],
    says: ["vm1's p2m entry 1 maps MFNs 0x100000-0x1000ff (1 MiB) as RAM", "vm1's p2m entry 0 already maps them", 'one gfn'],
    related: '0x100000-0x100fff',
  },
  {
    name: "Xen's frames",
    spec: twoDomains([ext('0x0-0xff', '0x800-0x8ff')]),
    want: ['0x800-0x8ff'],
    says: ["Xen's own frames 0x800-0x8ff (1 MiB)"],
    related: '0x100-0x8ff',
  },
  {
    name: 'an RMRR',
    spec: twoDomains([ext('0x0-0xfff', '0x200000-0x200fff')]),
    want: ['0x200000-0x200fff'],
    says: ['reserved device memory of igd (RMRR 0x200000-0x2000ff (1 MiB))'],
    related: '0x200000-0x2000ff',
  },
  {
    name: 'beyond the end of RAM',
    spec: twoDomains([ext('0x0-0xfff', '0x3ff800-0x4007ff')]),
    want: ['0x3ff800-0x4007ff'],
    says: ['MFNs 0x400000-0x4007ff (8 MiB) as RAM (ram_rw), but they are not host RAM'],
  },
  {
    name: 'an E820 reserved range',
    spec: {
      host: {
        ram: undefined,
        memory_map: [
          { mfns: '0x0-0x9f', type: 'ram' },
          { mfns: '0xa0-0xff', type: 'reserved' },
          { mfns: '0x100-0x3fffff', type: 'ram' },
        ],
      },
      domains: [vm('vm1', 1, { memory: '1MiB', type: 'pv', p2m: [ext('0x0-0xff', '0x0-0xff')] })],
    },
    want: ['0x0-0xff'],
    says: ['MFNs 0xa0-0xff (384 KiB)'],
  },
  {
    name: 'grant and foreign entries may alias another domain',
    spec: twoDomains([ext('0x0-0xff', '0x100000-0x1000ff', 'grant_map_rw'), ext('0x100-0x1ff', '0x100100-0x1001ff', 'map_foreign')]),
    want: [],
  },
  { name: 'disjoint frames', spec: twoDomains([ext('0x0-0xfff', '0x101000-0x101fff')]), want: [] },
  {
    name: 'mmio_direct onto non-RAM',
    spec: twoDomains([ext('0xfee00', '0xfee00', 'mmio_direct'), ext('0x0-0xfff', '0x101000-0x101fff')]),
    want: [],
  },
]);

table(gfnOverlap, [
  {
    name: 'two extents share gfns',
    spec: { domains: [vm('vm1', 1, { memory: '17MiB', p2m: [ext('0x0-0xfff', '0x100000-0x100fff'), ext('0xf00-0x10ff', '0x200000-0x2001ff')] })] },
    want: ['0xf00-0x10ff'],
    says: ["vm1's p2m entries 0 and 1 both map gfns 0xf00-0xfff (1 MiB)", 'make the gfns ranges disjoint'],
    related: '0x0-0xfff',
  },
  {
    name: 'the later entry lower in gfn space is still the one reported',
    spec: { domains: [vm('vm1', 1, { memory: '17MiB', p2m: [ext('0xf00-0x10ff', '0x200000-0x2001ff'), ext('0x0-0xfff', '0x100000-0x100fff')] })] },
    want: ['0x0-0xfff'],
    related: '0xf00-0x10ff',
  },
  {
    name: 'a chain of three: one finding per overlapping pair',
    spec: {
      domains: [
        vm('vm1', 1, {
          memory: '24MiB',
          p2m: [ext('0x0-0xfff', '0x100000-0x100fff'), ext('0x800-0x17ff', '0x110000-0x110fff'), ext('0x1000-0x1fff', '0x120000-0x120fff')],
        }),
      ],
    },
    want: ['0x800-0x17ff', '0x1000-0x1fff'],
  },
  {
    name: 'PV pfns',
    spec: { domains: [vm('vm1', 1, { type: 'pv', memory: '8MiB', p2m: [ext('0x0-0xfff', '0x100000-0x100fff'), ext('0x10', '0x200000')] })] },
    want: ['"0x10"'],
    says: ['both map pfns 0x10 (4 KiB)'],
  },
  {
    name: 'adjacent extents',
    spec: { domains: [vm('vm1', 1, { memory: '18MiB', p2m: [ext('0x0-0xfff', '0x100000-0x100fff'), ext('0x1000-0x11ff', '0x200000-0x2001ff')] })] },
    want: [],
  },
  { name: 'overlaps across domains are fine', spec: twoDomains([ext('0x0-0xfff', '0x101000-0x101fff')]), want: [] },
]);
