/**
 * callReportJson: the JSON line of a call is exactly JSON.stringify of its report.
 * encodeCallReport: the same line written as UTF-8 bytes into a buffer (or -1), never outside [pos, lim).
 * encodePrettyCallReport / indentJson: a call as an element of a streamed `--format json` report,
 * exactly JSON.stringify(c, null, 2) indented to its depth.
 * encodeCallText: the text line of a call, exactly formatCallText's.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadRepo } from '../../src/check.js';
import { runScenario } from '../../src/hypercalls/index.js';
import { HEADS_PER_CALLER, callReportJson, encodeCallReport, encodePrettyCallReport, encodePrettyJson, indentJson, indentText, prettyJson } from '../../src/hypercalls/jsonl.js';
import { encodeCallText, formatCallText } from '../../src/hypercalls/text.js';
import type { CallReport, Out } from '../../src/hypercalls/types.js';
import type { Finding } from '../../src/policy/types.js';

function report(over: Partial<CallReport> = {}): CallReport {
  return { index: 3, op: 'iommu.map_page', caller: 'dom0', rc: 0, errno: 'OK', status: 0, out: {}, findings: [], ...over };
}

/** Every call report of the shipped examples and scenario fixtures. */
async function shippedCalls(): Promise<CallReport[]> {
  const calls: CallReport[] = [];
  for (const dir of ['examples/lab', 'examples/mediated-gpu', 'fixtures/scenarios']) {
    const { config } = await loadRepo([dir], { cwd: process.cwd() });
    for (const hc of config.hosts) {
      if (hc.inputErrors) continue;
      for (const sc of hc.scenarios) calls.push(...runScenario(hc, sc).calls);
    }
  }
  return calls;
}

const finding: Finding = { rule: 'dma/fault', severity: 'error', message: 'm', file: 'a', line: 1, column: 1, endLine: 1, endColumn: 2 };

/**
 * What encodeCallReport must write (not return -1 for, given room): plain JSON data all the way
 * down — strings, numbers, booleans, null, undefined inside objects and arrays, plain arrays and
 * objects, at most 16 levels below the report. (Values with toJSON, class instances, Maps and
 * BigInts are left to JSON.stringify.)
 */
function isEncodable(v: unknown, depth = 0): boolean {
  if (v === null || v === undefined || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return true;
  if (typeof v !== 'object' || depth > 16) return false;
  if (Array.isArray(v)) return v.every((x) => isEncodable(x, depth + 1));
  const proto: unknown = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || typeof (v as { toJSON?: unknown }).toJSON === 'function') return false;
  return Object.values(v).every((x) => isEncodable(x, depth + 1));
}

/** Escapes, -0, 1e21, NaN, undefined outputs, batches, findings, nested outputs, integer-like keys. */
function edgeCases(): CallReport[] {
  return [
    report(),
    report({ caller: 'vm "1"\\\n', op: 'x\u2028y', errno: 'é' }),
    report({ out: { bfn: '0x100', owner: 'dom\u0001', note: 'tab\there', u: '\ud800', ok: true, no: false, z: null, n: -0, big: 1e21 } }),
    report({ out: { gone: undefined as unknown as string, mfn: '0x1' } }),
    report({ rc: Number.NaN, status: Infinity }),
    report({ statuses: [0, -1], errnos: ['OK', 'EPERM'] }),
    report({ findings: [finding] }),
    report({ out: { ops: [{ bfn: '0x1' }] } }),
    report({ out: { mfns: ['0x1', '0x2'] } }),
    report({ out: { '2': 'numeric key first', a: 'x', '1': 'y' } }),
  ];
}

/**
 * Call reports of every kind the encoders meet: plain outputs mostly, any JSON-able value, odd
 * numbers, keys and strings (any UTF-16), batches and findings now and then. `extra` and `out`
 * are assembled by {@link fromArb}.
 */
