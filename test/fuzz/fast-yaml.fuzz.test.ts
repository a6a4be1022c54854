/**
 * Fuzzed YAML fast path (src/config/yaml/fast.ts): for every input, the fast path either declines
 * or gives exactly what the yaml pipeline gives (test/config/fast-yaml.helpers.ts).
 *
 * Inputs: mutated config files (the mutations of gen.ts, plus ones aimed at the fast path's
 * rules), random "line soup" (lines of keys, dashes, scalars, comments at random indentation),
 * random documents written in the styles of the usual emitters (yaml.stringify, PyYAML-like
 * indentless sequences, flow collections, quotes, folded long strings, block scalars, comments
 * with tabs, CRLF), and Scenario-like documents whose `description` is written over several lines
 * in every way PyYAML and hand-written templates do (plain, quoted, block scalars), mutated.
 *
 * Default: a seed-fixed sample (a few thousand inputs, a few seconds). PVIOMMU_FUZZ=long: many more.
 */
import fc from 'fast-check';
import { Document, isPair, isScalar, visit } from 'yaml';
import { describe, expect, it } from 'vitest';
import { lastDecline } from '../../src/config/yaml/fast.js';
import { checkFast, type Outcome } from '../config/fast-yaml.helpers.js';
import { LONG, TIMEOUT, describe as show, fcOpts } from './harness.js';
import { FIXTURES, LAB, NASTY_VALUES, TOKENS, mutate, mutationArb, type Mutation } from './gen.js';

/** Config files one at a time (small, so that many inputs fit in the default run). */
const CORPUS = [...LAB, ...FIXTURES.filter((f) => f.text.length < 6000)];

/** Fragments aimed at the fast path's own rules. */
const FAST_TOKENS: readonly string[] = [
  ': ', ':', ' #', '#', '- ', '-', '---', '--- ', '...', '  ', '   ', '\n  ', '\n- ', '\n  - ', '\n#', '\n  #', '\n\n',
  '"', "'", "''", '\\', '\\x41', '\\u00e9', '\\t', '[', ']', '{', '}', ', ', ',', '[]', '{}', '[a, b]', '{a: 1}', '{ a: [1, 2] }',
  '~', 'null', 'true', 'yes', 'on', '0x1f', '0o17', '010', '1.5', '.inf', '-.nan', '1e3', '1_0', '12:30', '"k": ', "'k': ",
  'apiVersion: pviommu/v1\n', 'apiVersion: pviommu/v2\n', '__proto__: ', 'constructor: ', '\r\n', '\t', '\u00a0', '\ufeff',
  '|', '>', '|-', '>+', '|2', ': |\n  ', ': >-\n    ', '\n   ', '\n\n  ', '\\\n  ', "'\n  ", '"\n  ', ' # \t', '#\t', '\n  \n',
  '&id001 ', '*id001', '&a', '*a', '&a ', ' *a', ': &a\n  ', ': *a\n', '- &a ', '- *a',
  '\n...\n', '... # e\n', '\n...', '%YAML 1.2\n---\n', '%YAML 1.1\n', '\n%YAML 1.2\n', '%TAG ! x\n', '...\n---\n',
  '# pviommu-disable-next-line pci/seize -- r\n', ' # pviommu-disable-next-line a/b, c/d -- why', '#pviommu-disable-next-line a/b\n',
  '\n  # pviommu-disable-next-line x/y -- z\n', '# pviommu-enable a/b -- r', 'pviommu-', ' #\tpviommu-disable-next-line a/b -- r',
];

const fastMutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: mutationArb },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat({ max: 0xffff }), s: fc.constantFrom(...FAST_TOKENS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('indent' as const), line: fc.nat({ max: 0xffff }), by: fc.integer({ min: -3, max: 3 }) }) },
);

const mutated = fc
  .record({ i: fc.nat({ max: CORPUS.length - 1 }), muts: fc.array(fastMutationArb, { minLength: 1, maxLength: 4 }) })
  .map(({ i, muts }) => ({ base: CORPUS[i]!.file, text: muts.reduce(mutate, CORPUS[i]!.text) }));

// ─── line soup ───────────────────────────────────────────────────────────────────────────────

