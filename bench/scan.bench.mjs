// Micro benchmark of the trace reader (not part of the tests; no thresholds).
//   npm run build && node bench/scan.bench.mjs [trace.jsonl] [rounds]
// Reads the trace (default: 200,000 calls of the bench's generator, in a temp file) into memory,
// then, `rounds` times (default 5): splits it into lines and reads each with `scanCall`, with
// `toString` + `JSON.parse` (what the JSONL floor, bench/floors.mjs, does per line), and only
// splits it; prints ns per line. For a count that does not move with the machine, run it under
// valgrind as docs/performance.md shows (`--single-threaded`), once per mode
// (`--only scan|json|split`).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ScannedCall, scanCall } from '../dist/hypercalls/scan.js';
import { generateTrace } from './gen/trace.mjs';

const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args.splice(onlyAt, 2)[1] : undefined;
let file = args[0];
const rounds = Number(args[1] ?? 5);
let tmp;
if (!file) {
  tmp = mkdtempSync(path.join(tmpdir(), 'pviommu-scan-'));
  file = path.join(tmp, 'trace.jsonl');
  generateTrace(file, { calls: 200_000, seed: 1 });
}
const buf = readFileSync(file);
if (tmp) rmSync(tmp, { recursive: true, force: true });

const sc = new ScannedCall();
const modes = {
  scan(b, s, e) {
    return scanCall(b, s, e, sc) ? 1 : 0;
  },
  json(b, s, e) {
    return JSON.parse(b.toString('utf8', s, e)) !== null ? 1 : 0;
  },
  split() {
    return 1;
  },
};

/** Every line of buf through `fn`; lines, and how many `fn` took. */
function pass(fn) {
  let s = 0;
  let lines = 0;
  let taken = 0;
  for (;;) {
    const nl = buf.indexOf(10, s);
    if (nl < 0) break;
    if (nl > s) {
      taken += fn(buf, s, nl);
      lines++;
    }
    s = nl + 1;
  }
  return { lines, taken };
}

for (const [name, fn] of Object.entries(modes)) {
  if (only !== undefined && name !== only) continue;
  const times = [];
  let r;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    r = pass(fn);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ns = (ms) => ((ms * 1e6) / r.lines).toFixed(0);
  console.log(`${name.padEnd(6)} ${ns(times[times.length >> 1])} ns/line (min ${ns(times[0])}), ${r.lines.toLocaleString('en-US')} lines, ${r.taken.toLocaleString('en-US')} taken`);
}