function reportArbitrary() {
  const plainChar = fc.integer({ min: 0x20, max: 0x7e }).filter((c) => c !== 0x22 && c !== 0x5c).map((c) => String.fromCharCode(c));
  const plainString = fc.string({ unit: plainChar, maxLength: 40 });
  const commonValue = fc.oneof(
    plainString,
    plainString.map((s) => `0x${s.length.toString(16)}${s}`),
    fc.maxSafeInteger(),
    fc.integer(),
    fc.constantFrom(0, -0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
  );
  const anyValue = fc.oneof(
    fc.string({ unit: 'binary' }),
    // long strings (copied whole when there is nothing to escape): plain, or with one odd character
    fc.string({ unit: plainChar, minLength: 20, maxLength: 120 }),
    fc.tuple(fc.string({ unit: plainChar, minLength: 20, maxLength: 60 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.nat()).map(([t, c, i]) => t.slice(0, i % t.length) + c + t.slice(i % t.length)),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(1e21, 2 ** 53, -(2 ** 53), 0.1, Number.NaN, Infinity, -Infinity, -0),
    fc.constantFrom<unknown>([], ['0x1'], { a: 1 }, undefined),
  );
  const key = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('0', '1', '10', '4294967294', '4294967295', '-1', '01', '__proto__', 'bfn', 'mfn'));
  const num = fc.oneof({ weight: 6, arbitrary: fc.integer() }, { weight: 1, arbitrary: fc.maxSafeInteger() }, { weight: 1, arbitrary: fc.double() });
  const reportArb = fc.record({
    index: fc.oneof({ weight: 6, arbitrary: fc.nat() }, { weight: 1, arbitrary: num }),
    op: fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('iommu.map_page', 'iommu.op', 'grant.map')),
    caller: fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('dom0', 'vm-1')),
    rc: num,
    errno: fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('OK', 'EPERM')),
    status: num,
    out: fc.oneof({ weight: 4, arbitrary: fc.dictionary(key, commonValue) }, { weight: 1, arbitrary: fc.dictionary(key, anyValue) }),
    extra: fc.oneof(
      { weight: 8, arbitrary: fc.constant<Partial<CallReport>>({}) },
      { weight: 1, arbitrary: fc.constant<Partial<CallReport>>({ statuses: [0, -1], errnos: ['OK', 'EPERM'] }) },
      { weight: 1, arbitrary: fc.constant<Partial<CallReport>>({ findings: [finding] }) },
      { weight: 2, arbitrary: fc.array(findingArbitrary(), { minLength: 1, maxLength: 3 }).map((findings) => ({ findings })) },
    ),
  });
  return reportArb;
}

/**
 * Findings of the runner's shape (rule, severity, message, file, line, column, endLine,
 * endColumn, host: the shape written member by member) with any strings and numbers, and the
 * same just off that shape: a member missing, moved, added, of another type, a subject.
 */
function findingArbitrary(): fc.Arbitrary<Finding> {
  const str = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('dma/isolation', 'error', 'trace.jsonl', 'host-0', 'é → \u{1f600}', 'x'.repeat(40) + '"'));
  const num = fc.oneof({ weight: 6, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.double() }, { weight: 1, arbitrary: fc.constant(-0) });
  const runner = fc.record({ rule: str, severity: str, message: str, file: str, line: num, column: num, endLine: num, endColumn: num, host: str });
  return fc.tuple(runner, fc.nat({ max: 7 }), str).map(([f, how, x]) => {
    const r = f as unknown as Record<string, unknown>;
    switch (how) {
      case 1: {
        const { host: _host, ...noHost } = r;
        return noHost as unknown as Finding;
      }
      case 2:
        return { ...r, subject: { kind: 'Scenario', name: x } } as unknown as Finding;
      case 3: {
        const { rule, ...rest } = r;
        return { ...rest, rule } as unknown as Finding;
      }
      case 4:
        return { ...r, line: x } as unknown as Finding;
      case 5:
        return { ...r, message: undefined } as unknown as Finding;
      case 6:
        return { ...r, related: [{ file: x, line: 1, column: 2, message: x }] } as unknown as Finding;
      default:
        return f as unknown as Finding;
    }
  });
}

function fromArb(r: { extra: Partial<CallReport>; out: unknown } & Omit<CallReport, 'out' | 'findings'>): CallReport {
  const { extra, out, ...rest } = r;
  return { ...rest, out: out as Out, findings: [], ...extra };
}

const SENTINEL = 0xa5;

