/**
 * Fuzzed CLI (issue 7): mutated repos, stdin, traces, hostile `.pviommu.yaml` files and random
 * argument vectors through `main(argv, io)`.
 *
 * Invariant: `main` never throws; the exit code is 0, 1 or 2; exit 2 comes with exactly one line
 * on stderr; no stack trace or "internal error" anywhere; machine formats parse.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { run, repo as makeRepo } from '../cli/helpers.js';
import { LONG, TIMEOUT, Watchdog, assertNoStackTrace, fcOpts, cleanUpAfterAll, track } from './harness.js';
import { LAB, YAML_CORPUS, aliasBomb, deepNesting, mutatedArb, mutate, mutationArb } from './gen.js';

const repo = (files: Record<string, string>) => track(makeRepo(files));

const dog = new Watchdog();
cleanUpAfterAll(dog);

type Result = Awaited<ReturnType<typeof run>>;

/** The CLI contract for any input. */
function assertCli(r: Result, what: string, format?: string): void {
  expect([0, 1, 2], `${what}: exit ${r.code}\n${r.stderr}`).toContain(r.code);
  assertNoStackTrace(r.stdout, `${what}: stdout`);
  assertNoStackTrace(r.stderr, `${what}: stderr`);
  if (r.code === 2) {
    expect(r.stderr.endsWith('\n'), `${what}: ${JSON.stringify(r.stderr)}`).toBe(true);
    expect(r.stderr.trimEnd().split('\n'), `${what}: exit 2 needs a one-line reason: ${JSON.stringify(r.stderr)}`).toHaveLength(1);
    expect(r.stderr).toMatch(/^pviommu( [a-z-]+)?: /);
  } else if (format === 'json' || format === 'sarif') {
    JSON.parse(r.stdout);
  } else if (format === 'jsonl') {
    for (const line of r.stdout.split('\n').filter(Boolean)) JSON.parse(line);
  }
}

const LAB_FILES = Object.fromEntries(LAB.map((f) => [f.file.replace(/^examples\/lab\//, ''), f.text]));

describe('check: mutated repos on disk and on stdin', () => {
  it(`${LONG ? 'long run' : 'seed-fixed sample'}: a mutated file in the lab repo`, { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: LAB.length - 1 }), mutatedArb(LAB), fc.constantFrom('json', 'sarif', 'text', 'junit', 'github'), async (i, m, format) => {
        const files = { ...LAB_FILES, [LAB[i]!.file.replace(/^examples\/lab\//, '')]: m.text };
        const dir = repo(files);
        const r = await dog.guard(`cli check (${format}) with ${LAB[i]!.file} mutated`, 30_000, () => run(['check', '.', '--format', format], { cwd: dir }));
        assertCli(r, `check --format ${format}`, format);
      }),
      fcOpts(60, 5000),
    );
  });

  it('mutated documents on stdin', { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(mutatedArb(YAML_CORPUS), async (m) => {
        const r = await dog.guard(`cli check - (${m.base})`, 30_000, () => run(['check', '-', '--format', 'json'], { stdin: m.text }));
        assertCli(r, `check - (${m.base})`, 'json');
      }),
      fcOpts(60, 5000),
    );
  });
});

describe('emulate: mutated traces through the CLI', () => {
  const calls = [
    { op: 'iommu.lookup_foreign_page', domid: 'vm1', gfn: '0x100' },
    { op: 'device.dma', device: 'igd', bfn_of: 0, access: 'write' },
    { op: 'memory.decrease_reservation', caller: 'vm1', gfns: ['0x100'] },
    { op: 'memory.populate_physmap', caller: 'vm3', gfns: ['0x200000'] },
    { op: 'iommu.unmap_foreign_page', bfn_of: 0 },
    { op: 'memory.translate', domid: 'vm2', gfns: ['0x0-0x3'] },
  ];
  const base = calls.map((c) => JSON.stringify(c)).join('\n') + '\n';
  it('a mutated trace: exit 0/1 with parseable jsonl, or a one-line exit 2', { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutationArb, { minLength: 1, maxLength: 6 }), fc.constantFrom('jsonl', 'json', 'text'), async (muts, format) => {
        const dir = repo({ ...LAB_FILES, 't.jsonl': muts.reduce(mutate, base) });
        const r = await dog.guard('cli emulate --trace (mutated)', 30_000, () => run(['emulate', '.', '--trace', 't.jsonl', '--host', 'lab-1', '--format', format, '--quiet'], { cwd: dir }));
        assertCli(r, `emulate --trace --format ${format}`, format);
      }),
      fcOpts(50, 5000),
    );
  });
});

