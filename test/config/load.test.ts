/** loadText: documents, positions, input findings. (Filesystem discovery: load-fs.test.ts.) */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadText } from '../../src/config/load.js';
import type { Finding } from '../../src/policy/types.js';

const FIXTURES = join(__dirname, '..', 'fixtures', 'load');

function at(f: Pick<Finding, 'line' | 'column' | 'endLine' | 'endColumn'>): string {
  return `${f.line}:${f.column}-${f.endLine}:${f.endColumn}`;
}

function rules(findings: Finding[]): string[] {
  return findings.map((f) => `${f.rule}@${f.line}:${f.column}`);
}

const HEAD = 'apiVersion: pviommu/v1\nkind: Domain\nname: vm1\n';

describe('positions (DocSource.locate)', () => {
  const text = readFileSync(join(FIXTURES, 'domain.yaml'), 'utf8');
  const r = loadText('domains/vm1.yaml', text);
  const src = r.docs[0]!.source;

  it('loads the fixture cleanly', () => {
    expect(r.findings).toEqual([]);
    expect(r.docs).toHaveLength(1);
    expect(src.file).toBe('domains/vm1.yaml');
    expect(src.index).toBe(0);
  });

  it('top-level values and keys', () => {
    expect(at(src.locate(['name']))).toBe('3:7-3:10');
    expect(at(src.locate(['memory']))).toBe('6:14-6:18'); // the value, after its &anchor
    expect(at(src.locate(['memory'], 'key'))).toBe('6:1-6:7');
    expect(at(src.locate(['memory'], 'pair'))).toBe('6:1-6:18');
  });

  it('nested block sequence of mappings', () => {
    expect(at(src.locate(['pci', 0, 'dev']))).toBe('9:10-9:17');
    expect(at(src.locate(['pci', 0, 'dev'], 'key'))).toBe('9:5-9:8');
    expect(at(src.locate(['pci', 0, 'vslot']))).toBe('11:12-11:15');
    expect(at(src.locate(['pci', 1, 'dev']))).toBe('12:12-12:18');
    expect(at(src.locate(['pci', 1, 'permissive'], 'pair'))).toBe('12:20-12:37');
  });

  it('a sequence item and a whole block collection span their text', () => {
    expect(at(src.locate(['pci', 1]))).toBe('12:5-12:53');
    expect(at(src.locate(['pci']))).toBe('9:3-12:53');
  });

  it('flow sequences and nested mappings', () => {
    expect(at(src.locate(['iomem', 1]))).toBe('13:20-13:37');
    expect(at(src.locate(['rdm', 'policy']))).toBe('15:11-15:18');
    expect(at(src.locate(['rdm', 'policy'], 'key'))).toBe('15:3-15:9');
  });

  it('quoted and block scalars', () => {
    expect(at(src.locate(['p2m', 0, 'gfns']))).toBe('17:13-17:26');
    expect(at(src.locate(['notes']))).toBe('19:8-21:14');
  });

  it('an alias points at the alias, also for paths through it', () => {
    expect(at(src.locate(['maxmem']))).toBe('7:9-7:13');
    expect(at(src.locate(['maxmem', 'x']))).toBe('7:9-7:13');
  });

  it('missing paths fall back to the deepest existing ancestor', () => {
    // missing top-level key → the name value
    expect(at(src.locate(['type']))).toBe('3:7-3:10');
    expect(at(src.locate(['type'], 'key'))).toBe('3:7-3:10');
    // missing key in a mapping that is a key's value → that key
    expect(at(src.locate(['rdm', 'strategy']))).toBe('14:1-14:4');
    // index past the end → the sequence's key
    expect(at(src.locate(['pci', 7, 'dev']))).toBe('8:1-8:4');
    // missing key in a sequence item mapping → the item
    expect(at(src.locate(['pci', 1, 'vslot']))).toBe('12:5-12:53');
    // path below a scalar → the scalar
    expect(at(src.locate(['memory', 'x']))).toBe('6:14-6:18');
    // key segment on a sequence → the sequence's key
    expect(at(src.locate(['pci', 'dev']))).toBe('8:1-8:4');
  });

  it('an empty value points at its key', () => {
    const e = loadText('e.yaml', HEAD + 'hap:\nmemory: 1GiB\n').docs[0]!.source;
    expect(at(e.locate(['hap']))).toBe('4:1-4:4');
    expect(at(e.locate(['hap'], 'pair'))).toBe('4:1-4:4');
  });

  it('without a name, a missing top-level key points at the first key', () => {
    const e = loadText('e.yaml', 'apiVersion: pviommu/v1\nkind: Host\n').docs[0]!.source;
    expect(at(e.locate(['name']))).toBe('1:1-1:11');
  });

  it('columns count characters on lines with non-ASCII text', () => {
    const e = loadText('e.yaml', HEAD + 'x: "é€"   # 𝄞\ny: 1\n').docs[0]!.source;
    expect(at(e.locate(['x']))).toBe('4:4-4:8');
  });
});

