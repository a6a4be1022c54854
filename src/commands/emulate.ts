/**
 * `pviommu emulate` — run one Scenario, or a JSON Lines trace of calls, against a fresh model of
 * its host, and print every call's result.
 */
import { resolve, relative, sep } from 'node:path';
import { stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
import type { CommandEnv } from '../cli.js';
import { applyOverrides, applySuppressions, countFailedExpectations, loadRepo } from '../check.js';
import type { Suppression } from '../config/load.js';
import { buildMachine } from '../model/build.js';
import { runScenario, emulateTrace, withAbi, encodeCallText, formatCallText, formatEmulateText, formatEndFinding, formatInputText, formatSummaryText, type CallReport, type EmulateReport, type Abi } from '../hypercalls/index.js';
import { callReportJson, encodeCallReport, encodeJson, encodePrettyCallReport, encodePrettyJson, indentJson, indentText, prettyJson } from '../hypercalls/jsonl.js';
import { openOutputAtomic, type AtomicOutput } from '../report/write.js';
import { sortFindings } from '../report/index.js';
import { UsageError, ToolError } from '../errors.js';
import { closest } from '../util/suggest.js';
import type { Finding, SeverityOrOff } from '../policy/types.js';
import { stdinFor } from './options.js';
import { loadHost, printFindings } from './repo.js';
import { LineChunks } from './io.js';
import { DEFAULT_MEMORY_LIMIT, FindingStore, type StoredFinding } from './finding-store.js';
import { progressReporter } from './progress.js';
import { printable } from '../report/text.js';

type Format = 'text' | 'json' | 'jsonl';

interface EmulateOpts {
  scenario?: string;
  trace?: string;
  host?: string;
  abi?: Abi;
  format: Format;
  output?: string;
  quiet?: boolean;
}

/**
 * Where the output goes: stdout, or `--output` (atomically). `reuse`: a chunk's bytes are written
 * once its `write` settles, so its buffer may be filled again (see LineChunks).
 */
async function sink(env: CommandEnv, output: string | undefined, inputs: string[]): Promise<AtomicOutput & { reuse: boolean }> {
  if (output === undefined || output === '-') {
    const stdout = env.io.stdout;
    return {
      write: async (s: string | Uint8Array) => {
        stdout.write(s);
        await stdout.drained?.();
      },
      commit: async () => {},
      abort: async () => {},
      reuse: stdout.writesAtOnce === true,
    };
  }
  const io = env.io;
  // (Both kinds of output file settle a write once it is done: a temp file's writes are synchronous.)
  const file = await openOutputAtomic(resolve(io.cwd, output), inputs.filter((p) => p !== '-' && p !== '<stdin>').map((p) => resolve(io.cwd, p)));
  return Object.assign(file, { reuse: true });
}

function summaryLine(report: Pick<EmulateReport, 'scenario' | 'host' | 'abi' | 'summary' | 'findings'>): string {
  return JSON.stringify({ summary: report.summary, scenario: report.scenario, host: report.host, abi: report.abi, findings: report.findings }) + '\n';
}

export function registerEmulate(program: Command, env: CommandEnv): void {
  program
    .command('emulate')
    .summary('run a Scenario (or a JSONL trace of calls) against a host\'s model')
    .description(
      'Run one Scenario, or a JSON Lines trace of calls (one call object per line, streamed), against ' +
        "a fresh model of its host, and print each call's result: rc, status/errno, outputs (bfn, mfn, " +
        'ctx_no, mapped, …) and the findings it raised (dma/isolation, mapping/dangling, …). ' +
        'Exit 1 when a call raised an error finding or an expectation failed.',
    )
    .argument('[paths...]', 'the config repo: files, directories, or - for stdin (default: .)')
    .option('-s, --scenario <name>', 'the Scenario to run')
    .option('-t, --trace <file.jsonl>', 'run the calls of a JSON Lines trace instead (needs --host); - reads it from stdin as it comes')
    .option('--host <name>', 'the host (for --trace; to disambiguate a scenario name)')
    .addOption(new Option('--abi <abi>', 'override the PV-IOMMU ABI (none, xs, ta)').choices(['none', 'xs', 'ta']))
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json', 'jsonl']).default('text'))
    .option('-o, --output <file>', 'write to FILE (atomically) instead of stdout')
    .option('-q, --quiet', 'no progress on stderr')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  pviommu emulate examples/lab --scenario xengt-pv-iommu\n' +
        '  pviommu emulate examples/lab --scenario xengt-pv-iommu --format json | jq .calls[0]\n' +
        '  pviommu emulate examples/lab --trace calls.jsonl --host lab-1 --format jsonl\n' +
        '  record-calls | pviommu emulate examples/lab --trace - --host lab-1   # each result as its line arrives',
    )
    .action(async (paths: string[], o: EmulateOpts) => {
      if ((o.scenario === undefined) === (o.trace === undefined)) {
        throw new UsageError('give exactly one of --scenario NAME or --trace FILE.jsonl');
      }
      const io = env.io;
      if (o.trace === '-' && paths.includes('-')) {
        throw new UsageError('`--trace -` reads the trace from stdin, so the config cannot come from stdin too; give the config as files');
      }
      const stdinText = await stdinFor(paths, io);
      if (o.trace !== undefined) return env.exit(await emulateTraceCommand(env, paths, o, stdinText));
      return env.exit(await emulateScenarioCommand(env, paths, o, stdinText));
    });
}

