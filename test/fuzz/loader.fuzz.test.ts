/**
 * Fuzzed loader (issue 7): mutated and random input through `loadText` → validate → build → static
 * rules → scenarios → every report format, and through `loadPaths` / `runCheck` on real files.
 *
 * Invariant for every input: nothing throws, no stack trace or internal error anywhere in the
 * output, every finding is well-formed (known rule, a position inside the file), the JSON and
 * SARIF outputs parse, the text output holds no terminal control character, time is bounded (a
 * watchdog kills the run instead of letting it hang) and so is memory.
 *
 * Default: a seed-fixed sample (≈ 1,500 inputs, a few seconds). PVIOMMU_FUZZ=long: ≥ 100,000.
 */
import { mkdirSync, openSync, closeSync, ftruncateSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPaths } from '../../src/config/load.js';
import { runCheck } from '../../src/check.js';
import { ToolError } from '../../src/errors.js';
import {
  LONG,
  TIMEOUT,
  Watchdog,
  assertFinding,
  assertNoStackTrace,
  assertPipeline,
  checkTexts,
  describe as show,
  fcOpts,
  peakRssMiB,
  cleanUpAfterAll,
  tempDir,
} from './harness.js';
import { LAB, YAML_CORPUS, mutatedArb, NASTY_VALUES } from './gen.js';

const dog = new Watchdog();
cleanUpAfterAll(dog);

/** Time one ordinary input may take before the watchdog kills the run. */
const INPUT_MS = 20_000;

function pipeline(files: { file: string; text: string }[], what: string) {
  const r = dog.guard(what, INPUT_MS, () => checkTexts(files));
  assertPipeline(r, files.map((f) => f.file));
  return r;
}

describe('mutated config files (corpus: examples/lab as one stream, fixtures/)', () => {
  it(`${LONG ? 'long run' : 'seed-fixed sample'}: never throws, well-formed findings and outputs`, { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(mutatedArb(YAML_CORPUS), ({ base, text }) => {
        pipeline([{ file: base, text }], `mutated ${base}: ${show(text)}`);
      }),
      fcOpts(400, 70_000),
    );
  });

  it('a mutated file inside the whole lab repo (cross-file references)', { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(fc.nat({ max: LAB.length - 1 }), mutatedArb(LAB.map((f) => ({ ...f }))), (i, m) => {
        const files = LAB.map((f, j) => (j === i ? { file: f.file, text: m.text } : f));
        pipeline(files, `lab with ${LAB[i]!.file} mutated: ${show(m.text)}`);
      }),
      fcOpts(80, 10_000),
    );
  });
});

describe('truncated documents: prefixes of every file of examples/lab, the rest of the repo intact', () => {
  it(`${LONG ? 'every prefix' : 'every line boundary and every 29th prefix'}`, { timeout: TIMEOUT }, () => {
    let n = 0;
    for (const [i, f] of LAB.entries()) {
      for (let len = 0; len <= f.text.length; len++) {
        const boundary = len === f.text.length || f.text[len] === '\n' || f.text[len - 1] === '\n';
        if (!LONG && !boundary && len % 29 !== 0) continue;
        const files = LAB.map((g, j) => (j === i ? { file: g.file, text: f.text.slice(0, len) } : g));
        pipeline(files, `${f.file} cut at ${len}`);
        n++;
      }
    }
    expect(n).toBeGreaterThan(LONG ? 4000 : 200);
  });
});

describe('random text and random bytes', () => {
  it('random strings (any code unit, lone surrogates included)', { timeout: TIMEOUT }, () => {
    fc.assert(
      fc.property(fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.string({ unit: fc.oneof(fc.constantFrom(...':-[]{}#&*!|>\'"%@`,?\n\t\r \0\ud800\udc00\ufeff'.split('')), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), maxLength: 200 }),
        ), (text) => {
        pipeline([{ file: 'r.yaml', text }], `random string ${show(text)}`);
      }),
      fcOpts(200, 10_000),
    );
  });

  it('random strings prefixed with a pviommu header (deeper into the schemas)', { timeout: TIMEOUT }, () => {
    const head = fc.constantFrom('Host', 'Device', 'Domain', 'Scenario').map((k) => `apiVersion: pviommu/v1\nkind: ${k}\nname: r\n`);
    fc.assert(
      fc.property(head, fc.string({ unit: fc.constantFrom(...'ab:01x- \n[]{},"\'&*#'.split('')), maxLength: 120 }), (h, body) => {
        pipeline([{ file: 'r.yaml', text: h + body }], `header + ${show(body)}`);
      }),
      fcOpts(200, 10_000),
    );
  });

  it('random bytes as files: invalid UTF-8 is one finding at the first bad byte, never a crash', { timeout: TIMEOUT }, async () => {
    const dir = tempDir();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const p = join(dir, 'b.yaml');
        writeFileSync(p, bytes);
        const r = await dog.guard(`random bytes ${Buffer.from(bytes).toString('hex').slice(0, 400)}`, INPUT_MS, () =>
          loadPaths([p], { cwd: dir }),
        );
        for (const f of r.findings) assertFinding(f, ['b.yaml']);
        if (!Buffer.from(bytes).equals(Buffer.from(Buffer.from(bytes).toString('utf8'), 'utf8'))) {
          expect(r.findings.map((f) => f.message)).toContain('file is not valid UTF-8; save it as UTF-8');
          expect(r.docs).toEqual([]);
        }
      }),
      fcOpts(200, 10_000),
    );
  });
});