describe('documents and values', () => {
  it('integers are exact bigints, floats numbers, keys strings', () => {
    const r = loadText('v.yaml', HEAD + 'a: 18446744073709551617\nb: 0x1f00\nc: 1.5\nd: -3\n10: ten\ne: "0x10"\n');
    const v = r.docs[0]!.value as Record<string, unknown>;
    expect(v.a).toBe(18446744073709551617n);
    expect(v.a).not.toBe(BigInt(Number(18446744073709551617n)));
    expect(v.b).toBe(0x1f00n);
    expect(v.c).toBe(1.5);
    expect(v.d).toBe(-3n);
    expect(v['10']).toBe('ten');
    expect(v.e).toBe('0x10');
  });

  it('counts documents, pviommu documents and skipped ones in a multi-document file', () => {
    const text = [
      HEAD + 'domid: 1',
      'apiVersion: v1\nkind: ConfigMap',
      '',
      'just a scalar',
      '- a\n- b',
      'apiVersion: pviommu/v1\nkind: Host\nname: h',
    ].join('\n---\n');
    const r = loadText('m.yaml', text);
    expect(r.findings).toEqual([]);
    expect(r.file).toEqual({ file: 'm.yaml', documents: 6, pviommu: 2 });
    expect(r.skipped).toBe(4);
    expect(r.docs.map((d) => [d.source.index, (d.value as { kind: string }).kind])).toEqual([
      [0, 'Domain'],
      [5, 'Host'],
    ]);
    // positions are in file coordinates
    expect(at(r.docs[1]!.source.locate(['name']))).toBe('18:7-18:8');
  });

  it('an empty file has no documents', () => {
    expect(loadText('e.yaml', '')).toMatchObject({ file: { documents: 0 }, skipped: 0, findings: [] });
    expect(loadText('e.yaml', '# nothing\n')).toMatchObject({ file: { documents: 0 }, skipped: 0, findings: [] });
  });

  it('accepts CRLF line ends and a UTF-8 BOM', () => {
    const text = '\uFEFF' + (HEAD + 'memory: 4GiB\npci:\n  - dev: igd\n').replace(/\n/g, '\r\n');
    const r = loadText('w.yaml', text);
    expect(r.findings).toEqual([]);
    const v = r.docs[0]!.value as Record<string, unknown>;
    expect(v.apiVersion).toBe('pviommu/v1');
    expect(v.memory).toBe('4GiB');
    expect(at(r.docs[0]!.source.locate(['memory']))).toBe('4:9-4:13');
    expect(at(r.docs[0]!.source.locate(['pci', 0, 'dev']))).toBe('6:10-6:13');
  });

  it('reports another pviommu apiVersion instead of skipping it', () => {
    const r = loadText('v2.yaml', 'apiVersion: pviommu/v2\nkind: Domain\n');
    expect(r.docs).toEqual([]);
    expect(r.skipped).toBe(0);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ rule: 'schema/invalid', severity: 'error', line: 1, column: 13, endColumn: 23 });
    expect(r.findings[0]!.message).toContain('pviommu/v1');
  });

  it('does not check documents that are not pviommu', () => {
    const r = loadText('ci.yaml', 'on: push\nx: 010\na: 1\na: 2\n');
    expect(r.findings).toEqual([]);
    expect(r.skipped).toBe(1);
  });
});

