/**
 * Differential test of the two forms in which a trace line reaches the runner: the reusable
 * `ScannedCall` filled by the fast byte reader (src/hypercalls/scan.ts) and the plain object
 * `JSON.parse` gives.
 *
 * A sequence of call lines runs on two fresh machines built from the same host, through two
 * `Session`s with the same `locate`: one is fed `{ call: <ScannedCall from scanCall>, locate }`
 * (and `scanCall` must accept the line), the other `{ call: JSON.parse(line), locate }`. Every
 * CallReport must be the same (deep-equal, and the same JSON text, so key order too), and so must
 * `finish()` (end-of-run findings and summary) and the machines' final pages and p2m. This proves
 * that the paths of `Session` and `ArgReader` specialised for ScannedCall (`get` / `has` / `frame`,
 * unknown-key checks, the op / caller / expect reads) behave exactly as the plain-object paths, on
 * success and on error paths (schema/invalid, ref/unknown, errnos, failed expectations).
 *
 * Every sequence runs in two variants: a new ScannedCall per line over the line's own bytes, and
 * one ScannedCall reused for every line over one scratch buffer (as the trace reader reuses both),
 * with the line between junk bytes and the buffer overwritten with junk right after each call —
 * its values are only valid while the call runs — so a report or machine state that kept reading
 * the call, or a read outside [start, end), would show; reports are also checked again at the end
 * for being unchanged.
 *
 * Lines: (1) every call of every Scenario in examples/lab, examples/mediated-gpu and
 * fixtures/scenarios (JSON.stringify'd, run in order with the scenario's abi on its host; the run
 * also reproduces runScenario); (2) the 3000-call trace of bench/gen/trace.mjs on host-0000 of a
 * bench/gen/fleet.mjs fleet, as bench/run.mjs makes them (also equal to emulateTrace on the file);
 * (3) a fast-check property over generated traces for examples/lab: every op, plausible and
 * implausible arguments, random key order and whitespace, all three ABIs, with a `locate` that
 * encodes the path and part, so findings must point at the same node.
 *
 * Unknown keys that are array indexes (JSON.parse puts them first) have a test of their own at the end.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRepo } from '../../src/check.js';
import type { NodePart, PathSeg } from '../../src/config/source.js';
import type { HostConfig } from '../../src/config/validate.js';
import { buildMachine } from '../../src/model/build.js';
import type { Machine } from '../../src/model/types.js';
import type { Location, Subject } from '../../src/policy/types.js';
import { OPS, Session, emulateTrace, runScenario, withAbi, type Abi, type CallReport, type RawCall, type RunResult } from '../../src/hypercalls/index.js';
import { ScannedCall, scanCall } from '../../src/hypercalls/scan.js';
import { GNT_FLAG_NAMES } from '../../src/hypercalls/grant.js';
import { TA_MAP_FLAG_NAMES, TA_SUBOPS } from '../../src/hypercalls/pv-iommu-ta.js';
import { XS_FLAG_NAMES, XS_SUBOPS } from '../../src/hypercalls/pv-iommu-xs.js';
import { generateFleet } from '../../bench/gen/fleet.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SEED = 20240601;

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

// ─── the differential ────────────────────────────────────────────────────────────────────────

type Locate = RawCall['locate'];

/** What a run needs besides its lines: the host, the ABI in force and the Session's options. */
interface Target {
  hc: HostConfig;
  abi: Abi;
  scenario: string;
  subject?: Subject;
  fallback?: Location;
}

type Mode = 'fresh' | 'shared';
const MODES: readonly Mode[] = ['fresh', 'shared'];

interface Outcome {
  /** Lines read by scanCall (the others, only where allowed, were fed to both as JSON.parse). */
  scanned: number;
  declined: number;
  /** The reports of the ScannedCall side (equal to the JSON.parse side's). */
  reports: CallReport[];
  end: RunResult;
}

const session = (t: Target): Session =>
  new Session(buildMachine(withAbi(t.hc, t.abi)), { abi: t.abi, scenario: t.scenario, subject: t.subject, keepCallFindings: true, fallback: t.fallback });

/** A byte that changes what a line reads as wherever it lands ('9': extends numbers, frames, names). */
const POISON = 0x39;

/** The machine's final state that calls change: pages (owner, references, pins) and every p2m. */
function digest(m: Machine): string {
  const parts: unknown[] = [];
  for (const e of m.pages.entries()) parts.push([e.start, e.end, e.value.owner, e.value.allocated, e.value.refs, e.value.pinned]);
  for (const d of m.domains.values()) {
    parts.push([d.domid, d.destroyed, d.totPages, d.maxPages]);
    for (const e of d.p2m.entries()) parts.push([e.start, e.end, e.value.base, e.value.type]);
  }
  return JSON.stringify(parts);
}

