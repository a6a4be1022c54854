/**
 * Fuzzed JSONL traces (issue 7): random call objects of every op (both PV-IOMMU ABIs), mutated
 * lines, random bytes and hostile lines through `emulateTrace` on the lab host.
 *
 * Invariant: the run never throws; every line gives exactly one call report (rc, errno, status
 * well-formed) or is a blank line; findings point at the trace's own lines; time and memory are
 * bounded (watchdog, peak RSS).
 */
import { join } from 'node:path';
import { closeSync, ftruncateSync, openSync, writeFileSync, writeSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadText } from '../../src/config/load.js';
import { validateDocs, type HostConfig } from '../../src/config/validate.js';
import { buildMachine } from '../../src/model/build.js';
import { OPS, emulateTrace, withAbi, type Abi, type CallReport } from '../../src/hypercalls/index.js';
import type { Finding } from '../../src/policy/types.js';
import { LONG, TIMEOUT, Watchdog, assertFinding, fcOpts, peakRssMiB, tempDir, cleanUpAfterAll } from './harness.js';
import { LAB, NASTY_VALUES, mutate, mutationArb } from './gen.js';

const dog = new Watchdog();
cleanUpAfterAll(dog);

const HC: HostConfig = (() => {
  const docs = LAB.filter((f) => !/kind: Scenario/.test(f.text)).flatMap((f) => loadText(f.file, f.text).docs);
  const v = validateDocs(docs);
  expect(v.findings.filter((f) => f.severity === 'error')).toEqual([]);
  return v.config.hosts[0]!;
})();

const OP_NAMES = [...OPS.keys()];
const ARG_KEYS = [...new Set([...OPS.values()].flatMap((s) => [...s.keys]))].sort();
const DIR = tempDir('pviommu-trace-');
const FILE = join(DIR, 't.jsonl');

/** JSON values an argument may get: small frames (often backed), names, flags, junk. */
const argValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 0x200 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 0x3f }).map((n) => `0x${(0x3e00000 + 0x100000 + n).toString(16)}`) },
  { weight: 3, arbitrary: fc.constantFrom('dom0', 'vm1', 'vm2', 'vm3', 'igd', 'sata', 'nic-vf1', 'nic-vf2', '0000:00:02.0', 'nope', 0, 1, 2, 3, 0x7ff0, 0x7ff1, 0x7ff4) },
  { weight: 2, arbitrary: fc.constantFrom(['read', 'write'], ['read'], ['no_ref_cnt', 'read', 'write'], ['device_map', 'host_map'], ['readonly'], [], ['bogus'], 3, 'read') },
  { weight: 2, arbitrary: fc.constantFrom('0x100-0x1ff', '0x0-0xfffffffffffff', ['0x100', '0x101'], { start: 0x100, pages: 4 }, 'gmfn', 'gmfn_foreign', 'read', 'write', 'map_page', 'unmap_page', 'lookup_foreign_page') },
  { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, 1e400 /* Infinity → null in JSON */, 2 ** 53 + 2, -0, 18446744073709552000, '18446744073709551616', '0x10000000000000000', '', null, true, {}, [], [[[]]], { a: { b: 1 } }) },
  { weight: 1, arbitrary: fc.constantFrom(...NASTY_VALUES) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

const callArb: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      op: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...OP_NAMES) }, { weight: 1, arbitrary: fc.constantFrom('iommu.op', 'nope', '', 'memory.', 'IOMMU.MAP_PAGE') }),
      caller: fc.constantFrom('dom0', 'vm1', 'vm2', 'vm3', 0, 1, 'ghost', 0x7ff0),
      args: fc.dictionary(fc.constantFrom(...ARG_KEYS, 'bfn_of', 'mfn_of', 'bogus', '__proto__'), argValue, { maxKeys: 6 }),
      ops: fc.array(fc.dictionary(fc.constantFrom('subop', 'bfn', 'gfn', 'domid', 'flags', 'ioserver', 'bogus'), argValue, { maxKeys: 5 }), { maxLength: 4 }),
      expect: fc.dictionary(fc.constantFrom('rc', 'status', 'errno', 'statuses', 'bfn', 'mfn', 'mfns', 'done', 'mapped', 'owner'), argValue, { maxKeys: 2 }),
    },
    { requiredKeys: ['op'] },
  )
  .map(({ op, caller, args, ops, expect: exp }) => {
    const call: Record<string, unknown> = { op };
    if (caller !== undefined) call.caller = caller;
    Object.assign(call, args);
    if (op === 'iommu.op' && ops !== undefined) call.ops = ops;
    if (exp !== undefined && Object.keys(exp).length) call.expect = exp;
    return call;
  });