describe('hostile values at every key of a valid repo', () => {
  // Every line of every lab file, every value of NASTY_VALUES: numbers beyond 2^53 and 2^64,
  // negative and fractional frames, bad ranges, sizes, BDFs, tags, anchors, control characters.
  it(`${LONG ? 'every line × every value' : 'a seed-fixed sample of (line, value)'}`, { timeout: TIMEOUT }, () => {
    const cases: { file: number; line: number; value: string }[] = [];
    for (const [i, f] of LAB.entries()) {
      const lines = f.text.split('\n');
      lines.forEach((l, li) => {
        if (!/^\s*(- )?[A-Za-z_]+:/.test(l)) return;
        for (const v of NASTY_VALUES) cases.push({ file: i, line: li, value: v });
      });
    }
    const rand = fc.sample(fc.nat({ max: cases.length - 1 }), { numRuns: 200, seed: 7 });
    const chosen = LONG ? cases : rand.map((k) => cases[k]!);
    for (const c of chosen) {
      const f = LAB[c.file]!;
      const lines = f.text.split('\n');
      lines[c.line] = lines[c.line]!.replace(/^(\s*(?:- )?[A-Za-z_]+:\s*).*$/, `$1${c.value}`);
      const text = lines.join('\n');
      const files = LAB.map((g, j) => (j === c.file ? { file: g.file, text } : g));
      pipeline(files, `${f.file}:${c.line + 1} = ${c.value.slice(0, 80)}`);
    }
    expect(chosen.length).toBeGreaterThan(LONG ? 5000 : 150);
  });

  it('frames beyond 2^52 / 2^64 are rejected with schema/invalid, never rounded', () => {
    const host = LAB.find((f) => f.file.endsWith('host.yaml'))!;
    for (const v of ['18446744073709551616', '0x10000000000000000', '4503599627370496', '9007199254740993', '-1', '1.5']) {
      const text = host.text.replace('foreign_offset: 0x3e00000', `foreign_offset: ${v}`);
      const files = LAB.map((g) => (g === host ? { file: g.file, text } : g));
      const r = pipeline(files, `foreign_offset ${v}`);
      const bad = r.findings.filter((f) => f.rule === 'schema/invalid' && f.file === host.file);
      expect(bad.length, `foreign_offset: ${v}`).toBeGreaterThan(0);
      // the message never shows the value rounded to a double
      for (const f of bad) expect(f.message).not.toMatch(/18446744073709552000|4503599627370496\.|9007199254740992\b/);
    }
  });
});

describe('files on disk: size limit, symlink loops, special names', () => {
  it('a 100 MB file is refused by the size limit without being read', { timeout: TIMEOUT }, async () => {
    const dir = tempDir();
    const big = join(dir, 'big.yaml');
    // sparse: 100 MB apparent size, no disk used; reading it would take ~100 MB of memory
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 100 * 1000 * 1000);
    closeSync(fd);
    writeFileSync(join(dir, 'host.yaml'), LAB.find((f) => f.file.endsWith('host.yaml'))!.text);
    const rss0 = peakRssMiB();
    const t0 = performance.now();
    const r = await dog.guard('100 MB file', 10_000, () => runCheck([dir], { cwd: dir }));
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(2000);
    expect(peakRssMiB() - rss0).toBeLessThan(60);
    const f = r.report.findings.find((x) => x.file === 'big.yaml');
    expect(f?.message).toBe('file is too large (100000000 bytes; the limit is 16777216); split it, or raise the limit');
    expect(f?.line).toBe(1);
  });

  it('symlink loops and dangling links end the walk without error', { timeout: TIMEOUT }, async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'a', 'b'), { recursive: true });
    writeFileSync(join(dir, 'a', 'host.yaml'), LAB.find((f) => f.file.endsWith('host.yaml'))!.text);
    symlinkSync('..', join(dir, 'a', 'b', 'up')); // a directory cycle
    symlinkSync('self.yaml', join(dir, 'a', 'self.yaml')); // ELOOP
    symlinkSync('loop2.yaml', join(dir, 'a', 'loop1.yaml'));
    symlinkSync('loop1.yaml', join(dir, 'a', 'loop2.yaml'));
    symlinkSync('missing.yaml', join(dir, 'a', 'dangling.yaml'));
    symlinkSync(dir, join(dir, 'a', 'b', 'root')); // back to the top
    for (const follow of [false, true]) {
      const r = await dog.guard(`symlink loops, follow=${follow}`, 10_000, () => runCheck([dir], { cwd: dir, followSymlinks: follow }));
      expect(r.files).toEqual(['a/host.yaml']);
    }
  });

  it('a symlink loop named on the command line is one ToolError line', async () => {
    const dir = tempDir();
    symlinkSync('x.yaml', join(dir, 'x.yaml'));
    const e = await runCheck(['x.yaml'], { cwd: dir }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ToolError);
    expect((e as Error).message).not.toMatch(/\n/);
    assertNoStackTrace((e as Error).message, 'the error');
  });

  it('file names with control characters and odd encodings are loaded and reported', async () => {
    const dir = tempDir();
    const host = LAB.find((f) => f.file.endsWith('host.yaml'))!.text;
    for (const name of ['\x1b[31mred.yaml', 'tab\there.yaml', 'new\nline.yaml', 'ünï çødé.yaml', '-dash.yaml', ' space.yaml']) {
      writeFileSync(join(dir, name), host.replace('name: lab-1', `name: "${Buffer.from(name).toString('hex')}"\nbogus: 1`));
    }
    const r = await runCheck([dir], { cwd: dir });
    expect(r.files).toHaveLength(6);
    for (const f of r.report.findings) assertFinding(f, r.files);
  });
});
