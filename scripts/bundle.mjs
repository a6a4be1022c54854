#!/usr/bin/env node
/**
 * Bundle the compiled CLI (dist/cli.js, after `tsc`) and the loader's worker into one file each
 * under dist/bundle/, which bin/pviommu.js runs.
 *
 * Why: loading ~330 separate ES modules (ours, zod's, yaml's) costs Node 20 about 0.2 s at every
 * start — more than checking a small repo. One bundled module loads in a fraction of that
 * (docs/performance.md). The unbundled dist/ stays what tests and library users import.
 *
 * dist/bundle/ sits at the same depth as dist/config/ and dist/commands/, so the paths the code
 * builds from import.meta.url (the package root, ./load-worker.js) resolve the same way in both.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * zod's namespaces re-export every translation of its messages (`z.locales`, `z.core.locales`:
 * ~40 languages, a fifth of the bundle's bytes), which we never use: zod's schemas import the
 * English messages themselves, not through those namespaces. Leaving the translations out of the
 * bundle saves ~10 ms of every start (docs/performance.md).
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

await build({
  absWorkingDir: root,
  entryPoints: { cli: 'dist/cli.js', 'load-worker': 'dist/config/load-worker.js' },
  outdir: 'dist/bundle',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS dependencies (commander, ignore, …) call require(): give the ES module one.
  banner: { js: "import { createRequire as __pviommuRequire } from 'node:module'; const require = __pviommuRequire(import.meta.url);" },
  plugins: [noZodLocales],
  logLevel: 'warning',
});