/**
 * encodeCallReport(c) into a sentinel-filled buffer at `pos` before `lim`: checks the contract
 * (-1, or exactly the UTF-8 of JSON.stringify(c) in [pos, end), end <= lim, nothing else touched)
 * and returns end.
 */
function encodeChecked(c: CallReport, pos = 0, lim?: number, size?: number): number {
  return writeChecked((buf, p, l) => (lim === undefined ? encodeCallReport(c, buf, p) : encodeCallReport(c, buf, p, l)), JSON.stringify(c), pos, lim, size);
}

/**
 * `write(buf, pos, lim)` into a sentinel-filled buffer: checks that it returns -1, or exactly the
 * UTF-8 of `text` in [pos, end) with end <= lim, and that nothing else is touched; returns end.
 */
function writeChecked(write: (buf: Uint8Array, pos: number, lim: number) => number, text: string, pos = 0, lim?: number, size?: number): number {
  // Into a plain Uint8Array and into a Buffer (the output's buffers, which long strings are
  // copied into natively): the same bytes, the same end.
  const asArray = writeCheckedInto(new Uint8Array(size ?? pos + Buffer.byteLength(text) + 16), write, text, pos, lim);
  const asBuffer = writeCheckedInto(Buffer.alloc(size ?? pos + Buffer.byteLength(text) + 16), write, text, pos, lim);
  expect(asBuffer).toBe(asArray);
  return asArray;
}

function writeCheckedInto(buf: Uint8Array, write: (buf: Uint8Array, pos: number, lim: number) => number, text: string, pos: number, lim?: number): number {
  const want = Buffer.from(text, 'utf8');
  buf.fill(SENTINEL);
  const end = write(buf, pos, lim ?? buf.length);
  const limit = lim ?? buf.length;
  if (end === -1) {
    // nothing committed; scratch bytes only inside [pos, lim)
    for (let i = 0; i < pos; i++) if (buf[i] !== SENTINEL) expect.fail(`byte ${i} before pos ${pos} written`);
    for (let i = limit; i < buf.length; i++) if (buf[i] !== SENTINEL) expect.fail(`byte ${i} at/after lim ${limit} written`);
    return end;
  }
  expect(end).toBeGreaterThanOrEqual(pos);
  expect(end).toBeLessThanOrEqual(limit);
  expect(Buffer.from(buf.subarray(pos, end)).toString('utf8')).toBe(want.toString('utf8'));
  expect(Buffer.compare(Buffer.from(buf.subarray(pos, end)), want)).toBe(0);
  for (let i = 0; i < buf.length; i++) if ((i < pos || i >= end) && buf[i] !== SENTINEL) expect.fail(`byte ${i} outside [${pos}, ${end}) written`);
  return end;
}

describe('callReportJson', () => {
  it('matches JSON.stringify on every call of the shipped examples and scenario fixtures', async () => {
    let n = 0;
    for (const dir of ['examples/lab', 'examples/mediated-gpu', 'fixtures/scenarios']) {
      const { config } = await loadRepo([dir], { cwd: process.cwd() });
      for (const hc of config.hosts) {
        if (hc.inputErrors) continue;
        for (const sc of hc.scenarios) {
          for (const c of runScenario(hc, sc).calls) {
            expect(callReportJson(c)).toBe(JSON.stringify(c));
            n++;
          }
        }
      }
    }
    expect(n).toBeGreaterThan(20);
  });

  it('escapes what JSON escapes, and falls back for batches, findings and nested outputs', () => {
    for (const c of edgeCases()) expect(callReportJson(c)).toBe(JSON.stringify(c));
  });

  it('matches JSON.stringify on arbitrary flat outputs and strings (property)', () => {
    const scalar = fc.oneof(fc.string({ unit: 'binary' }), fc.double(), fc.integer(), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'binary' }),
        fc.integer(),
        fc.dictionary(fc.string({ unit: 'binary' }), scalar),
        (op, caller, rc, out) => {
          const c = report({ op, caller, rc, status: rc, errno: caller, out: out as Out });
          expect(callReportJson(c)).toBe(JSON.stringify(c));
        },
      ),
      { numRuns: 500, seed: 7 },
    );
  });
});

