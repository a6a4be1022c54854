import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { xlToDomain } from '../../src/xl/to-domain.js';

const conv = (text: string, opts = {}) => xlToDomain('vm.cfg', text, opts);
const rules = (text: string) => conv(text).findings.map((f) => `${f.severity} ${f.rule} ${f.line}:${f.column}`);
/** The text a located span covers (single-line spans). */
function covered(text: string, loc: { line: number; column: number; endLine: number; endColumn: number }): string {
  expect(loc.endLine).toBe(loc.line);
  return text.split('\n')[loc.line - 1]!.slice(loc.column - 1, loc.endColumn - 1);
}

describe('xlToDomain: identity, type, memory', () => {
  it('defaults: type pv, role guest, 32 MiB, no domid', () => {
    const d = conv('name = "a"\n');
    expect(d.findings).toEqual([]);
    expect(d.value).toEqual({
      apiVersion: 'pviommu/v1',
      kind: 'Domain',
      name: 'a',
      type: 'pv',
      role: 'guest',
      memory: '32MiB',
      maxmem: '32MiB',
    });
  });

  it('memory and maxmem follow xl and libxl defaults', () => {
    expect(conv('name="a"\nmemory=512\n').value).toMatchObject({ memory: '512MiB', maxmem: '512MiB' });
    expect(conv('name="a"\nmaxmem=1024\n').value).toMatchObject({ memory: '1024MiB', maxmem: '1024MiB' });
    expect(conv('name="a"\nmemory="0x200"\nmaxmem=01000\n').value).toMatchObject({
      memory: '512MiB',
      maxmem: '512MiB',
    });
  });

  it('the last setting of a key wins', () => {
    const d = conv('name="a"\nmemory=512\nmemory=1024\n');
    expect(d.value.memory).toBe('1024MiB');
    expect(d.source.locate(['memory'])).toMatchObject({ line: 3, column: 8 });
  });

  it('a number works as a name and a string as a number, as in xl', () => {
    expect(conv('name=12\nmemory="256"\n').value).toMatchObject({ name: '12', memory: '256MiB' });
  });

  it('type: exact words; a prefix is an error but read as xl reads it', () => {
    expect(conv('name="a"\ntype="pvh"\n').value.type).toBe('pvh');
    for (const [t, want] of [['hv', 'hvm'], ['p', 'pv'], ['', 'hvm']] as const) {
      const d = conv(`name="a"\ntype="${t}"\n`);
      expect(d.value.type, t).toBe(want);
      expect(d.findings.map((f) => f.rule), t).toEqual(['xl/invalid-value']);
    }
  });

  it('builder: generic = pv, hvm = hvm; agreeing with type is fine', () => {
    expect(conv('name="a"\nbuilder="generic"\n').value.type).toBe('pv');
    expect(conv('name="a"\nbuilder="hvm"\ntype="hvm"\n').findings).toEqual([]);
    expect(rules('name="a"\ntype="hvm"\nbuilder="generic"\n')).toEqual(['error xl/invalid-value 3:9']);
  });

  it('a missing name is an error at 1:1; the document is named after the file', () => {
    const d = xlToDomain('dir/web-01.cfg', 'memory = 1\n', {});
    expect(d.value.name).toBe('web-01');
    expect(d.findings[0]).toMatchObject({ rule: 'xl/invalid-value', line: 1, column: 1 });
    expect(d.findings[0]!.message).toMatch(/Domain name must be specified/);
  });

  it('scalar options given as lists and lists given as scalars are reported', () => {
    expect(rules('name="a"\nmemory=[512]\n')).toEqual(['error xl/invalid-value 2:8']);
    expect(rules('name="a"\niomem="fed00,1"\n')).toEqual(['error xl/invalid-value 2:7']);
  });

  it('hap, passthrough (case-insensitive as libxl), mmio_hole and rdm_mem_boundary on hvm only', () => {
    const d = conv('name="a"\ntype="hvm"\nhap=0\npassthrough="Share_PT"\nmmio_hole=256\nrdm_mem_boundary=4096\n');
    expect(d.findings).toEqual([]);
    expect(d.value).toMatchObject({ hap: false, passthrough: 'share_pt', mmio_hole: '256MiB', rdm_mem_boundary: '4096MiB' });
    const pv = conv('name="a"\nmmio_hole=100\nrdm_mem_boundary=4096\n');
    expect(pv.findings).toEqual([]);
    expect(pv.value).not.toHaveProperty('mmio_hole');
    expect(pv.value).not.toHaveProperty('rdm_mem_boundary');
    expect(rules('name="a"\ntype="hvm"\nmmio_hole=3841\n')).toEqual(['error xl/invalid-value 3:11']);
  });
});