const KEYS = ['a', 'b', 'apiVersion', 'kind', 'name', 'memory', 'pci', 'dev', 'y', 'on', '1', '"q"', "'s'", '"a b"', 'k-1', 'k.x', '__proto__', '~'];
const SCALARS = [
  'pviommu/v1', 'Host', 'x', 'a b', '0', '-1', '0x10', '0o7', '010', '1.5', '-0.0', '.inf', '.NaN', '1e3', 'null', '~', 'true', 'False', 'yes',
  '"s"', "'t'", '"a\\tb"', "'it''s'", '""', '[]', '{}', '[1, "2", [3]]', '{a: 1, b: [x]}', '{ "k": v }', 'a#b', 'a # c', 'http://x', 'a: b',
  '- x', '&a x', '*a', '!t x', '|', '>', '@x', '"unclosed', '[1, 2', '18446744073709551616', '9'.repeat(300),
  '|-', '>+', '| # c', '>2', "'opens", '"opens', 'opens \\', 'two words', '0', 'yes',
  '&a', '&a [1]', '&a yes', '*a # c', '&id001 "q"', '*id001', '*b', '&b', '&b {x: 1}',
];
const line = fc.tuple(
  fc.constantFrom(0, 0, 0, 2, 2, 4, 1, 3, 6),
  fc.oneof(
    { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...SCALARS)).map(([k, v]) => `${k}: ${v}`) },
    { weight: 2, arbitrary: fc.constantFrom(...KEYS).map((k) => `${k}:`) },
    { weight: 2, arbitrary: fc.constantFrom(...SCALARS).map((v) => `- ${v}`) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...SCALARS)).map(([k, v]) => `- ${k}: ${v}`) },
    { weight: 1, arbitrary: fc.constantFrom('-', '- ', '# c', '', '---', '--- # x', '...', 'plain', '  ') },
    // lines that go on a multi-line or block scalar
    { weight: 2, arbitrary: fc.constantFrom('more words', "closes'", 'closes"', "it''s", '\\ x', '# in a scalar', 'a\tb', '10', '---') },
  ),
  fc.constantFrom('', '', '', ' ', ' # c', '  #c', ' # c\td'),
).map(([ind, body, tail]) => ' '.repeat(ind) + body + tail);
const soup = fc
  .tuple(fc.array(line, { minLength: 1, maxLength: 14 }), fc.boolean(), fc.boolean())
  .map(([lines, head, cr]) => {
    const text = (head ? 'apiVersion: pviommu/v1\n' : '') + lines.join('\n') + '\n';
    return cr ? text.replace(/\n/g, '\r\n') : text;
  });

// ─── documents as emitters write them ────────────────────────────────────────────────────────

const keyArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('name', 'memory', 'dev', 'vslot', 'bdf', 'gfns', 'start', 'pages', 'op', 'expect', 'x_y', 'k-2', 'a.b', 'Key') },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'abcz019 :-#"\'[]{},._/'.split('')), minLength: 1, maxLength: 6 }) },
  { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...'abcz019_-'.split('')), minLength: 1, maxLength: 8 }) },
);
const scalarArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, -0, 1e21, 0.1, Number.POSITIVE_INFINITY, Number.NaN, 2n ** 64n, 0x7b800n, '') },
  { weight: 3, arbitrary: fc.constantFrom('vm01', 'pviommu/v1', '0x7b800-0x7ffff', '0000:00:02.0', '00:17.0', '512MiB', 'yes', 'no', 'on', '010', '1_000', '12:30', 'null', '~', 'true', '-', '.inf') },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'ab z09:#-"\'[]{},.\\/é\n\t'.split('')), maxLength: 10 }) },
  { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(...'abz09-./_ '.split('')), minLength: 1, maxLength: 10 }) },
  // prose, long enough to be folded, with line breaks
  {
    weight: 2,
    arbitrary: fc
      .array(fc.constantFrom('the', 'page', 'PV-IOMMU.', 'dom0', 'x:', '#1', "it's", '"q"', '-', 'yes', '010', '\\', 'é', '\n', '\n\n', ' '), { maxLength: 40 })
      .map((w) => w.join(' ')),
  },
  fc.integer({ min: -5000, max: 5000 }),
  fc.double({ noDefaultInfinity: true, noNaN: true }),
);
const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarArb,
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('tree'), { maxKeys: 5 }),
  ),
}));
const docArb = fc.tuple(fc.dictionary(keyArb, tree, { minKeys: 1, maxKeys: 6 }), fc.boolean()).map(([d, pv]) =>
  pv ? { apiVersion: 'pviommu/v1', kind: 'Domain', ...d } : d,
);
const styleArb = fc.record({
  indent: fc.constantFrom(2, 4),
  indentSeq: fc.boolean(),
  flowLevel: fc.constantFrom(0, 1, 2, 3),
  quote: fc.boolean(),
  docs: fc.integer({ min: 1, max: 3 }),
  lead: fc.boolean(),
  comments: fc.constantFrom(0, 0, 1, 3),
  tab: fc.boolean(),
  // long strings folded over lines, in each style
  lineWidth: fc.constantFrom(0, 0, 24, 40, 80),
  strType: fc.constantFrom(...(['PLAIN', 'PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE', 'BLOCK_LITERAL', 'BLOCK_FOLDED'] as const)),
  cr: fc.boolean(),
  // document markers: `...` after each document (with or without the next `---`), `%YAML` before each `---`
  ends: fc.constantFrom('none', 'none', 'end', 'bare', 'directive'),
  seed: fc.nat(),
});
type Style = typeof styleArb extends fc.Arbitrary<infer S> ? S : never;