describe('encodeCallReport', () => {
  it('heads of changing callers and results, written into one reused Buffer, stay right', () => {
    // The head of a line (op, caller, rc, errno, status) is cached per op from the bytes just
    // written: the cache must hold a copy, not a view of an output buffer that is written over.
    const buf = Buffer.alloc(256);
    const callers = ['dom0', 'vm-1', 'ci-28', '28', 'dom0'];
    for (let i = 0; i < 60; i++) {
      const c = report({ index: i, caller: callers[i % callers.length]!, rc: i % 3 === 0 ? -1 : 0, errno: i % 3 === 0 ? 'EPERM' : 'OK', status: i % 3 === 0 ? -1 : 0 });
      const end = encodeCallReport(c, buf, 0);
      expect(buf.toString('utf8', 0, end)).toBe(JSON.stringify(c));
      buf.fill(0x7e); // the next line starts on garbage
    }
  });

  it('one op and caller whose rc moves over more values than are kept per caller: every head right', () => {
    // (XENMEM rc is the count done: a trace's decrease_reservation calls cycle through a few.)
    const buf = Buffer.alloc(256);
    expect(5 + 4).toBeGreaterThan(HEADS_PER_CALLER); // the values below: some heads must go
    for (let i = 0; i < 400; i++) {
      // (Mostly a few values, found again; now and then others: nine in all, more than are kept.)
      const rc = i % 7 === 0 ? 5 + (i % 4) : i % 5;
      const c = report({ index: i, op: 'memory.decrease_reservation', caller: 'vm-1', rc, errno: 'OK', status: i % 13 === 0 ? rc + 1 : rc });
      const end = encodeCallReport(c, buf, 0);
      expect(buf.toString('utf8', 0, end)).toBe(JSON.stringify(c));
      buf.fill(0x7e);
    }
  });

  it('writes the bytes of JSON.stringify for every call of the shipped examples, findings included', async () => {
    let written = 0;
    let common = 0;
    let fallback = 0;
    const calls = await shippedCalls();
    for (const [i, c] of calls.entries()) {
      const pos = i % 13;
      const end = encodeChecked(c, pos);
      if (end >= 0) {
        written++;
        expect(end - pos).toBe(Buffer.byteLength(JSON.stringify(c)));
      } else fallback++;
      if (isEncodable(c)) {
        common++;
        expect(end, JSON.stringify(c)).toBeGreaterThanOrEqual(0);
      }
      // an exact fit also works
      if (end >= 0) expect(encodeChecked(c, pos, end, end + 8)).toBe(end);
      // and one byte less never does
      if (end > pos) expect(encodeChecked(c, pos, end - 1, end + 8)).toBe(-1);
    }
    expect(calls.length).toBeGreaterThan(20);
    // every report of a run is plain data: findings and batches included, all are written
    expect(common).toBe(calls.length);
    expect(written).toBe(calls.length);
    expect(fallback).toBe(0);
    expect(calls.some((c) => c.findings.length > 0)).toBe(true);
  });

  it('writes the exact bytes for the escaping cases, batches, findings and nested outputs', () => {
    const ends = edgeCases().map((c) => encodeChecked(c, 5));
    expect(ends.every((e) => e > 5)).toBe(true);
  });

  it('writes plain data whatever it holds, and leaves to JSON.stringify what it treats specially', () => {
    const yes: CallReport[] = [
      report({ index: 0, rc: -22, errno: 'EINVAL', status: -22 }),
      report({ index: -0, rc: -0, status: -0, out: { n: -0, m: -1, z: 0 } }),
      report({ index: Number.MAX_SAFE_INTEGER, rc: Number.MIN_SAFE_INTEGER, out: { max: Number.MAX_SAFE_INTEGER, min: Number.MIN_SAFE_INTEGER } }),
      report({ out: { gone: undefined as unknown as string, mfn: '0x1', last: undefined as unknown as string } }),
      report({ out: { only: undefined as unknown as string } }),
      report({ out: { '2': 'numeric key first', a: 'x', '1': 'y', '10': true, '-1': false, '01': null } }),
      report({ out: { ' !#$%&\'()*+,-./09:;<=>?@AZ[]^_`az{|}~': ' !#$%&\'()*+,-./09:;<=>?@AZ[]^_`az{|}~', '': '' } }),
      // op, caller, errno and output keys may hold anything: they are quoted as JSON quotes them
      report({ op: 'x\u2028y"\\', caller: 'vm-é-\u{1f600}\u0000', errno: '\ud800', out: { 'k\n"é': 'v', '\udfff': 1 } }),
      report({ out: { s: 'x'.repeat(10_000) } }),
    ];
    for (const c of yes) expect(encodeChecked(c, 3), JSON.stringify(c)).toBeGreaterThan(3);
    // -0 as JSON writes it
    const z = Buffer.alloc(200);
    const end = encodeCallReport(report({ index: -0, rc: -0, status: -0, out: { n: -0 } }), z, 0);
    expect(z.subarray(0, end).toString()).toBe('{"index":0,"op":"iommu.map_page","caller":"dom0","rc":0,"errno":"OK","status":0,"out":{"n":0},"findings":[]}');

    // numbers JSON writes as String(n) or null; strings with escapes, non-ASCII and lone
    // surrogates; nested outputs, batches and findings (with related locations and a subject)
    const more: CallReport[] = [
      report({ out: { big: 1e21, unsafe: 2 ** 53, neg: -(2 ** 53), half: 0.5, tiny: 5e-324, nan: Number.NaN, inf: Infinity, ninf: -Infinity } }),
      report({ index: 1.5, rc: Number.NaN, status: -Infinity }),
      report({ index: 1e21 }),
      report({ out: { q: 'a"b', b: 'a\\b', nl: 'a\nb', ctl: '\u0000\u0001\u001f\b\f\r\t', del: '\u007f', e: 'é', emoji: '\u{1f600}', lone: '\ud800', low: '\udc00x', pair: '\ud83d\ude00', bmp: '\u2028\uffff' } }),
      report({ out: { nested: { a: 1, b: [{ c: [] }] }, list: [], arr: [1, 'x', null, true] } }),
      // long strings (over 32 characters take the native encoder unless they hold something to escape)
      report({ out: { a: 'é → ü '.repeat(20), b: '\u{1f600}x'.repeat(30), c: 'plain '.repeat(40) + '"', d: 'x'.repeat(40) + '\ud800', e: 'x'.repeat(40) + '\u0007', f: '\u007f'.repeat(40) } }),
      report({ findings: [{ ...finding, message: 'a long message without anything to escape — but with UTF-8: é, →, \u{1f600}'.repeat(3) }] }),
      report({ out: { ok: '0x1', late: [1] } }),
      report({ out: { holes: [undefined, () => 1, Symbol('s')] as unknown as string } }),
      report({ out: { gone: (() => 1) as unknown as string, sym: Symbol('s') as unknown as string, x: 1 } }),
      report({ out: Object.assign(Object.create(null) as Record<string, string>, { bare: 'null prototype' }) }),
      report({ statuses: [0], errnos: ['OK'] }),
      report({ findings: [finding] }),
      report({
        findings: [
          { ...finding, message: 'a "quoted" — message\nwith → arrows', subject: { kind: 'Scenario', name: 's' }, related: [{ file: 'b', line: 2, column: 3, message: 'é' }] },
          finding,
        ],
      }),
    ];
    for (const c of more) expect(encodeChecked(c, 7), JSON.stringify(c)).toBeGreaterThan(7);

    // what JSON.stringify treats specially is left to it
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 20; i++) cur = cur.d = {} as Record<string, unknown>;
    const no: CallReport[] = [
      report({ out: { at: new Date(0) as unknown as string } }),
      report({ out: { j: { toJSON: () => 'x' } as unknown as string } }),
      report({ out: { m: new Map([[1, 2]]) as unknown as string } }),
      report({ out: { u: new Uint8Array(2) as unknown as string } }),
      report({ out: { deep } as unknown as Out }),
    ];
    for (const c of no) expect(encodeChecked(c, 7), JSON.stringify(c)).toBe(-1);
  });

  it('never writes at or past lim: -1 for every lim short of the line, the line from an exact fit on', () => {
    const cases = [
      report(),
      report({ index: 123456, rc: -7, status: -7, errno: 'E2BIG', out: { bfn: '0x100', n: -42, ok: true, no: false, z: null } }),
      report({ op: 'grant.é', caller: 'vm-\u{1f600}', out: { '2': 'b', a: 'a', 'ü': -0 } }),
      report({ out: { gone: undefined as unknown as string, x: 'y' } }),
    ];
    for (const c of cases) {
      const len = Buffer.byteLength(JSON.stringify(c));
      for (const pos of [0, 1, 9]) {
        for (let lim = 0; lim <= pos + len + 2; lim++) {
          const end = encodeChecked(c, pos, lim, pos + len + 8);
          if (lim < pos + len) expect(end).toBe(-1);
          else expect(end).toBe(pos + len);
        }
      }
    }
  });

  it('quotes repeated ops, callers, errnos and keys right as their caches fill and churn', () => {
    // more distinct strings than any cache keeps, the same op with alternating callers
    for (let i = 0; i < 6000; i++) {
      const c = report({
        index: i,
        op: `op.${i % 3 === 0 ? i : i % 5}`,
        caller: i % 2 === 0 ? 'dom0' : `vm-${i % 7}-é`,
        errno: `E${i}`,
        out: { [`key${i}`]: i, [`k${i % 4}`]: `0x${i.toString(16)}`, ['k'.repeat(1 + (i % 12))]: true },
      });
      expect(encodeChecked(c, i % 5)).toBeGreaterThan(0);
    }
  });

  it('writes exactly JSON.stringify at any pos, never outside [pos, lim), and -1 only when it must (property)', () => {
    const reportArb = reportArbitrary();
    let successes = 0;
    let mustSucceed = 0;
    let tooShort = 0;
    const runs = 3000;
    fc.assert(
      fc.property(
        reportArb,
        fc.nat({ max: 64 }),
        fc.oneof(fc.constant('roomy' as const), fc.constant('exact' as const), fc.constant('short' as const), fc.constant('buffer' as const)),
        fc.nat({ max: 1000 }),
        (r, pos, limKind, slack) => {
          const c = fromArb(r);
          const len = Buffer.byteLength(JSON.stringify(c));
          const size = pos + len + 64;
          const lim =
            limKind === 'roomy' ? Math.min(size, pos + len + (slack % 64)) :
            limKind === 'exact' ? pos + len :
            limKind === 'short' ? Math.max(0, pos + len - 1 - (slack % (len + pos))) :
            undefined;
          const end = encodeChecked(c, pos, lim, size);
          const room = (lim ?? size) - pos >= len;
          if (!room) {
            tooShort++;
            expect(end).toBe(-1);
          }
          if (end >= 0) {
            successes++;
            expect(end).toBe(pos + len);
          }
          if (room && isEncodable(c)) {
            mustSucceed++;
            expect(end, JSON.stringify(c)).toBe(pos + len);
          }
        },
      ),
      { numRuns: runs, seed: 11 },
    );
    // the success path, the must-succeed path and the too-short path are all exercised often
    expect(successes).toBeGreaterThan(runs / 4);
    expect(mustSucceed).toBeGreaterThan(runs / 4);
    expect(tooShort).toBeGreaterThan(runs / 10);
  });
});

