/**
 * The YAML fast path (src/config/yaml/fast.ts) against the yaml pipeline: on every config file of
 * the repo, a generated fleet and hand-written edge cases, it either declines or gives exactly the
 * pipeline's result (fast-yaml.helpers.ts). It must also take the files real repos are made of,
 * or it brings nothing. Mutated files: test/fuzz/fast-yaml.fuzz.test.ts.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateFleet } from '../../bench/gen/fleet.mjs';
import { loadText, loadTextSlow } from '../../src/config/load.js';
import { parseFast } from '../../src/config/yaml/fast.js';
import { checkFast, crlf, type Outcome } from './fast-yaml.helpers.js';

const ROOT = join(__dirname, '..', '..');

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

const REPO_FILES = [...walk(join(ROOT, 'examples')), ...walk(join(ROOT, 'fixtures'))].map((p) => ({
  file: relative(ROOT, p),
  text: readFileSync(p, 'utf8'),
}));

const fleetDir = mkdtempSync(join(tmpdir(), 'pviommu-fast-yaml-'));
afterAll(() => rmSync(fleetDir, { recursive: true, force: true }));
generateFleet(fleetDir, { hosts: 6, domainsPerHost: 8, faultRate: 0.5, seed: 3, extras: true });
const FLEET_FILES = walk(fleetDir).map((p) => ({ file: relative(fleetDir, p), text: readFileSync(p, 'utf8') }));

describe('real and generated files', () => {
  it('examples/ and fixtures/: declined or identical; the clean ones take the fast path', () => {
    const out: Record<Outcome, string[]> = { fast: [], declined: [] };
    for (const f of REPO_FILES) out[checkFast(f.file, f.text)].push(f.file);
    // only files meant to have YAML findings (or suppression comments) are declined
    for (const f of out.declined) expect(f).toMatch(/\.bad\.ya?ml$|suppress|yaml\/|load\//);
    expect(out.fast.length).toBeGreaterThan(REPO_FILES.length * 0.8);
  });

  it('the same files with CRLF line ends, with a BOM, and all of them as one stream', () => {
    for (const f of REPO_FILES) {
      checkFast(f.file, crlf(f.text), `${f.file} (CRLF)`);
      checkFast(f.file, '\ufeff' + f.text, `${f.file} (BOM)`);
    }
    const clean = REPO_FILES.filter((f) => parseFast(f.text) !== undefined);
    expect(checkFast('all.yaml', clean.map((f) => f.text).join('\n---\n'))).toBe('fast');
    expect(checkFast('all.yaml', clean.map((f) => `---\n${f.text}`).join(''))).toBe('fast');
  });

  it('the same documents written as JSON (pretty-printed and on one line)', () => {
    let fast = 0;
    for (const f of REPO_FILES) {
      const r = loadText(f.file, f.text);
      if (r.findings.length > 0 || r.docs.length === 0) continue;
      for (const d of r.docs) {
        for (const indent of [2, 0]) {
          const json = JSON.stringify(d.value, (_, v: unknown) => (typeof v === 'bigint' ? `@@${v}@@` : v), indent).replace(/"@@(-?\d+)@@"/g, '$1');
          if (checkFast(f.file, json + '\n', `${f.file} as JSON (indent ${indent})`) === 'fast') fast++;
        }
      }
    }
    expect(fast).toBeGreaterThan(50);
  });

  it('a generated fleet: every file but the broken one takes the fast path', () => {
    const declined: string[] = [];
    for (const f of FLEET_FILES) if (checkFast(f.file, f.text) === 'declined') declined.push(f.file);
    expect(declined).toEqual(['broken.yaml']);
    expect(FLEET_FILES.length).toBeGreaterThan(50);
  });

  it('the fleet through loadText: the same documents, skipped counts and sources', () => {
    let pviommu = 0;
    let skipped = 0;
    for (const f of FLEET_FILES) {
      const r = loadText(f.file, f.text);
      pviommu += r.docs.length;
      skipped += r.skipped;
    }
    expect(pviommu).toBeGreaterThan(80);
    expect(skipped).toBe(1); // ci/pipeline.yaml
  });
});

// ─── hand-written edge cases ─────────────────────────────────────────────────────────────────

const H = 'apiVersion: pviommu/v1\nkind: Domain\nname: vm1\n';

/** [what, text, expected outcome ('either': only the property is checked)] */
const CASES: [string, string, Outcome | 'either'][] = [
  // documents
  ['empty file', '', 'fast'],
  ['only blank lines', '\n\n  \n', 'fast'],
  ['only comments', '# a\n  # b\n', 'fast'],
  ['one document', H, 'fast'],
  ['no final newline', H + 'memory: 1GiB', 'fast'],
  ['leading ---', '---\n' + H, 'fast'],
  ['leading comment then ---', '# c\n---\n' + H, 'fast'],
  ['--- with a comment', '--- # first\n' + H + '---   \n' + H, 'fast'],
  ['two documents', H + '---\n' + H, 'fast'],
  ['empty documents', '---\n---\n' + H + '---\n', 'fast'],
  ['document of comments only', H + '---\n# nothing\n---\n' + H, 'fast'],
  ['content on the --- line', '--- ' + H, 'declined'],
  ['--- then a flow map', '--- {a: 1}\n', 'declined'],
  // `...` and `%YAML` (yamllint's document-end / document-start style, PyYAML's explicit_end / version)
  ['document end marker', H + '...\n', 'fast'],
  ['document end marker with a comment', H + '... # end\n# after\n', 'fast'],
  ['document end then ---', H + '...\n---\n' + H, 'fast'],
  ['--- and ... around each document', '---\n' + H + '...\n---\n' + H + '...\n', 'fast'],
  ['document end then a bare document', H + '...\n' + H, 'fast'],
  ['document end, comments, then a bare document', H + '...\n# next\n\n' + H + 'x: 1\n', 'fast'],
  ['document end after a nested block', H + 'pci:\n  - dev: a\n    x: 1\n  # in\n...\n' + H, 'fast'],
  ['document end after a trailing comment', H + 'a:\n  b: 1\n    # deeper\n...\n', 'fast'],
  ['document end after a block scalar', H + 'd: |\n  text\n\n...\n' + H, 'fast'],
  ['document end after a keep block scalar', H + 'd: |+\n  text\n\n...\n', 'either'],
  ['document end after an empty value', H + 'a:\n...\n', 'either'],
  ['document end after a flow root', '{a: 1}\n...\n{b: 2}\n', 'fast'],
  ['document end, CRLF', crlf('---\n' + H + '...\n---\n' + H + '...\n'), 'fast'],
  ['document end with text after it', H + '... x\n', 'declined'],
  ['document end with no document', '...\n' + H, 'declined'],
  ['two document ends', H + '...\n...\n', 'declined'],
  ['--- then ...', '---\n...\n' + H, 'declined'],
  ['.... is content', H + 'a: 1\n....\n', 'either'],
  ['directive', '%YAML 1.2\n---\n' + H, 'fast'],
  ['directive 1.1', '%YAML 1.1\n---\n' + H, 'fast'],
  ['directive with a comment, comments around', '# head\n%YAML 1.2   # version\n# more\n---\n' + H, 'fast'],
  ['directive per document after ...', '%YAML 1.2\n---\n' + H + '...\n%YAML 1.2\n---\n' + H, 'fast'],
  ['directive, CRLF', crlf('%YAML 1.2\n---\n' + H), 'fast'],
  ['directive of another version', '%YAML 1.3\n---\n' + H, 'declined'],
  ['TAG directive', '%TAG ! tag:example.com,2000:\n---\n' + H, 'declined'],
  ['unknown directive', '%FOO bar\n---\n' + H, 'declined'],
  ['two YAML directives', '%YAML 1.2\n%YAML 1.2\n---\n' + H, 'declined'],
  ['directive without ---', '%YAML 1.2\n' + H, 'declined'],
  ['directive at the end', H + '...\n%YAML 1.2\n', 'declined'],
  ['directive inside a document', H + '%YAML 1.2\n---\n' + H, 'declined'],
  ['directive after --- without ...', H + '---\n%YAML 1.2\n---\n' + H, 'declined'],
  ['directive, tab before the version', '%YAML\t1.2\n---\n' + H, 'declined'],
  ['directive, no space before the comment', '%YAML 1.2#c\n---\n' + H, 'declined'],
  ['directive with a tab in its comment', '%YAML 1.2 # a\tb\n---\n' + H, 'fast'],
  ['indented root', '  a: 1\n  b: 2\n', 'declined'],
  ['scalar root', 'hello\n', 'declined'],
  ['flow root', '{a: 1}\n', 'fast'],
  ['flow roots', '[1, 2] # c\n  # d\n---\n{apiVersion: pviommu/v1, kind: Domain,\n  name: vm1, pci: [{dev: a,\n      vslot: 1}]}\n---\n{}', 'fast'],
  ['flow root then text', '{a: 1} b\n', 'declined'],
  ['flow root then content', '{a: 1}\nb: 2\n', 'declined'],
  ['JSON', '{\n  "apiVersion": "pviommu/v1",\n  "kind": "Domain",\n  "pci": [\n    {\n      "dev": "a"\n    }\n  ],\n  "x": {}\n}\n', 'fast'],
  ['JSON, closing bracket at column 0', '[\n1,\n2\n]', 'fast'],
  ['JSON-like, --- inside', '[\n---\n]\n', 'declined'],
  ['JSON-like, entries at column 0', '{\n"a": 1,\n"b": [1,\n2]}\n', 'fast'],
  ['sequence root', '- 1\n- a: b\n  c: d\n-\n- - x\n', 'fast'],
  ['sequence root, simple', '- 1\n- a: b\n  c: d\n-\n', 'fast'],
  ['--- inside a block', H + 'pci:\n  - dev: a\n---\n' + H, 'fast'],
  // other pviommu versions and non-pviommu documents
  ['apiVersion pviommu/v2', 'apiVersion: pviommu/v2\nkind: Host\n', 'declined'],
  ['apiVersion PVIOMMU', 'apiVersion: PVIOMMU\nkind: Host\n', 'declined'],
  ['apiVersion quoted', 'apiVersion: "pviommu/v1"\nkind: Host\nname: h\n', 'fast'],
  ['apiVersion single-quoted key', "'apiVersion': pviommu/v1\nkind: Host\nname: h\n", 'fast'],
  ['apiVersion is a list', 'apiVersion: [pviommu/v1]\nkind: Host\n', 'fast'],
  ['apiVersion empty', 'apiVersion:\nkind: Host\n', 'fast'],
  ['other apiVersion', 'apiVersion: apps/v1\nkind: Deployment\n', 'fast'],
  ['not pviommu: ambiguous scalars', 'on: yes\nport: 010\n', 'fast'],
  ['not pviommu: duplicate keys', 'a: 1\na: 2\n', 'fast'],
  ['not pviommu: duplicate apiVersion', 'apiVersion: x\napiVersion: pviommu/v1\n', 'fast'],
  ['pviommu: duplicate apiVersion, first wins', 'apiVersion: pviommu/v1\napiVersion: x\n', 'declined'],
  ['not pviommu: non-string keys', '1: a\ntrue: b\nnull: c\n~: d\n1.5: e\n', 'fast'],
  ['not pviommu: __proto__ key', '__proto__: {a: 1}\nb: 2\n', 'fast'],
  // findings in pviommu documents
  ['duplicate key', H + 'memory: 1GiB\nmemory: 2GiB\n', 'declined'],
  ['duplicate key in a flow map', H + 'x: {a: 1, a: 2}\n', 'declined'],
  ['duplicate nested key', H + 'iommu:\n  a: 1\n  a: 1\n', 'declined'],
  ['ambiguous value', H + 'x: yes\n', 'fast'],
  ['ambiguous octal', H + 'x: 010\n', 'fast'],
  ['ambiguous BDF', H + 'bdf: 00:02.0\n', 'fast'],
  ['ambiguous in flow', H + 'x: [on, off]\n', 'fast'],
  ['ambiguous key', H + 'on: 1\n', 'fast'],
  ['quoted ambiguous value', H + 'x: "yes"\nz: \'010\'\n', 'fast'],
  ['ambiguous one-letter key', H + 'y: 1\n', 'fast'],
  ['not ambiguous: 007', H + 'x: 007\n', 'fast'],
  ['integer key', H + '1: a\n', 'declined'],
  ['null key', H + '~: a\n', 'declined'],
  ['bool key', H + 'true: a\n', 'declined'],
  ['quoted integer key', H + '"1": a\n\'2\': b\n', 'fast'],
  ['__proto__ key', H + '__proto__: 1\n', 'declined'],
  ['quoted __proto__ key', H + '"__proto__": 1\n', 'declined'],
  ['constructor and toString keys', H + 'constructor: 1\ntoString: 2\nhasOwnProperty: {valueOf: 3}\n', 'fast'],
  ['integer too long', H + 'x: ' + '9'.repeat(300) + '\n', 'declined'],
  ['hex integer too long', H + 'x: 0x' + 'f'.repeat(300) + '\n', 'declined'],
  ['integer at the limit', H + 'x: ' + '9'.repeat(256) + '\n', 'fast'],
  ['long float', H + 'x: 1.' + '5'.repeat(300) + '\n', 'fast'],
  // suppression comments: read here, placed by parseSuppressions as the pipeline does
  ['suppression comment', H + '# pviommu-disable-next-line pci/seize -- why\npci: []\n', 'fast'],
  ['suppression comment, indented, then blanks and comments', H + 'pci:\n  #   pviommu-disable-next-line pci/seize, pci/permissive -- vendor tool (T-1)\n\n  # other\n  - dev: a\n', 'fast'],
  ['suppression comments in a run', H + '# pviommu-disable-next-line a/b -- r\n# pviommu-disable-next-line c/d -- r\nx: 1\n', 'fast'],
  ['suppression comment at the top of a file', '# pviommu-disable-next-line schema/invalid -- generated\n' + H, 'fast'],
  ['suppression comment before ---', H + '# pviommu-disable-next-line a/b -- r\n---\n' + H, 'fast'],
  ['suppression comment, CRLF', crlf(H + '# pviommu-disable-next-line pci/seize -- why\npci: []\n'), 'fast'],
  ['suppression comment with a tab', H + '#\tpviommu-disable-next-line\tpci/seize -- why\npci: []\n', 'fast'],
  ['suppression comment at the end', H + 'x: 1\n# pviommu-disable-next-line pci/seize -- why\n', 'fast'],
  ['invalid suppressions (no reason, no rule, unknown directive, bad id)', H + '# pviommu-disable-next-line pci/seize\n# pviommu-disable-next-line -- r\n# pviommu-enable a/b -- r\n# pviommu-disable-next-line Bad -- r\nx: 1\n', 'fast'],
  ['suppression comment after a value', H + 'pci: [] # pviommu-disable-next-line pci/seize -- why\nx: 1\n', 'fast'],
  ['suppression comment after a key', H + 'pci: # pviommu-disable-next-line pci/seize -- why\n  - dev: a\n', 'either'],
  ['suppression comment after a block scalar header', H + 'd: | # pviommu-disable-next-line a/b -- r\n  text\nx: 1\n', 'fast'],
  ['suppression comment after ---', '--- # pviommu-disable-next-line a/b -- r\n' + H, 'fast'],
  ['suppression comment after a directive', '%YAML 1.2 # pviommu-disable-next-line a/b -- r\n---\n' + H, 'either'],
  ['suppression comment after ...', H + '... # pviommu-disable-next-line a/b -- r\n' + H, 'either'],
  ['suppression comment after a flow value over lines', H + 'a: [1,\n  2] # pviommu-disable-next-line a/b -- r\nb: 1\n', 'either'],
  ['suppression comment inside a block scalar is text', H + 'd: |\n  # pviommu-disable-next-line a/b -- r\nx: 1\n', 'declined'],
  ['suppression comment inside a quoted scalar is text', H + 'd: "a # pviommu-disable-next-line a/b -- r"\nx: 1\n', 'declined'],
  ['a comment holding a suppression later in it', H + 'x: 1 # note # pviommu-disable-next-line a/b -- r\ny: 1\n', 'declined'],
  ['pviommu- in a comment, not at its start', H + '# see pviommu-docs\nx: 1\n', 'fast'],
  ['pviommu- in a value', H + 'note: see pviommu-docs\n', 'fast'],
  ['pviommu- in a value, # earlier on another line', H + 'a: "#"\nnote: see pviommu-docs\n', 'fast'],
  ['pviommu- after a # in a value', H + 'note: "#pviommu-x"\n', 'declined'],
  // scalars
  [
    'core schema scalars',
    H +
      'a: 0\nb: -5\nc: +7\nd: 0x1F\ne: 0o17\nf: 1.5\ng: -0.0\nh: 1e3\ni: 1E-3\nj: .5\nk: 5.\nl: .inf\nm: -.Inf\nn: .NaN\n' +
      'o: null\np: Null\nq: ~\nr:\ns: true\nt: False\nu: TRUE\nv: 1_000\nw: 0b101\nx: 12:30\n',
    'fast', // 1_000, 0b101 and 12:30 are ambiguous: warnings from the fast path
  ],
  [
    'core schema scalars, unambiguous',
    H +
      'a: 0\nb: -5\nc: +7\nd: 0x1F\nf: 1.5\ng: -0.0\nh: 1.5e+3\ni: 2.5E-3\nj: .5\nk: 5.\nnn: 1.0\n' +
      'o: null\np: Null\nq: ~\nr:\ns: true\nt: False\nu: TRUE\nv: -0\nw: 0x0\nx: +.5\nyy: 1.0e+3\nz: 18446744073709551617\n',
    'fast',
  ],
  ['strings that look like others', H + 'a: 0x\nb: 0xg\nc: 1.2.3\nd: nulls\ne: True1\nf: -\ng: .\nh: +\ni: 0o8\nj: "0x10"\n', 'either'],
  ['strings', H + 'a: hello world\nb: a#b\nc: http://x/y\nd: a,b\ne: a[0]\nf: f(x){y}\ng: ünïcødé ✓\nh: -x\ni: a\'s\nj: a"b"\n', 'fast'],
  ['trailing spaces', H + 'a: hello   \nb: "x"   \nc: [1]  \nd:   \n', 'fast'],
  ['trailing comments', H + 'a: hello # c\nb: "x" # c\nc: [1] # c\nd: # c\ne: 1\n', 'fast'],
  ['comment without space after quoted', H + 'a: "x"# c\n', 'declined'],
  ['comment without space after flow', H + 'a: [1]# c\n', 'declined'],
  ['something after quoted', H + 'a: "x" y\n', 'declined'],
  ['single quotes', H + "a: 'it''s'\nb: ''\nc: ' x '\nd: '#not a comment'\n", 'fast'],
  ['double quotes', H + 'a: "x\\ty\\n\\"q\\"\\\\"\nb: ""\nc: "\\x41\\u00e9\\U0001F600"\nd: " \\/ "\ne: "#x"\n', 'fast'],
  ['double-quoted escapes', H + 'a: "\\0\\a\\b\\e\\f\\r\\v\\N\\_\\L\\P\\ "\n', 'fast'],
  ['bad escape', H + 'a: "\\q"\n', 'declined'],
  ['short \\x escape', H + 'a: "\\x4"\n', 'declined'],
  ['escape beyond Unicode', H + 'a: "\\UFFFFFFFF"\n', 'declined'],
  ['surrogate escape', H + 'a: "\\ud800"\n', 'either'],
  // anchors and aliases (PyYAML writes `&id001` on an object's first use, `*id001` on the others)
  ['anchor and alias', H + 'a: &x 1\nb: *x\n', 'fast'],
  ['anchors on scalars', H + 'a: &x1 "q"\nb: &y_2 \'s\'\nc: &Z-3 0x10 # c\nd: [*x1]\n', 'declined'],
  ['anchored scalars and aliases with comments', H + 'a: &x1 "q" # c\nb: &y_2 \'s\'\nc: &Z-3 0x10 # c\nd: *x1 # c\ne: *Z-3\nf:\n- *y_2\n', 'fast'],
  ['anchored ambiguous scalar: one warning', H + 'a: &x yes\nb: *x\nc:\n  - *x\n', 'fast'],
  ['PyYAML flow anchor', 'apiVersion: pviommu/v1\nkind: Scenario\nname: s\ncalls:\n- op: map\n  flags: &id001 [read, write]\n- op: unmap\n  flags: *id001\n', 'fast'],
  ['PyYAML block mapping anchor', 'apiVersion: pviommu/v1\nkind: Scenario\nname: s\ncalls:\n- op: map\n  expect: &e\n    rc: 0\n    pages: [1, 2]\n- op: unmap\n  expect: *e\n', 'fast'],
  ['PyYAML indentless sequence anchor', 'apiVersion: pviommu/v1\nkind: Scenario\nname: s\ncalls:\n- op: map\n  gfns: &id002\n  - 0x10\n  - 0x11\n  x: 1\n- op: unmap\n  gfns: *id002\n', 'fast'],
  ['anchor with a comment before a block collection', H + 'a: &x # c\n  # d\n  k: v\n  l:\n  - 1\nb: *x # e\n', 'fast'],
  ['anchored sequence items', H + 'a:\n- &a 1\n- *a\n- &b\n  k: v\n- &c\n  - x\n- *b\n- [*c]\n', 'declined'],
  ['anchored sequence items, aliases', H + 'a:\n- &a 1\n- *a\n- &b\n  k: v\n- &c # c\n  - x\n- *b\n- *c\nb: *c\n', 'fast'],
  ['anchored compact sequence', H + 'a:\n- - &a 1\n  - *a\n', 'fast'],
  ['anchored flow mapping', H + 'a: &m {start: 0x1, pages: 2}\nb: *m\n', 'fast'],
  ['anchor redefined', H + 'a: &x 1\nb: *x\nc: &x 2\nd: *x\ne:\n  - &x [3]\n  - *x\n', 'fast'],
  ['anchor redefined inside the anchored collection', H + 'a: &x\n  b: &x 1\n  c:\n  - &x 2\n  d: 3\nb: *x\n', 'fast'],
  ['anchor redefined inside an anchored item', H + 'a:\n- &x\n  - &x {k: v}\n- *x\n', 'fast'],
  ['anchors are per document', H + 'a: &x 1\n---\n' + H + 'b: *x\n', 'declined'],
  ['anchor in another document', 'a: &x 1\nb: *x\n---\n' + H + 'b: &x 2\nc: *x\n', 'fast'],
  ['unknown alias', H + 'a: *x\n', 'declined'],
  ['alias before its anchor', H + 'a: *x\nb: &x 1\n', 'declined'],
  ['alias in an anchored collection', H + 'a: &x 1\nb: &y\n  c: *x\nd: *y\n', 'declined'],
  ['alias inside its own anchor', H + 'a: &x\n  b: *x\n', 'declined'],
  ['alias in an anchored sequence', H + 'a: &x 1\nb: &y\n- *x\n', 'declined'],
  ['50 aliases', H + 'a: &x [1]\n' + Array.from({ length: 50 }, (_, i) => `b${i}: *x\n`).join(''), 'fast'],
  ['51 aliases', H + 'a: &x [1]\n' + Array.from({ length: 51 }, (_, i) => `b${i}: *x\n`).join(''), 'declined'],
  ['aliases in flow', H + 'a: &x 1\nb: [*x]\n', 'declined'],
  ['anchor in flow', H + 'a: [&x 1]\nb: *x\n', 'declined'],
  ['anchor on a key in a sequence', H + 'a:\n- &a key: v\n', 'declined'],
  ['anchor on a quoted key in a sequence', H + 'a:\n- &a "key": v\n', 'declined'],
  ['anchor on a key', H + '&a b: 1\n', 'declined'],
  ['anchor on a nested key', H + 'x:\n  &a b: 1\n', 'declined'],
  ['alias as a key', H + 'a: &a b\n*a : 1\n', 'declined'],
  ['alias then a colon', H + 'a: &a b\nc: *a: 1\n', 'declined'],
  ['anchor then a block scalar', H + 'a: &x |\n  text\nb: *x\n', 'declined'],
  ['anchor then a multi-line scalar', H + 'a: &x two\n  lines\nb: *x\n', 'declined'],
  ['anchor then a multi-line quoted scalar', H + 'a: &x "two\n  lines"\n', 'declined'],
  ['anchor and tag', H + 'a: &x !!str 1\n', 'declined'],
  ['anchor with an odd name', H + 'a: &x.y 1\nb: *x.y\n', 'declined'],
  ['anchor without a blank', H + 'a: &x"1"\n', 'declined'],
  ['anchored null', H + 'a: &x\nb: *x\n', 'declined'],
  ['anchored null, last', H + 'a: &x\n', 'declined'],
  ['anchored null item', H + 'a:\n- &x\n- *x\n', 'declined'],
  ['two anchors', H + 'a: &x &y 1\n', 'declined'],
  ['anchored alias', H + 'a: &x 1\nb: &y *x\n', 'declined'],
  ['alias then more-indented lines', H + 'a: &x 1\nb: *x\n  c: 1\n', 'declined'],
  ['alias then text', H + 'a: &x 1\nb: *x y\n', 'declined'],
  ['merge key is a plain key', H + 'a: &x\n  k: 1\nb:\n  <<: *x\n  l: 2\n', 'fast'],
  ['alias as the apiVersion', 'v: &v pviommu/v1\napiVersion: *v\nkind: Domain\n', 'declined'],
  ['anchored apiVersion', 'apiVersion: &v pviommu/v1\nkind: Domain\nname: *v\n', 'fast'],
  ['root anchor', '&r\na: 1\n', 'declined'],
  ['alias last, trailing comments', H + 'a: &x\n  k: 1\nb: *x\n  # c\n# d\n', 'fast'],
  ['anchored collection last, trailing comments', H + 'a: 1\nb: &x\n  k: 1\n  # c\n    # d\n', 'fast'],
  ['tag', H + 'a: !!str 1\n', 'declined'],
  ['explicit key', H + '? a\n: 1\n', 'declined'],
  ['tab indentation', H + 'iommu:\n\tenabled: true\n', 'declined'],
  ['tab after a value', H + 'a: 1\t# c\n', 'declined'],
  ['nested mapping on one line', H + 'a: b: c\n', 'declined'],
  ['value ending in a colon', H + 'a: b:\n', 'declined'],
  ['colon without space', H + 'a:b\n', 'declined'],
  ['key with spaces before the colon', H + 'a  : 1\n', 'either'],
  ['reserved start characters', H + 'a: @x\n', 'declined'],
  ['backquote', H + 'a: `x`\n', 'declined'],
  ['percent value', H + 'a: %x\n', 'declined'],
  ['long key', H + 'k'.repeat(1100) + ': 1\n', 'declined'],
  ['lone CR', H + 'a: 1\rb: 2\n', 'declined'],
  ['NUL', H + 'a: "\0"\n', 'declined'],
  ['BOM inside', H + '\ufeffa: 1\n', 'declined'],
  ['NEL and LS', H + 'a: x\u0085y\nb: x\u2028y\n', 'declined'],
  ['NBSP', H + 'a: x\u00a0y\n\u00a0b: 1\n', 'either'],
  // multi-line flow scalars (PyYAML folds long strings at 80 columns)
  ['multi-line plain scalar', H + 'a: hello\n  world\n', 'fast'],
  ['multi-line plain scalar, last value', H + 'a: hello\n  world', 'fast'],
  [
    'PyYAML-style folded plain description',
    H + 'description: GVT-g mediator in dom0 shadows vdi-01 GTT pages via the PV-IOMMU. The pin\n  must keep a ballooned page away from other guests.\ncalls:\n- op: x\n  description: a long\n    one, in a\n    sequence\n',
    'fast',
  ],
  ['multi-line plain, blank lines inside', H + 'a: one\n\n  two\n  \n\n    three   \n  four\nb: 1\n', 'fast'],
  ['multi-line plain in a sequence', H + 'x:\n- one\n  two\n-   three\n    four\n- - five\n    six\n', 'fast'],
  ['multi-line plain, continuation under a compact key', H + 'x:\n  - a: one\n     two\n    b: 2\n', 'fast'],
  ['multi-line plain, continuation not indented enough', H + 'x:\n  - a: one\n    two\n', 'declined'],
  ['multi-line plain that would be ambiguous on one line', H + 'a: yes\n  no\nb: 0\n  10\nc: 12\n  :30\n', 'either'],
  ['multi-line plain, numbers', H + 'a: 1\n  2\nb: 0x1\n\n  0\n', 'fast'],
  ['multi-line plain, key on a continuation line', H + 'a: hello\n  world: x\n', 'declined'],
  ['multi-line plain, colon at the end of a continuation', H + 'a: hello\n  world:\n', 'declined'],
  ['multi-line plain, comment on a continuation line', H + 'a: hello\n  world # c\n', 'declined'],
  ['multi-line plain, comment on the first line', H + 'a: hello # c\n  world\n', 'declined'],
  ['multi-line plain, comment line inside', H + 'a: hello\n  # c\n  world\n', 'declined'],
  ['multi-line plain, comment line after', H + 'a: hello\n  world\n  # c\nb: 1\n', 'fast'],
  ['multi-line plain, comment line after, last value', H + 'a: hello\n  world\n    # c\n# d\n', 'fast'],
  ['multi-line plain, indicator on a continuation line', H + 'a: hello\n  - world\n', 'declined'],
  ['multi-line plain, quote on a continuation line', H + 'a: hello\n  "world"\n', 'declined'],
  ['multi-line plain, # inside a continuation line', H + 'a: hello\n  wo#rld\n', 'fast'],
  ['multi-line plain, --- after', H + 'a: hello\n  world\n---\n' + H, 'fast'],
  ['multi-line plain, ... after', H + 'a: hello\n  world\n...\n', 'fast'],
  ['multi-line plain, --- indented', H + 'a: hello\n  ---\n', 'declined'],
  ['multi-line plain in a flow collection', H + 'a: [hello\n  world]\n', 'declined'],
  ['multi-line plain key', H + 'a\n  b: 1\n', 'declined'],
  ['single-quoted, PyYAML style', H + "description: 'GVT-g mediator in dom0 shadows vdi-01 GTT pages via the PV-IOMMU.\n\n  The pin must keep a ballooned page away from other guests.\n\n  '\ncalls: []\n", 'fast'],
  ['single-quoted over lines', H + "a: 'one ''two''  \n   three\n\n\n  four  '  # c\nb: 'x\n  '\n", 'fast'],
  ['single-quoted over lines, last value', H + "a: 'one\n  two'\n  # c\n", 'fast'],
  ['single-quoted, line not indented', H + "a: 'one\ntwo'\n", 'declined'],
  ['single-quoted, --- inside', H + "a: 'one\n---\n  two'\n", 'declined'],
  ['single-quoted, # inside', H + "a: 'one\n  # two'\n", 'fast'],
  ['single-quoted, unclosed', H + "a: 'one\n  two\n", 'declined'],
  ['single-quoted, text after', H + "a: 'one\n  two' x\n", 'declined'],
  ['single-quoted key over lines', H + "'a\n  b': 1\n", 'declined'],
  ['double-quoted over lines', H + 'a: "one \\"two\\"  \n   three\\t\n\n  four\\x41  "\nb: "\n  x\n  "\n', 'fast'],
  ['double-quoted, escaped line breaks (PyYAML style)', H + 'a: "GVT-g mediator in dom0 shadows vdi-01 GTT pages via the PV-IOMMU.\\nThe pin must\\\n  \\ keep a ballooned page away\\\n  \\ from other guests.\\n"\n', 'fast'],
  ['double-quoted, blanks before an escaped line break', H + 'a: "one  \\\n    two"\n', 'fast'],
  ['double-quoted, escaped line break then a blank line', H + 'a: "one\\\n\n  two"\n', 'declined'],
  ['double-quoted, escaped space at the end of a line', H + 'a: "one\\ \n  two"\n', 'fast'],
  ['double-quoted, escaped backslash at the end of a line', H + 'a: "one\\\\\n  two"\n', 'fast'],
  ['double-quoted, line not indented', H + 'x:\n  a: "one\n  two"\n', 'declined'],
  ['double-quoted in a sequence', H + 'x:\n- "one\n  two"\n- k: "three\n    four"\n', 'fast'],
  ['double-quoted in a flow collection', H + 'a: ["one\n  two"]\n', 'declined'],
  ['double-quoted, comment after', H + 'a: "one\n  two" # c\n', 'fast'],
  // block scalars
  ['block scalar |', H + 'a: |\n  x\n', 'fast'],
  ['block scalar >-', H + 'a: >-\n  x\n', 'fast'],
  [
    'block scalars, every chomping',
    H + 'a: |\n  one\n  two\n\n  three\nb: |-\n  one\n   two\nc: |+\n  one\n\nd: >\n  one\n  two\n\n\n  three\ne: >-\n  one\n  two\nf: >+\n  one\n  two\n\n\ng: x\n',
    'fast',
  ],
  ['block scalar, literal more-indented lines', H + 'a: |\n  one\n    two\n   three\n  four\n', 'fast'],
  ['block scalar, folded more-indented line', H + 'a: >\n  one\n    two\n  three\n', 'declined'],
  ['block scalar, header comment', H + 'a: | # c\n  x\nb: >- # d\n  y\n', 'fast'],
  ['block scalar, header comment without a space', H + 'a: |# c\n  x\n', 'declined'],
  ['block scalar, indentation indicator', H + 'a: |2\n   x\n', 'declined'],
  ['block scalar, both indicators', H + 'a: |-2\n   x\n', 'declined'],
  ['block scalar, two chomping indicators', H + 'a: |-+\n  x\n', 'declined'],
  ['block scalar, text after the header', H + 'a: | x\n  y\n', 'declined'],
  ['block scalar, empty', H + 'a: |\nb: 1\n', 'declined'],
  ['block scalar, empty at the end', H + 'a: |\n', 'declined'],
  ['block scalar, content not indented', H + 'x:\n  a: |\n  b\n', 'declined'],
  ['block scalar, # and --- inside', H + 'a: |\n  # not a comment\n  ---\n  x: y\n  - z\n  "q" \'r\' [s] {t}\nb: 1\n', 'fast'],
  ['block scalar, comment lines after', H + 'a: |\n    x\n  # c\n# d\nb: 1\n', 'fast'],
  ['block scalar, last value, comment lines after', H + 'a: |\n    x\n  # c\n# d\n', 'fast'],
  ['block scalar, last nested value, comment lines after', H + 'x:\n  a: |\n      x\n    # c\n# d\n', 'fast'],
  ['block scalar, last nested value, indented comment after', H + 'x:\n  a: |\n      x\n     # c\n', 'fast'],
  ['block scalar, last item, comment after', H + 'x:\n- |\n    x\n   # c\n', 'fast'],
  ['block scalar, last value, blank lines after', H + 'a: |\n  x\n\n\n', 'fast'],
  ['block scalar, less-indented line after', H + 'a: |\n    x\n  y\n', 'declined'],
  ['block scalar, leading blank lines', H + 'a: |\n\n \n  x\nb: >\n\n  y\n', 'fast'],
  ['block scalar, more-indented leading blank line', H + 'a: |\n     \n  x\n', 'declined'],
  ['block scalar, more-indented trailing blank line', H + 'a: |\n  x\n     \nb: 1\n', 'declined'],
  ['block scalar, blank lines with blanks inside', H + 'a: |\n  x\n \n  \n  y\n', 'fast'],
  ['block scalar, no final line break', H + 'a: |\n  x', 'fast'],
  ['block scalar keep, no final line break', H + 'a: |+\n  x', 'fast'],
  ['block scalar keep, blank lines then a key', H + 'a: |+\n  x\n\n\nb: 1\n', 'fast'],
  ['block scalar keep, last value with blank lines', H + 'a: |+\n  x\n\n', 'fast'],
  ['block scalar keep, last value with blank lines, then ---', H + 'x:\n  a: >+\n    x\n\n  \n---\n' + H, 'fast'],
  ['block scalar keep, last value with blank lines and a comment', H + 'a: |+\n  x\n\n# c\n', 'declined'],
  // (found by the long fuzz run: yaml's document ends before the blanks of a last line without a line break)
  ['block scalar keep, blank lines then blanks without a line break', H + 'a: |+\n  x\n\n\n ', 'declined'],
  ['block scalar keep, last value', H + 'a: >+\n  x\n', 'fast'],
  ['block scalar in a sequence', H + 'x:\n- |\n  one\n  two\n- k: >-\n    three\n    four\n  l: 1\n- - |\n    five\n', 'fast'],
  ['block scalar, trailing blanks kept', H + 'a: |\n  x  \n  y \nb: >\n  x  \n  y \n', 'fast'],
  ['block scalar, --- after', H + 'a: |\n  x\n---\n' + H + 'b: >\n  y\n\n---\n', 'fast'],
  ['block scalar, tab inside', H + 'a: |\n  x\ty\n', 'declined'],
  ['block scalar, tab indentation', H + 'a: |\n\tx\n', 'declined'],
  ['block scalar key', H + '|\n  x\n: 1\n', 'declined'],
  ['block scalar in a flow collection', H + 'a: [|\n  x]\n', 'declined'],
  // tabs
  ['tab in a comment line', '# header\twith tab\n' + H + '  # \t\n# x\t\n', 'fast'],
  ['tab in a trailing comment', H + 'a: 1 # comment\twith tab\nb: "x" #\t\nc: # \t\n  d: [1] # \t\ne: | # \t\n  x\n--- # \t\n' + H, 'fast'],
  ['tab in a comment after a flow root', '[1, 2] # \t\n', 'fast'],
  ['tab in a value', H + 'a: x\ty\n', 'declined'],
  ['tab in a quoted value', H + 'a: "x\ty"\n', 'declined'],
  ['tab before a comment', H + 'a: x\t# c\n', 'declined'],
  ['tab in a comment, then a tab in a value', H + '# \t\na: x\ty # \t\n', 'declined'],
  ['tab on a blank line', H + 'a: 1\n\t\nb: 2\n', 'declined'],
  ['tab in a block scalar that looks like a comment', H + 'a: |\n  # x\ty\n', 'declined'],
  ['tab in a quoted scalar that looks like a comment', H + "a: 'x\n  # y\tz'\n", 'declined'],
  ['tab in a multi-line flow comment', H + 'a: [1, # \t\n  2]\n', 'declined'],
  ['multi-line flow, text after it', H + 'a: [1,\n  2] x\n', 'declined'],
  // block structure
  ['nested maps', H + 'iommu:\n  enabled: true\n  deep:\n    deeper:\n      x: 1\nnext: 2\n', 'fast'],
  ['sequence under a key, indented', H + 'pci:\n  - dev: a\n    vslot: 0x5\n  - dev: b\n', 'fast'],
  ['sequence at the key indentation', H + 'pci:\n- dev: a\n  vslot: 0x5\n- dev: b\nmemory: 1GiB\n', 'fast'],
  ['compact map with wider gap', H + 'pci:\n  -   dev: a\n      vslot: 1\n', 'fast'],
  ['sequence of scalars and flows', H + 'x:\n  - 1\n  - "two"\n  - [3]\n  - {four: 4}\n  -\n  - # c\n  - null\n', 'fast'],
  ['empty item then nested', H + 'x:\n  -\n    a: 1\n  -\n    - 2\n', 'fast'],
  ['nested sequence in compact map', H + 'x:\n  - a:\n    - 1\n    b: 2\n', 'fast'],
  ['nested sequence in compact map, indented', H + 'x:\n  - a:\n      - 1\n    b: 2\n', 'fast'],
  ['compact nested sequence', H + 'x:\n  - - 1\n    - - 2\n      -\n    - a: 1\n      b: [2]\n  - -\n  - 3\n', 'fast'],
  ['compact nested sequence, bad indent', H + 'x:\n  - - 1\n   - 2\n', 'declined'],
  ['dash value', H + 'x: - 1\n', 'declined'],
  ['bad dedent', H + 'x:\n    a: 1\n  b: 2\n', 'declined'],
  ['bad indent', H + 'x:\n  a: 1\n   b: 2\n', 'declined'],
  ['sequence bad indent', H + 'x:\n  - 1\n - 2\n', 'declined'],
  ['sequence after a scalar value', H + 'x: 1\n- 2\n', 'declined'],
  ['scalar on the next line', H + 'x:\n  1\n', 'declined'],
  ['key after a sequence at the same indent', H + 'x:\n- 1\nz: 2\n', 'fast'],
  ['.inf and .nan (ambiguous: strings in YAML 1.1)', H + 'l: .inf\nm: -.Inf\nnn: .NaN\n', 'fast'],
  ['.inf and .nan in another document', 'l: .inf\nm: -.Inf\nnn: .NaN\n', 'fast'],
  ['comments everywhere', H + '# a\nx: # b\n  # c\n  a: 1 # d\n# e\n  b: 2\n    # f\n  c:\n  # g\n    - 1\n# h\nz: 2\n', 'fast'],
  ['blank lines everywhere', H + '\nx:\n\n  a: 1\n\n  b:\n\n    - 1\n\n\nz: 2\n\n', 'fast'],
  ['a non-key line in a map', H + 'x:\n  a: 1\n  plain\n', 'declined'],
  ['too deep', H + Array.from({ length: 80 }, (_, i) => ' '.repeat(2 * i) + 'k:\n').join(''), 'declined'],
  ['deep but within the limit', H + Array.from({ length: 30 }, (_, i) => ' '.repeat(2 * i) + 'k:\n').join(''), 'fast'],
  // trailing comments: where the root ends
  ['trailing comment at column 0', H + 'pci:\n  - dev: a\n# end\n', 'fast'],
  ['trailing indented comment', H + 'pci:\n  - dev: a\n  # - dev: b\n', 'fast'],
  ['trailing comment indented deeper', H + 'pci:\n  - dev: a\n    # x\n', 'fast'],
  ['trailing comments, mixed', H + 'pci:\n  - dev: a\n\n# a\n    # b\n\n', 'fast'],
  ['trailing comments before ---', H + 'iommu:\n  a: 1\n  # c\n\n---\n' + H + 'x: 1\n  # d\n---\n' + H, 'fast'],
  ['trailing comment after a flow value', H + 'x: [1]\n  # c\n', 'fast'],
  ['trailing comment after an empty value', H + 'x:\n# c\n', 'declined'],
  ['comment on a last empty value', H + 'x: # c\n', 'declined'],
  ['last value empty', H + 'x:\n', 'fast'],
  ['last item empty', H + 'x:\n  -   \n\n', 'fast'],
  // (found by the long fuzz run: yaml takes comment lines right before a last empty item into it,
  // and the root then ends where the text does)
  ['comment line before a last empty item', H + 'x:\n- a\n# c\n- \r\n', 'declined'],
  ['indented comment line before a last empty item', H + 'x:\n  - a\n  # c\n  -\n\n', 'declined'],
  ['comment line before a last empty value', H + 'x:\n  a: 1\n# c\n  b:\n', 'fast'],
  ['comment line before an empty item, not the last', H + 'x:\n- a\n# c\n-\n- b\n', 'fast'],
  // flow collections
  ['flow collections', H + 'a: []\nb: {}\nc: [ ]\nd: { }\ne: [1, [2, [3]], {x: [4]}]\nf: {a: 1, b: [x, z], c: {d: e}}\n', 'fast'],
  ['flow with quotes', H + 'a: ["0x7b800-0x7ffff", \'b\', "c, d"]\nb: {"k": "v", \'l\': 1}\n', 'fast'],
  ['flow with spaces', H + 'a: [ a b , c ]\nb: {  x :  1  }\n', 'either'],
  ['flow negative numbers', H + 'a: [-1, -2.5, -.5]\n', 'fast'],
  ['flow trailing comma', H + 'a: [1, 2,]\n', 'declined'],
  ['flow empty entry', H + 'a: [1, , 2]\n', 'declined'],
  ['flow pair in a sequence', H + 'a: [b: 1]\n', 'declined'],
  ['flow adjacent value', H + 'a: {"b":1}\n', 'declined'],
  ['flow key without value', H + 'a: {b, c}\n', 'declined'],
  ['flow empty value', H + 'a: {b: , c: 1}\n', 'declined'],
  ['flow colon in a plain scalar', H + 'a: [http://x]\n', 'declined'],
  ['flow hash', H + 'a: [a#b]\n', 'declined'],
  ['multi-line flow', H + 'a: [1,\n  2]\nb: {x: 1,\n   z: [\n     3]}\nc:\n  - [a,\n    b]\n  - k: {p: 1,\n      q: 2} # c\n', 'fast'],
  ['multi-line flow, last value', H + 'a: [1,\n  2]\n  # c\n', 'fast'],
  ['multi-line flow, closing at the key indentation', H + 'a: [1,\n  2\n]\n', 'declined'],
  ['multi-line flow, not indented', H + 'a: [1,\n2]\n', 'declined'],
  ['multi-line flow in a sequence, not indented', H + 'a:\n  - [1,\n  2]\n', 'declined'],
  ['multi-line flow, break after an entry', H + 'a: [1\n  , 2, "x"\n  ,\n  3\n  ]\nb: {c: d\n  }\n', 'fast'],
  ['multi-line flow, plain scalar going on', H + 'a: [1\n  2]\n', 'declined'],
  ['multi-line flow, break after a colon', H + 'a: {b:\n  1}\n', 'declined'],
  ['multi-line flow, blank line inside', H + 'a: [1,\n\n  2]\n', 'declined'],
  ['multi-line flow, comment inside', H + 'a: [1, # c\n  2]\n', 'declined'],
  ['multi-line flow, comment line inside', H + 'a: [1,\n  # c\n  2]\n', 'declined'],
  ['multi-line flow, document marker inside', H + 'a: [1,\n---\n  2]\n', 'declined'],
  ['unclosed flow', H + 'a: [1, 2\n', 'declined'],
  ['flow then text', H + 'a: [1] x\n', 'declined'],
  ['flow dash entry', H + 'a: [- 1]\n', 'declined'],
  ['flow in a sequence', H + 'x:\n  - { start: 0xbd000, pages: 256 }\n  - [a, b]\n', 'fast'],
  // CRLF
  ['CRLF', crlf(H + 'iommu:\n  a: 1\nx:\n- "y"\n# c\nz:\n'), 'fast'],
  ['CRLF with trailing comment', crlf(H + 'iommu:\n  a: 1\n  # c\n'), 'fast'],
];

