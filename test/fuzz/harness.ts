/**
 * Shared machinery of the fuzz tests: run counts and seeds, a hang watchdog, the in-memory check
 * pipeline (text → findings → every report format) and the invariants every input must keep.
 *
 * Default (`npm test`): a seed-fixed sample, a few seconds per file. `PVIOMMU_FUZZ=long`: the long
 * run (≥ 100,000 inputs across the files), seed from PVIOMMU_FUZZ_SEED if given, else random —
 * fast-check prints the seed and the shrunk counterexample of a failure, which then belongs in
 * `regressions` of the test file as a fixed case.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { afterAll, expect } from 'vitest';
import { loadText, type LoadOptions } from '../../src/config/load.js';
import { validateDocs } from '../../src/config/validate.js';
import { checkHost } from '../../src/check.js';
import { buildMachine } from '../../src/model/build.js';
import { formatInspectText, formatTranslateText, inspect, translateGfn } from '../../src/model/inspect.js';
import { runScenario } from '../../src/hypercalls/index.js';
import { RULES, getRule } from '../../src/policy/registry.js';
import type { Finding } from '../../src/policy/types.js';
import { formatCheck, sortFindings } from '../../src/report/index.js';
import { CHECK_FORMATS, type CheckFormat, type CheckReport } from '../../src/report/types.js';

export const LONG = process.env.PVIOMMU_FUZZ === 'long';

/** fast-check parameters: `runs` in the default run, `longRuns` with PVIOMMU_FUZZ=long. */
export function fcOpts(runs: number, longRuns: number): fc.Parameters<unknown> {
  if (!LONG) return { numRuns: runs, seed: 20240601, endOnFailure: false };
  const s = process.env.PVIOMMU_FUZZ_SEED;
  return s !== undefined ? { numRuns: longRuns, seed: Number(s) } : { numRuns: longRuns };
}

/** Test timeout: generous in the long run, the default run must stay well under it. */
export const TIMEOUT = LONG ? 60 * 60_000 : 60_000;

// ─── watchdog ────────────────────────────────────────────────────────────────────────────────
//
// A hang in synchronous code cannot be interrupted from the same thread, and a vitest timeout
// never fires while the thread is busy. A worker thread watches a deadline in shared memory and,
// when it passes, writes which input hung (stderr and a file in the temp dir) and kills the
// process: the run fails instead of hanging CI.