describe('xlToDomain: header comment and options', () => {
  it('reads host, domid, role and the other Domain fields from a # pviommu: comment anywhere', () => {
    const d = conv('name="a"\n# some text\n#pviommu: domid=0x10 trusted=true\n# pviommu: host=lab-2 role=driver device_model=dom0 live_migration=false pv_iommu=1\n');
    expect(d.findings).toEqual([]);
    expect(d.value).toMatchObject({
      host: 'lab-2',
      domid: 16n,
      role: 'driver',
      trusted: true,
      device_model: 'dom0',
      live_migration: false,
      pv_iommu: true,
    });
    expect(covered('#pviommu: domid=0x10 trusted=true', { ...d.source.locate(['domid']), line: 1, endLine: 1 })).toBe('0x10');
    expect(d.source.locate(['host'])).toMatchObject({ line: 4, column: 17, endColumn: 22 });
  });

  it('caller options override the header', () => {
    const d = conv('# pviommu: host=h1 domid=3 role=guest\nname="a"\n', { host: 'h2', domid: 7, role: 'control' });
    expect(d.value).toMatchObject({ host: 'h2', domid: 7n, role: 'control' });
    expect(d.findings.every((f) => f.host === 'h2')).toBe(true);
  });

  it('role hardware without domid gets domid 0; driver_domain=1 means role driver', () => {
    expect(conv('# pviommu: role=hardware\nname="dom0"\n').value.domid).toBe(0n);
    expect(conv('name="a"\n', { role: 'hardware' }).value.domid).toBe(0n);
    expect(conv('name="a"\ndriver_domain=1\n').value.role).toBe('driver');
    expect(conv('name="a"\n').value).not.toHaveProperty('domid');
  });

  it('reports bad header values and unknown header keys', () => {
    expect(rules('# pviommu: domid=five role=boss colour=red\nname="a"\n')).toEqual([
      'error xl/invalid-value 1:18',
      'error xl/invalid-value 1:28',
      'warning xl/unknown-option 1:33',
    ]);
  });

  it('warns about options xl does not know, with a suggestion, but accepts every real option silently', () => {
    const d = conv('name="a"\nmemroy=512\nvif=["bridge=xenbr0"]\non_crash="preserve"\nspice=1\ncpu_weight=256\n');
    expect(d.findings.map((f) => [f.rule, f.severity, f.line, f.message.includes('`memory`')])).toEqual([
      ['xl/unknown-option', 'warning', 2, true],
    ]);
  });
});

describe('xlToDomain: pci and its global defaults', () => {
  it('pci_* globals seed every entry; per-entry options win', () => {
    const d = conv('name="a"\npci_permissive=1\npci_power_mgmt=1\npci=["01:00.0","02:00.0,permissive=0"]\n');
    expect(d.value.pci).toEqual([
      { dev: '0000:01:00.0', rdm_policy: 'strict', permissive: true, seize: false, power_mgmt: true },
      { dev: '0000:02:00.0', rdm_policy: 'strict', permissive: false, seize: false, power_mgmt: true },
    ]);
  });

  it('a global rdm policy is kept in rdm but never seeds the devices (xl drops it)', () => {
    const d = conv('name="a"\ntype="hvm"\nrdm="policy=relaxed"\npci=["01:00.0"]\n');
    expect(d.findings).toEqual([]);
    expect(d.value.rdm).toEqual({ policy: 'relaxed' });
    expect((d.value.pci as { rdm_policy: string }[])[0]!.rdm_policy).toBe('strict');
  });

  it('rdm errors: unknown key, bad policy, empty option', () => {
    expect(rules('name="a"\nrdm="strategy=host,colour=red"\n')).toEqual(['error xl/invalid-value 2:20']);
    expect(rules('name="a"\nrdm="policy=loose"\n')).toEqual(['error xl/invalid-value 2:13']);
    expect(rules('name="a"\nrdm="strategy=host,"\n')).toEqual(['error xl/invalid-value 2:19']);
    expect(rules('name="a"\nrdm=""\n')).toEqual(['error xl/invalid-value 2:5']);
  });

  it('pci += appends entries from several settings, each located at its own line', () => {
    const text = 'name="a"\npci=["01:00.0"]\npci+=["02:00.0"]\n';
    const d = conv(text);
    expect(d.findings).toEqual([]);
    expect((d.value.pci as { dev: string }[]).map((p) => p.dev)).toEqual(['0000:01:00.0', '0000:02:00.0']);
    expect(d.source.locate(['pci', 1, 'dev'])).toMatchObject({ line: 3, column: 8, endColumn: 15 });
  });

  it('an entry without a usable device is left out and the next one keeps its index', () => {
    const d = conv('name="a"\npci=["00:99.0","03:00.0"]\n');
    expect((d.value.pci as { dev: string }[]).map((p) => p.dev)).toEqual(['0000:03:00.0']);
    expect(d.source.locate(['pci', 0])).toMatchObject({ line: 2, column: 16, endColumn: 25 });
  });

  it('a NUMBER item is read as its digits (and is no PCI address)', () => {
    expect(rules('name="a"\npci=[1]\n')).toEqual(['error xl/pci-spec 2:6']);
  });
});