/**
 * Run `lines` in order on two fresh machines of `t`: ScannedCall side vs JSON.parse side, same
 * locate (`locateAt(i)` for line i). Compares every report as it is made and the end of the run.
 * A line scanCall declines fails the test when `requireScanned`, else is fed to both sides as
 * JSON.parse (so the run goes on with the same state) and counted.
 */
function differential(t: Target, lines: readonly string[], locateAt: (i: number) => Locate, mode: Mode, requireScanned: boolean): Outcome {
  const a = session(t);
  const b = session(t);
  const shared = new ScannedCall();
  let scratch = Buffer.alloc(1024, POISON);
  const reports: CallReport[] = [];
  const snapshots: string[] = [];
  let scanned = 0;
  let declined = 0;
  lines.forEach((line, i) => {
    const bytes = Buffer.from(line, 'utf8');
    let sc: ScannedCall;
    let ok: boolean;
    if (mode === 'fresh') {
      sc = new ScannedCall();
      ok = scanCall(bytes, 0, bytes.length, sc);
    } else {
      // The line at an offset inside a larger buffer, junk on both sides.
      const pad = 1 + (i % 7);
      if (scratch.length < bytes.length + 2 * pad) scratch = Buffer.alloc(2 * (bytes.length + 2 * pad), POISON);
      bytes.copy(scratch, pad);
      sc = shared;
      ok = scanCall(scratch, pad, pad + bytes.length, sc);
    }
    const locate = locateAt(i);
    let ra: CallReport;
    if (ok) {
      scanned++;
      ra = a.run({ call: sc, locate });
    } else {
      if (requireScanned) expect.fail(`scanCall declined line ${i}: ${line}`);
      declined++;
      ra = a.run({ call: JSON.parse(line) as unknown, locate });
    }
    // The ScannedCall's values are gone once the call has run.
    if (mode === 'shared') scratch.fill(POISON);
    const rb = b.run({ call: JSON.parse(line) as unknown, locate });
    const what = `${mode}: call #${i} ${line}`;
    expect(ra, what).toEqual(rb);
    const ja = JSON.stringify(ra);
    expect(ja, what).toBe(JSON.stringify(rb));
    reports.push(ra);
    snapshots.push(ja);
  });
  // Later calls (and the poisoning) changed no earlier report.
  reports.forEach((r, i) => expect(JSON.stringify(r), `${mode}: report #${i} changed after its call`).toBe(snapshots[i]));
  const ea = a.finish();
  const eb = b.finish();
  expect(ea, `${mode}: finish()`).toEqual(eb);
  expect(JSON.stringify(ea)).toBe(JSON.stringify(eb));
  expect(digest(a.machine), `${mode}: final machine state`).toBe(digest(b.machine));
  return { scanned, declined, reports, end: ea };
}

/** A locate that spells out the path and part it was asked for, so findings must point at the same node. */
const pathLocate =
  (file: string, i: number, len: number): Locate =>
  (path?: readonly PathSeg[], part?: NodePart): Location => ({
    file: `${file}#${(path ?? []).join('.')}${part ? `@${part}` : ''}`,
    line: i + 1,
    column: 1,
    endLine: i + 1,
    endColumn: len + 1,
  });

// ─── (1) the shipped scenarios ───────────────────────────────────────────────────────────────

describe('ScannedCall vs JSON.parse: every call of the shipped scenarios', () => {
  it('same reports and end of run, call by call, with a fresh and with a reused ScannedCall', async () => {
    let total = 0;
    let scanned = 0;
    let scenarios = 0;
    for (const dir of ['examples/lab', 'examples/mediated-gpu', 'fixtures/scenarios']) {
      const { config } = await loadRepo([dir], { cwd: ROOT });
      for (const hc of config.hosts) {
        if (hc.inputErrors) continue;
        for (const sc of hc.scenarios) {
          scenarios++;
          // As runScenario chooses it.
          const abi: Abi = sc.abi ?? hc.host.pv_iommu.abi;
          const lines = sc.calls.map((c) => JSON.stringify(c));
          const t: Target = { hc, abi, scenario: sc.name, subject: { kind: 'Scenario', name: sc.name }, fallback: sc.src.locate([]) };
          const locateAt =
            (i: number): Locate =>
            (p, part) =>
              sc.src.locate(['calls', i, ...(p ?? [])], part);
          const want = runScenario(hc, sc);
          for (const mode of MODES) {
            const out = differential(t, lines, locateAt, mode, false);
            // …and both are the scenario run itself.
            expect(out.reports, `${sc.name} (${mode})`).toEqual(want.calls);
            expect(out.end.findings).toEqual(want.findings);
            expect(out.end.summary).toEqual(want.summary);
            if (mode === 'fresh') {
              total += lines.length;
              scanned += out.scanned;
            }
          }
        }
      }
    }
    expect(scenarios).toBeGreaterThanOrEqual(4);
    expect(total).toBeGreaterThan(20);
    // Scenario calls are the plain kind the fast reader is for.
    expect(scanned / total).toBeGreaterThan(0.9);
  });
});

