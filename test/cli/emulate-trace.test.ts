/**
 * `emulate --trace` in its three formats: the streamed JSON report is byte for byte the layout of
 * `JSON.stringify(report, null, 2)` and holds the same calls as the JSON Lines output; the text
 * lines written as bytes are formatCallText's.
 */
import { describe, expect, it } from 'vitest';
import { run, repo, labCopy } from './helpers.js';
import { main } from '../../src/cli.js';
import { memoryIo } from '../../src/commands/io.js';
import { lab } from '../hypercalls/helpers.js';
import { formatCallText } from '../../src/hypercalls/text.js';
import type { CallReport } from '../../src/hypercalls/types.js';
import type { Finding } from '../../src/policy/types.js';
import { sortFindings } from '../../src/report/index.js';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Calls of every kind of report: outputs, an expectation, findings, a bad line, a batch, a list output, an end-of-run finding. */
const TRACE = [
  '{"op":"iommu.lookup_foreign_page","domid":"vm1","gfn":"0x100","expect":{"bfn":"0x3e01200"}}',
  'not json',
  '{"op":"device.dma","device":"gpu","bfn_of":0,"access":"write","target":{"domain":"vm1","gfn":256}}',
  '',
  '{"op":"iommu.unmap_foreign_page","bfn_of":0,"expect":{"status":"ENOENT"}}',
  '{"op":"iommu.op","ops":[{"subop":"query_caps"},{"subop":"unmap_page","bfn":"0x7"}]}',
  '{"op":"memory.translate","domid":1,"gfns":["0x100","0x101"]}',
  '{"op":"memory.decrease_reservation","caller":"vm1","gfns":[256]}',
  '{"op":"x\\u001b]0;t\\u0007","caller":"dom0"}',
  '{"op":"iommu.query_caps"}',
  ...Array.from({ length: 300 }, (_, i) => `{"op":"iommu.lookup_foreign_page","domid":"vm1","gfn":"0x${(0x100 + (i % 40)).toString(16)}"}`),
].join('\n');

async function emulate(trace: string, format: 'json' | 'jsonl' | 'text') {
  const dir = repo({ 'lab.yaml': lab(), 't.jsonl': trace });
  return run(['emulate', '.', '--trace', 't.jsonl', '--host', 'h', '--format', format, '--quiet'], { cwd: dir });
}

function jsonLines(stdout: string): { calls: CallReport[]; last: { summary: unknown; findings: unknown[] } } {
  const lines = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { calls: lines.slice(0, -1) as unknown as CallReport[], last: lines[lines.length - 1] as { summary: unknown; findings: unknown[] } };
}

