/**
 * Hostile documents (issue 7): the classic attacks on a YAML reader, each through the whole
 * in-memory pipeline (load → validate → build → rules → scenarios → every report format).
 *
 * Each must end with findings (never a crash, never a stack trace) within a time bound that the
 * watchdog enforces, and the process's peak memory must stay bounded. The default run uses
 * smaller counts for the count-based cases; PVIOMMU_FUZZ=long uses the full sizes.
 */
import { describe, expect, it } from 'vitest';
import { loadText } from '../../src/config/load.js';
import { LONG, TIMEOUT, Watchdog, assertPipeline, checkTexts, heapMiB, peakRssMiB, cleanUpAfterAll } from './harness.js';
import { LAB, aliasBomb, deepNesting } from './gen.js';

const dog = new Watchdog();
cleanUpAfterAll(dog);

/** Count-based cases shrink in the default run (the long run checks the full sizes). */
const K = LONG ? 1 : 0.2;
const n = (x: number) => Math.round(x * K);

/**
 * Hard bounds: time per input (the watchdog kills the run beyond it), the process's peak RSS (a
 * high-water mark over the whole file: garbage of earlier inputs counts too), and in the long run
 * the heap each input leaves behind after a full collection.
 */
const HOSTILE_MS = 15_000;
const PEAK_RSS_MIB = 3072;
const RETAINED_HEAP_MIB = 512;

type Result = ReturnType<typeof checkTexts>;
const rules = (r: Result) => r.findings.map((f) => f.rule);
const messages = (r: Result) => r.findings.map((f) => f.message).join('\n');

function hostile(name: string, text: string | (() => string), check?: (r: Result) => void): void {
  it(name, { timeout: TIMEOUT }, () => {
    const t = typeof text === 'string' ? text : text();
    const t0 = performance.now();
    const r = dog.guard(`hostile: ${name}`, HOSTILE_MS, () => checkTexts([{ file: 'h.yaml', text: t }]));
    const ms = performance.now() - t0;
    assertPipeline(r, ['h.yaml']);
    expect(ms, `${name} took ${ms.toFixed(0)} ms`).toBeLessThan(HOSTILE_MS);
    expect(peakRssMiB(), 'peak RSS of the process').toBeLessThan(PEAK_RSS_MIB);
    check?.(r);
    if (LONG) expect(heapMiB(), 'heap retained after the input').toBeLessThan(RETAINED_HEAP_MIB);
  });
}