describe('xlToDomain: iomem, ioports, irqs', () => {
  it('iomem: START,NUM[@GFN] in hex (0x prefix allowed) → inclusive frame ranges', () => {
    const d = conv('name="a"\niomem=["fed00,1","0xa0000,0x20@0x100","ffffffffffff,1"]\n');
    expect(d.findings).toEqual([]);
    expect(d.value.iomem).toEqual(['0xfed00-0xfed00', '0xa0000-0xa001f@0x100', '0xffffffffffff-0xffffffffffff']);
  });

  it('iomem errors', () => {
    expect(rules('name="a"\niomem=["fed00,0"]\n')).toEqual(['error xl/invalid-value 2:15']);
    expect(rules('name="a"\niomem=["fed00,1@"]\n')).toEqual(['error xl/invalid-value 2:9']);
    expect(rules('name="a"\niomem=["fed00,1x"]\n')).toEqual(['error xl/invalid-value 2:16']);
    expect(rules('name="a"\niomem=["ffffffffffffffff,2"]\n')).toEqual(['error xl/invalid-value 2:9']);
  });

  it('ioports and irqs are validated as xl does', () => {
    expect(conv('name="a"\nioports=["2f8-2ff","3f8","0x60-0x64"]\nirqs=[5, "7"]\n').findings).toEqual([]);
    expect(rules('name="a"\nioports=["zz"]\n')).toEqual(['error xl/invalid-value 2:11']);
    expect(rules('name="a"\nioports=["2f8-"]\n')).toEqual(['error xl/invalid-value 2:11']);
    expect(rules('name="a"\nioports=["2f8x"]\n')).toEqual(['error xl/invalid-value 2:14']);
    expect(rules('name="a"\nirqs=[0x10]\n')).toEqual(['error xl/invalid-value 2:7']);
    expect(rules('name="a"\nirqs=["4294967295"]\n')).toEqual(['error xl/invalid-value 2:7']);
  });
});

