/**
 * Fuzzed xl.cfg path (issue 7): mutated and random xl.cfg text through `xlToDomain`, then the
 * produced Domain through the validator and the static rules together with the lab host, so every
 * finding located through the xl DocSource must point inside the .cfg. Also real files through
 * `runCheck` (the 1 MiB xl.cfg limit, invalid UTF-8).
 */
import { join } from 'node:path';
import { writeFileSync, openSync, ftruncateSync, closeSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadText, type RawDoc } from '../../src/config/load.js';
import { validateDocs } from '../../src/config/validate.js';
import { checkHost, runCheck } from '../../src/check.js';
import { xlToDomain } from '../../src/xl/to-domain.js';
import type { Finding } from '../../src/policy/types.js';
import { LONG, TIMEOUT, Watchdog, assertFinding, describe as show, fcOpts, peakRssMiB, tempDir, cleanUpAfterAll } from './harness.js';
import { LAB, NASTY_VALUES, XL_CORPUS, mutate, mutationArb, type Mutation } from './gen.js';

const dog = new Watchdog();
cleanUpAfterAll(dog);

/** The lab's host and devices (its domains minus one, so an xl domain can take a free domid). */
const LAB_DOCS: RawDoc[] = LAB.filter((f) => !/domains\/vm[123]/.test(f.file)).flatMap((f) => loadText(f.file, f.text).docs);

/** Fragments of xl.cfg syntax (libxlu's lexer) and values xl parses specially. */
const XL_TOKENS: readonly string[] = [
  '=', '+=', '"', "'", '[', ']', ',', ';', '#', '\n', '\r\n', '\t', '\\', '\\x', '\\0', '\\n', '\u0000', '\ufeff',
  'pci = [ "00:02.0" ]\n', 'pci = "00:02.0"\n', 'pci += [ "03:00.0,seize=1" ]\n', 'memory = 1024\n', 'maxmem = 0x10000000000000000\n',
  'type = "hvm"\n', 'type = "p"\n', 'builder = "hvm"\n', 'iomem = [ "fed00,2@fed00" ]\n', 'rdm = "strategy=host,policy=strict"\n',
  'name = "x"\n', '# pviommu: host=lab-1 domid=9 role=hardware\n', '# pviommu: host=\u001b[31m\n', 'passthrough = "share_pt"\n',
  '"0000:00:02.0,rdm_policy=relaxed,permissive=1,msitranslate=1,power_mgmt=1,seize=1,vslot=0x1f"', '"ffff:ff:1f.7@1f"', '"00:02.*"',
  '"00:02.0,name=x"', 'BDF=', ',,', '@', '*', '-1', '1e9', '0x', '0777', '08', '18446744073709551616', '9'.repeat(300),
];

const xlMutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 3, arbitrary: mutationArb },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat({ max: 0xffff }), s: fc.constantFrom(...XL_TOKENS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('value' as const), line: fc.nat({ max: 0xffff }), v: fc.constantFrom(...NASTY_VALUES, ...XL_TOKENS) }) },
);

const xlArb = fc.oneof(
  { weight: 6, arbitrary: fc.record({ i: fc.nat({ max: XL_CORPUS.length - 1 }), muts: fc.array(xlMutationArb, { minLength: 1, maxLength: 8 }) }).map(({ i, muts }) => ({ file: XL_CORPUS[i]!.file, text: muts.reduce(mutate, XL_CORPUS[i]!.text) })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ file: 'random.cfg', text })) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...XL_TOKENS), { maxLength: 30 }).map((ts) => ({ file: 'tokens.cfg', text: ts.join('') })) },
);

/** xl.cfg text → Domain → validated with the lab host → static rules. Returns every finding. */
function xlPipeline(file: string, text: string, opts: { host?: string; domid?: number; role?: string } = {}): Finding[] {
  const d = xlToDomain(file, text, opts);
  const { config, findings } = validateDocs([...LAB_DOCS, { source: d.source, value: d.value }]);
  const all = [...d.findings, ...findings];
  for (const hc of config.hosts) if (!hc.inputErrors) all.push(...checkHost(hc));
  return all;
}