describe('the index at the head of a line (counted up from the line before)', () => {
  // Each writer keeps the digits of its last index and counts them up for the next call.
  const writers: [string, (c: CallReport, buf: Uint8Array, pos: number, lim: number) => number, (c: CallReport) => string][] = [
    ['JSON Lines', encodeCallReport, (c) => JSON.stringify(c)],
    ['pretty JSON', (c, buf, pos, lim) => encodePrettyCallReport(c, buf, pos, lim, 2), (c) => prettyJson(c, 2)],
    ['text', encodeCallText, formatCallText],
  ];
  for (const [name, write, want] of writers) {
    it(`${name}: right through a run, across every carry, and for any other index`, () => {
      const buf = Buffer.alloc(512);
      const check = (index: number): void => {
        const c = report({ index, out: index % 2 ? { bfn: '0x10' } : {} });
        const end = write(c, buf, 3, buf.length);
        expect(buf.toString('utf8', 3, end)).toBe(want(c));
        buf.fill(0x39); // nines: nothing may be read back from the buffer
      };
      // In order (a run), then runs from further on: every carry up to seven digits.
      for (let i = 0; i <= 20_001; i++) check(i);
      for (const from of [99_990, 999_990, 9_999_990]) for (let i = from; i <= from + 20; i++) check(i);
      // Out of order, repeated, back to 0, and numbers a run never has.
      for (const i of [7, 7, 8, 5, 0, 0, 1, 99, 100, 2 ** 53 - 2, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 1e21, -0, 0, 1, -1, 0, 1.5, 2.5, NaN, 3, Infinity, 4, -Infinity, 5]) {
        const c = report({ index: i });
        expect(writeChecked((b, p, l) => write(c, b, p, l), want(c), 2)).toBeGreaterThan(2);
      }
    });
  }
});

