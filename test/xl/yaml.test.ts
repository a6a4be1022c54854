import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { xlToDomain } from '../../src/xl/to-domain.js';
import { domainToYaml } from '../../src/xl/yaml.js';

const DIR = join(__dirname, '..', '..', 'fixtures', 'xl');
const cfgs = readdirSync(DIR).filter((f) => f.endsWith('.cfg')).sort();

describe('domainToYaml', () => {
  for (const f of cfgs) {
    it(`${f} round-trips through yaml.parse (YAML 1.2 and 1.1) to the same value`, () => {
      const { value } = xlToDomain(f, readFileSync(join(DIR, f), 'utf8'), {});
      const text = domainToYaml(value);
      expect(parse(text, { intAsBigInt: true })).toEqual(value);
      // nothing a YAML 1.1 reader would take differently (sexagesimal BDFs, yes/no …)
      expect(parse(text, { intAsBigInt: true, version: '1.1' })).toEqual(value);
      expect(domainToYaml(value)).toBe(text);
    });
  }

  it('writes keys in the documented order, whatever the input order', () => {
    const text = domainToYaml({
      iomem: ['0xfed00-0xfed01'],
      pci: [{ seize: true, vslot: 5n, dev: '0000:03:00.0', rdm_policy: 'strict', permissive: false }],
      memory: '512MiB',
      role: 'guest',
      rdm: { policy: 'relaxed', strategy: 'host' },
      type: 'hvm',
      domid: 5n,
      host: 'lab-1',
      name: 'no',
      kind: 'Domain',
      apiVersion: 'pviommu/v1',
      maxmem: '512MiB',
    });
    expect(text).toBe(
      [
        'apiVersion: pviommu/v1',
        'kind: Domain',
        'name: "no"',
        'host: lab-1',
        'domid: 5',
        'type: hvm',
        'role: guest',
        'memory: 512MiB',
        'maxmem: 512MiB',
        'pci:',
        '  - dev: "0000:03:00.0"',
        '    rdm_policy: strict',
        '    permissive: false',
        '    seize: true',
        '    vslot: 5',
        'rdm:',
        '  strategy: host',
        '  policy: relaxed',
        'iomem:',
        '  - "0xfed00-0xfed01"',
        '',
      ].join('\n'),
    );
  });

  it('writes integers beyond 2^53 exactly', () => {
    const text = domainToYaml({ apiVersion: 'pviommu/v1', kind: 'Domain', name: 'a', domid: 9007199254740993n });
    expect(text).toContain('domid: 9007199254740993');
    expect(parse(text, { intAsBigInt: true }).domid).toBe(9007199254740993n);
  });
});
