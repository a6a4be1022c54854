/**
 * bin/load-bundle.js: the CLI bundle runs with the code cache made at build time, and without it
 * (none, or one this Node rejects) all the same.
 */
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { distIsFresh, ROOT } from '../cli/helpers.js';
import { memoryIo } from '../../src/commands/io.js';
// @ts-expect-error: a plain ES module of bin/, without types
import { BUNDLE, CODE_CACHE, loadBundle, sourceHash } from '../../bin/load-bundle.js';

interface Loaded {
  exports: { main: (argv: string[], io: unknown) => Promise<number> };
  script: { cachedDataRejected?: boolean };
}
const load = loadBundle as (useCache?: boolean, bundle?: string, cache?: string) => Loaded;

/** Run `pviommu check examples/lab` through a loaded bundle; its exit code and output. */
async function check(loaded: Loaded): Promise<{ code: number; out: string }> {
  const m = memoryIo({ cwd: ROOT });
  const code = await loaded.exports.main(['node', 'pviommu', 'check', 'examples/lab', '--no-color'], m.io);
  return { code, out: m.stdout() + m.stderr() };
}

describe.skipIf(!distIsFresh())('the bundled CLI', () => {
  it('is compiled with the code cache of the build, which this Node accepts', async () => {
    const loaded = load();
    expect(loaded.script.cachedDataRejected).toBe(false);
    expect(await check(loaded)).toEqual({ code: 0, out: '✔ no problems in 7 files, 11 documents\n' });
  });

  it('runs the same without a cache, and with one V8 rejects (each in a process of its own)', () => {
    // (In one process V8 reuses the script it compiled first, whatever cache it is given.)
    const dir = mkdtempSync(join(tmpdir(), 'pviommu-bundle-'));
    const bundle = join(dir, 'cli.cjs');
    copyFileSync(BUNDLE, bundle);
    const bad = join(dir, 'bad.cache');
    writeFileSync(bad, 'not a code cache');
    const other = join(dir, 'other.cjs');
    writeFileSync(other, 'exports.main = async () => 0;\n');
    const loader = pathToFileURL(join(ROOT, 'bin', 'load-bundle.js')).href;
    const io = pathToFileURL(join(ROOT, 'dist', 'commands', 'io.js')).href;
    const probe = (file: string, cache: string): string =>
      execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { loadBundle } = await import(${JSON.stringify(loader)});
           const { memoryIo } = await import(${JSON.stringify(io)});
           const { exports, script } = loadBundle(true, ${JSON.stringify(file)}, ${JSON.stringify(cache)});
           const code = await exports.main(['node', 'pviommu', 'check', 'examples/lab'], memoryIo({ cwd: ${JSON.stringify(ROOT)} }).io);
           console.log(String(script.cachedDataRejected), code);`,
        ],
        { cwd: ROOT, encoding: 'utf8' },
      ).trim();
    expect(probe(BUNDLE, CODE_CACHE)).toBe('false 0');
    // No cache, a cache too short to hold its source's hash, the cache of another source: not used.
    expect(probe(bundle, join(dir, 'missing.cache'))).toBe('undefined 0');
    expect(probe(bundle, bad)).toBe('undefined 0');
    expect(probe(other, CODE_CACHE)).toBe('undefined 0');
    // The same length, one byte changed (all V8 itself would check): not used either.
    const edited = join(dir, 'edited.cjs');
    const text = readFileSync(BUNDLE, 'utf8');
    const at = text.indexOf('Hypercall emulator and PV-IOMMU policy checker');
    expect(at).toBeGreaterThan(0);
    writeFileSync(edited, text.slice(0, at) + 'h' + text.slice(at + 1));
    expect(probe(edited, CODE_CACHE)).toBe('undefined 0');
    // The right hash, then data V8 rejects: compiled from the source.
    const forged = join(dir, 'forged.cache');
    writeFileSync(forged, Buffer.concat([sourceHash(readFileSync(BUNDLE)), Buffer.from('not a code cache')]));
    expect(probe(bundle, forged)).toBe('true 0');
  });
});