const WATCHDOG_SRC = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { deadline, label, labelLen, report } = workerData;
setInterval(() => {
  const d = Atomics.load(deadline, 0);
  if (d !== 0n && BigInt(Date.now()) > d) {
    const n = Atomics.load(labelLen, 0);
    const what = Buffer.from(label.slice(0, n)).toString('utf8');
    const msg = 'pviommu fuzz watchdog: no answer in time for ' + what + ' — the process is killed\\n';
    try { fs.writeSync(2, msg); } catch {}
    try { fs.writeFileSync(report, msg); } catch {}
    process.kill(process.pid, 'SIGKILL');
  }
}, 50);
`;

export class Watchdog {
  private readonly deadline = new BigInt64Array(new SharedArrayBuffer(8));
  private readonly label = new Uint8Array(new SharedArrayBuffer(2048));
  private readonly labelLen = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;

  constructor() {
    const report = join(tmpdir(), `pviommu-fuzz-hang-${process.pid}.txt`);
    this.worker = new Worker(WATCHDOG_SRC, {
      eval: true,
      workerData: { deadline: this.deadline, label: this.label, labelLen: this.labelLen, report },
    });
    this.worker.unref();
  }

  /** Run `fn` (sync or async); if it has not returned after `ms`, the process is killed. */
  guard<T>(what: string, ms: number, fn: () => T): T {
    this.arm(what, ms);
    let async = false;
    try {
      const r = fn();
      if (r instanceof Promise) {
        async = true;
        return r.finally(() => this.disarm()) as T;
      }
      return r;
    } finally {
      if (!async) this.disarm();
    }
  }

  private arm(what: string, ms: number): void {
    const bytes = Buffer.from(what.slice(0, 600), 'utf8').subarray(0, this.label.length);
    this.label.set(bytes);
    Atomics.store(this.labelLen, 0, bytes.length);
    Atomics.store(this.deadline, 0, BigInt(Date.now() + ms));
  }

  private disarm(): void {
    Atomics.store(this.deadline, 0, 0n);
  }

  async stop(): Promise<void> {
    this.disarm();
    await this.worker.terminate();
  }
}

/** A short, printable description of an input for the watchdog and failure messages. */
export function describe(text: string, max = 300): string {
  const s = JSON.stringify(text.length > max ? text.slice(0, max) + '…' : text);
  return `${text.length} chars: ${s}`;
}

// ─── the pipeline ────────────────────────────────────────────────────────────────────────────

export interface TextFile {
  file: string;
  text: string;
}

export interface PipelineResult {
  findings: Finding[];
  outputs: Record<CheckFormat, string>;
  docs: number;
}

/**
 * `pviommu check` on in-memory files, as runCheck does it minus the file system: load every text,
 * validate, build each host, static rules, every scenario, then render every report format.
 */
export function checkTexts(files: TextFile[], opts: LoadOptions = {}): PipelineResult {
  const loaded = files.map((f) => loadText(f.file, f.text, opts));
  const docs = loaded.flatMap((l) => l.docs);
  const findings: Finding[] = loaded.flatMap((l) => l.findings);
  const { config, findings: vf } = validateDocs(docs);
  findings.push(...vf);
  for (const hc of config.hosts) {
    if (hc.inputErrors) continue;
    findings.push(...checkHost(hc));
    for (const sc of hc.scenarios) findings.push(...runScenario(hc, sc).findings);
    // `inspect` and `translate` over the same model
    const m = buildMachine(hc);
    const data = inspect(m);
    if (!('error' in data)) formatInspectText(data);
    for (const d of hc.domains) {
      const t = translateGfn(m, d.name, 0x100);
      if (!('error' in t)) formatTranslateText(t);
    }
  }
  const count = (s: string) => findings.filter((f) => f.severity === s).length;
  const report: CheckReport = {
    version: 1,
    tool: { name: 'pviommu', version: '0.0.0-fuzz' },
    summary: {
      files: files.length,
      documents: config.counts.documents,
      skipped: loaded.reduce((n, l) => n + l.skipped, 0),
      hosts: config.counts.hosts,
      domains: config.counts.domains,
      devices: config.counts.devices,
      scenarios: config.counts.scenarios,
      errors: count('error'),
      warnings: count('warning'),
      infos: count('info'),
      suppressed: 0,
    },
    findings: sortFindings(findings),
  };
  const outputs = {} as Record<CheckFormat, string>;
  for (const fmt of CHECK_FORMATS) {
    outputs[fmt] = formatCheck(report, fmt, { color: false, files: files.map((f) => f.file), rules: [...RULES] });
  }
  return { findings, outputs, docs: docs.length };
}

// ─── invariants ──────────────────────────────────────────────────────────────────────────────

/** A JavaScript stack frame line (`    at fn (file.js:1:2)`), or an internal-error banner. */
const STACK = /^\s+at .+(\(|:\d+:\d+)|internal error:|Maximum call stack|\bRangeError\b|\bTypeError\b|\bReferenceError\b/m;

export function assertNoStackTrace(s: string, what: string): void {
  const m = STACK.exec(s);
  if (m) throw new Error(`${what} contains a stack trace or internal error (${JSON.stringify(m[0])}):\n${s.slice(0, 2000)}`);
}

const KNOWN_RULES = new Set(RULES.map((r) => r.id));

/** A finding any reporter can render: known rule, severity, a position inside the file. */
export function assertFinding(f: Finding, files: readonly string[]): void {
  const bad = (why: string) => new Error(`malformed finding (${why}): ${JSON.stringify(f).slice(0, 600)}`);
  if (!KNOWN_RULES.has(f.rule) || getRule(f.rule) === undefined) throw bad('unknown rule');
  if (!['error', 'warning', 'info'].includes(f.severity)) throw bad('severity');
  if (typeof f.message !== 'string' || f.message.length === 0) throw bad('message');
  if (!files.includes(f.file)) throw bad('file');
  for (const k of ['line', 'column', 'endLine', 'endColumn'] as const) {
    if (!Number.isSafeInteger(f[k]) || f[k] < 1) throw bad(k);
  }
  if (f.endLine < f.line || (f.endLine === f.line && f.endColumn < f.column)) throw bad('end before start');
  assertNoStackTrace(f.message, 'a finding message');
  for (const r of f.related ?? []) {
    if (!Number.isSafeInteger(r.line) || r.line < 1 || !Number.isSafeInteger(r.column) || r.column < 1) throw bad('related');
  }
}

/** Every invariant of one pipeline run over `files`. */
export function assertPipeline(r: PipelineResult, files: readonly string[]): void {
  for (const f of r.findings) assertFinding(f, files);
  JSON.parse(r.outputs.json);
  JSON.parse(r.outputs.sarif);
  for (const fmt of CHECK_FORMATS) assertNoStackTrace(r.outputs[fmt], `${fmt} output`);
  // The text reporter lets no terminal control character through (they are shown escaped).
  // eslint-disable-next-line no-control-regex
  expect(r.outputs.text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  // GitHub workflow commands: one per line, nothing from the input can start a new command.
  for (const line of r.outputs.github.split('\n')) {
    if (line !== '') expect(line).toMatch(/^::(error|warning|notice) /);
  }
}

let gc: (() => void) | undefined;

/** Heap used now, after a full collection, in MiB. */
export function heapMiB(): number {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** Peak resident set size of the process so far, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

const made: string[] = [];

/** Remember a temp directory for `removeTemps` (the long run makes thousands). */
export function track(dir: string): string {
  made.push(dir);
  return dir;
}

export function tempDir(prefix = 'pviommu-fuzz-'): string {
  return track(mkdtempSync(join(tmpdir(), prefix)));
}

/**
 * After the file's tests: stop its watchdog and remove its temp directories. A long run leaves
 * thousands of small repos, whose removal alone can take more than vitest's 10 s for a hook.
 */
export function cleanUpAfterAll(dog: Watchdog): void {
  afterAll(async () => {
    await dog.stop();
    removeTemps();
  }, TIMEOUT);
}

/** Remove every directory made through `tempDir` / `track` so far (call from afterAll). */
export function removeTemps(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function writeTemp(dir: string, name: string, data: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}