describe('alias bombs (limits.max_aliases, default 1000)', () => {
  hostile('billion laughs (10^9 expansions) is refused', aliasBomb(9, 10), (r) => {
    expect(messages(r)).toMatch(/too many alias expansions \(more than 1000\)/);
    expect(r.docs).toBe(0);
  });
  hostile('a wide alias bomb (one anchor, 100,000 aliases)', () => `apiVersion: pviommu/v1\nkind: Host\nname: w\nx: &a [1]\ny: [${Array(100_000).fill('*a').join(',')}]\n`, (r) => {
    expect(messages(r)).toMatch(/too many alias expansions/);
  });
  hostile('an alias bomb of mappings', aliasBomb(12, 5).replace(/\[([^\]]*)\]/g, (_, s: string) => `{${s.split(', ').map((x, i) => `k${i}: ${x}`).join(', ')}}`), (r) => {
    expect(messages(r)).toMatch(/too many alias expansions/);
  });
  hostile('an alias inside its own anchor (cyclic data)', 'apiVersion: pviommu/v1\nkind: Host\nname: c\nx: &a [1, *a]\n', (r) => {
    expect(messages(r)).toMatch(/inside the node it refers to/);
  });
  hostile('an alias bomb in a document that is not pviommu\'s is skipped without expanding it', aliasBomb(9, 10, 'kind: Other'), (r) => {
    expect(r.findings).toEqual([]);
  });
  hostile('an alias bomb in a scenario call', [
    LAB.map((f) => f.text).join('\n---\n'),
    aliasBomb(9, 10, 'apiVersion: pviommu/v1\nkind: Scenario\nname: b\nhost: lab-1\ncalls: []'),
  ].join('\n---\n'), (r) => expect(messages(r)).toMatch(/too many alias expansions/));

  // yaml's limit counts alias uses, not their size: 1000 uses of a 100,000-item list passed it,
  // and normalizing the value then copied 10^8 items (a million-item list: out of memory).
  hostile('1000 aliases of a big anchored list (size amplification)', () => `apiVersion: pviommu/v1\nkind: Host\nname: a\nram: 1GiB\nx: &a [${Array(n(150_000)).fill('1').join(',')}]\ny: [${Array(1000).fill('*a').join(',')}]\n`, (r) => {
    expect(messages(r)).toContain('expand it to more than 1000000 values');
    expect(r.docs).toBe(0);
  });
  hostile('aliases of a big anchored call list in a scenario', () => [
    LAB.map((f) => f.text).filter((t) => !/kind: Scenario/.test(t)).join('\n---\n'),
    `apiVersion: pviommu/v1\nkind: Scenario\nname: a\nhost: lab-1\nx: &g [${Array(n(20_000)).fill('"0x100"').join(',')}]\ncalls:\n` +
      Array.from({ length: 500 }, () => '  - { op: memory.decrease_reservation, caller: vm1, gfns: *g }\n').join(''),
  ].join('\n---\n'), (r) => expect(messages(r)).toContain('expand it to more than 1000000 values'));

  it('a smaller max_aliases refuses smaller bombs', () => {
    const r = loadText('a.yaml', aliasBomb(2, 10), { maxAliases: 50 });
    expect(r.findings.map((f) => f.message).join('\n')).toMatch(/more than 50/);
    expect(loadText('a.yaml', aliasBomb(2, 5), { maxAliases: 50 }).findings).toEqual([]);
  });
});

describe('deep nesting (MAX_NESTING)', () => {
  for (const style of ['flow-seq', 'flow-map', 'block-map', 'block-seq', 'mixed'] as const) {
    // block mappings indent one more space per level: 3,000 levels are already 4.5 MB
    const depth = style === 'block-map' ? 3000 : 10_000;
    hostile(`${depth}-deep nesting (${style})`, () => deepNesting(depth, style), (r) => {
      expect(rules(r)).toContain('yaml/syntax');
      expect(messages(r)).toMatch(/nested too deeply/);
    });
  }
  hostile('100,000-deep flow nesting', () => deepNesting(100_000, 'flow-seq'), (r) => expect(messages(r)).toMatch(/nested too deeply/));
  hostile('nesting below the limit loads', deepNesting(200, 'flow-seq'), (r) => {
    expect(messages(r)).not.toMatch(/nested too deeply/);
  });
});