/** Documents in `style`; an object a document holds twice is written as `&id001` … `*id001` (as PyYAML does). */
function emit(docs: unknown[], s: Style): string {
  let r = s.seed;
  const rnd = (): number => (r = (r * 1103515245 + 12345) >>> 0) >>> 8;
  const parts = docs.slice(0, s.docs).map((d) => {
    const doc = new Document(d, { anchorPrefix: 'id00' });
    if (s.flowLevel > 0) {
      // small collections of scalars inline, as hand-written files and some emitters do
      visit(doc, {
        Collection(_, node) {
          const leaf = node.items.every((i) => isScalar(i) || (isPair(i) && isScalar(i.key) && isScalar(i.value)));
          if (leaf && rnd() % 4 < s.flowLevel) node.flow = true;
        },
      });
    }
    let text = doc.toString({
      indent: s.indent,
      indentSeq: s.indentSeq,
      singleQuote: s.quote,
      lineWidth: s.lineWidth,
      minContentWidth: 0,
      defaultStringType: s.strType,
    });
    if (s.comments > 0) {
      const note = s.tab ? '# note\twith tab' : '# note';
      const lines = text.split('\n');
      for (let i = 0; i < s.comments; i++) {
        const at = rnd() % (lines.length + 1);
        const ind = rnd() % 6;
        // (a comment line inside a block or quoted scalar is content: the tab declines there)
        if (rnd() & 1) lines.splice(at, 0, ' '.repeat(ind) + note);
        else if (at < lines.length && lines[at] !== '' && !/[|>][-+]?$/.test(lines[at]!)) lines[at] += ' ' + note;
      }
      text = lines.join('\n');
    }
    return text;
  });
  let text =
    s.ends === 'end' ? parts.map((p) => `---\n${p}...\n`).join('') :
    s.ends === 'bare' ? parts.map((p) => `${p}... # end\n`).join('') :
    s.ends === 'directive' ? parts.map((p) => `%YAML 1.2\n---\n${p}...\n`).join('') :
    (s.lead ? '---\n' : '') + parts.join('---\n');
  if (s.cr) text = text.replace(/\n/g, '\r\n');
  return text;
}
const emitted = fc.tuple(fc.array(docArb, { minLength: 3, maxLength: 3 }), styleArb).map(([docs, s]) => emit(docs, s));

/**
 * Scenario-like documents whose calls share objects (flag lists, expected results), written with
 * PyYAML-style anchors and aliases: the first use of a shared object anchored, the others aliases.
 */
