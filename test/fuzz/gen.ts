/**
 * Input generators for the fuzz tests: a corpus of real config files, structure-aware mutations of
 * them (tokens YAML and the schemas care about, hostile scalar values), random bytes, and the
 * classic hostile documents (alias bombs, deep nesting).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';

export const ROOT = join(__dirname, '..', '..');

function walk(dir: string, ext: RegExp, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, ext, out);
    else if (ext.test(name)) out.push(p);
  }
  return out;
}

export interface CorpusFile {
  file: string;
  text: string;
}

function read(paths: string[]): CorpusFile[] {
  return paths.map((p) => ({ file: relative(ROOT, p).split('\\').join('/'), text: readFileSync(p, 'utf8') }));
}

/** The example repo, file by file (a repo: host, devices, domains, a scenario). */
export const LAB: CorpusFile[] = read(walk(join(ROOT, 'examples', 'lab'), /\.ya?ml$/));

/** Self-contained config files (each one a host with its devices, domains and scenarios). */
export const FIXTURES: CorpusFile[] = read([
  ...walk(join(ROOT, 'fixtures', 'rules'), /\.ya?ml$/),
  ...walk(join(ROOT, 'fixtures', 'scenarios'), /\.ya?ml$/),
]);

/** The lab as one multi-document stream (self-contained too). */
export const LAB_STREAM: CorpusFile = { file: 'lab.yaml', text: LAB.map((f) => f.text).join('\n---\n') };

export const YAML_CORPUS: CorpusFile[] = [LAB_STREAM, ...FIXTURES];

export const XL_CORPUS: CorpusFile[] = read(walk(join(ROOT, 'fixtures', 'xl'), /\.cfg$/));

// ─── hostile values ──────────────────────────────────────────────────────────────────────────

/** Scalars that stress number, frame, range, size, BDF and name parsing. */
export const NASTY_VALUES: readonly string[] = [
  '0', '-0', '-1', '1.5', '-1.5', '0.0', '1e3', '1e400', '-1e400', '.inf', '-.inf', '.nan', '.NaN',
  '0x', '0x-1', '0xg', '0x1.8', '0b101', '0o17', '017', '08', '1_000', '0x_1',
  '4503599627370495', '4503599627370496', // 2^52 − 1, 2^52
  '9007199254740991', '9007199254740993', // around 2^53
  '18446744073709551615', '18446744073709551616', '18446744073709551617', // around 2^64
  '0xffffffffffffffff', '0x10000000000000000', '0xfffffffffffff', '0x10000000000000',
  '340282366920938463463374607431768211457', '-18446744073709551616',
  '9'.repeat(400), '0x' + 'f'.repeat(300),
  '"0x100-0x1ff"', '"0x1ff-0x100"', '"0x0-0xfffffffffffff"', '"0x0-0x10000000000000"', '"-1-5"', '"0x100-"', '"-0x100"',
  '{ start: 0x100, end: 0xff }', '{ start: -1, pages: 2 }', '{ start: 0, pages: 0 }', '{ start: 0, pages: 18446744073709551616 }',
  '"512MiB"', '"0.5GiB"', '"1.5KiB"', '"4GB"', '"-4GiB"', '"99999999999999999999TiB"', '"1EiB"', '"4097"', '4095',
  '"0000:00:02.0"', '"ffff:ff:1f.7"', '"0000:00:20.0"', '"00:02.8"', '"10000:00:02.0"', '"0000:00:02.0\\u0000"',
  'true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n', '~', 'null', '12:34:56', '2001-01-01',
  '""', '"\\x1b[31mred\\x1b[0m"', '"\\u202eevil"', '"\\r\\n"', '"\\t"', '"\\0"', "'a''b'", '"' + 'x'.repeat(5000) + '"',
  '[]', '{}', '[[[[[]]]]]', '[1, 2, 3]', '{ a: 1 }', '!!binary aGVsbG8=', '!!set { a }', '!!timestamp 2001-01-01', '!custom x',
  '&a x', '*a', '*nope', '<<: *a', '|\n  block', '>-\n  folded', '? complex\n: key',
  'dom0', 'vm1', 'lab-1', 'hardware', 'guest', 'hvm', 'pv', 'pvh', 'xs', 'ta', 'none', 'strict', 'relaxed', 'passthrough',
  'pviommu/v1', 'pviommu/v2', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'prototype',
];

/** Fragments that change YAML structure. */
export const TOKENS: readonly string[] = [
  '\n', '\r\n', '\r', '\t', ' ', '  ', '\u0000', '\ufeff', '\u00a0', '\u2028', '\u0085', '\x1b[2J', '\u202e',
  ':', ': ', '- ', '-', '? ', ',', '[', ']', '{', '}', '"', "'", '#', '# pviommu-disable-next-line ', '&', '*', '!', '|', '>', '%',
  '---', '...', '\n---\n', '\n...\n', '%YAML 1.1\n---\n', '%YAML 1.2\n---\n', '%TAG ! tag:x,2000:\n---\n',
  '&a ', '*a', '<<: ', '!!str ', '!!int ', '!!map ', '!!seq ', '!<tag:yaml.org,2002:int> ',
  'apiVersion: pviommu/v1\n', 'kind: Host\n', 'kind: Domain\n', 'kind: Device\n', 'kind: Scenario\n', 'name: x\n',
  'calls:\n  - op: memory.populate_physmap\n    gfns: "0x0-0xfff"\n', 'p2m:\n  - { gfns: "0x0-0xff", mfns: "0x100-0x1ff", type: ram_rw }\n',
  '\udc00', '\ud800', '😀', 'ÿ', 'İ', 'ß',
];

