/**
 * Load the bundled CLI (dist/bundle/cli.cjs, made by scripts/bundle.mjs) the way both bin/pviommu.js
 * and the build's code-cache step do, so that the V8 code cache made at build time
 * (dist/bundle/cli.cache) matches what is compiled at every start.
 *
 * Why not `import` an ES module: Node 20 caches no compiled code between runs of an ES module, and
 * compiling the bundle's 1.4 MB took ~30 ms of each start, plus the functions compiled lazily as
 * they first run. A script compiled with `vm.Script` can be given the bytecode of a run made at
 * build time. When this Node (or its V8 flags) differs from the build's, V8 rejects the cache and
 * compiles the source as before: the cache only ever saves time.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

/** The bundle and its code cache. */
export const BUNDLE = fileURLToPath(new URL('../dist/bundle/cli.cjs', import.meta.url));
export const CODE_CACHE = fileURLToPath(new URL('../dist/bundle/cli.cache', import.meta.url));

const HASH_BYTES = 32;

/** The SHA-256 of a bundle's bytes, which its code cache starts with. */
export function sourceHash(bytes) {
  return createHash('sha256').update(bytes).digest();
}

/** The code cache of `script` (compiled from `bundle`), as `loadBundle` reads it. */
export function codeCacheOf(script, bundle = BUNDLE) {
  return Buffer.concat([sourceHash(readFileSync(bundle)), script.createCachedData()]);
}

/**
 * Compile and run the bundle; its exports (`main`) and the compiled script (whose
 * `createCachedData()` the build saves after a training run).
 * `import.meta.url` in the sources is `__pviommuUrl` in the bundle (esbuild `define`): the file URL
 * of the bundle, from which the code finds the package root and the loader's worker.
 */
export function loadBundle(useCache = true, bundle = BUNDLE, codeCache = CODE_CACHE) {
  const bytes = readFileSync(bundle);
  const source = bytes.toString('utf8');
  let cachedData;
  if (useCache) {
    let cache;
    try {
      cache = readFileSync(codeCache);
    } catch {
      // (No cache: compiled from the source.)
    }
    // V8 checks a cache against the source's length only: the cache starts with the SHA-256 of
    // the source it was made for, and is used only for that source.
    if (cache !== undefined && cache.length > HASH_BYTES && sourceHash(bytes).equals(cache.subarray(0, HASH_BYTES))) {
      cachedData = cache.subarray(HASH_BYTES);
    }
  }
  const wrapped = `(function (exports, require, module, __pviommuUrl) {${source}\n})`;
  const script = new Script(wrapped, { filename: bundle, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, pathToFileURL(bundle).href);
  return { exports: module.exports, script };
}