/** Small `bfn_of` / `mfn_of` indices that point at earlier lines now and then. */
const traceArb = fc
  .array(fc.oneof({ weight: 8, arbitrary: callArb }, { weight: 1, arbitrary: fc.nat({ max: 12 }).map((i) => ({ op: 'device.dma', device: 'igd', bfn_of: i, access: 'write' })) }), { minLength: 1, maxLength: 25 })
  .map((calls) => calls.map((c) => JSON.stringify(c)).join('\n') + '\n');

interface TraceRun {
  reports: CallReport[];
  findings: Finding[];
}

async function runTrace(text: string | Buffer, abi: Abi, what: string): Promise<TraceRun> {
  writeFileSync(FILE, text);
  const reports: CallReport[] = [];
  const machine = buildMachine(withAbi(HC, abi));
  const r = await dog.guard(what, 30_000, () => emulateTrace(machine, FILE, (c) => reports.push(c), { abi, display: 't.jsonl' }));
  return { reports, findings: r.findings };
}

function assertRun(run: TraceRun, lines: number): void {
  run.reports.forEach((c, i) => {
    expect(c.index).toBe(i);
    expect(Number.isSafeInteger(c.rc) && Number.isSafeInteger(c.status)).toBe(true);
    expect(typeof c.errno).toBe('string');
    if (c.statuses) expect(c.statuses.every(Number.isSafeInteger)).toBe(true);
    JSON.stringify(c); // every report serialises (jsonl output)
  });
  for (const f of run.findings) {
    assertFinding(f, ['t.jsonl']);
    expect(f.line).toBeLessThanOrEqual(lines + 1);
  }
}

/** Non-blank lines of a trace text (what becomes a call). */
function callLines(text: string): number {
  return text.split('\n').filter((l) => l.replace(/\r$/, '').replace(/^[ \t]+/, '') !== '').length;
}

describe('JSONL traces: random calls of every op', () => {
  for (const abi of ['xs', 'ta', 'none'] as const) {
    it(`abi ${abi}: never throws, one well-formed report per line`, { timeout: TIMEOUT }, async () => {
      await fc.assert(
        fc.asyncProperty(traceArb, async (text) => {
          const run = await runTrace(text, abi, `trace (abi ${abi}): ${text.slice(0, 400)}`);
          expect(run.reports.length).toBe(callLines(text));
          assertRun(run, text.split('\n').length);
        }),
        fcOpts(abi === 'xs' ? 250 : 120, 15_000),
      );
    });
  }

  it('mutated trace text (broken JSON, CRLF, NUL, BOM, truncation)', { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(traceArb, fc.array(mutationArb, { minLength: 1, maxLength: 6 }), async (text, muts) => {
        const t = muts.reduce(mutate, text);
        const run = await runTrace(t, 'xs', `mutated trace: ${JSON.stringify(t.slice(0, 400))}`);
        assertRun(run, t.split(/\n/).length);
      }),
      fcOpts(200, 15_000),
    );
  });

  it('random bytes (invalid UTF-8 included)', { timeout: TIMEOUT }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const run = await runTrace(Buffer.from(bytes), 'xs', `trace bytes ${Buffer.from(bytes).toString('hex')}`);
        assertRun(run, Buffer.from(bytes).toString('latin1').split('\n').length);
      }),
      fcOpts(100, 5000),
    );
  });
});

/**
 * Frames and counts at the edges: around the IOMMU's width (48-bit: 2^36 frames), the model's last
 * frame (2^52 − 1) and beyond it, as numbers and strings; counts up to a u32's.
 */
