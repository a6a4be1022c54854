#!/usr/bin/env node
/**
 * Bundle the compiled CLI (dist/cli.js, after `tsc`) and the loader's worker into one file each
 * under dist/bundle/, which bin/pviommu.js runs; then make the CLI bundle's V8 code cache.
 *
 * Why: loading ~330 separate ES modules (ours, zod's, yaml's) costs Node 20 about 0.2 s at every
 * start — more than checking a small repo. One bundled file loads in a fraction of that
 * (docs/performance-log.md). The unbundled dist/ stays what tests and library users import.
 *
 * The CLI bundle is a CommonJS-style script (`cli.cjs`), which bin/load-bundle.js compiles with
 * `vm.Script` and the code cache `cli.cache`: the bytecode of a training run (below) made here, so
 * that a start neither compiles the bundle nor, mostly, the functions a run calls. A script also
 * ran a trace ~5% faster than the same bundle as an ES module (docs/performance-log.md, thirteenth
 * round). The worker stays an ES module (`load-worker.js`), started by URL.
 *
 * dist/bundle/ sits at the same depth as dist/config/ and dist/commands/, so the paths the code
 * builds from import.meta.url (the package root, ./load-worker.js) resolve the same way in both.
 */
import { build } from 'esbuild';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * zod's namespaces re-export every translation of its messages (`z.locales`, `z.core.locales`:
 * ~40 languages, a fifth of the bundle's bytes), which we never use: zod's schemas import the
 * English messages themselves, not through those namespaces. Leaving the translations out of the
 * bundle saves ~10 ms of every start (docs/performance-log.md).
 */
const noZodLocales = {
  name: 'no-zod-locales',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (a) =>
      /[\\/]zod[\\/]v4[\\/](classic[\\/]external|core[\\/]index)\.js$/.test(a.importer) ? { path: 'zod-locales', namespace: 'pviommu-empty' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'pviommu-empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

const common = {
  absWorkingDir: root,
  outdir: 'dist/bundle',
  bundle: true,
  platform: 'node',
  target: 'node20',
  plugins: [noZodLocales],
  logLevel: 'warning',
};

// The CLI: a script run inside bin/load-bundle.js's wrapper, which passes `require` and the
// bundle's URL (what `import.meta.url` stands for).
await build({
  ...common,
  entryPoints: { cli: 'dist/cli.js' },
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  define: { 'import.meta.url': '__pviommuUrl' },
});

await build({
  ...common,
  entryPoints: { 'load-worker': 'dist/config/load-worker.js' },
  format: 'esm',
  // CommonJS dependencies (commander, ignore, …) call require(): give the ES module one.
  banner: { js: "import { createRequire as __pviommuRequire } from 'node:module'; const require = __pviommuRequire(import.meta.url);" },
});

// An ES module bundle of the CLI from before is no longer run: remove it.
try {
  unlinkSync(join(root, 'dist/bundle/cli.js'));
} catch {
  // (not there)
}

await makeCodeCache();

/**
 * Run the bundle on the shipped examples — check in two formats, the scenarios, a short trace of
 * every common op — with its output kept in memory and dropped, then save the bytecode compiled
 * so far.
 */
async function makeCodeCache() {
  const { loadBundle, codeCacheOf, CODE_CACHE } = await import('../bin/load-bundle.js');
  try {
    unlinkSync(CODE_CACHE);
  } catch {
    // (none yet)
  }
  const { exports, script } = loadBundle(false);
  const dir = mkdtempSync(join(tmpdir(), 'pviommu-build-'));
  try {
    const trace = join(dir, 'train.jsonl');
    const calls = [];
    for (let i = 0; i < 200; i++) {
      const gfn = `0x${(0x1000 + i).toString(16)}`;
      const bfn = `0x${(0x3e00000 + i).toString(16)}`;
      calls.push(
        `{"op":"iommu.map_page","bfn":"${bfn}","gfn":"${gfn}","flags":["read","write"]}`,
        `{"op":"iommu.lookup_foreign_page","domid":"vm1","gfn":"${gfn}"}`,
        `{"op":"device.dma","device":"igd","bfn":"${bfn}","access":"write"}`,
        `{"op":"iommu.unmap_page","bfn":"${bfn}"}`,
        `{"op":"memory.populate_physmap","caller":"vm1","gfns":["0x${(0x200000 + i).toString(16)}"]}`,
        `{"op":"memory.decrease_reservation","caller":"vm1","gfns":["0x${(0x200000 + i).toString(16)}"]}`,
        `{"op":"memory.translate","domid":"vm1","gfns":["${gfn}"]}`,
        `{"op":"iommu.unmap_foreign_page","bfn_of":${i * 8 + 1}}`,
      );
    }
    writeFileSync(trace, calls.join('\n') + '\n');
    const runs = [
      ['check', 'examples/lab'],
      ['check', 'examples/lab', 'examples/mediated-gpu', '--format', 'json'],
      ['emulate', 'examples/lab', '--scenario', 'xengt-pv-iommu', '--format', 'json'],
      ['emulate', 'examples/mediated-gpu', '--scenario', 'pv-iommu-mediator'],
      ...['jsonl', 'text', 'json'].map((f) => ['emulate', 'examples/lab', '--trace', trace, '--host', 'lab-1', '--format', f, '--quiet']),
    ];
    // (The tests' in-memory Io, from the unbundled build: the output is only collected.)
    const { memoryIo } = await import('../dist/commands/io.js');
    for (const args of runs) {
      const code = await exports.main(['node', 'pviommu', ...args], memoryIo({ cwd: root }).io);
      // (Findings are fine; a failure of the tool means the training did not run what it meant to.)
      if (code !== 0 && code !== 1) throw new Error(`code-cache training run failed (exit ${code}): pviommu ${args.join(' ')}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  writeFileSync(CODE_CACHE, codeCacheOf(script));
}