describe('source.locate', () => {
  const text = [
    'name = "vm1"', //                                                     1
    'memory = 2048', //                                                    2
    "pci = [ 'name=gp\\'u,seize=1', \"0000:00:02.0,rdm_policy=relaxed\" ]", // 3
    'rdm = "strategy=host,policy=strict"', //                              4
    'iomem = [ "fed00,1", "e0000,10@f0000" ]', //                          5
    'type = "hvm"', //                                                     6
    '',
  ].join('\n');
  const d = conv(text);
  const loc = (path: (string | number)[], part?: 'value' | 'key' | 'pair') => d.source.locate(path, part);
  const at = (path: (string | number)[], part?: 'value' | 'key' | 'pair') => covered(text, loc(path, part));

  it('converts cleanly', () => {
    expect(d.findings).toEqual([]);
  });

  it('maps top-level fields to their values, keys and pairs', () => {
    expect(at(['memory'])).toBe('2048');
    expect(at(['memory'], 'key')).toBe('memory');
    expect(at(['memory'], 'pair')).toBe('memory = 2048');
    expect(at(['name'])).toBe('"vm1"');
    expect(at(['type'])).toBe('"hvm"');
  });

  it('maps pci fields to the exact columns inside the quoted string, escapes included', () => {
    expect(at(['pci', 0])).toBe("'name=gp\\'u,seize=1'");
    expect(at(['pci', 0, 'dev'])).toBe("gp\\'u");
    expect(at(['pci', 0, 'dev'], 'key')).toBe('name');
    expect(at(['pci', 0, 'seize'])).toBe('seize=1');
    expect(at(['pci', 0, 'seize'], 'key')).toBe('seize');
    expect(at(['pci', 1, 'dev'])).toBe('0000:00:02.0');
    expect(at(['pci', 1, 'rdm_policy'])).toBe('rdm_policy=relaxed');
    expect(at(['pci', 1, 'rdm_policy'], 'key')).toBe('rdm_policy');
    expect(d.value.pci).toEqual([
      { dev: "gp'u", rdm_policy: 'strict', permissive: false, seize: true },
      { dev: '0000:00:02.0', rdm_policy: 'relaxed', permissive: false, seize: false },
    ]);
  });

  it('maps rdm parts and iomem items', () => {
    expect(at(['rdm'])).toBe('"strategy=host,policy=strict"');
    expect(at(['rdm', 'policy'])).toBe('policy=strict');
    expect(at(['rdm', 'strategy'], 'key')).toBe('strategy');
    expect(at(['iomem', 1])).toBe('"e0000,10@f0000"');
    expect(at(['iomem'], 'key')).toBe('iomem');
  });

  it('falls back to the deepest existing ancestor, else 1:1', () => {
    expect(at(['pci', 1, 'vslot'])).toBe('"0000:00:02.0,rdm_policy=relaxed"');
    expect(at(['pci', 1, 'permissive'])).toBe('"0000:00:02.0,rdm_policy=relaxed"');
    expect(covered(text, loc(['pci', 7]))).toContain('[');
    expect(loc(['pci', 7])).toMatchObject({ line: 3, column: 7, endLine: 3 });
    expect(loc(['p2m', 0, 'gfns'])).toEqual({ file: 'vm.cfg', line: 1, column: 1, endLine: 1, endColumn: 1 });
    expect(loc([])).toMatchObject({ line: 1, column: 1 });
    expect(loc(['apiVersion'], 'key')).toMatchObject({ line: 1, column: 1 });
  });

  it('reports PCI_SPEC_STRING problems at the columns inside the string', () => {
    const t = 'name="a"\npci = [ "0000:00:1f.3,seize=1", \'0000:00:20.0\' ]\n';
    const f = conv(t).findings;
    expect(f.map((x) => [x.rule, x.line, x.column, x.endColumn])).toEqual([['xl/pci-spec', 2, 42, 44]]);
    expect(covered(t, f[0]!)).toBe('20');
  });

  it('a located multi-line list spans its lines', () => {
    const t = 'name="a"\npci = [\n  "01:00.0",\n  "02:00.0"\n]\n';
    expect(conv(t).source.locate(['pci'])).toEqual({ file: 'vm.cfg', line: 2, column: 7, endLine: 5, endColumn: 2 });
  });
});

describe('xlToDomain never throws', () => {
  it('on syntax errors, it still produces a document and findings', () => {
    const d = conv('name = "a\nmemory = lots\npci = [ "01:00.0", foo ]\n');
    expect(d.value.kind).toBe('Domain');
    expect(d.findings.filter((f) => f.rule === 'xl/syntax').length).toBe(3);
  });

  it('on random input built from xl.cfg fragments, and every value path can be located', () => {
    const frag = fc.constantFrom(
      'name = "a"\n', 'type = "hvm"\n', 'memory = 512\n', 'pci = [ "', '00:02.0', '@5', ',seize=1', ',name=x',
      '" ]\n', '", "', 'rdm = "strategy=host,policy=strict"\n', 'iomem = [ "fed00,2@100" ]\n', 'pci_permissive = 1\n',
      '# pviommu: host=h domid=1\n', 'mmio_hole = 100\n', '+=', '[', ']', ',', '\\', "'", '"', '\n', ' ', '0x', '*',
    );
    fc.assert(
      fc.property(fc.array(frag, { maxLength: 30 }), (parts) => {
        const text = parts.join('');
        const d = conv(text);
        const lines = text.split('\n').length;
        const paths: (string | number)[][] = [];
        const walk = (v: unknown, path: (string | number)[]) => {
          paths.push(path);
          if (Array.isArray(v)) v.forEach((e, i) => walk(e, [...path, i]));
          else if (v && typeof v === 'object') for (const [k, e] of Object.entries(v)) walk(e, [...path, k]);
        };
        walk(d.value, []);
        for (const p of paths) {
          for (const part of ['value', 'key', 'pair'] as const) {
            const l = d.source.locate(p, part);
            expect(l.line).toBeGreaterThanOrEqual(1);
            expect(l.endLine).toBeLessThanOrEqual(lines);
          }
        }
        for (const f of d.findings) expect(f.endLine).toBeLessThanOrEqual(lines);
      }),
      { numRuns: 1000 },
    );
  });
});