describe('indentJson and encodePrettyCallReport', () => {
  it('indent compact JSON exactly as JSON.stringify(v, null, 2) lays it out, at any depth (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat({ max: 8 }), fc.nat({ max: 16 }), (v, base, pos) => {
        const compact = Buffer.from(JSON.stringify(v), 'utf8');
        const want = indentText(JSON.stringify(v, null, 2), base);
        const len = Buffer.byteLength(want);
        expect(writeChecked((buf, p, l) => indentJson(compact, 0, compact.length, base, buf, p, l), want, pos)).toBe(pos + len);
        // one byte short: -1, and nothing outside [pos, lim)
        expect(writeChecked((buf, p, l) => indentJson(compact, 0, compact.length, base, buf, p, l), want, pos, pos + len - 1, pos + len + 8)).toBe(-1);
      }),
      { numRuns: 2000, seed: 5 },
    );
  });

  it('empty objects and arrays stay on one line; strings keep their escapes, quotes, brackets and commas', () => {
    const v = { a: [], b: {}, c: [[], {}, [1]], 's': 'x",:{}[]\\"\n\u2028é' };
    const compact = Buffer.from(JSON.stringify(v));
    const buf = new Uint8Array(400);
    const end = indentJson(compact, 0, compact.length, 4, buf, 0, buf.length);
    expect(Buffer.from(buf.subarray(0, end)).toString('utf8')).toBe(JSON.stringify(v, null, 2).replace(/\n/g, '\n    '));
  });

  it('a call pretty-printed as an element equals JSON.stringify(c, null, 2) indented, for the shipped calls and edge cases', async () => {
    const calls = [...(await shippedCalls()), ...edgeCases(), report({ out: { when: new Date(0) as unknown as string, m: new Map() as unknown as string } })];
    for (const c of calls) {
      for (const base of [0, 4]) {
        const want = prettyJson(c, base);
        expect(want).toBe(indentText(JSON.stringify(c, null, 2), base));
        expect(writeChecked((buf, p, l) => encodePrettyCallReport(c, buf, p, l, base), want, 3)).toBe(3 + Buffer.byteLength(want));
      }
    }
  });

  it('any JSON value (a finding of the top-level list) pretty-printed as an element: exactly prettyJson, never outside [pos, lim) (property)', () => {
    const related = { file: 'a.yaml', line: 2, column: 3, message: 'also "here"\t' };
    const findings = [finding, { ...finding, related: [related, related], subject: { kind: 'Domain', name: 'vm-é' } }, { ...finding, message: 'x'.repeat(5000) }];
    for (const f of findings) expect(writeChecked((buf, p, l) => encodePrettyJson(f, buf, p, l, 4), prettyJson(f, 4), 1)).toBe(1 + Buffer.byteLength(prettyJson(f, 4)));
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat({ max: 6 }), fc.nat({ max: 16 }), (v, base, pos) => {
        const want = prettyJson(v, base);
        expect(want).toBe(indentText(JSON.stringify(v, null, 2), base));
        expect(writeChecked((buf, p, l) => encodePrettyJson(v, buf, p, l, base), want, pos)).toBe(pos + Buffer.byteLength(want));
      }),
      { numRuns: 1000, seed: 29 },
    );
  });

  it('writes exactly the pretty text, or -1 when it does not fit, never outside [pos, lim) (property)', () => {
    fc.assert(
      fc.property(reportArbitrary(), fc.nat({ max: 32 }), fc.nat({ max: 400 }), (r, pos, cut) => {
        const c = fromArb(r);
        const want = prettyJson(c, 4);
        const len = Buffer.byteLength(want);
        expect(writeChecked((buf, p, l) => encodePrettyCallReport(c, buf, p, l, 4), want, pos)).toBe(pos + len);
        const lim = Math.max(pos, pos + len - 1 - (cut % Math.max(1, len)));
        expect(writeChecked((buf, p, l) => encodePrettyCallReport(c, buf, p, l, 4), want, pos, lim, pos + len + 8)).toBe(-1);
      }),
      { numRuns: 1500, seed: 17 },
    );
  });
});