// ─── (2) the bench trace ─────────────────────────────────────────────────────────────────────

interface TraceGenerator {
  generateTrace(file: string, options?: { calls?: number; seed?: number }): { calls: number; bytes: number; mix: Record<string, number> };
}

describe('ScannedCall vs JSON.parse: the bench trace', () => {
  it('3000 calls of bench/gen/trace.mjs on host-0000 of a bench fleet: every line scanned, same reports', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pviommu-scanned-run-'));
    temps.push(dir);
    // As bench/run.mjs makes them: a one-host repo (no faults) and a trace for its host-0000.
    generateFleet(dir, { hosts: 1, domainsPerHost: 25, ram: '256GiB', seed: 3, faultRate: 0 });
    const gen = (await import(pathToFileURL(join(ROOT, 'bench', 'gen', 'trace.mjs')).href)) as TraceGenerator;
    const file = join(dir, 'trace.jsonl');
    const made = gen.generateTrace(file, { calls: 3000, seed: 1 });
    expect(made.calls).toBe(3000);
    const { config } = await loadRepo([dir], { cwd: dir });
    const hc = config.hosts.find((h) => h.host.name === 'host-0000');
    expect(hc).toBeDefined();
    expect(hc!.inputErrors).toBe(false);
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    expect(lines.length).toBe(3000);

    const display = 'trace.jsonl';
    const fallback: Location = { file: display, line: 1, column: 1, endLine: 1, endColumn: 1 };
    const abi = hc!.host.pv_iommu.abi;
    const t: Target = { hc: hc!, abi, scenario: display, fallback };
    // What the trace reader's calls answer (the whole line, whatever the path).
    const traceLocate =
      (i: number): Locate =>
      () => ({ file: display, line: i + 1, column: 1, endLine: i + 1, endColumn: lines[i]!.length + 1 });

    let first: Outcome | undefined;
    for (const mode of MODES) {
      const out = differential(t, lines, traceLocate, mode, true);
      expect(out.scanned).toBe(3000);
      first ??= out;
    }
    // The trace exercises the ops (nearly every call succeeds), not just their error paths.
    const ok = first!.reports.filter((r) => r.errno === 'OK').length;
    expect(ok).toBeGreaterThan(2700);
    expect(new Set(first!.reports.map((r) => r.op)).size).toBeGreaterThanOrEqual(7);

    // And the real reader (shared ScannedCall, chunked file) gives the same run.
    const viaReader: CallReport[] = [];
    const end = await emulateTrace(buildMachine(withAbi(hc!, abi)), file, (c) => viaReader.push(c), { display });
    expect(viaReader).toEqual(first!.reports);
    expect(end).toEqual(first!.end);
  });
});

// ─── (3) generated traces for examples/lab ───────────────────────────────────────────────────

let labHc: Promise<HostConfig> | undefined;
function labHost(): Promise<HostConfig> {
  labHc ??= loadRepo(['examples/lab'], { cwd: ROOT }).then(({ config }) => {
    const hc = config.hosts.find((h) => h.host.name === 'lab-1');
    if (!hc || hc.inputErrors) throw new Error('examples/lab: no usable host lab-1');
    return hc;
  });
  return labHc;
}

/** Printable ASCII without `"` and `\`: strings JSON writes without escapes (the scanner's subset). */
const plainChar = fc
  .integer({ min: 0x20, max: 0x7e })
  .filter((c) => c !== 0x22 && c !== 0x5c)
  .map((c) => String.fromCharCode(c));