async function emulateScenarioCommand(env: CommandEnv, paths: string[], o: EmulateOpts, stdinText?: Uint8Array): Promise<number> {
  const io = env.io;
  const repo = await loadRepo(paths, { cwd: io.cwd, stdinText });
  const candidates = repo.config.hosts.flatMap((hc) => hc.scenarios.filter((s) => s.name === o.scenario && (o.host === undefined || hc.host.name === o.host)).map((s) => ({ hc, s })));
  if (candidates.length === 0) {
    const all = repo.config.hosts.flatMap((hc) => hc.scenarios.map((s) => s.name));
    const hint = closest(o.scenario!, all);
    const broken = repo.findings.some((f) => f.severity === 'error');
    if (broken) {
      printFindings(io, repo.findings, repo.files, repo.config.counts.documents);
      io.stderr.write(printable(`pviommu: no valid Scenario named ${JSON.stringify(o.scenario)}; the config has input errors (see above)`) + '\n');
      // The scenario's host, when its findings or the repo name one.
      const host = repo.findings.find((f) => f.subject?.kind === 'Scenario' && f.subject.name === o.scenario && f.host !== undefined)?.host ?? o.host ?? (repo.config.hosts.length === 1 ? repo.config.hosts[0]!.host.name : undefined);
      const hc = repo.config.hosts.find((h) => h.host.name === host);
      if (host !== undefined) {
        const findings = inputFindings(repo.findings, host, repo.project.rules, repo.suppressions);
        await writeNotEmulated(env, o, [...paths, ...repo.files], { scenario: o.scenario!, host, abi: o.abi ?? hc?.host.pv_iommu.abi ?? 'none' }, findings);
      }
      return 1;
    }
    throw new UsageError(`no Scenario named ${JSON.stringify(o.scenario)}${o.host ? ` on host ${o.host}` : ''}${hint ? ` — did you mean \`${hint}\`?` : ''} (scenarios: ${all.join(', ') || 'none'})`);
  }
  if (candidates.length > 1) {
    throw new UsageError(`Scenario ${o.scenario} exists on several hosts (${candidates.map((c) => c.hc.host.name).join(', ')}); choose one with --host`);
  }
  const { hc, s } = candidates[0]!;
  const inputErrors = repo.findings.filter((f) => f.severity === 'error' && (f.host === undefined || f.host === hc.host.name));
  if (hc.inputErrors || inputErrors.length) {
    printFindings(io, inputErrors, repo.files, repo.config.counts.documents);
    io.stderr.write(printable(`pviommu: host ${hc.host.name} has input errors; a config with input errors is not emulated`) + '\n');
    const findings = inputFindings(repo.findings, hc.host.name, repo.project.rules, repo.suppressions);
    await writeNotEmulated(env, o, [...paths, ...repo.files], { scenario: s.name, host: hc.host.name, abi: o.abi ?? hc.host.pv_iommu.abi }, findings);
    return 1;
  }
  // The project config applies as it does to check: its severities, and the scenario's
  // suppression comments.
  const run = withoutSuppressed(runScenario(hc, s, { ...(o.abi ? { abi: o.abi } : {}), severities: repo.project.rules }), repo.suppressions);
  // SPEC §4.4: the input rules' findings are emulate's too (only warnings and infos get here)
  const input = inputFindings(repo.findings, hc.host.name, repo.project.rules, repo.suppressions);
  const report = withInput(run, input);
  const out = await sink(env, o.output, [...paths, ...repo.files]);
  try {
    if (o.format === 'json') await out.write(JSON.stringify(report, null, 2) + '\n');
    else if (o.format === 'jsonl') {
      for (const c of report.calls) await out.write(callReportJson(c) + '\n');
      await out.write(summaryLine({ ...report, findings: endFindings(report) }));
    } else await out.write(formatEmulateText(report, input));
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  }
  return exitFor(report.summary);
}

/**
 * A streamed JSON report (a trace's), in the layout of `JSON.stringify(report, null, 2)`: the head
 * up to the opening of `calls`, each call as an element (a separator, then the call indented to
 * its depth), and the tail from the end of `calls` on.
 */
function jsonHead(head: Pick<EmulateReport, 'version' | 'scenario' | 'host' | 'abi'>): string {
  // `{\n  "version": 1, … "abi": "xs"\n}` without its closing line, then the key of the calls.
  return JSON.stringify(head, null, 2).slice(0, -2) + ',\n  "calls": [';
}

/** An element of a streamed array: a separator, then the value. */
interface Element<T> {
  encode: (v: T, buf: Uint8Array, pos: number, lim: number) => number;
  text: (v: T) => string;
}

/** `separator` + `encode(v)` (or, where that cannot, `separator` + `text(v)`). */
function element<T>(separator: string, encode: (v: T, buf: Uint8Array, pos: number, lim: number) => number, text: (v: T) => string): Element<T> {
  const sep = Buffer.from(separator, 'latin1');
  return {
    encode: (v, buf, pos, lim) => {
      if (pos + sep.length > lim) return -1;
      buf.set(sep, pos);
      return encode(v, buf, pos + sep.length, lim);
    },
    text: (v) => separator + text(v),
  };
}

/** Elements of the arrays of a pretty-printed report, at depth 2 (4 spaces). */
const pretty = (v: unknown) => prettyJson(v, 4);
const FIRST_CALL = element<CallReport>('\n    ', (c, b, p, l) => encodePrettyCallReport(c, b, p, l, 4), pretty);
const NEXT_CALL = element<CallReport>(',\n    ', (c, b, p, l) => encodePrettyCallReport(c, b, p, l, 4), pretty);
const FIRST_FINDING = element<Finding>('\n    ', (f, b, p, l) => encodePrettyJson(f, b, p, l, 4), pretty);
const NEXT_FINDING = element<Finding>(',\n    ', (f, b, p, l) => encodePrettyJson(f, b, p, l, 4), pretty);
/** The same for a finding kept as its compact JSON (`FindingStore`). */
const indentStored = (j: Uint8Array, b: Uint8Array, p: number, l: number) => indentJson(j, 0, j.length, 4, b, p, l);
const prettyStored = (j: Uint8Array) => pretty(JSON.parse(Buffer.from(j).toString('utf8')));
const FIRST_STORED = element<Uint8Array>('\n    ', indentStored, prettyStored);
const NEXT_STORED = element<Uint8Array>(',\n    ', indentStored, prettyStored);
/** Elements of the compact `findings` of the JSON Lines summary line. */
const FIRST_COMPACT = element<Finding>('', encodeJson, (f) => JSON.stringify(f));
const NEXT_COMPACT = element<Finding>(',', encodeJson, (f) => JSON.stringify(f));

/**
 * Write `each` item into `lines`, handing full buffers on and waiting while the output is backed
 * up: a list of any length (the findings of a long run) never becomes one string. How many
 * items there were.
 */
async function streamList<T>(lines: LineChunks, items: Iterable<T>, each: (item: T, i: number) => void): Promise<number> {
  let i = 0;
  for (const item of items) {
    each(item, i);
    if ((i & 1023) === 1023) {
      void lines.flush();
      const wait = lines.backlog();
      if (wait !== undefined) await wait;
    }
    i++;
  }
  return i;
}

/**
 * The rest of a streamed JSON report: the end of `calls`, the findings one by one (objects, or
 * kept as their compact JSON), the summary.
 */
async function writeJsonTail(lines: LineChunks, findings: Iterable<StoredFinding>, summary: EmulateReport['summary']): Promise<void> {
  // (a run without calls writes nothing: it is an error before this)
  lines.line(`\n  ],\n  "findings": [`, false);
  const n = await streamList(lines, findings, (f, i) => {
    if (f instanceof Uint8Array) {
      const el = i === 0 ? FIRST_STORED : NEXT_STORED;
      lines.encoded(f, el.encode, el.text, false);
    } else {
      const el = i === 0 ? FIRST_FINDING : NEXT_FINDING;
      lines.encoded(f, el.encode, el.text, false);
    }
  });
  lines.line(`${n > 0 ? '\n  ]' : ']'},\n  "summary": ${indentText(JSON.stringify(summary, null, 2), 2)}\n}`);
}

/** The last line of `--format jsonl`: `summaryLine(report)`, its findings written one by one. */
async function writeSummaryLine(lines: LineChunks, report: Pick<EmulateReport, 'scenario' | 'host' | 'abi' | 'summary' | 'findings'>): Promise<void> {
  // `{"summary":…,"findings":[` — the line of no findings without its `]}`.
  lines.line(summaryLine({ ...report, findings: [] }).slice(0, -3), false);
  await streamList(lines, report.findings, (f, i) => {
    const el = i === 0 ? FIRST_COMPACT : NEXT_COMPACT;
    lines.encoded(f, el.encode, el.text, false);
  });
  lines.line(']}');
}

/** The end of the text of a trace: the end-of-run findings, then the summary line. */
async function writeTextTail(lines: LineChunks, findings: Finding[], s: EmulateReport['summary']): Promise<void> {
  // under a header, as a scenario's: without it they would read as the last call's findings
  if (findings.length > 0) lines.line('end of trace:');
  await streamList(lines, findings, (f) => lines.line(formatEndFinding(f)));
  lines.line(formatSummaryText(s));
}

/** Findings raised at the end of the run (not by a call). */
function endFindings(report: EmulateReport): Finding[] {
  const inCalls = new Set(report.calls.flatMap((c) => c.findings));
  return report.findings.filter((f) => !inCalls.has(f));
}

/**
 * The report without the findings `# pviommu-disable-next-line` comments suppress (in the calls'
 * lists and the report's), its summary counted again. (Emulate's JSON has no `suppressed` count:
 * its shape is SPEC §6.2's.)
 */
function withoutSuppressed(report: EmulateReport, suppressions: Suppression[]): EmulateReport {
  const gone = new Set(applySuppressions(report.findings, suppressions).suppressedFindings);
  if (gone.size === 0) return report;
  const keep = (fs: Finding[]) => fs.filter((f) => !gone.has(f));
  const findings = keep(report.findings);
  const count = (sev: string) => findings.filter((f) => f.severity === sev).length;
  return {
    ...report,
    calls: report.calls.map((c) => (c.findings.some((f) => gone.has(f)) ? { ...c, findings: keep(c.findings) } : c)),
    findings,
    summary: { ...report.summary, errors: count('error'), warnings: count('warning'), failed_expectations: countFailedExpectations(findings) },
  };
}

/**
 * The report of a run that did not happen: its host has input errors (SPEC §4.4: not emulated).
 * A machine format still gets one document of its shape, so that a pipe or a CI step reading it
 * finds why: no calls, and the host's input findings (with the errors that stopped the run) —
 * JSON's report, JSON Lines' summary line. Text writes nothing (the findings are on stderr).
 */
async function writeNotEmulated(env: CommandEnv, o: EmulateOpts, inputs: string[], head: Pick<EmulateReport, 'scenario' | 'host' | 'abi'>, findings: Finding[]): Promise<void> {
  if (o.format === 'text') return;
  const count = (sev: string) => findings.filter((f) => f.severity === sev).length;
  const report: EmulateReport = { version: 1, ...head, calls: [], findings, summary: { calls: 0, errors: count('error'), warnings: count('warning'), failed_expectations: 0 } };
  const out = await sink(env, o.output, inputs);
  try {
    await out.write(o.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : summaryLine(report));
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  }
}

/**
 * The findings of the input rules (§5.1) for one host's run: those of its documents and those of
 * no host, with the project's severities and suppressions. (Errors among them stop the run
 * before this; warnings and infos are reported with it.)
 */
function inputFindings(findings: readonly Finding[], host: string, severities: Record<string, SeverityOrOff>, suppressions: Suppression[]): Finding[] {
  const mine = findings.filter((f) => f.host === undefined || f.host === host);
  return sortFindings(applySuppressions(applyOverrides(mine, severities), suppressions).findings);
}

/** A run's report (or result) with the input findings among its findings, counted in its summary. */
function withInput<R extends Pick<EmulateReport, 'findings' | 'summary'>>(report: R, input: Finding[]): R {
  const count = (sev: string) => input.filter((f) => f.severity === sev).length;
  return {
    ...report,
    findings: sortFindings([...input, ...report.findings]),
    summary: { ...report.summary, errors: report.summary.errors + count('error'), warnings: report.summary.warnings + count('warning') },
  };
}

function exitFor(s: { errors: number; failed_expectations: number }): number {
  return s.errors > 0 || s.failed_expectations > 0 ? 1 : 0;
}

async function emulateTraceCommand(env: CommandEnv, paths: string[], o: EmulateOpts, stdinText?: Uint8Array): Promise<number> {
  const io = env.io;
  // `-`: stdin, read as it comes. A path may be a file or a FIFO (`<(…)`, /dev/stdin), not a directory.
  const fromStdin = o.trace === '-';
  const traceAbs = resolve(io.cwd, o.trace!);
  if (!fromStdin) {
    let isDir: boolean;
    try {
      isDir = (await stat(traceAbs)).isDirectory();
    } catch {
      throw new ToolError(`trace not found: ${o.trace}`);
    }
    if (isDir) throw new ToolError(`trace ${o.trace} is a directory; give a JSON Lines file`);
  }
  const display = fromStdin ? '<stdin>' : relative(io.cwd, traceAbs).split(sep).join('/');
  const loaded = await loadHost(paths, o.host, io, { stdinText }, async (broken) => {
    const findings = inputFindings(broken.findings, broken.hc.host.name, broken.severities, broken.suppressions);
    const inputs = [...paths, ...(fromStdin ? [] : [o.trace!]), ...broken.files];
    await writeNotEmulated(env, o, inputs, { scenario: display, host: broken.hc.host.name, abi: o.abi ?? broken.hc.host.pv_iommu.abi }, findings);
  });
  if (!loaded) return 1;
  const abi = o.abi ?? loaded.hc.host.pv_iommu.abi;
  const machine = buildMachine(withAbi(loaded.hc, abi));
  if (fromStdin && io.stdinIsTTY && !o.quiet) {
    io.stderr.write('pviommu: reading calls from the terminal, one JSON object per line (end with Ctrl-D)\n');
  }
  const progress = o.quiet ? undefined : progressReporter(io, false);
  const out = await sink(env, o.output, [...paths, ...(fromStdin ? [] : [o.trace!]), ...loaded.files]);
  const host = loaded.hc.host.name;
  let n = 0;
  // Lines are batched so that a million-call trace is not a million writes.
  const lines = new LineChunks(async (chunk) => out.write(chunk), out.reuse);
  // The input rules' findings (warnings, infos): before the calls in text, among the findings in JSON.
  const input = inputFindings(loaded.findings, host, loaded.severities, loaded.suppressions);
  if (o.format === 'text') for (const l of formatInputText(input)) lines.line(l);
  // The JSON report is streamed too: its head (with the first call: a trace without calls writes
  // nothing), each call as it runs, then the findings and the summary — the text
  // `JSON.stringify(report, null, 2)` gives, without holding the calls.
  // The calls' findings, for the JSON report's top-level list (after the calls): kept compact,
  // in a temp file past a limit.
  const kept = o.format === 'json' ? new FindingStore(memoryLimit(io.env), io.env.TMPDIR || undefined) : undefined;
  try {
    const result = await emulateTrace(
      machine,
      fromStdin ? io.stdinChunks() : traceAbs,
      (c) => {
        n++;
        if (o.format === 'jsonl') lines.encoded(c, encodeCallReport, callReportJson);
        else if (o.format === 'json') {
          if (n === 1) lines.line(jsonHead({ version: 1, scenario: display, host, abi }), false);
          lines.encoded(c, n === 1 ? FIRST_CALL.encode : NEXT_CALL.encode, n === 1 ? FIRST_CALL.text : NEXT_CALL.text, false);
          if (c.findings.length > 0) kept!.addCall(c.findings);
        }
        else lines.encoded(c, encodeCallText, formatCallText);
        if ((n & 0xffff) === 0) progress?.update('calls emulated', n, 0);
      },
      {
        abi,
        display,
        scenario: display,
        keepCallFindings: false,
        severities: loaded.severities,
        // After each chunk of input, what it produced is written before the next is read: a trace
        // arriving on a pipe shows each result as its line arrives, a slow reader of the output
        // holds the reading back, and at most one chunk's output waits in memory. (To a file this
        // costs nothing: its writes are synchronous.)
        between: () => lines.flush(),
      },
    );
    progress?.done();
    // Nothing emulated is nothing checked: not a clean run (an --output file is left as it was).
    if (n === 0) throw new ToolError(`${fromStdin ? 'stdin' : `trace ${o.trace}`} holds no calls; a trace is one JSON object per line, e.g. {"op":"iommu.query_caps"}`);
    await lines.flush();
    // (The findings of the end of the run: the calls' are not kept in the result.)
    const { findings: all, summary } = withInput(result, input);
    if (kept !== undefined) await writeJsonTail(lines, kept.sorted(all), summary);
    else if (o.format === 'jsonl') await writeSummaryLine(lines, { scenario: display, host, abi, findings: all, summary });
    else await writeTextTail(lines, sortFindings(result.findings), summary);
    await lines.flush();
    await out.commit();
    return exitFor(summary);
  } catch (e) {
    await out.abort();
    throw e;
  } finally {
    kept?.dispose();
  }
}

/**
 * Bytes of a JSON report's findings kept in memory before the rest go to a temp file:
 * `PVIOMMU_FINDINGS_MEMORY` when it is a whole number of bytes (for tests and small machines),
 * else 32 MiB.
 */
function memoryLimit(env: NodeJS.ProcessEnv): number {
  const v = env.PVIOMMU_FINDINGS_MEMORY;
  return v !== undefined && /^\d{1,15}$/.test(v) ? Number(v) : DEFAULT_MEMORY_LIMIT;
}