describe('hostile repos through the CLI', () => {
  const host = LAB_FILES['host.yaml']!;
  const cases: Record<string, () => string> = {
    'a 100 MB file (refused by the size limit, quickly)': () => {
      const dir = repo({ 'host.yaml': host });
      const fd = openSync(join(dir, 'big.yaml'), 'w');
      ftruncateSync(fd, 100 * 1000 * 1000);
      closeSync(fd);
      return dir;
    },
    'billion laughs': () => repo({ 'host.yaml': host, 'bomb.yaml': aliasBomb(9, 10) }),
    '10,000-deep nesting': () => repo({ 'host.yaml': host, 'deep.yaml': deepNesting(10_000, 'flow-seq') }),
    'invalid UTF-8, a BOM, CRLF, tabs, NUL': () => {
      const dir = repo({ 'host.yaml': '\ufeff' + host.replace(/\n/g, '\r\n'), 'tabs.yaml': host.replace(/^ {2}/gm, '\t'), 'nul.yaml': host.replace('lab-1', 'lab\u00001') });
      writeFileSync(join(dir, 'latin1.yaml'), Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xe9, 0xff, 0x0a]));
      return dir;
    },
    'symlink loops': () => {
      const dir = repo(LAB_FILES);
      mkdirSync(join(dir, 'a'));
      symlinkSync('..', join(dir, 'a', 'up'));
      symlinkSync('self.yaml', join(dir, 'self.yaml'));
      return dir;
    },
    'numbers beyond 2^64, negative and fractional frames': () =>
      repo({ ...LAB_FILES, 'host.yaml': host.replace('foreign_offset: 0x3e00000', 'foreign_offset: 0x10000000000000000').replace('xen_mfns: "0x100-0x8ff"', 'xen_mfns: [-1, 1.5, 18446744073709551617]') }),
    '.pviommu.yaml nested 10,000 deep': () => repo({ ...LAB_FILES, '.pviommu.yaml': `ignore: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n` }),
    '.pviommu.yaml alias bomb': () => repo({ ...LAB_FILES, '.pviommu.yaml': aliasBomb(9, 10, 'rules: {}') }),
    '.pviommu.yaml raising the limits beyond their ceilings': () => repo({ ...LAB_FILES, '.pviommu.yaml': 'limits: { max_file_bytes: 99999999999999, max_aliases: 99999999999 }\n' }),
    '.pviommu.yaml with 100,000 ignore globs': () => repo({ ...LAB_FILES, '.pviommu.yaml': `ignore: [${Array(100_000).fill('"x/**"').join(',')}]\n` }),
    '.pviommu.yaml with a rule id holding escapes and newlines': () => repo({ ...LAB_FILES, '.pviommu.yaml': 'rules: { "a\\e[2J\\nb": off }\n' }),
    '.pviommu.yaml that is not a mapping': () => repo({ ...LAB_FILES, '.pviommu.yaml': '- 1\n- 2\n' }),
    '.pviommu.yaml with several documents': () => repo({ ...LAB_FILES, '.pviommu.yaml': 'ignore: []\n---\nignore: []\n' }),
  };
  for (const [name, make] of Object.entries(cases)) {
    for (const format of ['text', 'json']) {
      it(`${name} (${format})`, { timeout: TIMEOUT }, async () => {
        const dir = make();
        const t0 = performance.now();
        const r = await dog.guard(`cli hostile: ${name}`, 30_000, () => run(['check', '.', '--format', format], { cwd: dir }));
        expect(performance.now() - t0).toBeLessThan(15_000);
        assertCli(r, name, format);
      });
    }
  }
});

describe('random argument vectors', () => {
  const words = [
    'check', 'emulate', 'translate', 'inspect', 'rules', 'explain', 'schema', 'import-xl', 'merge', 'help',
    '-f', '--format', 'text', 'json', 'sarif', 'junit', 'github', 'jsonl', 'xml', '-o', '--output', '/dev/null',
    '--max-warnings', '-1', '0', '1e3', '--rule', 'dom0/relaxed-iommu=off', 'nope=off', 'x', '--quiet', '-q',
    '--scenario', 'xengt-pv-iommu', '--trace', 'missing.jsonl', '--host', 'lab-1', '--domain', 'vm1', '--gfn', '0x100', '0x10000000000000',
    '--what', 'p2m,iommu', '--abi', 'ta', '--shard', '1/2', '0/0', '--follow-symlinks', '--color', '--no-color', '--debug',
    '--kind', 'Host', 'dma/isolation', '--config', 'none.yaml', '--xl', 'x.cfg', '-', '', '--', '-V', '--help', '\x1b[2J',
  ];
  it('never throw, never a stack trace, exit code 0/1/2', { timeout: TIMEOUT }, async () => {
    const cwd = repo(LAB_FILES);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...words), { maxLength: 7 }), async (argv) => {
        if (argv.includes('--debug')) return; // --debug prints stack traces of internal errors by design
        const r = await dog.guard(`argv ${JSON.stringify(argv)}`, 30_000, () => run(argv, { cwd, stdin: 'apiVersion: pviommu/v1\nkind: Host\nname: s\nram: 1GiB\n' }));
        expect([0, 1, 2], `${JSON.stringify(argv)}: ${r.stderr}`).toContain(r.code);
        assertNoStackTrace(r.stdout + r.stderr, JSON.stringify(argv));
      }),
      fcOpts(150, 10_000),
    );
  });
});
