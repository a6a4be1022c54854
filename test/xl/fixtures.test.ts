/** The fixtures of fixtures/xl: valid configs → expected Domain documents; invalid ones → findings. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { xlToDomain } from '../../src/xl/to-domain.js';

const DIR = join(__dirname, '..', '..', 'fixtures', 'xl');
const read = (name: string) => readFileSync(join(DIR, name), 'utf8');
const convert = (name: string) => xlToDomain(`fixtures/xl/${name}`, read(name), {});

describe('valid fixtures', () => {
  it('pv-guest.cfg', () => {
    const d = convert('pv-guest.cfg');
    expect(d.findings).toEqual([]);
    expect(d.value).toEqual({
      apiVersion: 'pviommu/v1',
      kind: 'Domain',
      name: 'pv-guest',
      host: 'lab-1',
      domid: 3n,
      type: 'pv',
      role: 'guest',
      memory: '1024MiB',
      maxmem: '2048MiB',
    });
  });

  it('pvh-guest.cfg', () => {
    const d = convert('pvh-guest.cfg');
    expect(d.findings).toEqual([]);
    expect(d.value).toEqual({
      apiVersion: 'pviommu/v1',
      kind: 'Domain',
      name: 'pvh-guest',
      host: 'lab-1',
      domid: 4n,
      type: 'pvh',
      role: 'guest',
      memory: '2048MiB',
      maxmem: '2048MiB',
      passthrough: 'disabled',
      hap: true,
    });
  });

  it('hvm-passthrough.cfg', () => {
    const d = convert('hvm-passthrough.cfg');
    expect(d.findings).toEqual([]);
    expect(d.value).toEqual({
      apiVersion: 'pviommu/v1',
      kind: 'Domain',
      name: 'win10',
      host: 'lab-1',
      domid: 5n,
      type: 'hvm',
      role: 'guest',
      memory: '4096MiB',
      maxmem: '4096MiB',
      passthrough: 'sync_pt',
      hap: true,
      pci: [
        { dev: '0000:00:02.0', rdm_policy: 'relaxed', permissive: true, seize: false, msitranslate: false },
        { dev: '0000:03:00.0', rdm_policy: 'strict', permissive: false, seize: true, vslot: 5n, msitranslate: false },
      ],
      rdm: { strategy: 'host', policy: 'strict' },
      rdm_mem_boundary: '2048MiB',
      mmio_hole: '3072MiB',
      iomem: ['0xfed00-0xfed01', '0xe0000-0xe000f@0xf0000'],
    });
  });

  it('hvm-stubdom.cfg: builder="hvm", pci_permissive, no device_model', () => {
    const d = convert('hvm-stubdom.cfg');
    expect(d.findings).toEqual([]);
    expect(d.value).toEqual({
      apiVersion: 'pviommu/v1',
      kind: 'Domain',
      name: 'hvm-stubdom',
      type: 'hvm',
      role: 'guest',
      memory: '2048MiB',
      maxmem: '2048MiB',
      pci: [{ dev: '0000:04:00.0', rdm_policy: 'strict', permissive: true, seize: false }],
    });
    // permissive came from the global pci_permissive=1
    expect(d.source.locate(['pci', 0, 'permissive'])).toMatchObject({ line: 9, column: 18, endColumn: 19 });
    expect(d.source.locate(['pci', 0, 'permissive'], 'key')).toMatchObject({ line: 9, column: 1, endColumn: 15 });
    expect(d.source.locate(['type'])).toMatchObject({ line: 4, column: 11, endColumn: 16 });
  });

  it('pci-forms.cfg: every PCI_SPEC_STRING form', () => {
    const d = convert('pci-forms.cfg');
    const base = { rdm_policy: 'strict', permissive: false, seize: true };
    expect(d.value.pci).toEqual([
      { dev: '0000:03:00.0', ...base },
      { dev: '0001:04:00.1', ...base },
      { dev: '0000:05:00.0', ...base, vslot: 7n },
      { dev: '0000:06:00.0', ...base, vslot: 8n },
      { dev: '0000:07:00.0', ...base, vslot: 9n },
      { dev: 'gpu-vf1', ...base },
      { dev: '0000:08:00.0', ...base, vslot: 10n },
      {
        dev: '0000:09:00.0',
        rdm_policy: 'relaxed',
        permissive: true,
        seize: false,
        msitranslate: true,
        power_mgmt: true,
      },
      { dev: '0000:0a:00.0', ...base },
      { dev: '0000:0b:1f.7', ...base },
      { dev: '0000:0d:00.0', ...base, vslot: 31n },
    ]);
    // the only finding: `*` is modelled as function 0
    expect(d.findings.map((f) => [f.rule, f.severity, f.line, f.column, f.endColumn])).toEqual([
      ['xl/pci-spec', 'info', 13, 4, 11],
    ]);
  });
});

describe('invalid fixtures: the finding each one announces', () => {
  const dir = join(DIR, 'invalid');
  const files = readdirSync(dir).filter((f) => f.endsWith('.cfg')).sort();

  it('there is a fixture per error family', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
  });

  for (const f of files) {
    it(f, () => {
      const text = readFileSync(join(dir, f), 'utf8');
      const expected = [...text.matchAll(/^# expect: (\S+) (\d+):(\d+)$/gm)].map((m) => `${m[1]} ${m[2]}:${m[3]}`);
      expect(expected.length, `${f} has no "# expect:" line`).toBeGreaterThan(0);
      const d = xlToDomain(`fixtures/xl/invalid/${f}`, text, {});
      const got = d.findings.filter((x) => x.severity !== 'info').map((x) => `${x.rule} ${x.line}:${x.column}`);
      expect(got).toEqual(expected);
      for (const x of d.findings) {
        expect(x.file).toBe(`fixtures/xl/invalid/${f}`);
        expect(x.message.length).toBeGreaterThan(20);
        expect(x.subject?.kind).toBe('Domain');
      }
    });
  }
});