describe('xl.cfg: mutated fixtures, random text', () => {
  it(`${LONG ? 'long run' : 'seed-fixed sample'}: never throws, findings located inside the .cfg`, { timeout: TIMEOUT }, () => {
    const files = [...LAB.map((f) => f.file)];
    fc.assert(
      fc.property(xlArb, fc.constantFrom<{ host?: string; domid?: number; role?: string }>({}, { host: 'lab-1' }, { host: 'lab-1', domid: 7 }, { role: 'hardware' }), ({ file, text }, opts) => {
        const findings = dog.guard(`xl ${file}: ${show(text)}`, 20_000, () => xlPipeline(file, text, opts));
        for (const f of findings) assertFinding(f, [file, ...files]);
        const lines = text.split(/\r\n|\r|\n/).length;
        for (const f of findings.filter((x) => x.file === file)) {
          expect(f.line, `${f.rule} ${f.message}`).toBeLessThanOrEqual(lines + 1);
        }
      }),
      fcOpts(600, 40_000),
    );
  });

  it('every prefix of every xl fixture', { timeout: TIMEOUT }, () => {
    for (const f of XL_CORPUS) {
      for (let len = 0; len <= f.text.length; len += LONG ? 1 : 17) {
        const text = f.text.slice(0, len);
        const findings = dog.guard(`xl ${f.file} cut at ${len}`, 20_000, () => xlPipeline(f.file, text, { host: 'lab-1' }));
        for (const x of findings) assertFinding(x, [f.file, ...LAB.map((l) => l.file)]);
      }
    }
  });

  it('hostile xl.cfg text: bounded time', { timeout: TIMEOUT }, () => {
    const big = 1 << 19; // within the 1 MiB xl.cfg limit
    const cases: Record<string, string> = {
      'a huge number': `name = "a"\nmemory = ${'9'.repeat(big)}\n`,
      'a huge hex number': `name = "a"\nmaxmem = 0x${'f'.repeat(big)}\n`,
      'a huge octal number': `name = "a"\nvcpus = 0${'7'.repeat(big)}\n`,
      'a long string': `name = "${'x'.repeat(big)}"\n`,
      'a long list': `name = "a"\npci = [ ${Array(big / 16).fill('"00:02.0"').join(', ')} ]\n`,
      // each `+=` used to copy the list / re-join the text so far: n appends were n² (strings: worse)
      'many list += appends': 'name = "a"\n' + 'pci += [ "03:00.0" ]\n'.repeat(big / 24),
      'many string += appends': 'name = "a"\n' + 'name += "x"\n'.repeat(big / 12),
      'many number += appends': 'name = "a"\nmemory = 1\n' + 'memory += 1\n'.repeat(big / 12),
      // the list parser recursed per level: this overflowed the stack (RangeError) before the depth limit
      'deep brackets': `name = "a"\npci = ${'['.repeat(big / 2)}${']'.repeat(big / 2)}\n`,
      'deep unclosed brackets': `name = "a"\npci = ${'['.repeat(big)}\n`,
      'many unknown options': Array.from({ length: big / 16 }, (_, i) => `opt${i} = ${i}\n`).join(''),
      'many header comments': '# pviommu: host=lab-1 domid=9\n'.repeat(big / 32) + 'name = "a"\n',
      'NUL and escapes': 'name = "a\0\x1b[2J"\nmemory = 1\0\n',
      'a pci spec with 10,000 options': `name = "a"\npci = [ "00:02.0${',seize=1'.repeat(10_000)}" ]\n`,
      'an iomem range beyond 2^64': 'name = "a"\niomem = [ "ffffffffffffffffff,ffffffffffffffffff@ffffffffffffffffff" ]\n',
    };
    for (const [name, text] of Object.entries(cases)) {
      const t0 = performance.now();
      const findings = dog.guard(`xl hostile: ${name}`, 15_000, () => xlPipeline('h.cfg', text, { host: 'lab-1' }));
      const ms = performance.now() - t0;
      expect(ms, `${name}: ${ms.toFixed(0)} ms`).toBeLessThan(15_000);
      for (const f of findings) assertFinding(f, ['h.cfg', ...LAB.map((l) => l.file)]);
    }
    expect(peakRssMiB()).toBeLessThan(3072);
  });
});

describe('xl.cfg files on disk', () => {
  it('a file over 1 MiB is one xl/syntax finding (also a 100 MB sparse one)', { timeout: TIMEOUT }, async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'host.yaml'), LAB.find((f) => f.file.endsWith('host.yaml'))!.text);
    writeFileSync(join(dir, 'big.cfg'), 'name = "a"\n' + '#'.repeat(1 << 20));
    const fd = openSync(join(dir, 'huge.cfg'), 'w');
    ftruncateSync(fd, 100 * 1000 * 1000);
    closeSync(fd);
    const t0 = performance.now();
    const r = await dog.guard('xl big files', 20_000, () => runCheck([dir], { cwd: dir }));
    expect(performance.now() - t0).toBeLessThan(5000);
    const msgs = r.report.findings.filter((f) => f.rule === 'xl/syntax').map((f) => `${f.file}: ${f.message}`);
    expect(msgs.some((m) => m.startsWith('big.cfg') && /over 1 MiB/.test(m))).toBe(true);
    expect(msgs.some((m) => m.startsWith('huge.cfg') && /over 1 MiB/.test(m))).toBe(true);
  });

  it('random bytes as .cfg files (invalid UTF-8 included)', { timeout: TIMEOUT }, async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'host.yaml'), LAB.find((f) => f.file.endsWith('host.yaml'))!.text);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        writeFileSync(join(dir, 'd.cfg'), bytes);
        const r = await dog.guard(`xl bytes ${Buffer.from(bytes).toString('hex')}`, 20_000, () => runCheck([dir], { cwd: dir }));
        for (const f of r.report.findings) assertFinding(f, r.files);
      }),
      fcOpts(60, 3000),
    );
  });
});
