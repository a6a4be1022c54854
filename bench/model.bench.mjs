#!/usr/bin/env node
/**
 * Machine-model benchmark (SPEC §3.1: a 768 GiB host must load in well under a second and a few
 * tens of MiB). Builds a 768 GiB host — relaxed PV dom0 with the xs foreign window, 20 HVM guests
 * of 32 GiB — N times and prints the median build time, the heap held by one built machine, and
 * the peak RSS.
 *
 *   npm run build && node --expose-gc bench/model.bench.mjs [N]     (N default 25)
 *
 * Imports the compiled model from ../dist (run `tsc` first). The documents go through the real
 * zod schemas, so defaults are the ones the CLI uses.
 */
import { buildMachine } from '../dist/model/build.js';
import { DomainSchema, HostSchema } from '../dist/config/schema.js';

const N = Math.max(1, Number(process.argv[2] ?? 25) | 0);
const src = { file: 'bench.yaml', index: 0, locate: () => ({ file: 'bench.yaml', line: 1, column: 1, endLine: 1, endColumn: 1 }) };

function hostConfig() {
  const h = HostSchema.parse({
    apiVersion: 'pviommu/v1',
    kind: 'Host',
    name: 'big',
    ram: '768GiB',
    xen_mfns: '0x100-0x8ff',
    iommu: { dom0: 'relaxed' },
    pv_iommu: { abi: 'xs', foreign_offset: '0x10000000' },
  });
  const { xen_mfns, ...rest } = h;
  const dom = (d) => {
    const p = DomainSchema.parse({ apiVersion: 'pviommu/v1', kind: 'Domain', ...d });
    return { ...p, src, hostName: 'big', maxmem: p.maxmem ?? p.memory, trusted: p.trusted ?? p.role !== 'guest' };
  };
  const domains = [dom({ name: 'dom0', domid: 0, type: 'pv', role: 'hardware', memory: '16GiB' })];
  for (let i = 1; i <= 20; i++) domains.push(dom({ name: `vm${i}`, domid: i, type: 'hvm', memory: '32GiB' }));
  return { host: { ...rest, xen_mfns: Array.isArray(xen_mfns) ? xen_mfns : [xen_mfns], src }, devices: [], domains, scenarios: [], inputErrors: false };
}

const gc = globalThis.gc;
const mib = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;

const hc = hostConfig();
buildMachine(hc); // warm-up (JIT)

const times = [];
for (let i = 0; i < N; i++) {
  const t0 = process.hrtime.bigint();
  buildMachine(hc);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
const median = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;

gc?.();
const before = process.memoryUsage().heapUsed;
const m = buildMachine(hc);
gc?.();
const held = process.memoryUsage().heapUsed - before;

let extents = m.ram.size + m.pages.size + m.e820.size + m.rmrr.size;
for (const d of m.domains.values()) extents += d.p2m.size + (d.iommu?.table.size ?? 0);

const mem = process.memoryUsage();
console.log(`model build: 768 GiB host, ${m.domains.size} domains, ${(m.ram.frames / 1e6).toFixed(1)}M frames, ${extents} extents in all`);
console.log(`  runs ${N}: median ${median.toFixed(2)} ms, min ${times[0].toFixed(2)} ms, max ${times.at(-1).toFixed(2)} ms`);
console.log(`  one machine holds ~${gc ? mib(held) : '(run with --expose-gc to measure)'} of heap`);
console.log(`  process: heapUsed ${mib(mem.heapUsed)}, rss ${mib(mem.rss)}, peak rss ${mib(process.resourceUsage().maxRSS * 1024)}`);