describe('emulate --trace output formats', () => {
  it('--format json is streamed in exactly the layout of JSON.stringify(report, null, 2), with the calls of --format jsonl', async () => {
    const [json, jsonl] = [await emulate(TRACE, 'json'), await emulate(TRACE, 'jsonl')];
    expect(json.code).toBe(1);
    expect(jsonl.code).toBe(1);
    const report = JSON.parse(json.stdout) as Record<string, unknown> & { calls: CallReport[]; findings: { rule: string }[] };
    expect(json.stdout).toBe(JSON.stringify(report, null, 2) + '\n');
    expect(Object.keys(report)).toEqual(['version', 'scenario', 'host', 'abi', 'calls', 'findings', 'summary']);
    expect(report).toMatchObject({ version: 1, scenario: 't.jsonl', host: 'h', abi: 'xs' });
    const { calls, last } = jsonLines(jsonl.stdout);
    expect(calls).toHaveLength(309);
    expect(report.calls).toEqual(calls);
    expect(report.summary).toEqual(last.summary);
    // the top-level findings: every call's, then those of the end of the run (as JSON Lines' last line has them)
    const fromCalls = calls.flatMap((c) => c.findings);
    expect(fromCalls.length).toBeGreaterThan(2);
    expect(report.findings).toHaveLength(fromCalls.length + last.findings.length);
    expect(report.findings).toEqual(expect.arrayContaining([...fromCalls, ...last.findings]));
    expect(report.findings.map((f) => f.rule)).toEqual(expect.arrayContaining(['schema/invalid', 'scenario/expectation-failed', 'hypercall/raw-mfn-exposed', 'mapping/dangling']));
  });

  it('a trace without calls (empty, blank lines) checked nothing: exit 2, one line, nothing on stdout, in every format', async () => {
    for (const format of ['json', 'jsonl', 'text'] as const) {
      for (const trace of ['', '\n  \n']) {
        const r = await emulate(trace, format);
        expect([r.code, r.stdout, r.stderr]).toEqual([2, '', 'pviommu: error: trace t.jsonl holds no calls; a trace is one JSON object per line, e.g. {"op":"iommu.query_caps"}\n']);
      }
    }
    // an --output file already there is left as it was
    const dir = repo({ 'lab.yaml': lab(), 't.jsonl': '\n', 'out.json': 'the previous report' });
    const o = await run(['emulate', '.', '--trace', 't.jsonl', '--host', 'h', '-f', 'json', '-o', 'out.json'], { cwd: dir });
    expect(o.code).toBe(2);
    expect(readFileSync(join(dir, 'out.json'), 'utf8')).toBe('the previous report');
    // from stdin the same
    const s = await run(['emulate', '.', '--trace', '-', '--host', 'h'], { cwd: dir, stdin: '' });
    expect([s.code, s.stderr]).toEqual([2, 'pviommu: error: stdin holds no calls; a trace is one JSON object per line, e.g. {"op":"iommu.query_caps"}\n']);
  });

  it('--format text writes each call as formatCallText does, then the end-of-run findings and the summary', async () => {
    const [text, jsonl] = [await emulate(TRACE, 'text'), await emulate(TRACE, 'jsonl')];
    const { calls, last } = jsonLines(jsonl.stdout);
    const want = calls.map((c) => formatCallText(c)).join('\n') + '\n';
    expect(text.stdout.startsWith(want)).toBe(true);
    const tail = text.stdout.slice(want.length).trimEnd().split('\n');
    const s = last.summary as { calls: number; errors: number; warnings: number; failed_expectations: number };
    expect(s).toEqual({ calls: 309, errors: 4, warnings: 1, failed_expectations: 1 });
    expect(calls[4]!.statuses).toHaveLength(2); // a batch: its line is formatCallText's own
    expect(tail[tail.length - 1]).toBe('309 calls, 4 errors, 1 warning, 1 failed expectation');
    // under a header of their own, as a scenario's (they are no finding of the last call)
    expect(tail.slice(0, -1)).toEqual(['end of trace:', expect.stringMatching(/^ {4}t\.jsonl:7:1 {2}error {2}call #5 handed out a frame .* mapping\/dangling$/)]);
    // the control characters of the op name are shown escaped, never written
    expect(text.stdout).toContain('\n#7  x\\x1b]0;t\\x07  dom0  → ENOSYS\n');
  });

  it('a long list of end-of-run findings is written in every format as a whole list would be', async () => {
    // 1,200 frames handed out raw, then given back: a stale translation each at the end (mapping/dangling)
    const calls: string[] = [];
    for (let i = 0; i < 1200; i++) {
      const gfn = `0x${i.toString(16)}`;
      calls.push(`{"op":"memory.translate","domid":1,"gfns":["${gfn}"]}`, `{"op":"memory.decrease_reservation","caller":"vm1","gfns":["${gfn}"]}`);
    }
    const trace = calls.join('\n') + '\n';
    const [json, jsonl, text] = [await emulate(trace, 'json'), await emulate(trace, 'jsonl'), await emulate(trace, 'text')];
    const { last } = jsonLines(jsonl.stdout);
    expect(last.findings).toHaveLength(1200);
    expect(jsonl.stdout.trimEnd().split('\n').pop()).toBe(JSON.stringify(last));
    const report = JSON.parse(json.stdout) as { findings: { rule: string }[] };
    expect(json.stdout).toBe(JSON.stringify(report, null, 2) + '\n');
    expect(report.findings.filter((f) => f.rule === 'mapping/dangling')).toHaveLength(1200);
    expect(report.findings).toHaveLength(2400); // and the calls' hypercall/raw-mfn-exposed
    const tail = text.stdout.trimEnd().split('\n').slice(-1201);
    expect(tail.slice(0, -1).every((l) => /^ {4}t\.jsonl:\d+:1 {2}\w+ {2}call #\d+ handed out .* {2}mapping\/dangling$/.test(l))).toBe(true);
    expect(tail[1200]).toMatch(/^2400 calls, /);
  });

  it('--format json keeps the calls\' findings in a temp file past PVIOMMU_FINDINGS_MEMORY bytes: the same report, sorted, nothing left behind', async () => {
    // The 1,200 stale translations of the test above, and a finding of every call besides.
    const calls: string[] = [];
    for (let i = 0; i < 1200; i++) {
      const gfn = `0x${i.toString(16)}`;
      calls.push(`{"op":"memory.translate","domid":1,"gfns":["${gfn}"]}`, `{"op":"memory.decrease_reservation","caller":"vm1","gfns":["${gfn}"],"expect":{"rc":2}}`);
    }
    const dir = repo({ 'lab.yaml': lab(), 't.jsonl': `${TRACE}\n${calls.join('\n')}\n` });
    const args = ['emulate', '.', '--trace', 't.jsonl', '--host', 'h', '--format', 'json', '--quiet'];
    const inMemory = await run(args, { cwd: dir });
    const tmp = mkdtempSync(join(tmpdir(), 'pviommu-spill-'));
    const spilled = await run(args, { cwd: dir, env: { PVIOMMU_FINDINGS_MEMORY: '0', TMPDIR: tmp } });
    expect(spilled.code).toBe(1);
    expect(spilled.stderr).toBe('');
    expect(spilled.stdout).toBe(inMemory.stdout);
    const report = JSON.parse(spilled.stdout) as { calls: CallReport[]; findings: Finding[] };
    expect(report.findings).toEqual(sortFindings(report.findings));
    const { last } = jsonLines((await run([...args.slice(0, -2), 'jsonl', '--quiet'], { cwd: dir })).stdout);
    expect(last.findings.length).toBeGreaterThan(1000);
    expect(report.findings).toHaveLength(report.calls.flatMap((c) => c.findings).length + last.findings.length);
    expect(report.findings).toEqual(expect.arrayContaining(last.findings));
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('--trace - reads the trace from stdin as it comes: the same run, the findings at <stdin>', async () => {
    const dir = repo({ 'lab.yaml': lab(), 't.jsonl': TRACE });
    const fromFile = await run(['emulate', '.', '--trace', 't.jsonl', '--host', 'h', '--format', 'jsonl', '--quiet'], { cwd: dir });
    const fromStdin = await run(['emulate', '.', '--trace', '-', '--host', 'h', '--format', 'jsonl', '--quiet'], { cwd: dir, stdin: TRACE });
    expect(fromStdin.code).toBe(fromFile.code);
    expect(fromStdin.stderr).toBe('');
    expect(fromStdin.stdout).toContain('"file":"<stdin>","line":2,');
    expect(fromStdin.stdout).toBe(fromFile.stdout.replaceAll('"file":"t.jsonl"', '"file":"<stdin>"').replace('"scenario":"t.jsonl"', '"scenario":"<stdin>"'));
  });

  it('a trace path that is not a regular file (a device, a FIFO) is read; a directory or a missing path is exit 2, one line', async () => {
    const dir = repo({ 'lab.yaml': lab(), 'sub/x.jsonl': '' });
    // a device is read (/dev/null holds no calls: read, and found empty)
    const dev = await run(['emulate', '.', '--trace', '/dev/null', '--host', 'h', '--quiet'], { cwd: dir });
    expect([dev.code, dev.stderr]).toEqual([2, 'pviommu: error: trace /dev/null holds no calls; a trace is one JSON object per line, e.g. {"op":"iommu.query_caps"}\n']);
    const d = await run(['emulate', '.', '--trace', 'sub', '--host', 'h'], { cwd: dir });
    expect(d.code).toBe(2);
    expect(d.stderr).toBe('pviommu: error: trace sub is a directory; give a JSON Lines file\n');
    const missing = await run(['emulate', '.', '--trace', 'nope.jsonl', '--host', 'h'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('pviommu: error: trace not found: nope.jsonl\n');
  });

  it('--trace - on a terminal says where the calls are read from (on stderr; not with --quiet)', async () => {
    const dir = repo({ 'lab.yaml': lab() });
    const call = '{"op":"iommu.query_caps"}\n';
    const r = await run(['emulate', '.', '--trace', '-', '--host', 'h'], { cwd: dir, stdin: call, stdinTTY: true });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('pviommu: reading calls from the terminal, one JSON object per line (end with Ctrl-D)\n');
    expect(r.stdout).toMatch(/^#0 {2}iommu\.query_caps {2}dom0 {2}→ OK/);
    const q = await run(['emulate', '.', '--trace', '-', '--host', 'h', '--quiet'], { cwd: dir, stdin: call, stdinTTY: true });
    expect(q.stderr).toBe('');
    const piped = await run(['emulate', '.', '--trace', '-', '--host', 'h'], { cwd: dir, stdin: call });
    expect(piped.stderr).toBe('');
  });

  it('the project config applies as in check: its severities to a trace and a scenario, the scenario\'s suppression comments', async () => {
    const dir = labCopy();
    writeFileSync(join(dir, 't.jsonl'), '{"op":"memory.translate","domid":"vm1","gfns":["0x100"]}\n');
    const sc = join(dir, 'scenarios/xengt-pv-iommu.yaml');
    writeFileSync(sc, readFileSync(sc, 'utf8') + '  - op: memory.translate\n    domid: vm1\n    gfns: [0x101]\n');
    const trace = () => run(['emulate', '.', '--trace', 't.jsonl', '--host', 'lab-1', '-f', 'jsonl'], { cwd: dir });
    const scenarioRun = () => run(['emulate', '.', '--scenario', 'xengt-pv-iommu', '-f', 'json'], { cwd: dir });
    const severities = (out: string, json: boolean) =>
      json ? (JSON.parse(out).findings as Finding[]).map((f) => f.severity) : (JSON.parse(out.trimEnd().split('\n')[0]!).findings as Finding[]).map((f) => f.severity);
    // as shipped: a warning each, exit 0
    let t = await trace();
    let c = await scenarioRun();
    expect([t.code, severities(t.stdout, false), c.code, severities(c.stdout, true)]).toEqual([0, ['warning'], 0, ['warning']]);
    // raised to error: exit 1, in the calls' findings and the counts
    writeFileSync(join(dir, '.pviommu.yaml'), 'rules:\n  hypercall/raw-mfn-exposed: error\n');
    [t, c] = [await trace(), await scenarioRun()];
    expect([t.code, severities(t.stdout, false), c.code, severities(c.stdout, true), JSON.parse(c.stdout).summary.errors]).toEqual([1, ['error'], 1, ['error'], 1]);
    // off: no finding at all
    writeFileSync(join(dir, '.pviommu.yaml'), 'rules:\n  hypercall/raw-mfn-exposed: "off"\n');
    [t, c] = [await trace(), await scenarioRun()];
    expect([t.code, severities(t.stdout, false), c.code, severities(c.stdout, true)]).toEqual([0, [], 0, []]);
    // a suppression comment in the scenario: the finding is gone from the call and the report
    writeFileSync(join(dir, '.pviommu.yaml'), 'rules:\n  hypercall/raw-mfn-exposed: error\n');
    writeFileSync(sc, readFileSync(sc, 'utf8').replace('    gfns: [0x101]\n', '    # pviommu-disable-next-line hypercall/raw-mfn-exposed -- the test reads it\n    gfns: [0x101]\n'));
    c = await scenarioRun();
    const report = JSON.parse(c.stdout) as { calls: { findings: Finding[] }[]; findings: Finding[]; summary: { errors: number } };
    expect([c.code, report.findings, report.calls.flatMap((x) => x.findings), report.summary.errors]).toEqual([0, [], [], 0]);
    // an unknown rule id there is bad usage, as for check
    writeFileSync(join(dir, '.pviommu.yaml'), 'rules:\n  hypercall/nope: error\n');
    expect((await trace()).code).toBe(2);
  });

  it('the input rules\' warnings are emulate\'s too (SPEC §4.4): before the calls in text, among the findings and counts in JSON', async () => {
    const dir = labCopy();
    const sc = join(dir, 'scenarios/xengt-pv-iommu.yaml');
    writeFileSync(sc, readFileSync(sc, 'utf8').replace('    gfn: 0x100\n', '    gfn: 0x1_00\n'));
    writeFileSync(join(dir, 't.jsonl'), '{"op":"iommu.query_caps"}\n');
    const ambiguous = (fs: Finding[]) => fs.filter((f) => f.rule === 'yaml/ambiguous-scalar').map((f) => `${f.file}:${f.line}:${f.column}`);
    const sj = JSON.parse((await run(['emulate', '.', '--scenario', 'xengt-pv-iommu', '-f', 'json'], { cwd: dir })).stdout);
    expect([ambiguous(sj.findings), sj.summary.warnings]).toEqual([['scenarios/xengt-pv-iommu.yaml:12:10'], 1]);
    const tj = JSON.parse((await run(['emulate', '.', '--trace', 't.jsonl', '--host', 'lab-1', '-f', 'json', '-q'], { cwd: dir })).stdout);
    expect([ambiguous(tj.findings), tj.summary.warnings]).toEqual([['scenarios/xengt-pv-iommu.yaml:12:10'], 1]);
    const tl = (await run(['emulate', '.', '--trace', 't.jsonl', '--host', 'lab-1', '-f', 'jsonl', '-q'], { cwd: dir })).stdout.trimEnd().split('\n');
    const last = JSON.parse(tl[tl.length - 1]!);
    expect([ambiguous(last.findings), last.summary.warnings]).toEqual([['scenarios/xengt-pv-iommu.yaml:12:10'], 1]);
    const text = (await run(['emulate', '.', '--trace', 't.jsonl', '--host', 'lab-1', '-q'], { cwd: dir })).stdout.split('\n');
    expect(text[0]).toBe('input:');
    expect(text[1]).toMatch(/^ {4}scenarios\/xengt-pv-iommu\.yaml:12:10 {2}warning .* yaml\/ambiguous-scalar$/);
    expect(text[2]).toMatch(/^#0 {2}iommu\.query_caps/);
    // turned off in the project config: gone, as in check
    writeFileSync(join(dir, '.pviommu.yaml'), 'rules:\n  yaml/ambiguous-scalar: "off"\n');
    const off = JSON.parse((await run(['emulate', '.', '--scenario', 'xengt-pv-iommu', '-f', 'json'], { cwd: dir })).stdout);
    expect([ambiguous(off.findings), off.summary.warnings]).toEqual([[], 0]);
  });

  it('a host with input errors is not emulated (exit 1), and a machine format still gets its document: no calls, the errors that stopped it', async () => {
    const dir = labCopy();
    const vm1 = join(dir, 'domains/vm1.yaml');
    writeFileSync(vm1, readFileSync(vm1, 'utf8').replace('memory: 8GiB', 'memory: 8GiBB'));
    writeFileSync(join(dir, 't.jsonl'), '{"op":"iommu.query_caps"}\n');
    const stopped = (fs: Finding[]) => fs.map((f) => `${f.file}:${f.line}:${f.column} ${f.severity} ${f.rule}`);
    const want = ['domains/vm1.yaml:7:9 error schema/invalid'];
    const summary = { calls: 0, errors: 1, warnings: 0, failed_expectations: 0 };
    for (const how of [['--scenario', 'xengt-pv-iommu'], ['--trace', 't.jsonl', '--host', 'lab-1', '-q']]) {
      const json = await run(['emulate', '.', ...how, '-f', 'json'], { cwd: dir });
      const report = JSON.parse(json.stdout);
      expect(json.code).toBe(1);
      expect(json.stdout).toBe(JSON.stringify(report, null, 2) + '\n');
      expect(Object.keys(report)).toEqual(['version', 'scenario', 'host', 'abi', 'calls', 'findings', 'summary']);
      expect(report).toMatchObject({ version: 1, scenario: how[1], host: 'lab-1', abi: 'xs', calls: [], summary });
      expect(stopped(report.findings)).toEqual(want);
      // the people reading the terminal still see why, on stderr
      expect(json.stderr).toMatch(/domains\/vm1\.yaml\n {2}7:9 {2}error .*schema\/invalid/);
      const jsonl = await run(['emulate', '.', ...how, '-f', 'jsonl'], { cwd: dir });
      const lines = jsonl.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
      expect([jsonl.code, lines.length, lines[0].summary, stopped(lines[0].findings)]).toEqual([1, 1, summary, want]);
      // text has no document to keep whole: nothing on stdout, the findings on stderr
      const text = await run(['emulate', '.', ...how], { cwd: dir });
      expect([text.code, text.stdout]).toEqual([1, '']);
      expect(text.stderr).toMatch(/schema\/invalid/);
    }
    // --output FILE gets the document too
    const o = await run(['emulate', '.', '--scenario', 'xengt-pv-iommu', '-f', 'json', '-o', 'out.json'], { cwd: dir });
    expect([o.code, o.stdout, JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')).summary]).toEqual([1, '', summary]);
  });

  it('the trace and the config cannot both come from stdin (exit 2)', async () => {
    const r = await run(['emulate', '-', '--trace', '-', '--host', 'h'], { stdin: lab() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^pviommu: error: `--trace -` reads the trace from stdin, so the config cannot come from stdin too/);
  });
});

describe('emulate --trace from a pipe: output keeps pace with input', () => {
  const line = (i: number) => `{"op":"iommu.lookup_foreign_page","domid":"vm1","gfn":"0x${(0x100 + (i % 40)).toString(16)}"}\n`;

  it("what a chunk of input produced is written before the next chunk is read, and a stalled output holds the reading back", async () => {
    const dir = repo({ 'lab.yaml': lab() });
    const m = memoryIo({ cwd: dir });
    let written = 0;
    let stalled: (() => void) | undefined;
    let reads = 0;
    m.io.stdout.write = (s) => {
      written += String(typeof s === 'string' ? s : Buffer.from(s).toString('utf8')).split('\n').length - 1;
    };
    // The third chunk's output is not taken at once: the reader must wait for it.
    m.io.stdout.drained = () => (reads === 3 && stalled === undefined ? new Promise<void>((resolve) => (stalled = resolve)) : undefined);
    const chunks = 6;
    const perChunk = 50;
    m.io.stdinChunks = async function* () {
      for (let c = 0; c < chunks; c++) {
        // every line of the chunks read so far has its output line
        expect(written).toBe(c * perChunk);
        reads++;
        yield Buffer.from(Array.from({ length: perChunk }, (_, i) => line(c * perChunk + i)).join(''));
      }
    };
    const done = main(['node', 'pviommu', 'emulate', '.', '--trace', '-', '--host', 'h', '--format', 'jsonl', '--quiet'], m.io);
    // Let the run go as far as it can while the output is stalled.
    for (let i = 0; i < 50 && stalled === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    expect(stalled).toBeDefined();
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 5));
    expect(reads).toBe(3); // not one chunk more while the output waits
    stalled!();
    expect(await done).toBe(0);
    expect(reads).toBe(chunks);
    expect(written).toBe(chunks * perChunk + 1); // and the summary line
  });
});