describe('huge numbers: BigInt ↔ decimal is quadratic, so literals are length-limited', () => {
  // Before the length limits, one 4 MiB number took about a minute (16 MiB: a quarter of an hour).
  const big = LONG ? 4 << 20 : 1 << 20;
  hostile(`a plain integer of ${big} digits`, () => `apiVersion: pviommu/v1\nkind: Host\nname: n\nram: ${'9'.repeat(big)}\n`, (r) => {
    expect(messages(r)).toContain(`integer of ${big} characters`);
  });
  hostile(`a hex integer of ${big} digits`, () => `apiVersion: pviommu/v1\nkind: Host\nname: n\nxen_mfns: 0x${'f'.repeat(big)}\n`, (r) => {
    expect(messages(r)).toContain(`integer of ${big + 2} characters`);
  });
  hostile(`a quoted number of ${big} digits`, () => `apiVersion: pviommu/v1\nkind: Host\nname: n\nram: 1GiB\npv_iommu: { foreign_offset: "${'9'.repeat(big)}" }\n`, (r) => {
    expect(messages(r)).toContain(`a number of ${big} characters is beyond any value`);
  });
  hostile(`a size string of ${big} digits`, () => `apiVersion: pviommu/v1\nkind: Host\nname: n\nram: "${'9'.repeat(big)}GiB"\n`, (r) => {
    expect(messages(r)).toContain(`a size of ${big + 3} characters`);
  });
  hostile('a huge YAML 1.1 sexagesimal', () => `apiVersion: pviommu/v1\nkind: Host\nname: n\nram: 1${':59'.repeat(big / 3)}\n`);
  hostile('a huge frame range string', () => `apiVersion: pviommu/v1\nkind: Host\nname: n\nram: 1GiB\nxen_mfns: "1-${'9'.repeat(big)}"\n`);
  hostile('a huge number as a scenario argument', () => [
    LAB.map((f) => f.text).filter((t) => !/kind: Scenario/.test(t)).join('\n---\n'),
    `apiVersion: pviommu/v1\nkind: Scenario\nname: n\nhost: lab-1\ncalls:\n  - { op: memory.populate_physmap, caller: vm3, gfns: ["${'9'.repeat(big)}"] }\n`,
  ].join('\n---\n'));
  hostile('numbers just beyond 2^64, as integers and strings', [
    'apiVersion: pviommu/v1\nkind: Host\nname: n\nram: 18446744073709551616\nxen_mfns: "0x10000000000000000"',
    'apiVersion: pviommu/v1\nkind: Domain\nname: d\nhost: n\ndomid: 18446744073709551617\ntype: pv\nrole: hardware\nmemory: -1\n',
  ].join('\n---\n'), (r) => expect(rules(r)).toContain('schema/invalid'));
});

describe('many things', () => {
  hostile(`${n(10_000)} documents`, () => Array.from({ length: n(10_000) }, (_, i) => `apiVersion: pviommu/v1\nkind: Device\nname: d${i}\nbdf: "00:02.0"\n`).join('---\n'));
  hostile(`a mapping with ${n(50_000)} keys`, () => 'apiVersion: pviommu/v1\nkind: Host\nname: k\n' + Array.from({ length: n(50_000) }, (_, i) => `k${i}: ${i}\n`).join(''));
  hostile(`${n(50_000)} duplicate keys`, () => 'apiVersion: pviommu/v1\nkind: Host\nname: k\n' + 'ram: 1GiB\n'.repeat(n(50_000)), (r) => {
    expect(rules(r)).toContain('yaml/duplicate-key');
  });
  // Each directive looked for its target line from scratch: n consecutive directives were n² work.
  hostile(`${n(100_000)} suppression comments in a row`, () => '# pviommu-disable-next-line yaml/syntax, nope/nope -- x\n'.repeat(n(100_000)) + 'apiVersion: pviommu/v1\nkind: Host\nname: s\n');
  // yaml keeps a few hundred bytes per node: a 16 MiB `[1,1,1,…]` (8 million values) took
  // minutes and ran out of memory before the per-file value limit.
  hostile(`a flow list of ${n(8_000_000)} values (${(n(8_000_000) * 2) >> 20} MiB)`, () => `apiVersion: pviommu/v1\nkind: Host\nname: a\nram: 1GiB\nx: [${'1,'.repeat(n(8_000_000))}1]\n`, (r) => {
    expect(messages(r)).toContain('more than 200000 values in one file');
  });
  hostile(`a block mapping of ${n(1_000_000)} keys`, () => 'apiVersion: pviommu/v1\nkind: Host\nname: a\nram: 1GiB\nx:\n' + Array.from({ length: n(1_000_000) }, (_, i) => `  k${i}: 1\n`).join(''), (r) => {
    expect(messages(r)).toContain('more than 200000 values in one file');
  });
  hostile('300000 empty flow lists (values without scalars count too)', () => `apiVersion: pviommu/v1\nkind: Host\nname: a\nram: 1GiB\nx: [${'[],'.repeat(300_000)}[]]\n`, (r) => {
    expect(messages(r)).toContain('more than 200000 values in one file');
  });
  hostile('a 4 MiB line', () => `apiVersion: pviommu/v1\nkind: Host\nname: "${'x'.repeat(4 << 20)}"\n`);
  hostile(`a scenario with ${n(20_000)} calls`, () => [
    LAB.map((f) => f.text).filter((t) => !/kind: Scenario/.test(t)).join('\n---\n'),
    'apiVersion: pviommu/v1\nkind: Scenario\nname: big\nhost: lab-1\ncalls:\n' +
      Array.from({ length: n(10_000) }, (_, i) => `  - { op: iommu.lookup_foreign_page, domid: vm1, gfn: ${i} }\n  - { op: iommu.unmap_foreign_page, bfn_of: ${2 * i} }\n`).join(''),
  ].join('\n---\n'));
  hostile('calls over huge frame ranges finish (the emulator works in extents)', () => [
    LAB.map((f) => f.text).filter((t) => !/kind: Scenario/.test(t)).join('\n---\n'),
    `apiVersion: pviommu/v1
kind: Scenario
name: ranges
host: lab-1
calls:
  - { op: memory.populate_physmap, caller: vm3, gfns: "0x0-0xfffffffffffff" }
  - { op: memory.translate, domid: vm1, gfns: "0x0-0xfffffffffffff" }
  - { op: device.dma, device: igd, bfn: 0xfffffffffffff, access: write }
`,
  ].join('\n---\n'));
});

