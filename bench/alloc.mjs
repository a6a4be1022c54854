// Where a pviommu command allocates (not part of the tests; no thresholds).
//   npm run build && node bench/alloc.mjs [--top N] -- ARGS...
// e.g. node bench/alloc.mjs -- emulate REPO --trace calls.jsonl --host HOST -f jsonl -q > /dev/null
//
// Runs the CLI in this process (the bundle, as bin/pviommu.js does) under V8's sampling heap
// profiler with the objects the collector already took counted too (`includeObjectsCollectedBy…`:
// a default heap profile only shows what is still alive at its end, and nearly everything a call
// makes is not), then prints on stderr the total sampled and the sites that allocated most, each as
// its three innermost frames (`function:line` of dist/bundle/cli.cjs). Samples are taken every
// 4 KiB on average: compare totals and sites between builds, not single bytes.
import { Session } from 'node:inspector';
import { loadBundle } from '../bin/load-bundle.js';

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
const own = sep >= 0 ? argv.slice(0, sep) : [];
const cli = sep >= 0 ? argv.slice(sep + 1) : argv;
const topAt = own.indexOf('--top');
const top = topAt >= 0 ? Number(own[topAt + 1]) : 25;
if (cli.length === 0 || !(top > 0)) {
  process.stderr.write('usage: node bench/alloc.mjs [--top N] -- ARGS... (the arguments of `pviommu`)\n');
  process.exit(2);
}

const session = new Session();
session.connect();
const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));
await post('HeapProfiler.enable');
await post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
const code = await loadBundle().exports.main(['node', 'pviommu', ...cli]);
const { profile } = await post('HeapProfiler.stopSampling');

/** Bytes by allocation site: the three innermost frames of each sampled stack. */
const sites = new Map();
const walk = (node, stack) => {
  const here = [...stack, `${node.callFrame.functionName || '(anonymous)'}:${node.callFrame.lineNumber + 1}`];
  if (node.selfSize > 0) {
    const key = here.slice(-3).reverse().join(' < ');
    sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
  }
  for (const child of node.children) walk(child, here);
};
walk(profile.head, []);
const total = [...sites.values()].reduce((a, b) => a + b, 0);
const mb = (n) => (n / 1e6).toFixed(1).padStart(8);
process.stderr.write(`sampled allocations: ${(total / 1e6).toFixed(0)} MB (pviommu exit code ${code})\n`);
for (const [key, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stderr.write(`${mb(bytes)} MB  ${key}\n`);
