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
import { generatorCli, jsonlWriter } from './jsonl.mjs';
import { seeded } from './rng.mjs';

const hex = (n) => `0x${n.toString(16)}`;

/** Write the trace to `file`. Returns { calls, bytes }. */
export function generateChurn(file, options = {}) {
  const calls = options.calls ?? 200_000;
  const rnd = seeded(options.seed ?? 1);
  const LOW = 0x100; // vm01's low RAM: gfns below 0xc0000 are RAM for any fleet.mjs guest of ≥ 3 GiB
  const SPAN = 0xbf000;
  let pop = 0x4000000; // vm03's fresh gfns: above its RAM (as trace.mjs)
  const w = jsonlWriter(file);
  for (let i = 0; i < calls; i++) {
    if (i % 2 === 0) w.line({ op: 'memory.decrease_reservation', caller: 'vm01', gfns: [hex(LOW + rnd.int(SPAN))] });
    else {
      w.line({ op: 'memory.populate_physmap', caller: 'vm03', gfns: [hex(pop), hex(pop + 1)] });
      pop += 2;
    }
  }
  return { calls, bytes: w.close() };
}

if (import.meta.url === `file://${process.argv[1]}`) generatorCli('churn.mjs', generateChurn, process.argv.slice(2));