const sharedObjArb = fc.oneof(
  fc.array(scalarArb, { minLength: 1, maxLength: 3 }),
  fc.dictionary(keyArb, fc.oneof(scalarArb, fc.array(scalarArb, { maxLength: 2 })), { minKeys: 1, maxKeys: 3 }),
  fc.constant(['read', 'write']),
  fc.constant({ rc: 0n }),
);
const sharing = fc
  .tuple(
    fc.array(sharedObjArb, { minLength: 1, maxLength: 3 }),
    fc.array(fc.tuple(fc.constantFrom('flags', 'expect', 'gfns'), fc.nat()), { minLength: 2, maxLength: 8 }),
    fc.array(scalarArb, { maxLength: 2 }),
    styleArb,
  )
  .map(([shared, uses, extra, s]) => {
    const calls = uses.map(([k, i], n) => ({
      op: `op${n}`,
      [k]: shared[i % shared.length],
      ...(n === 0 ? { list: [shared[0], ...extra, shared[0]] } : {}),
    }));
    const doc = { apiVersion: 'pviommu/v1', kind: 'Scenario', name: 's', calls, last: shared[shared.length - 1] };
    return emit([doc, doc, doc], s);
  });
const sharingMutated = fc.tuple(sharing, fc.array(fastMutationArb, { maxLength: 2 })).map(([text, muts]) => muts.reduce(mutate, text));

// ─── descriptions over several lines ─────────────────────────────────────────────────────────

const WORDS = ['GVT-g', 'mediator', 'in', 'dom0', 'shadows', 'GTT', 'pages', 'via', 'the', 'PV-IOMMU.', 'a', 'of', 'it', "it's", '"q"', 'x:', 'y', '#', 'a#b', '-', '--', '0x10', '010', 'yes', '1', '\\', 'é', '{a}', '[b]', 'c,'];
const paragraphArb = fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 24 }).map((w) => w.join(' '));

/** `words` broken into lines of at most `width` characters (at least one word each), as PyYAML folds. */
function fold(words: string, width: number): string[] {
  const lines: string[] = [];
  for (const w of words.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last]!.length + 1 + w.length <= width) lines[last] += ' ' + w;
    else lines.push(w);
  }
  return lines;
}

/**
 * A Scenario whose `description` (a few paragraphs) is written over lines: plain or quoted and
 * folded, or a block scalar with each chomping indicator; at the top, in a nested mapping or in
 * a sequence item; followed by more keys, comments (with tabs), blank lines, `---` or nothing.
 */
const described = fc
  .record({
    paras: fc.array(paragraphArb, { minLength: 1, maxLength: 3 }),
    style: fc.constantFrom('plain', 'single', 'double', '|', '>'),
    chomp: fc.constantFrom('', '', '-', '+'),
    headerComment: fc.boolean(),
    where: fc.constantFrom('top', 'nested', 'item'),
    extra: fc.integer({ min: 1, max: 3 }), // indentation of the lines after the first, past the key's
    width: fc.constantFrom(16, 40, 80),
    trailingBreak: fc.boolean(),
    blankAfter: fc.constantFrom(0, 0, 1, 2),
    after: fc.constantFrom('key', 'key', 'comment', 'tabComment', 'doc', 'end'),
    cr: fc.boolean(),
  })
  .map((r) => {
    const [prefix, keyInd] = r.where === 'top' ? ['', 0] : r.where === 'nested' ? ['meta:\n  ', 2] : ['calls:\n- op: x\n  ', 2];
    const pad = ' '.repeat(keyInd + r.extra);
    let value: string;
    if (r.style === '|' || r.style === '>') {
      // a folded scalar's paragraphs are separated by a blank line, a literal's lines kept
      const lines = r.style === '>' ? r.paras.flatMap((p, i) => [...(i > 0 ? [''] : []), ...fold(p, r.width)]) : r.paras;
      value = r.style + r.chomp + (r.headerComment ? ' # c' : '') + '\n' + lines.map((l) => (l === '' ? '' : pad + l)).join('\n');
    } else {
      // flow scalars: a paragraph break is a blank line; a line break between words, a space
      const q = r.style === 'single' ? "'" : r.style === 'double' ? '"' : '';
      const esc = (p: string): string => (q === "'" ? p.replace(/'/g, "''") : q === '"' ? p.replace(/\\/g, '\\\\').replace(/"/g, '\\"') : p);
      const lines = r.paras.flatMap((p, i) => [...(i > 0 ? [''] : []), ...fold(esc(p), r.width)]);
      value = q + lines.map((l, i) => (i === 0 || l === '' ? l : pad + l)).join('\n') + (q !== '' && r.trailingBreak ? '\n\n' + pad : '') + q;
    }
    const tail =
      r.after === 'key' ? `${' '.repeat(keyInd)}next: 1\n` : r.after === 'comment' ? `${pad}# c\n# d\n` : r.after === 'tabComment' ? '# c\td\n' : r.after === 'doc' ? '---\nx: 1\n' : '';
    const doc = `apiVersion: pviommu/v1\nkind: Scenario\nname: s\n${prefix}description: ${value}\n${'\n'.repeat(r.blankAfter)}${tail}`;
    return r.cr ? doc.replace(/\n/g, '\r\n') : doc;
  });