describe('encodings and control characters', () => {
  hostile('NUL bytes and terminal escapes', 'apiVersion: pviommu/v1\nkind: Host\nname: "a\0b\x1b[31m"\nram: 1GiB\u0000\n\x07\x1b]0;title\x07\n');
  hostile('a BOM, CRLF line ends and tabs', '\ufeffapiVersion: pviommu/v1\r\nkind: Host\r\nname: t\r\nram:\t1GiB\r\niommu:\r\n\tdom0: strict\r\n', (r) => {
    expect(rules(r)).toContain('yaml/syntax'); // a tab cannot indent YAML
  });
  hostile('CR-only line ends', 'apiVersion: pviommu/v1\rkind: Host\rname: t\rram: 1GiB\r');
  hostile('a BOM in the middle, a lone surrogate, RTL override', 'apiVersion: pviommu/v1\nkind: Host\nname: "\ufeff\ud800\u202e"\nram: 1GiB\n');
  hostile('%YAML 1.1 directive with 1.1-only values', '%YAML 1.1\n---\napiVersion: pviommu/v1\nkind: Host\nname: y\nram: 0b1\niommu: { enabled: yes, dom0: strict }\n');
  // A `__proto__` key used to become the prototype of the validated object: its keys passed the
  // strict schemas unseen (a Host could even take its `name` from it).
  hostile('a __proto__ key is an unknown key, not a prototype', 'apiVersion: pviommu/v1\nkind: Host\n__proto__: { name: p, ram: 2GiB, polluted: 1 }\n', (r) => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(messages(r)).toContain('Host is missing required field `name`');
    expect(messages(r)).toContain('unknown key `__proto__` of Host');
  });
  hostile('__proto__ nested, constructor and prototype keys', 'apiVersion: pviommu/v1\nkind: Host\nname: p\nram: 1GiB\niommu: { __proto__: { dom0: strict } }\nconstructor: { prototype: { polluted: 1 } }\n', (r) => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(messages(r)).toContain('unknown key `__proto__` in iommu of Host p');
    expect(messages(r)).toContain('unknown key `constructor` of Host p');
  });
});

describe('memory after the hostile inputs', () => {
  it('the heap is back to a small size (nothing retained between inputs)', () => {
    expect(heapMiB()).toBeLessThan(512);
  });
});
