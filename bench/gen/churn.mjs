#!/usr/bin/env node
/**
 * Deterministic generator of an allocation-churn trace (for `npm run bench`): on a one-host repo
 * of fleet.mjs (`--hosts 1 --fault-rate 0`), vm01 gives back one random page of its low RAM and
 * the ballooning vm03 populates two fresh gfns, call after call. The frames vm01 frees are taken
 * by vm03 (lowest free frame first), so pages of the two owners interleave and the page map
 * fragments as the trace goes on: a run whose cost per call grows with the fragmentation is
 * quadratic here, which the bench shows by running a trace and one twice as long.
 *
 *   node bench/gen/churn.mjs OUT.jsonl [--calls 200000] [--seed 1]
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { seeded } from './rng.mjs';

const hex = (n) => `0x${n.toString(16)}`;

/** Write the trace to `file`. Returns { calls, bytes }. */
export function generateChurn(file, options = {}) {
  const calls = options.calls ?? 200_000;
  const rnd = seeded(options.seed ?? 1);
  const LOW = 0x100; // vm01's low RAM: gfns below 0xc0000 are RAM for any fleet.mjs guest of ≥ 3 GiB
  const SPAN = 0xbf000;
  let pop = 0x4000000; // vm03's fresh gfns: above its RAM (as trace.mjs)
  const fd = openSync(file, 'w');
  let buf = '';
  let bytes = 0;
  for (let i = 0; i < calls; i++) {
    const call =
      i % 2 === 0
        ? { op: 'memory.decrease_reservation', caller: 'vm01', gfns: [hex(LOW + rnd.int(SPAN))] }
        : { op: 'memory.populate_physmap', caller: 'vm03', gfns: [hex(pop), hex(pop + 1)] };
    if (i % 2 === 1) pop += 2;
    buf += JSON.stringify(call) + '\n';
    if (buf.length > 1 << 20) {
      bytes += writeSync(fd, buf);
      buf = '';
    }
  }
  if (buf) bytes += writeSync(fd, buf);
  closeSync(fd);
  return { calls, bytes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out, ...rest] = process.argv.slice(2);
  if (!out || out.startsWith('-')) {
    process.stderr.write('usage: node bench/gen/churn.mjs OUT.jsonl [--calls N] [--seed N]\n');
    process.exit(2);
  }
  const opt = (name, d) => {
    const i = rest.indexOf(name);
    return i >= 0 ? Number(rest[i + 1]) : d;
  };
  const r = generateChurn(out, { calls: opt('--calls', 200_000), seed: opt('--seed', 1) });
  process.stderr.write(`${r.calls} calls, ${r.bytes} bytes\n`);
}