describe('yaml/syntax', () => {
  it('reports the error at its position and loads no document from it', () => {
    const r = loadText('s.yaml', HEAD + 'memory: "4GiB\n');
    expect(r.docs).toEqual([]);
    expect(r.findings.length).toBeGreaterThan(0);
    expect(r.findings.every((f) => f.rule === 'yaml/syntax' && f.severity === 'error')).toBe(true);
    expect(r.findings[0]).toMatchObject({ file: 's.yaml', line: 4 });
    expect(r.findings[0]!.message).toMatch(/quote/i);
    expect(r.file.pviommu).toBe(1);
  });

  it('compact nested mapping: message with a hint', () => {
    const r = loadText('s.yaml', HEAD + 'rdm: strategy: host\n');
    expect(rules(r.findings)).toEqual(['yaml/syntax@4:6']);
    expect(r.findings[0]!.message).toMatch(/Nested mappings.*; put the nested mapping/);
  });

  it('reports syntax errors in any document, loads the good ones', () => {
    const r = loadText('s.yaml', HEAD + '---\nfoo: [1, 2\nbar: 3\n---\n' + HEAD);
    expect(r.docs).toHaveLength(2);
    expect(r.findings.map((f) => f.rule)).toContain('yaml/syntax');
    expect(r.findings.every((f) => f.line >= 5 && f.line <= 7)).toBe(true);
    expect(r.skipped).toBe(0);
    expect(r.file.documents).toBe(3);
  });

  it('a tab used as indentation', () => {
    const r = loadText('t.yaml', HEAD + 'rdm:\n\tstrategy: host\n');
    expect(r.findings.some((f) => f.rule === 'yaml/syntax' && f.line === 5)).toBe(true);
  });

  it('an alias without anchor', () => {
    const r = loadText('a.yaml', HEAD + 'memory: *mem\n');
    expect(r.docs).toEqual([]);
    expect(rules(r.findings)).toEqual(['yaml/syntax@4:9']);
    expect(r.findings[0]!.message).toMatch(/anchor/);
  });

  it('unresolved and known 1.1 tags stay strings, each a yaml/syntax error (the rule has one severity)', () => {
    const r = loadText('t.yaml', HEAD + 'a: !!binary aGk=\nb: !custom x\n');
    expect(r.docs[0]!.value).toMatchObject({ a: 'aGk=', b: 'x' });
    expect(r.findings.map((f) => [f.rule, f.severity, f.line])).toEqual([
      ['yaml/syntax', 'error', 4],
      ['yaml/syntax', 'error', 5],
    ]);
  });

  it('a lone CR is a line break (YAML 1.2), positions as with LF', () => {
    const lf = HEAD + 'x: 1\ny: on\n';
    const cr = lf.replace(/\n/g, '\r');
    const a = loadText('lf.yaml', lf);
    const b = loadText('cr.yaml', cr);
    expect(b.docs[0]!.value).toEqual(a.docs[0]!.value);
    expect(b.findings.map((f) => [f.rule, f.line, f.column])).toEqual(a.findings.map((f) => [f.rule, f.line, f.column]));
    expect(b.findings.map((f) => [f.rule, f.line])).toEqual([['yaml/ambiguous-scalar', 5], ['yaml/ambiguous-scalar', 5]]); // `y` and `on`
  });

  it('rejects files over maxFileBytes', () => {
    const r = loadText('big.yaml', HEAD + 'x: ' + 'a'.repeat(200) + '\n', { maxFileBytes: 100 });
    expect(r.docs).toEqual([]);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ rule: 'yaml/syntax', severity: 'error', line: 1, column: 1 });
    expect(r.findings[0]!.message).toMatch(/too large/);
  });
});