const describedMutated = fc
  .tuple(described, fc.array(fastMutationArb, { maxLength: 2 }))
  .map(([text, muts]) => muts.reduce(mutate, text));

// ─── runs ────────────────────────────────────────────────────────────────────────────────────

/** PVIOMMU_FUZZ_STATS=1 prints why inputs were declined (`show`: with an example of each). */
const STATS = process.env.PVIOMMU_FUZZ_STATS !== undefined;

function run(arb: fc.Arbitrary<string>, runs: number, longRuns: number): Record<Outcome, number> {
  const seen: Record<Outcome, number> = { fast: 0, declined: 0 };
  const why = new Map<string, number>();
  fc.assert(
    fc.property(arb, (text) => {
      const o = checkFast('f.yaml', text, show(text, 2000));
      seen[o]++;
      if (STATS && o === 'declined') {
        if (!why.has(lastDecline()) && process.env.PVIOMMU_FUZZ_STATS === 'show') console.log(lastDecline(), JSON.stringify(text));
        why.set(lastDecline(), (why.get(lastDecline()) ?? 0) + 1);
      }
    }),
    fcOpts(runs, longRuns),
  );
  if (STATS) console.log(seen, [...why].sort((a, b) => b[1] - a[1]));
  return seen;
}

describe('the fast path declines or agrees with the yaml pipeline', () => {
  it(`${LONG ? 'long run' : 'seed-fixed sample'}: mutated config files`, { timeout: TIMEOUT }, () => {
    const seen = run(mutated.map((m) => m.text), 1500, 100_000);
    // mutations often keep the file inside the subset: the comparison is exercised
    expect(seen.fast).toBeGreaterThan(seen.declined / 10);
  });

  it(`${LONG ? 'long run' : 'seed-fixed sample'}: line soup`, { timeout: TIMEOUT }, () => {
    const seen = run(soup, 1500, 100_000);
    expect(seen.fast).toBeGreaterThan(20);
  });

  it(`${LONG ? 'long run' : 'seed-fixed sample'}: documents as emitters write them`, { timeout: TIMEOUT }, () => {
    const seen = run(emitted, 800, 50_000);
    expect(seen.fast).toBeGreaterThan(100);
  });

  it(`${LONG ? 'long run' : 'seed-fixed sample'}: shared objects through PyYAML-style anchors`, { timeout: TIMEOUT }, () => {
    const seen = run(sharing, 600, 40_000);
    expect(seen.fast).toBeGreaterThan(100);
    run(sharingMutated, 600, 40_000);
  });

  it(`${LONG ? 'long run' : 'seed-fixed sample'}: descriptions over several lines, mutated`, { timeout: TIMEOUT }, () => {
    const seen = run(describedMutated, 1500, 100_000);
    // most unmutated descriptions are in the subset (PyYAML's and hand-written forms)
    expect(seen.fast).toBeGreaterThan(seen.declined);
  });

  it('the values of NASTY_VALUES and TOKENS at every position of a small file', () => {
    const base = 'apiVersion: pviommu/v1\nkind: Domain\nname: vm1\npci:\n  - dev: a\n    vslot: 5\nx: [1, {b: 2}]\n';
    const ends = [...base.matchAll(/\n/g)].map((m) => m.index!);
    for (const v of [...NASTY_VALUES.filter((s) => s.length < 100), ...TOKENS]) {
      for (const at of LONG ? Array.from({ length: base.length + 1 }, (_, i) => i) : [...ends, 12, 27, 47, 60]) {
        const text = base.slice(0, at) + v + base.slice(at);
        checkFast('n.yaml', text, show(text));
      }
    }
  });
});