const plainStr = fc.string({ unit: plainChar, maxLength: 10 });
/** Strings that start with a digit: the scanner keeps them as bytes until asked (frame numbers). */
const digitStr = fc.tuple(fc.integer({ min: 0, max: 9 }), fc.string({ unit: plainChar, maxLength: 8 })).map(([d, s]) => `${d}${s}`);
/** Integers of at most 15 digits (longer ones are outside the subset). */
const bigInts = fc.constantFrom(2 ** 32, 2 ** 40, 2 ** 49, 999_999_999_999_999, -999_999_999_999_999, 2 ** 31, -(2 ** 31) - 1);
const scalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -5, max: 0x300 }),
  fc.integer(),
  bigInts,
  plainStr,
  digitStr,
  fc.boolean(),
  fc.constant(null),
);
const nestedKey = plainStr.filter((k) => k !== '__proto__');
const junk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(nestedKey, scalar, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>([], {}, [[]], [{}], { a: [1, { b: null }] }) },
);

const hex = (n: number): string => `0x${n.toString(16)}`;

/** Frames of the lab worth trying: gfns and mfns of every domain, their foreign-window BFNs, a few fixed ones. */
interface LabFacts {
  frames: number[];
}

function labFacts(hc: HostConfig): LabFacts {
  const m = buildMachine(hc);
  const frames = new Set<number>([0, 1, 0x100, 0x101, 0x1ff, 0x200000, 0x7b800, 0x5000000, 0x5000001]);
  for (const d of m.domains.values()) {
    let n = 0;
    for (const e of d.p2m.entries()) {
      if (n++ >= 3) break;
      frames.add(e.start).add(e.start + 1).add(e.end);
      frames.add(e.value.base).add(e.value.base + 1);
      // its frames in dom0's foreign window (xs lookup_foreign_page BFNs)
      frames.add(m.pvIommu.offset + e.value.base).add(m.pvIommu.offset + e.value.base + 0x100);
    }
  }
  return { frames: [...frames].filter((f) => f >= 0 && f <= 2 ** 49) };
}

const DOMAINS = ['dom0', 'vm1', 'vm2', 'vm3'];
const DEVICES = ['igd', 'sata', 'nic-pf', 'nic-vf1', 'nic-vf2'];
const FLAG_NAMES = [...new Set([...Object.keys(XS_FLAG_NAMES), ...Object.keys(GNT_FLAG_NAMES), ...Object.keys(TA_MAP_FLAG_NAMES), 'bogus', 'Read', 'no_ref'])];
const OP_NAMES = [...OPS.keys()];
/** Keys no op takes (or another op's), some integer-like: array indexes ('0', '7', '42') and not ('-1', '01', '1.5', 2^32 - 1). */
const UNKNOWN_KEYS = ['bogus', 'bfnn', 'gnf', 'Op', 'domain', 'frames', 'x-trace-id', 'ops', 'subop', 'args', 'target', 'flags', 'constructor', 'toString', 'hasOwnProperty', '-1', '01', '1.5', '4294967295', '0', '7', '42'];
const CODES = [0, -1, -2, -3, -12, -14, -16, -19, -22, -38, 1, 'OK', 'EPERM', 'ENOENT', 'ESRCH', 'EINVAL', 'ENOSYS', 'ENODEV', 'EBUSY', 'GNTST_okay', 'GNTST_bad_handle', 'GNTST_bad_page', 'EFOO', '-22', '0x0'];