// ─── mutations ───────────────────────────────────────────────────────────────────────────────

export type Mutation =
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'insert'; at: number; s: string }
  | { kind: 'value'; line: number; v: string }
  | { kind: 'dupLine'; line: number }
  | { kind: 'dropLine'; line: number }
  | { kind: 'swapLines'; a: number; b: number }
  | { kind: 'indent'; line: number; by: number }
  | { kind: 'crlf' }
  | { kind: 'tabs' }
  | { kind: 'truncate'; at: number };

const pos = fc.nat({ max: 0xffff });
const randomString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.string({ unit: fc.constantFrom(...'\0\t\n\r :-[]{}#&*!|>\'"%@`,?\\'.split('')), maxLength: 12 }),
);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: pos, len: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: pos, s: fc.oneof(fc.constantFrom(...TOKENS), fc.constantFrom(...NASTY_VALUES), randomString) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('value' as const), line: pos, v: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...NASTY_VALUES) }, { weight: 1, arbitrary: randomString }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dupLine' as const), line: pos }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dropLine' as const), line: pos }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('swapLines' as const), a: pos, b: pos }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('indent' as const), line: pos, by: fc.integer({ min: -4, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crlf' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'tabs' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: pos }) },
);

/** Apply one mutation (positions are taken modulo the text's size). */
export function mutate(text: string, m: Mutation): string {
  const lines = () => text.split('\n');
  switch (m.kind) {
    case 'delete': {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + text.slice(at + m.len);
    }
    case 'insert': {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + m.s + text.slice(at);
    }
    case 'truncate':
      return text.slice(0, m.at % (text.length + 1));
    case 'crlf':
      return text.replace(/\n/g, '\r\n');
    case 'tabs':
      return text.replace(/^( +)/gm, (s) => '\t'.repeat(Math.max(1, s.length >> 1)));
    default: {
      const ls = lines();
      if (ls.length === 0) return text;
      if (m.kind === 'value') {
        const i = m.line % ls.length;
        // replace what follows the first `key:` (or `- `) of the line with the value
        const l = ls[i]!;
        const mm = /^(\s*(?:- )?[^:#{}[\]]+:\s*|\s*- )/.exec(l);
        ls[i] = mm ? mm[1] + m.v : l + m.v;
      } else if (m.kind === 'dupLine') {
        const i = m.line % ls.length;
        ls.splice(i, 0, ls[i]!);
      } else if (m.kind === 'dropLine') {
        ls.splice(m.line % ls.length, 1);
      } else if (m.kind === 'swapLines') {
        const a = m.a % ls.length;
        const b = m.b % ls.length;
        [ls[a], ls[b]] = [ls[b]!, ls[a]!];
      } else if (m.kind === 'indent') {
        const i = m.line % ls.length;
        ls[i] = m.by >= 0 ? ' '.repeat(m.by) + ls[i] : ls[i]!.replace(new RegExp(`^ {0,${-m.by}}`), '');
      }
      return ls.join('\n');
    }
  }
}

export function applyAll(text: string, muts: readonly Mutation[]): string {
  return muts.reduce(mutate, text);
}

/** A corpus file with 1..8 mutations applied. */
export function mutatedArb(corpus: readonly CorpusFile[]): fc.Arbitrary<{ base: string; muts: Mutation[]; text: string }> {
  return fc
    .record({ i: fc.nat({ max: corpus.length - 1 }), muts: fc.array(mutationArb, { minLength: 1, maxLength: 8 }) })
    .map(({ i, muts }) => ({ base: corpus[i]!.file, muts, text: applyAll(corpus[i]!.text, muts) }));
}

// ─── hostile documents ───────────────────────────────────────────────────────────────────────

/** Billion laughs: `levels` anchors, each a list of `fan` aliases of the previous one. */
export function aliasBomb(levels = 9, fan = 10, header = 'apiVersion: pviommu/v1\nkind: Host\nname: bomb\n'): string {
  const lines = [header.trimEnd(), 'x0: &a0 "lol"'];
  for (let i = 1; i <= levels; i++) lines.push(`x${i}: &a${i} [${Array.from({ length: fan }, () => `*a${i - 1}`).join(', ')}]`);
  return lines.join('\n') + '\n';
}

/** `depth` nested flow sequences (`[[[…]]]`), block mappings, or block sequences. */
export function deepNesting(depth: number, style: 'flow-seq' | 'flow-map' | 'block-map' | 'block-seq' | 'mixed'): string {
  const head = 'apiVersion: pviommu/v1\nkind: Host\nname: deep\nram: ';
  switch (style) {
    case 'flow-seq':
      return head + '['.repeat(depth) + ']'.repeat(depth) + '\n';
    case 'flow-map':
      return head + '{a: '.repeat(depth) + '1' + '}'.repeat(depth) + '\n';
    case 'block-map': {
      // indentation grows with depth: the text is quadratic in it, so stay within the size limit
      const parts: string[] = [head + '\n'];
      for (let i = 0; i < depth; i++) parts.push(' '.repeat(i + 1) + 'k:\n');
      return parts.join('');
    }
    case 'block-seq':
      // compact nested sequences: `- - - - x`
      return head + '\n  ' + '- '.repeat(depth) + 'x\n';
    case 'mixed':
      return head + '[{a: '.repeat(depth) + '1' + '}]'.repeat(depth) + '\n';
  }
}