describe('encodeCallText', () => {
  /** Whether encodeCallText must write `c` (given room): no findings or statuses, outputs plain ASCII strings, safe integers, booleans, null. */
  function plainText(c: CallReport): boolean {
    if (c.findings.length || c.statuses !== undefined) return false;
    const ascii = (s: string) => /^[\x20-\x7e]*$/.test(s);
    return Object.entries(c.out).every(
      ([k, v]) => ascii(k) && ((typeof v === 'string' && ascii(v)) || (typeof v === 'number' && Number.isSafeInteger(v) && !Object.is(v, -0)) || typeof v === 'boolean' || v === null),
    );
  }

  it("writes formatCallText's line for the shipped calls and edge cases, or leaves it (-1) only where it must", async () => {
    let written = 0;
    for (const c of [...(await shippedCalls()), ...edgeCases()]) {
      const want = formatCallText(c);
      const end = writeChecked((buf, p, l) => encodeCallText(c, buf, p, l), want, 2);
      if (end >= 0) {
        written++;
        expect(end).toBe(2 + Buffer.byteLength(want));
      } else expect(plainText(c), want).toBe(false);
    }
    expect(written).toBeGreaterThan(20);
  });

  it('heads of changing ops, callers and results stay right, line after line', () => {
    for (let i = 0; i < 3000; i++) {
      const c = report({ index: i, op: `op.${i % 5}`, caller: i % 3 ? 'dom0' : `vm-${i % 7}`, rc: i % 4 === 0 ? i : 0, errno: i % 2 ? 'OK' : 'EPERM', out: i % 2 ? { bfn: `0x${i.toString(16)}` } : {} });
      expect(writeChecked((buf, p, l) => encodeCallText(c, buf, p, l), formatCallText(c), i % 3)).toBeGreaterThan(0);
    }
  });

  it('one op and caller whose rc moves over more values than are kept per caller: every head right', () => {
    for (let i = 0; i < 400; i++) {
      // (Mostly a few values, found again; now and then others: nine in all, more than are kept.)
      const rc = i % 7 === 0 ? 5 + (i % 4) : i % 5;
      const errno = i % 17 === 0 ? 'ENOMEM' : 'OK';
      const c = report({ index: i, op: 'memory.populate_physmap', caller: 'vm-1', rc, errno, status: rc });
      // (Spelt out: formatCallText reads the same cache.)
      const line = `#${i}  memory.populate_physmap  vm-1  → ${rc > 0 ? `${rc} (${errno})` : errno}`;
      expect(formatCallText(c)).toBe(line);
      expect(writeChecked((buf, p, l) => encodeCallText(c, buf, p, l), line, i % 3)).toBeGreaterThan(0);
    }
  });

  it('writes exactly the text line, or -1 when it must or does not fit, never outside [pos, lim) (property)', () => {
    let plain = 0;
    fc.assert(
      fc.property(reportArbitrary(), fc.nat({ max: 32 }), fc.nat({ max: 400 }), (r, pos, cut) => {
        const c = fromArb(r);
        const want = formatCallText(c);
        const len = Buffer.byteLength(want);
        const end = writeChecked((buf, p, l) => encodeCallText(c, buf, p, l), want, pos);
        if (plainText(c)) {
          plain++;
          expect(end, want).toBe(pos + len);
        }
        if (end >= 0) expect(end).toBe(pos + len);
        const lim = Math.max(pos, pos + len - 1 - (cut % Math.max(1, len)));
        expect(writeChecked((buf, p, l) => encodeCallText(c, buf, p, l), want, pos, lim, pos + len + 8)).toBe(-1);
      }),
      { numRuns: 3000, seed: 23 },
    );
    expect(plain).toBeGreaterThan(300);
  });
});