function arbitraries(f: LabFacts) {
  const frameNum = fc.constantFrom(...f.frames);
  const domainV: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...DOMAINS) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<unknown>(0, 1, 2, 3, '1', '3', '0x2', ' vm1', 'vm2 ', 'self', 'DOMID_SELF', 'dom_io', 'DOMID_IO', 'DOMID_XEN', 'DOMID_INVALID', 0x7ff0, 0x7ff4, 9, 70000, -1, 'ghost', 'vm9', 'Vm1', ''),
    },
    { weight: 1, arbitrary: junk },
  );
  const deviceV: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...DEVICES) },
    { weight: 2, arbitrary: fc.constantFrom<unknown>('0000:00:02.0', '00:17.0', '0000:03:10.1', '0000:09:00.0', '03:10.0', 'ig', 'gpu', 5, '') },
    { weight: 1, arbitrary: junk },
  );
  const frameV: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 8, arbitrary: frameNum.map(hex) },
    { weight: 3, arbitrary: frameNum },
    { weight: 2, arbitrary: frameNum.map((n) => String(n)) },
    { weight: 1, arbitrary: frameNum.map((n) => `0X${n.toString(16).toUpperCase()}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>('0x', '0xzz', '1x', '', ' 0x100', '0x100 ', '0x0100', '00256', '0x10000000000000', '0xfffffffffffff', '4503599627370495', '450359962737049612', -1, 2 ** 49, '-5', '0x100-0x103', 'gmfn'),
    },
    { weight: 1, arbitrary: junk },
  );
  const framesV: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 4, arbitrary: fc.array(frameV, { minLength: 1, maxLength: 4 }) },
    { weight: 2, arbitrary: frameV },
    { weight: 2, arbitrary: frameNum.map((n) => `${hex(n)}-${hex(n + 3)}`) },
    { weight: 1, arbitrary: frameNum.map((n) => [{ start: hex(n), pages: 2 }, hex(n + 8)]) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>({ start: '0x100', end: '0x101' }, { start: 256, pages: 0 }, { start: '0x100', end: '0x100', pages: 1 }, { start: 'x' }, { start: 256, bogus: 1 }, '0x103-0x100', '0x1-0x2-0x3', [], [[1]]),
    },
  );
  const refV: fc.Arbitrary<unknown> = fc.oneof({ weight: 6, arbitrary: fc.nat({ max: 14 }) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(-1, 'x', '0', '0x1', 2 ** 31, 99, true) });
  const intV: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 0x10 }) },
    { weight: 1, arbitrary: fc.integer({ min: -2, max: 0x40 }) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(0xffff, 0x10000, 0x7fffffff, 2 ** 32, -(2 ** 31), '3', '0x10', ' 4', 'four', true, 2 ** 49, '') },
    { weight: 1, arbitrary: junk },
  );
  const boolV: fc.Arbitrary<unknown> = fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: fc.constantFrom<unknown>('yes', 1, 0, 'true') });
  const flagsV: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 8, arbitrary: fc.subarray(['read', 'write'], { minLength: 1 }) },
    { weight: 3, arbitrary: fc.subarray(FLAG_NAMES, { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(...FLAG_NAMES) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>(0, 3, 7, 0xffff, 70000, -1, ['read', 3], [null]) },
    { weight: 1, arbitrary: junk },
  );
  const codeV = fc.oneof({ weight: 8, arbitrary: fc.constantFrom<unknown>(...CODES) }, { weight: 1, arbitrary: junk });
  const expectV: fc.Arbitrary<unknown> = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record(
        { rc: codeV, status: codeV, errno: codeV, statuses: fc.array(codeV, { maxLength: 3 }), bfn: frameV, mfn: frameV, done: intV, owner: domainV, mapped: intV, mfns: framesV },
        { requiredKeys: [] },
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom<unknown>('OK', 0, [], null, [{ rc: 0 }]) },
  );
  const targetV: fc.Arbitrary<unknown> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ domain: domainV, gfn: frameV }) },
    { weight: 2, arbitrary: fc.record({ domain: domainV, gfn: frameV, bogus: scalar }, { requiredKeys: [] }) },
    { weight: 1, arbitrary: junk },
  );
  const xsSubop = fc.oneof({ weight: 6, arbitrary: fc.constantFrom<unknown>(...Object.keys(XS_SUBOPS)) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(0, 2, 99, 'map', -1) }, { weight: 1, arbitrary: junk });
  const element = fc.oneof(
    { weight: 8, arbitrary: fc.record({ subop: xsSubop, bfn: frameV, gfn: frameV, domid: domainV, flags: flagsV, page_order: intV, ioserver: intV, bfn_of: refV, mfn_of: refV, bogus: scalar }, { requiredKeys: ['subop'] }) },
    { weight: 1, arbitrary: junk },
  );
  const opsV: fc.Arbitrary<unknown> = fc.oneof({ weight: 6, arbitrary: fc.array(element, { maxLength: 4 }) }, { weight: 1, arbitrary: junk });
  const taSubop = fc.oneof({ weight: 6, arbitrary: fc.constantFrom<unknown>(...Object.keys(TA_SUBOPS)) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(6, 3, 99, 'map') }, { weight: 1, arbitrary: junk });
  const argsV: fc.Arbitrary<unknown> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record(
        { ctx_no: intV, gfn: frameV, dfn: frameV, nr_pages: intV, flags: flagsV, alloc_flags: intV, max_ctx_no: intV, arena_order: intV, device: deviceV, bfn_of: refV, bogus: scalar },
        { requiredKeys: [] },
      ),
    },
    { weight: 1, arbitrary: junk },
  );

  /** An argument's value by its key. */
  const valueOf = (key: string): fc.Arbitrary<unknown> => {
    switch (key) {
      case 'caller':
      case 'domid':
      case 'granter':
      case 'foreign_domid':
        return domainV;
      case 'device':
        return deviceV;
      case 'gfn':
      case 'bfn':
      case 'dfn':
      case 'gpfn':
      case 'idx':
      case 'host_gfn':
      case 'pgtable_gfn':
        return frameV;
      case 'gfns':
        return framesV;
      case 'bfn_of':
      case 'mfn_of':
        return refV;
      case 'flags':
        return flagsV;
      case 'space':
        return fc.oneof({ weight: 4, arbitrary: fc.constantFrom<unknown>('gmfn', 'gmfn_foreign') }, { weight: 1, arbitrary: fc.constantFrom<unknown>('gmfm', 'GMFN', 0) });
      case 'access':
        return fc.oneof({ weight: 4, arbitrary: fc.constantFrom<unknown>('read', 'write') }, { weight: 1, arbitrary: fc.constantFrom<unknown>('rw', 'Write', 1, null) });
      case 'subop':
        return taSubop;
      case 'target':
        return targetV;
      case 'ops':
        return opsV;
      case 'args':
        return argsV;
      case 'expect':
        return expectV;
      case 'rdm_relaxed':
      case 'reattach_default':
        return boolV;
      case 'page_order':
      case 'count':
      case 'ioserver':
      case 'ctx_no':
      case 'nr_pages':
      case 'max_ctx_no':
      case 'arena_order':
      case 'alloc_flags':
      case 'pasid':
      case 'handle':
      case 'pgsize':
      case 'nested_flags':
        return intV;
      default:
        return junk;
    }
  };

  /** Which of `bfn` / `bfn_of` / `mfn_of` a call that takes them gives: mostly exactly one. */
  const refKeys = (own: string) => fc.constantFrom<string[]>([own], [own], ['bfn_of'], ['bfn_of'], ['mfn_of'], [own, 'bfn_of'], ['bfn_of', 'mfn_of'], []);

  /** A random call of a known op: [key, value] entries in random order (no duplicate keys). */
  const randomCall: fc.Arbitrary<[string, unknown][]> = fc.constantFrom(...OP_NAMES).chain((op) => {
    const keys = [...OPS.get(op)!.keys];
    const hasRefs = keys.includes('bfn_of');
    const own = keys.includes('dfn') ? 'dfn' : 'bfn';
    const plain = keys.filter((k) => !(hasRefs && (k === own || k === 'bfn_of' || k === 'mfn_of')));
    return fc
      .tuple(
        // each own key present 9 times in 10
        fc.tuple(...plain.map((k) => fc.nat({ max: 9 }).map((x) => (x < 9 ? k : undefined)))),
        hasRefs ? refKeys(own) : fc.constant<string[]>([]),
        fc.subarray(['caller', 'expect']),
        fc.oneof({ weight: 6, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: fc.shuffledSubarray(UNKNOWN_KEYS, { minLength: 1, maxLength: 3 }) }),
        fc.oneof(
          { weight: 20, arbitrary: fc.constant<unknown>(op) },
          { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, 'iommu.map_pag', 'IOMMU.MAP_PAGE', 'nope', '', 5, null, ['iommu.noop']) },
        ),
      )
      .chain(([ks, refs, common, unknown, opV]) => {
        const chosen = [...new Set([...ks.filter((k): k is string => k !== undefined), ...refs, ...common, ...unknown])];
        const inOrder = chosen.map((_, i) => i);
        return fc
          .tuple(fc.tuple(...chosen.map((k) => valueOf(k))), fc.option(fc.shuffledSubarray(inOrder, { minLength: chosen.length }), { freq: 2 }), fc.nat({ max: chosen.length }))
          .map(([vals, shuffled, opAt]) => {
            // Keys in the op's order with `op` first, or in any order with `op` anywhere.
            const entries: [string, unknown][] = (shuffled ?? inOrder).map((i) => [chosen[i]!, vals[i]]);
            if (opV !== undefined) entries.splice(shuffled ? opAt : 0, 0, ['op', opV]);
            return entries;
          });
      });
  });

  /** Calls that work on the lab (so later calls see mappings, pins, grants, destroyed domains). */
  const plausible: fc.Arbitrary<[string, unknown][]> = fc.constantFrom<[string, unknown][]>(
    [['op', 'iommu.lookup_foreign_page'], ['domid', 'vm1'], ['gfn', '0x100'], ['expect', { status: 0 }]],
    [['op', 'iommu.lookup_foreign_page'], ['domid', 'vm2'], ['gfn', 256]],
    [['op', 'device.dma'], ['device', 'igd'], ['bfn_of', 0], ['access', 'write'], ['target', { domain: 'vm1', gfn: '0x100' }]],
    [['op', 'device.dma'], ['device', 'igd'], ['bfn_of', 1], ['access', 'read']],
    [['op', 'memory.decrease_reservation'], ['caller', 'vm1'], ['gfns', ['0x100']], ['expect', { done: 1 }]],
    [['op', 'memory.populate_physmap'], ['caller', 'vm3'], ['gfns', ['0x200000']], ['expect', { done: 1 }]],
    [['op', 'iommu.unmap_foreign_page'], ['bfn_of', 0], ['expect', { status: 0 }]],
    [['op', 'memory.translate'], ['domid', 'vm1'], ['gfns', ['0x100', '0x101']]],
    [['op', 'grant.map'], ['caller', 'dom0'], ['granter', 'vm1'], ['gfn', '0x100'], ['flags', ['device_map', 'host_map']]],
    [['op', 'grant.unmap'], ['handle', 0]],
    [['op', 'domctl.assign_device'], ['domid', 'vm3'], ['device', 'nic-pf']],
    [['op', 'domctl.deassign_device'], ['domid', 'vm1'], ['device', 'nic-vf1']],
    [['op', 'domain.destroy'], ['domid', 'vm2']],
    [['op', 'iommu.op'], ['ops', [{ subop: 'lookup_foreign_page', domid: 'vm1', gfn: '0x101' }, { subop: 'query_caps' }]], ['count', 2]],
    [['op', 'iommu.init'], ['max_ctx_no', 4], ['arena_order', 9]],
    [['op', 'iommu.alloc_context'], ['alloc_flags', 0]],
    [['op', 'iommu.map_pages'], ['ctx_no', 1], ['gfn', '0x1000'], ['dfn', '0x1000'], ['nr_pages', 2], ['flags', ['read', 'write']]],
    [['op', 'iommu.remote_cmd'], ['domid', 'vm1'], ['subop', 'alloc_context'], ['args', {}]],
  );

  const call = fc.oneof({ weight: 1, arbitrary: randomCall }, { weight: 1, arbitrary: plausible });
  /** Whitespace the scanner and JSON.parse both skip: none, or some around every token. */
  const ws = fc.constantFrom('', '', ' ', '  ', '\t', ' \t ');
  const line = fc.tuple(call, ws, fc.constantFrom('', ' ', '\t')).map(([entries, w, edge]) => {
    const body = entries.map(([k, v]) => `"${k}"${w}:${w}${JSON.stringify(v)}`).join(`${w},${w}`);
    return `${edge}{${w}${body}${w}}${edge}`;
  });
  return fc.array(line, { minLength: 1, maxLength: 40, size: 'medium' });
}

describe('ScannedCall vs JSON.parse: generated traces for examples/lab (property)', () => {
  it('every op, plausible and implausible arguments, all ABIs: same reports and end of run', { timeout: 60_000 }, async () => {
    const hc = await labHost();
    const traces = arbitraries(labFacts(hc));
    const rules = new Map<string, number>();
    const errnos = new Map<string, number>();
    const ops = new Set<string>();
    let calls = 0;
    fc.assert(
      fc.property(traces, fc.constantFrom<Abi>('xs', 'xs', 'ta', 'none'), fc.constantFrom(...MODES), (lines, abi, mode) => {
        const t: Target = { hc, abi, scenario: 'gen.jsonl', fallback: { file: 'gen.jsonl', line: 1, column: 1, endLine: 1, endColumn: 1 } };
        const out = differential(t, lines, (i) => pathLocate('gen.jsonl', i, lines[i]!.length), mode, true);
        for (const r of out.reports) {
          calls++;
          ops.add(r.op);
          errnos.set(r.errno, (errnos.get(r.errno) ?? 0) + 1);
        }
        // (the calls' findings and the end-of-run ones)
        for (const f of out.end.findings) rules.set(f.rule, (rules.get(f.rule) ?? 0) + 1);
      }),
      { numRuns: 800, seed: SEED, endOnFailure: true },
    );
    // The generated calls reach the error paths and the ops themselves.
    expect(calls).toBeGreaterThan(5000);
    for (const rule of ['schema/invalid', 'ref/unknown', 'scenario/expectation-failed', 'hypercall/raw-mfn-exposed']) expect(rules.get(rule) ?? 0, rule).toBeGreaterThan(50);
    for (const rule of ['mapping/dangling', 'dma/wrong-page']) expect(rules.get(rule) ?? 0, rule).toBeGreaterThan(0);
    expect(errnos.get('OK') ?? 0).toBeGreaterThan(calls / 10);
    for (const e of ['EINVAL', 'ESRCH', 'ENOSYS', 'EOPNOTSUPP', 'ENODEV', 'GNTST_bad_handle']) expect(errnos.get(e) ?? 0, e).toBeGreaterThan(10);
    expect(errnos.size).toBeGreaterThanOrEqual(12);
    expect(ops.size).toBeGreaterThanOrEqual(OP_NAMES.length);
  });

  it('hand-written edge lines: digit-string callers and frames, short and long hex, whitespace, nested values', async () => {
    const hc = await labHost();
    const lines = [
      '{"op":"iommu.lookup_foreign_page","domid":"vm1","gfn":"0x100","expect":{"bfn":"0x3e01200"}}',
      ' { "op" : "device.dma" , "device" : "igd" , "bfn_of" : 0 , "target" : { "domain" : "vm1" , "gfn" : 256 } } ',
      '{"caller":"0","op":"iommu.lookup_foreign_page","domid":"1","gfn":"256"}',
      '{"op":"iommu.lookup_foreign_page","caller":"1","domid":"vm1","gfn":"0X101"}',
      '{"op":"iommu.map_page","bfn":"0x","gfn":"0xzz"}',
      '{"op":"iommu.map_page","bfn":"0x10000000000000","gfn":"4503599627370496"}',
      '{"op":"iommu.map_page","bfn":"0xfffffffffffff","gfn":"1x"}',
      '{"op":"iommu.unmap_page","bfn":" 0x100","bfn_of":1}',
      '{"op":"iommu.unmap_page","mfn_of":"0"}',
      '{"op":"memory.translate","domid":"0x1","gfns":["0x100","0x101-0x102",{"start":"0x103","pages":1}]}',
      '{"op":"memory.populate_physmap","caller":"vm3","gfns":"0x200000","expect":{"done":"1","rc":"0x1"}}',
      '{"op":"grant.map","granter":"vm1","gfn":"0x100","flags":["device_map","hostmap"],"expect":{"status":"GNTST_okay"}}',
      '{"op":"iommu.op","ops":[{"subop":"map_page","bfn":"0x5000000","gfn":"0x900"},{"subop":"unmap_page","bfn_of":0},{"subop":"lookup_foreign_page","domid":"vm2","gfn":"0x100","bogus":1}],"count":3}',
      '{"op":"device.dma","device":"0000:00:02.0","bfn":"0x3e01200","access":"read","expect":{"owner":1,"mfn":"4608"}}',
      '{"op":"iommu.noop","caller":"ghost","expect":"OK"}',
      '{"op":"iommu.remote_cmd","domid":"vm1","subop":"map_pages","args":{"ctx_no":"0","gfn":"0x100","dfn":"0x100","nr_pages":1}}',
      '{"op":"nope"}',
      '{"op":"5","caller":"0x0"}',
      '{"op":"iommu.query_caps","expect":"0","page_order":"7"}',
      '{"caller":"vm1"}',
      '{}',
      '{"op":"domain.destroy","domid":"vm1","expect":{"rc":0}}',
      '{"op":"iommu.unmap_foreign_page","bfn_of":0}',
    ];
    for (const abi of ['xs', 'ta', 'none'] as const) {
      for (const mode of MODES) {
        const out = differential({ hc, abi, scenario: 'edge.jsonl' }, lines, (i) => pathLocate('edge.jsonl', i, lines[i]!.length), mode, true);
        expect(out.scanned).toBe(lines.length);
      }
    }
  });
});

// ─── unknown keys that are array indexes ─────────────────────────────────────────────────────

describe('ScannedCall vs JSON.parse: unknown keys that are array indexes', () => {
  /*
   * JSON.parse orders integer-like keys ("0", "5", "10") first; a ScannedCall keeps the line's
   * order, so ArgReader.finish asks it for JSON.parse's order (ScannedCall.keyOrder). Without that,
   * {"op":"iommu.query_caps","zz":1,"5":2} got its two schema/invalid findings in the opposite
   * order depending on the path it took.
   */
  it('the same findings in the same order', async () => {
    const hc = await labHost();
    const lines = [
      '{"op":"iommu.query_caps","zz":1,"5":2}',
      '{"op":"iommu.query_caps","10":1,"b":2,"2":3,"01":4,"4294967295":5,"4294967294":6}',
    ];
    for (const mode of MODES) {
      const out = differential({ hc, abi: 'xs', scenario: 'keys.jsonl' }, lines, (i) => pathLocate('keys.jsonl', i, lines[i]!.length), mode, true);
      expect(out.scanned).toBe(lines.length);
    }
  });
});