const EDGE_FRAMES = [0, 1, 0x100, 0x3e00000, 2 ** 36 - 2, 2 ** 36 - 1, 2 ** 36, 2 ** 52 - 2, 2 ** 52 - 1];
const edgeFrame: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...EDGE_FRAMES),
  fc.constantFrom(...EDGE_FRAMES).map((f) => `0x${f.toString(16)}`),
  fc.constantFrom(2 ** 52, '0x10000000000000', -1),
);
const edgeCount: fc.Arbitrary<unknown> = fc.constantFrom(0, 1, 2, 3, 4, 1024, 2 ** 20, 0xffffffff, 2 ** 32);
const edgeList: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...EDGE_FRAMES).map((f) => [`0x${f.toString(16)}-0x${Math.min(f + 3, 2 ** 52 - 1).toString(16)}`]),
  fc.array(edgeFrame, { maxLength: 3 }),
);
/** An edge value of the kind the key takes (frames, counts, frame lists), anything else as the random calls. */
function edgeValueOf(key: string): fc.Arbitrary<unknown> {
  if (['gfn', 'dfn', 'bfn', 'idx', 'gpfn', 'host_gfn', 'pgtable_gfn'].includes(key)) return fc.oneof({ weight: 6, arbitrary: edgeFrame }, { weight: 1, arbitrary: argValue });
  if (['nr_pages', 'count'].includes(key)) return fc.oneof({ weight: 6, arbitrary: edgeCount }, { weight: 1, arbitrary: argValue });
  if (key === 'gfns') return edgeList;
  return argValue;
}
/** Every argument of the op but the references to earlier calls (absent ones: the random calls above), flags valid. */
const edgeArgs = (keys: string[]): fc.Arbitrary<Record<string, unknown>> => fc.record(Object.fromEntries(keys.map((k) => [k, edgeValueOf(k)])));
/** Ops that take a run of frames (a count or a list): where a frame past the last one is reached. */
const RUN_OPS = OP_NAMES.filter((op) => ['nr_pages', 'count', 'gfns'].some((k) => OPS.get(op)!.keys.has(k)));
/** A call of one op (often one taking a run of frames), its arguments at the edges (ctx_no: a context that exists). */
const edgeCallArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(fc.constantFrom(...OP_NAMES), fc.constantFrom(...RUN_OPS)).chain((op) =>
  fc
    .record({
      caller: fc.constantFrom('dom0', 'dom0', 'vm1', 'vm2'),
      args: edgeArgs([...OPS.get(op)!.keys].filter((k) => !['ctx_no', 'bfn_of', 'mfn_of', 'flags', 'pgsize', 'ops'].includes(k))),
      ctx: fc.constantFrom(1, 2),
    })
    .map(({ caller, args, ctx }) => ({ op, caller, ctx_no: ctx, ...args, ...(OPS.get(op)!.keys.has('flags') ? { flags: ['read', 'write'] } : {}) })),
);
/** Contexts 1 and 2 of dom0 (ta), so that map_pages and friends get past their first check. */
const TA_SETUP = ['{"op":"iommu.init","max_ctx_no":4,"arena_order":0}', '{"op":"iommu.alloc_context"}', '{"op":"iommu.alloc_context"}'];

describe('JSONL traces: frames and counts at the edges', () => {
  for (const abi of ['xs', 'ta'] as const) {
    it(`abi ${abi}: never throws, one well-formed report per line`, { timeout: TIMEOUT }, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(edgeCallArb, { minLength: 1, maxLength: 20 }), async (calls) => {
          const text = [...(abi === 'ta' ? TA_SETUP : []), ...calls.map((c) => JSON.stringify(c))].join('\n') + '\n';
          const run = await runTrace(text, abi, `edge trace (abi ${abi}): ${text.slice(0, 600)}`);
          expect(run.reports.length).toBe(callLines(text));
          assertRun(run, text.split('\n').length);
        }),
        fcOpts(150, 10_000),
      );
    });
  }
});

