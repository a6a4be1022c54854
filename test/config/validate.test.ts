/** Schema validation → findings at the right node, cross-references, JSON Schema export. */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { conforms } from './json-schema.helpers.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPaths, loadText } from '../../src/config/load.js';
import { loadRepo } from '../../src/check.js';
import { validateDocs } from '../../src/config/validate.js';
import { jsonSchema, KINDS } from '../../src/config/schema.js';

const ROOT = join(__dirname, '..', '..');
const readdirRecursive = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? readdirRecursive(join(d, n)) : [join(d, n)]));
const HOST = 'apiVersion: pviommu/v1\nkind: Host\nname: h1\nram: 16GiB\n';
const DOM0 = 'apiVersion: pviommu/v1\nkind: Domain\nname: dom0\ndomid: 0\ntype: pv\nrole: hardware\nmemory: 2GiB\n';

function check(text: string) {
  const loaded = loadText('t.yaml', text);
  const r = validateDocs(loaded.docs);
  return { ...r, all: [...loaded.findings, ...r.findings] };
}
const brief = (fs: { rule: string; line: number; column: number }[]) => fs.map((f) => `${f.rule}@${f.line}:${f.column}`);

describe('schema findings', () => {
  it('an unknown key is reported at the key, with a suggestion', () => {
    const { all } = check(HOST + '---\n' + DOM0.replace('memory: 2GiB', 'memory: 2GiB\nmaxmen: 4GiB'));
    expect(brief(all)).toEqual(['schema/invalid@13:1']);
    expect(all[0]!.message).toBe('unknown key `maxmen` of Domain dom0 — did you mean `maxmem`?');
  });

  it('every unknown key of a mapping is reported, each at its own key, at any depth', () => {
    const { all } = check(HOST.replace('ram: 16GiB', 'ram: 16GiB\nfoo: 1\niommu: { xx: 1, zz: 2 }\nbar: 2'));
    expect(brief(all).sort()).toEqual(['schema/invalid@5:1', 'schema/invalid@6:10', 'schema/invalid@6:17', 'schema/invalid@7:1']);
    expect(all.map((f) => /unknown key `(\w+)`/.exec(f.message)?.[1]).sort()).toEqual(['bar', 'foo', 'xx', 'zz']);
  });

  it('past 20 unknown keys in one mapping, the rest are one finding at the 21st', () => {
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}: ${i}\n`).join('');
    const { all } = check(HOST + keys);
    expect(all).toHaveLength(21);
    expect(all.slice(0, 20).map((f) => /unknown key `(\w+)`/.exec(f.message)?.[1])).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}`));
    expect(all[20]).toMatchObject({ line: 25, column: 1, message: expect.stringMatching(/^10 more unknown keys, from `k20` on, of Host h1; allowed keys: /) });
  });

  it('a problem inside a frame range or an iomem entry points at its key or entry, not the whole value', () => {
    const { all } = check(
      HOST.replace('ram: 16GiB', 'ram: 16GiB\nxen_mfns: ["0x100-0x1ff", "0x300-0x200"]') +
        '---\napiVersion: pviommu/v1\nkind: Device\nname: igd\nbdf: "00:02.0"\nrmrr: [ "0x10-0x20", {start: 1, pages: 2, x: 3} ]\n' +
        '---\napiVersion: pviommu/v1\nkind: Domain\nname: vm1\ndomid: 1\ntype: hvm\nmemory: 1GiB\n' +
        'iomem: [ {mfns: "0x1-0x2", gfn: 1, x: 2}, {mfns: {start: 5, w: 1}}, {mfns: "0x9", gfn: "zz"} ]\n',
    );
    expect(all.map((f) => `${f.line}:${f.column} ${/^`([^`]+)`/.exec(f.message)?.[1]}`)).toEqual([
      '5:27 xen_mfns[1]',
      '11:43 rmrr[1].x',
      '19:36 iomem[0].x',
      '19:61 iomem[1].mfns.w',
      '19:88 iomem[2].gfn',
    ]);
  });

  it('the only Host failing validation gives its own finding, not a ref/unknown on every document without host:', () => {
    const { all } = check(HOST.replace('ram: 16GiB', 'ram: 16GB') + '---\n' + DOM0);
    expect(all.map((f) => f.rule)).toEqual(['schema/invalid']);
    // with no Host document at all, the document still needs one
    expect(check(DOM0).all.map((f) => [f.rule, /defines none/.test(f.message)])).toEqual([['ref/unknown', true]]);
  });

  it('xen_mfns outside host RAM is schema/invalid at the entry; inside RAM (up to its last frame) is quiet', () => {
    const mm = 'memory_map:\n  - { mfns: "0x0-0xff", type: ram }\n  - { mfns: "0x100-0x1ff", type: reserved }\n  - { mfns: "0x200-0xfffff", type: ram }\n';
    const host = (xen: string) => check(`apiVersion: pviommu/v1\nkind: Host\nname: h1\n${mm}xen_mfns: ${xen}\n`).all;
    expect(host('["0x0-0xff", "0x200-0x2ff", "0xfff00-0xfffff"]')).toEqual([]);
    const bad = host('["0x300-0x3ff", "0xf0-0x1ff", "0xfffff-0x100000"]');
    expect(bad.map((f) => `${f.rule}@${f.line}:${f.column}`)).toEqual(['schema/invalid@8:27', 'schema/invalid@8:41']);
    expect(bad.map((f) => /reaches MFN (\w+)/.exec(f.message)?.[1])).toEqual(['0x100', '0x100000']);
    // ram: N is RAM from MFN 0 to N-1
    expect(check(HOST + 'xen_mfns: "0x3ffff0-0x3fffff"\n').all).toEqual([]);
    expect(brief(check(HOST + 'xen_mfns: "0x3ffff0-0x400000"\n').all)).toEqual(['schema/invalid@5:11']);
  });

  it('a pci entry naming a phantom function by BDF says whose phantom it is (no Device document is wanted for it)', () => {
    const nvme = 'apiVersion: pviommu/v1\nkind: Device\nname: nvme\nbdf: "0000:04:00.0"\nphantom_stride: 2\n';
    const vm = (bdf: string) => `apiVersion: pviommu/v1\nkind: Domain\nname: vm2\ndomid: 2\ntype: hvm\nmemory: 1GiB\npci: [{ dev: "${bdf}" }]\n`;
    const phantom = check([HOST, DOM0, nvme, vm('04:00.2')].join('---\n')).all;
    expect(phantom.map((f) => f.rule)).toEqual(['ref/unknown']);
    expect(phantom[0]!.message).toBe('Domain vm2 assigns PCI device 04:00.2, a phantom function of nvme (0000:04:00.0, phantom_stride 2): Xen has no PCI device for it (ENODEV) and assigns it together with nvme; assign nvme instead');
    // a BDF that is no device's phantom keeps the plain message
    expect(check([HOST, DOM0, nvme, vm('04:00.1')].join('---\n')).all[0]!.message).toMatch(/has no Device with that BDF; add a Device document for it$/);
  });

  it('a mediated device listing one vgpu twice is schema/invalid at the second, related to the first', () => {
    const vm = 'apiVersion: pviommu/v1\nkind: Domain\nname: vm1\ndomid: 1\ntype: hvm\nmemory: 1GiB\n';
    const gpu = (vgpus: string) => `apiVersion: pviommu/v1\nkind: Device\nname: igd\nbdf: "00:02.0"\nmediated: { vgpus: ${vgpus}, translation: pv-iommu }\n`;
    const twice = check([HOST, DOM0, vm, gpu('[vm1, vm1]')].join('---\n')).all;
    expect(twice.map((f) => [f.rule, f.message, f.related?.length])).toEqual([['schema/invalid', 'mediated Device igd lists vgpu "vm1" twice; list each guest once', 1]]);
    expect(check([HOST, DOM0, vm, gpu('[vm1]')].join('---\n')).all).toEqual([]);
  });

  it('a nested unknown key names its path', () => {
    const { all } = check(HOST.replace('ram: 16GiB', 'ram: 16GiB\niommu:\n  dom0: stict\n  quarantne: none'));
    expect(brief(all)).toEqual(['schema/invalid@6:9', 'schema/invalid@7:3']);
    expect(all[0]!.message).toMatch(/`iommu.dom0` of Host h1 is "stict"; expected one of relaxed, strict, passthrough — did you mean `strict`\?/);
    expect(all[1]!.message).toMatch(/unknown key `quarantne` in iommu of Host h1 — did you mean `quarantine`\?/);
  });

  it('a missing field, a wrong type and a bad value', () => {
    const { all } = check(HOST + '---\napiVersion: pviommu/v1\nkind: Domain\nname: vm1\ndomid: "x"\ntype: hvm\npci: yes\n');
    const msgs = all.filter((f) => f.rule === 'schema/invalid').map((f) => f.message);
    expect(msgs).toContain('Domain vm1 is missing required field `memory`');
    expect(msgs.some((m) => /`domid` of Domain vm1: domid: "x" is not a number/.test(m))).toBe(true);
    expect(msgs).toContain('`pci` of Domain vm1 must be a list, not the string "yes"');
  });

  it('an unknown kind, and a document without kind', () => {
    const { all } = check('apiVersion: pviommu/v1\nkind: Domian\nname: x\n---\napiVersion: pviommu/v1\nname: z\n');
    expect(all.map((f) => f.message)).toEqual([
      'unknown kind "Domian" — did you mean `Domain`?; expected one of Host, Device, Domain, Scenario',
      'document has no `kind`; add one of Host, Device, Domain, Scenario',
    ]);
  });

  it('frames beyond 2^52 and sizes in decimal units are refused exactly', () => {
    const { all } = check(HOST.replace('ram: 16GiB', 'ram: 16GB\nxen_mfns: "0x100-0x10000000000000"'));
    expect(all.map((f) => f.message)).toEqual([
      '`ram` of Host h1: "16GB" uses a decimal unit; pviommu sizes are binary — write "16GiB"',
      '`xen_mfns` of Host h1: frame number 0x10000000000000 is beyond the 52-bit frame space (max 0xfffffffffffff)',
    ]);
    expect(brief(all)).toEqual(['schema/invalid@4:6', 'schema/invalid@5:11']);
  });

  it('a p2m extent must map ranges of equal length', () => {
    const { all } = check(HOST + '---\n' + DOM0 + 'p2m:\n  - { gfns: "0x0-0xff", mfns: "0x1000-0x10fe", type: ram_rw }\n');
    expect(all.map((f) => f.message)).toEqual(['`p2m[0].mfns` of Domain dom0: the extent maps 256 gfns onto 255 mfns; a p2m extent maps ranges of equal length']);
  });

  it('defaults: maxmem = memory, trusted by role, passthrough default', () => {
    const { config, all } = check(HOST + '---\n' + DOM0);
    expect(all).toEqual([]);
    const d = config.hosts[0]!.domains[0]!;
    expect(d.maxmem).toBe(d.memory);
    expect(d.trusted).toBe(true);
    expect(d.passthrough).toBe('default');
    expect(config.hosts[0]!.host.iommu.dom0).toBe('relaxed');
    expect(config.hosts[0]!.host.pv_iommu.foreign_offset).toBe(0x3e00000);
  });
});

describe('cross-references', () => {
  it('a document without host belongs to the only Host; with several it must name one', () => {
    const two = HOST + '---\n' + HOST.replace('h1', 'h2') + '---\n' + DOM0;
    const { all } = check(two);
    expect(all.map((f) => f.rule)).toEqual(['ref/unknown']);
    expect(all[0]!.message).toMatch(/has no `host:` and the repo defines 2 hosts/);
  });

  it('a reference to a document that failed validation is not also "unknown"', () => {
    const { all } = check(HOST + '---\n' + DOM0 + '---\napiVersion: pviommu/v1\nkind: Domain\nname: vm1\ndomid: 1\ntype: hvm\nmemory: 1GiB\ndevice_model: dm1\n---\napiVersion: pviommu/v1\nkind: Domain\nname: dm1\ndomid: 2\ntype: pv\n');
    expect(all.map((f) => f.rule)).toEqual(['schema/invalid']);
  });
});

describe('JSON Schema for editors agrees with check', () => {
  // (YAML numbers as an editor's language server reads them: plain numbers)
  const asJson = (yaml: string) => parse(yaml) as unknown;
  const both = (yaml: string) => {
    const loaded = loadText('t.yaml', yaml);
    const checkOk = loaded.findings.length === 0 && validateDocs(loaded.docs).findings.filter((f) => f.rule === 'schema/invalid').length === 0;
    return { checkOk, schemaOk: conforms(jsonSchema() as Record<string, unknown>, asJson(yaml)) };
  };
  const DOM = (extra: string) => `apiVersion: pviommu/v1\nkind: Domain\nname: vm1\nhost: h1\ndomid: 1\ntype: hvm\nmemory: 1GiB\n${extra}`;
  const HST = (extra: string) => `${HOST}${extra}`;

  it('every example and fixture document is valid under the schema', () => {
    const files = readdirRecursive(join(ROOT, 'examples')).filter((f) => /\.ya?ml$/.test(f));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      for (const doc of parseAllDocuments(readFileSync(f, 'utf8'))) {
        const v = doc.toJS() as { apiVersion?: unknown };
        if (v?.apiVersion !== 'pviommu/v1') continue;
        expect({ f, ok: conforms(jsonSchema() as Record<string, unknown>, v) }).toEqual({ f, ok: true });
      }
    }
  });

  it.each([
    ['xen_mfns as a mapping', HST('xen_mfns: { start: 0x100, end: 0x1ff }\n'), true],
    ['xen_mfns as one number', HST('xen_mfns: 0x100\n'), true],
    ['xen_mfns as a list of mappings', HST('xen_mfns: [{ start: 0x100, pages: 16 }, "0x300-0x3ff"]\n'), true],
    ['xen_mfns as words', HST('xen_mfns: "lots"\n'), false],
    ['mmio_hole in range', DOM('mmio_hole: 1GiB\n'), true],
    ['mmio_hole not a size', DOM('mmio_hole: hello\n'), false],
    ['mmio_hole too small', DOM('mmio_hole: 100MiB\n'), false],
    ['iomem with @gfn', DOM('iomem: ["0xfed00-0xfed01@0x1000", { mfns: { start: 0xfee00, pages: 1 }, gfn: 0x2000 }]\n'), true],
    ['iomem as words', DOM('iomem: ["garbage"]\n'), false],
    ['iomem mfns not a range', DOM('iomem: [{ mfns: true }]\n'), false],
    ['device_model out of range', DOM('device_model: 99999\n'), false],
    ['device_model by name', DOM('device_model: dm1\n'), true],
    ['domid as a decimal string', DOM('').replace('domid: 1', 'domid: "1"'), true],
    ['domid as a hex string', DOM('').replace('domid: 1', 'domid: "0x1"'), true],
    ['domid as words', DOM('').replace('domid: 1', 'domid: "one"'), false],
    ['a size unit in lower case', DOM('').replace('memory: 1GiB', 'memory: 256mib'), true],
    ['a size unit in upper case', DOM('').replace('memory: 1GiB', 'memory: 256MIB'), true],
    ['a size unit misspelt', DOM('').replace('memory: 1GiB', 'memory: 1GiBB'), false],
  ])('%s', (_what, yaml, ok) => {
    const r = both(yaml);
    expect(r.checkOk).toBe(ok);
    // the schema is looser only where a range needs the model (mmio_hole's bounds are not in it)
    expect(r.schemaOk).toBe(ok || _what === 'mmio_hole too small');
  });
});

describe('JSON Schema for editors', () => {
  it.each(KINDS)('%s: strict object with every key', (kind) => {
    const s = jsonSchema(kind) as { type: string; properties: Record<string, unknown>; additionalProperties: boolean; required: string[] };
    expect(s.type).toBe('object');
    expect(s.additionalProperties).toBe(false);
    expect(s.required).toContain('apiVersion');
    expect(Object.keys(s.properties)).toContain('name');
  });
  it('all kinds at once', () => {
    const s = jsonSchema() as { anyOf?: unknown[]; oneOf?: unknown[] };
    expect((s.anyOf ?? s.oneOf)?.length).toBe(4);
    expect(JSON.stringify(s)).toMatch(/frame number/);
  });
});

describe('validateDocs for one host (onlyHost: emulate, inspect, translate --host)', () => {
  const two =
    HOST.replace('name: h1', 'name: a') +
    '---\n' +
    HOST.replace('name: h1', 'name: b') +
    '---\n' +
    DOM0.replace('name: dom0', 'name: dom0\nhost: a') +
    '---\n' +
    DOM0.replace('name: dom0', 'name: dom0\nhost: b') +
    '---\n' +
    // b's broken guest, and a document that names no host
    'apiVersion: pviommu/v1\nkind: Domain\nname: vm1\nhost: b\ndomid: "x"\ntype: hvm\n' +
    '---\n' +
    'apiVersion: pviommu/v1\nkind: Domain\nname: stray\ndomid: 3\ntype: hvm\nmemory: 1GiB\n';

  it('leaves out the documents of other hosts, keeps every Host and those that name none', () => {
    const docs = loadText('t.yaml', two).docs;
    const all = validateDocs(docs);
    const onlyA = validateDocs(docs, 'a');
    expect(all.config.hosts.map((h) => [h.host.name, h.domains.map((d) => d.name), h.inputErrors])).toEqual([
      ['a', ['dom0'], false],
      ['b', ['dom0'], true],
    ]);
    expect(onlyA.config.hosts.map((h) => [h.host.name, h.domains.map((d) => d.name), h.inputErrors])).toEqual([
      ['a', ['dom0'], false],
      ['b', [], false],
    ]);
    // b's schema error is not looked for; the document naming no host is still an error.
    expect(all.findings.map((f) => f.rule).sort()).toEqual(['ref/unknown', 'schema/invalid', 'schema/invalid']);
    expect(onlyA.findings.map((f) => [f.rule, f.line])).toEqual([['ref/unknown', 38]]); // stray's name
    expect(onlyA.config.counts.documents).toBe(all.config.counts.documents);
  });

  it('loading for one host lets the other hosts\' documents go as each file is read, with the same outcome', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pviommu-onlyhost-'));
    // One document per file, in the order of `two`.
    two.split('---\n').forEach((doc, i) => writeFileSync(join(dir, `d${i}.yaml`), doc));
    const kept = await loadPaths([dir], { keepDoc: (v) => (v as { host?: string }).host !== 'b' });
    expect(kept.docs.map((d) => (d.value as { name: string }).name)).toEqual(['a', 'b', 'dom0', 'stray']);
    expect(kept.dropped).toBe(2);
    expect((await loadPaths([dir])).dropped).toBe(0);

    const viaLoad = await loadRepo([dir], { onlyHost: 'a' });
    const viaValidate = validateDocs((await loadPaths([dir])).docs, 'a');
    const shape = (c: typeof viaLoad.config) => c.hosts.map((h) => [h.host.name, h.domains.map((d) => d.name), h.inputErrors]);
    expect(shape(viaLoad.config)).toEqual(shape(viaValidate.config));
    expect(viaLoad.findings.map((f) => [f.rule, f.file, f.line])).toEqual(viaValidate.findings.map((f) => [f.rule, f.file, f.line]));
    expect(viaLoad.config.counts).toEqual(viaValidate.config.counts);
    expect(viaLoad.config.counts.documents).toBe(6);
  });

  it('a repo whose every document names another host is not "no pviommu document found"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pviommu-onlyhost-'));
    writeFileSync(join(dir, 'vm.yaml'), 'apiVersion: pviommu/v1\nkind: Domain\nname: vm1\nhost: b\ndomid: 1\ntype: hvm\nmemory: 1GiB\n');
    const r = await loadRepo([dir], { onlyHost: 'a' });
    expect(r.config.hosts).toEqual([]);
    expect(r.config.counts.documents).toBe(1);
    // (A repo with no pviommu document at all still is.)
    const empty = mkdtempSync(join(tmpdir(), 'pviommu-onlyhost-'));
    writeFileSync(join(empty, 'other.yaml'), 'just: yaml\n');
    await expect(loadRepo([empty], { onlyHost: 'a' })).rejects.toThrow(/no pviommu document found/);
  });
});