describe('yaml/duplicate-key', () => {
  it('is reported at the second occurrence; the first value is kept', () => {
    const r = loadText('d.yaml', HEAD + 'memory: 4GiB\nhap: true\nmemory: 8GiB\n');
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0]!;
    expect(f).toMatchObject({ rule: 'yaml/duplicate-key', severity: 'error', line: 6, column: 1, endLine: 6, endColumn: 7 });
    expect(f.message).toContain('duplicate key `memory` (first defined at line 4)');
    expect(f.related).toEqual([{ file: 'd.yaml', line: 4, column: 1, message: '`memory` first defined here' }]);
    expect((r.docs[0]!.value as { memory: string }).memory).toBe('4GiB');
    expect(at(r.docs[0]!.source.locate(['memory']))).toBe('4:9-4:13');
  });

  it('in nested and flow mappings, and every repeat', () => {
    const r = loadText('d.yaml', HEAD + 'rdm: { policy: strict, policy: relaxed }\npci:\n  - dev: a\n    dev: b\n    dev: c\n');
    expect(rules(r.findings)).toEqual(['yaml/duplicate-key@4:24', 'yaml/duplicate-key@7:5', 'yaml/duplicate-key@8:5']);
    expect(r.findings[2]!.message).toContain('first defined at line 6');
  });

  it('keys that become the same JS key collide', () => {
    const r = loadText('d.yaml', HEAD + '1: a\n"1": b\n');
    expect(rules(r.findings)).toEqual(['yaml/duplicate-key@5:1']);
  });

  it('large mappings (indexed) too', () => {
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}: ${i}`).join('\n');
    const r = loadText('d.yaml', HEAD + keys + '\nk7: again\n');
    expect(rules(r.findings)).toEqual(['yaml/duplicate-key@44:1']);
    const v = r.docs[0]!.value as Record<string, unknown>;
    expect(v.k7).toBe(7n);
    expect(at(r.docs[0]!.source.locate(['k7']))).toBe('11:5-11:6');
    expect(at(r.docs[0]!.source.locate(['k39'], 'key'))).toBe('43:1-43:4');
  });
});

describe('aliases', () => {
  it('resolves ordinary aliases', () => {
    const r = loadText('a.yaml', HEAD + 'memory: &m 4GiB\nmaxmem: *m\n');
    expect(r.findings).toEqual([]);
    expect(r.docs[0]!.value).toMatchObject({ memory: '4GiB', maxmem: '4GiB' });
  });

  it('bounds a billion laughs', () => {
    let text = HEAD + 'l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i <= 9; i++) text += `l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]\n`;
    const t0 = Date.now();
    const r = loadText('lol.yaml', text);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.docs).toEqual([]);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ rule: 'yaml/syntax', severity: 'error', line: 5 });
    expect(r.findings[0]!.message).toMatch(/too many alias expansions/);
  });

  it('honours maxAliases', () => {
    const text = HEAD + 'a: &a x\nb: [*a, *a, *a]\n';
    expect(loadText('a.yaml', text, { maxAliases: 3 }).findings).toEqual([]);
    expect(loadText('a.yaml', text, { maxAliases: 2 }).findings[0]!.message).toMatch(/too many alias expansions/);
  });

  it('reports an alias used before its anchor at the alias', () => {
    const r = loadText('a.yaml', HEAD + 'memory: 1GiB\nmaxmem: *m\nx: &m 2GiB\n');
    expect(r.docs).toEqual([]);
    expect(rules(r.findings)).toEqual(['yaml/syntax@5:9']);
    expect(r.findings[0]!.message).toMatch(/no `&m` anchor before it/);
  });

  it('rejects an alias inside its own anchor (cyclic data)', () => {
    const r = loadText('c.yaml', HEAD + 'pci: &p [ { dev: x }, *p ]\n');
    expect(r.docs).toEqual([]);
    expect(rules(r.findings)).toEqual(['yaml/syntax@4:23']);
  });
});

describe('deep nesting', () => {
  it('10,000 nested flow sequences do not crash', () => {
    const r = loadText('deep.yaml', HEAD + 'x: ' + '['.repeat(10_000) + ']'.repeat(10_000) + '\n');
    expect(r.docs).toEqual([]);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ rule: 'yaml/syntax', severity: 'error', line: 4 });
    expect(r.findings[0]!.message).toMatch(/nested too deeply \(more than 250 levels\)/);
  });

  it('10,000 nested flow mappings and block sequences do not crash', () => {
    const flowMaps = HEAD + 'x: ' + '{a: '.repeat(10_000) + '1' + '}'.repeat(10_000) + '\n';
    expect(loadText('deep.yaml', flowMaps).findings.map((f) => f.rule)).toEqual(['yaml/syntax']);
    const blockSeqs = HEAD + 'x:\n  ' + '- '.repeat(10_000) + '1\n';
    expect(loadText('deep.yaml', blockSeqs).findings.map((f) => f.rule)).toEqual(['yaml/syntax']);
  });

  it('documents before the deep one still load', () => {
    const r = loadText('deep.yaml', HEAD + '---\n' + '['.repeat(5000) + '\n');
    expect(r.docs).toHaveLength(1);
    expect(r.file.documents).toBe(2);
    expect(r.findings.map((f) => [f.rule, f.line])).toEqual([['yaml/syntax', 5]]);
  });

  it('nesting just under the limit loads (composer and toJS survive it)', () => {
    const flow = loadText('ok.yaml', HEAD + 'x: ' + '['.repeat(250) + ']'.repeat(250) + '\n');
    expect(flow.findings).toEqual([]);
    expect(flow.docs).toHaveLength(1);
    const keys = Array.from({ length: 250 }, (_, i) => ' '.repeat(i + 1) + `k${i}:`).join('\n');
    const block = loadText('ok.yaml', HEAD + 'x:\n' + keys + ' 1\n');
    expect(block.findings).toEqual([]);
    expect(at(block.docs[0]!.source.locate(['x', 'k0', 'k1'], 'key'))).toBe('6:3-6:5');
  });

  it('moderate nesting is fine', () => {
    const r = loadText('ok.yaml', HEAD + 'x: ' + '['.repeat(100) + ']'.repeat(100) + '\n');
    expect(r.findings).toEqual([]);
    expect(r.docs).toHaveLength(1);
  });
});

describe('suppression comments', () => {
  it('parses rules, reason and the target line', () => {
    const text =
      HEAD +
      'pci:\n' +
      '  # pviommu-disable-next-line pci/seize, pci/permissive -- vendor tool needs it\n' +
      '\n' +
      '  # another comment\n' +
      '  - { dev: igd, seize: true }\n' +
      'memory: 1GiB  # pviommu-disable-next-line memory/maxmem   -- see ticket 12\n' +
      'maxmem: 512MiB\n';
    const r = loadText('s.yaml', text);
    expect(r.findings).toEqual([]);
    expect(r.suppressions).toEqual([
      { file: 's.yaml', line: 5, column: 3, targetLine: 8, rules: ['pci/seize', 'pci/permissive'], reason: 'vendor tool needs it' },
      { file: 's.yaml', line: 9, column: 15, targetLine: 10, rules: ['memory/maxmem'], reason: 'see ticket 12' },
    ]);
  });

  it('reports directives without a reason or without a rule id, and does not apply them', () => {
    const text =
      HEAD +
      '# pviommu-disable-next-line pci/seize\n' +
      'a: 1\n' +
      '# pviommu-disable-next-line -- because\n' +
      'b: 1\n' +
      '# pviommu-disable-next-line * -- everything\n' +
      'c: 1\n' +
      '# pviommu-disable-next-line pci/seize --\n' +
      'd: 1\n' +
      '# pviommu-disable-line pci/seize -- x\n' +
      'e: 1\n';
    const r = loadText('s.yaml', text);
    expect(r.suppressions).toEqual([]);
    expect(rules(r.findings)).toEqual([
      'suppression/invalid@4:1',
      'suppression/invalid@6:1',
      'suppression/invalid@8:1',
      'suppression/invalid@10:1',
      'suppression/invalid@12:1',
    ]);
    expect(r.findings.every((f) => f.severity === 'warning')).toBe(true);
    expect(r.findings[0]!.message).toMatch(/reason/);
    expect(r.findings[1]!.message).toMatch(/no rule/);
    expect(r.findings[2]!.message).toMatch(/`\*` is not a rule id/);
    expect(r.findings[4]!.message).toMatch(/unknown directive/);
    expect(at(r.findings[0]!)).toBe('4:1-4:38');
  });

  it('ignores the marker inside strings and block scalars, and in prose', () => {
    const text =
      HEAD +
      'a: "# pviommu-disable-next-line pci/seize"\n' +
      'b: |\n  # pviommu-disable-next-line pci/seize\n  x\n' +
      '# we do not use pviommu-disable-next-line here\n' +
      'c: 1\n';
    const r = loadText('s.yaml', text);
    expect(r.suppressions).toEqual([]);
    expect(r.findings).toEqual([]);
  });

  it('a directive at the end of the file has nothing to apply to', () => {
    const r = loadText('s.yaml', HEAD + '# pviommu-disable-next-line pci/seize -- x\n\n# end\n');
    expect(r.suppressions).toEqual([]);
    expect(rules(r.findings)).toEqual(['suppression/invalid@4:1']);
  });

  it('works with CRLF', () => {
    const r = loadText('s.yaml', (HEAD + '# pviommu-disable-next-line pci/seize -- x\n\nseize: true\n').replace(/\n/g, '\r\n'));
    expect(r.suppressions).toMatchObject([{ line: 4, targetLine: 6, rules: ['pci/seize'], reason: 'x' }]);
  });
});