describe('hostile traces', () => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const deepObj = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const D = LONG ? 1_000_000 : 100_000;
  const cases: Record<string, () => string | Buffer> = {
    [`${D}-deep array in expect`]: () => `{"op":"memory.translate","domid":"vm1","gfns":["0x100"],"expect":{"mfns":${deep(D)}}}\n`,
    [`${D}-deep object in expect`]: () => `{"op":"memory.translate","domid":"vm1","gfns":["0x100"],"expect":{"mfns":[${deepObj(D)}]}}\n`,
    [`${D}-deep array as an argument`]: () => `{"op":"memory.populate_physmap","caller":"vm3","gfns":${deep(D)}}\n`,
    [`${D}-deep object as an argument`]: () => `{"op":"iommu.op","ops":[${deepObj(D)}]}\n`,
    [`${D}-deep object as the caller`]: () => `{"op":"memory.translate","caller":${deepObj(D)},"gfns":["0x100"]}\n`,
    [`${D}-deep array as an unknown key`]: () => `{"op":"memory.translate","bogus":${deep(D)},"gfns":["0x100"]}\n`,
    [`${D}-deep expect with a mismatch on a batch`]: () => `{"op":"iommu.op","ops":[{"subop":"query_caps"}],"expect":{"statuses":${deep(D)},"ops":${deep(D)}}}\n`,
    'a 64 MiB line without a newline': () => Buffer.alloc(64 << 20, 0x20),
    'a 64 MiB string argument': () => `{"op":"memory.translate","domid":"${'x'.repeat(64 << 20)}","gfns":["0x100"]}\n`,
    'a number of a million digits': () => `{"op":"memory.translate","domid":"vm1","gfns":[${'9'.repeat(1_000_000)}]}\n`,
    'a frame string of a million digits': () => `{"op":"memory.translate","domid":"vm1","gfns":["${'9'.repeat(1_000_000)}"]}\n`,
    'a million-element gfns list': () => `{"op":"memory.translate","domid":"vm1","gfns":[${Array(1_000_000).fill('"0x100"').join(',')}]}\n`,
    'a 100,000-element ops batch': () => `{"op":"iommu.op","ops":[${Array(100_000).fill('{"subop":"query_caps"}').join(',')}]}\n`,
    'bfn_of far beyond, negative, fractional, huge': () => ['1e15', '-1', '0.5', '9007199254740993', '"0x10"', 'null'].map((i) => `{"op":"device.dma","device":"igd","bfn_of":${i},"access":"write"}`).join('\n') + '\n',
    '__proto__ and constructor keys': () => '{"op":"memory.translate","domid":"vm1","gfns":["0x100"],"__proto__":{"x":1},"constructor":{"prototype":{"polluted":1}}}\n',
    'NUL bytes, BOM, CR-only line ends': () => '\ufeff{"op":"iommu.op","ops":[]}\r{"op":"\u0000"}\r\n\u0000\n',
    'a million blank lines': () => ' \n'.repeat(1_000_000),
  };
  for (const [name, make] of Object.entries(cases)) {
    it(name, { timeout: TIMEOUT }, async () => {
      const text = make();
      const t0 = performance.now();
      const run = await runTrace(text, 'xs', `hostile trace: ${name}`);
      expect(performance.now() - t0, name).toBeLessThan(20_000);
      const str = typeof text === 'string' ? text : '';
      assertRun(run, str ? str.split('\n').length : 1);
      expect(peakRssMiB()).toBeLessThan(3072);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  }

  it('a 600 MB trace line (sparse file) is refused without reading it into one string', { timeout: TIMEOUT }, async () => {
    const fd = openSync(FILE, 'w');
    writeSync(fd, '{"op":"iommu.op","ops":[]}\n');
    ftruncateSync(fd, 600 * 1000 * 1000);
    closeSync(fd);
    const reports: CallReport[] = [];
    const machine = buildMachine(withAbi(HC, 'xs'));
    const t0 = performance.now();
    const r = await dog.guard('600 MB trace line', 60_000, () => emulateTrace(machine, FILE, (c) => reports.push(c), { display: 't.jsonl' }));
    expect(performance.now() - t0).toBeLessThan(60_000);
    expect(reports[0]?.errno).toBe('OK');
    expect(reports.length).toBe(2);
    for (const f of r.findings) assertFinding(f, ['t.jsonl']);
    expect(peakRssMiB()).toBeLessThan(3072);
  });
});