describe('anchors and aliases', () => {
  it('an alias of a collection is the anchored object itself, in both paths', () => {
    const text = 'apiVersion: pviommu/v1\nkind: Scenario\nname: s\ncalls:\n- flags: &id001 [read]\n  expect: &e\n    rc: 0\n- flags: *id001\n  expect: *e\n';
    expect(checkFast('t.yaml', text)).toBe('fast');
    for (const r of [loadText('t.yaml', text), loadTextSlow('t.yaml', text)]) {
      const calls = (r.docs[0]!.value as { calls: Record<string, unknown>[] }).calls;
      expect(calls[1]!.flags).toBe(calls[0]!.flags);
      expect(calls[1]!.expect).toBe(calls[0]!.expect);
    }
  });

  it('fewer alias uses than the caller allows', () => {
    const text = H + 'a: &x 1\nb: *x\nc: *x\n';
    expect(parseFast(text, 2)).toBeDefined();
    expect(parseFast(text, 1)).toBeUndefined();
    expect(parseFast(text, 0)).toBeUndefined();
    expect(parseFast(text, -1)).toBeDefined();
  });

  it("loadText passes the project's alias limit (limits.max_aliases) to the fast path", () => {
    const text = 'apiVersion: pviommu/v1\nkind: Scenario\nname: s\ncalls:\n- flags: &f [read]\n- flags: *f\n- flags: *f\n- flags: *f\n';
    for (const maxAliases of [1, 2, 3, 1000]) {
      const fast = loadText('t.yaml', text, { maxAliases });
      const slow = loadTextSlow('t.yaml', text, { maxAliases });
      expect(fast.findings.map((f) => f.rule)).toEqual(slow.findings.map((f) => f.rule));
      expect(fast.docs.length).toBe(slow.docs.length);
    }
    expect(loadText('t.yaml', text, { maxAliases: 2 }).findings.length).toBeGreaterThan(0); // over the limit: a finding
    expect(loadText('t.yaml', text, { maxAliases: 3 }).findings).toEqual([]);
  });
});

describe('hand-written edge cases', () => {
  for (const [what, text, want] of CASES) {
    it(`${what}: ${want === 'either' ? 'declined or identical' : want}`, () => {
      const got = checkFast('t.yaml', text, what);
      if (want !== 'either') expect(got).toBe(want);
      checkFast('t.yaml', crlf(text), `${what} (CRLF)`);
    });
  }
});
