#!/usr/bin/env node
/**
 * `npm run bench`: pviommu against the parse floor and a peer, in one run (docs/performance.md).
 *
 *   npm run bench                    # build, then everything (about 6 minutes on 2 cores)
 *   node bench/run.mjs --quick       # smaller inputs, fewer runs (a smoke test of the bench)
 *   node bench/run.mjs --runs 7 --keep --json out.json
 *   node bench/run.mjs --fleet ~/my-fleet --trace t.jsonl --repo ~/one-host --host h1
 *                                    # your own inputs instead of the generated ones
 *   node bench/run.mjs --only check,emulate      # some rows only (`--help` lists them)
 *
 * Inputs are generated (seeded, so identical on every machine) into a folder under os.tmpdir(),
 * deleted at the end unless --keep:
 *   - a fleet config repo of 400 hosts × 25 domains (bench/gen/fleet.mjs);
 *   - two smaller fleets of equal shape, one with 16 GiB hosts, one with 1 TiB hosts;
 *   - a 1,000,000-call JSON Lines trace for one host of a one-host repo (bench/gen/trace.mjs);
 *   - allocation-churn traces of 200,000 and 400,000 calls for the same host (bench/gen/churn.mjs).
 * `--fleet` and `--trace` measure a repo / trace of yours instead (never modified or deleted).
 *
 * The CLI always runs as a child process (`node bin/pviommu.js …`): wall time from spawn to exit,
 * peak RSS from a preloaded hook (bench/lib/maxrss.mjs). The floors run in a child too
 * (bench/floors.mjs) but are timed inside it, without Node's start-up — which only makes them
 * lower. Each row is the median of several runs, with min and max; rows that are compared are
 * run interleaved, so a neighbour's load hits both sides alike.
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFleet } from './gen/fleet.mjs';
import { generateTrace } from './gen/trace.mjs';
import { generateChurn } from './gen/churn.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'pviommu.js');
const PRELOAD = path.join(ROOT, 'bench', 'lib', 'maxrss.mjs');

// ─── options ─────────────────────────────────────────────────────────────────────────────────

const ROW_GROUPS = ['check', 'yamllint', 'memory', 'model', 'emulate'];
const USAGE = `usage: node bench/run.mjs [options]   (npm run bench builds first, then runs this)

Measures pviommu against the parse floors and yamllint, in one run, and prints a table
(docs/performance.md explains every row).

options:
  --quick              small inputs and 1–2 runs per row: a smoke test of the bench
  --runs N             runs per compared row (default 5; yamllint and emulate: 3)
  --only LIST          comma-separated rows to run: ${ROW_GROUPS.join(', ')}
                       (check = check vs the YAML parse floor; default: all)
  --fleet DIR          measure check / floor / yamllint on this config repo instead of the
                       generated 10,000-domain fleet
  --trace FILE         measure emulate on this JSON Lines trace instead of the generated one
  --repo DIR           the config repo the --trace runs against (required with --trace)
  --host NAME          its host (needed when the repo has several hosts)
  --keep               keep the temp folder of generated inputs
  --json FILE          also write the results as JSON
  -h, --help           this help
`;

const argv = process.argv.slice(2);
const VALUE_OPTS = new Set(['--runs', '--only', '--fleet', '--trace', '--repo', '--host', '--json']);
const FLAG_OPTS = new Set(['--quick', '--keep', '--help', '-h']);
const opts = {};
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const eq = a.indexOf('=');
  const name = eq > 0 ? a.slice(0, eq) : a;
  if (FLAG_OPTS.has(name) && eq < 0) opts[name] = true;
  else if (VALUE_OPTS.has(name)) {
    const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined || v === '') usageError(`${name} needs a value`);
    opts[name] = v;
  } else usageError(`unknown option ${JSON.stringify(a)}`);
}
function usageError(msg) {
  process.stderr.write(`bench: ${msg} (node bench/run.mjs --help lists the options)\n`);
  process.exit(2);
}
if (opts['--help'] || opts['-h']) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const QUICK = opts['--quick'] === true;
const RUNS = opts['--runs'] === undefined ? (QUICK ? 2 : 5) : Number(opts['--runs']);
if (!Number.isInteger(RUNS) || RUNS < 1) usageError(`--runs must be a whole number ≥ 1, not ${JSON.stringify(opts['--runs'])}`);
const KEEP = opts['--keep'] === true;
const JSON_OUT = opts['--json'];
const ONLY = new Set(opts['--only'] === undefined ? ROW_GROUPS : opts['--only'].split(',').map((x) => x.trim()).filter(Boolean));
for (const g of ONLY) if (!ROW_GROUPS.includes(g)) usageError(`--only: unknown row ${JSON.stringify(g)} (rows: ${ROW_GROUPS.join(', ')})`);
const userDir = (opt) => {
  const v = opts[opt];
  if (v === undefined) return undefined;
  const p = path.resolve(v);
  if (!existsSync(p)) usageError(`${opt} ${v}: no such file or directory`);
  return p;
};
const FLEET = userDir('--fleet');
const TRACE = userDir('--trace');
const TRACE_REPO = userDir('--repo');
const TRACE_HOST = opts['--host'];
if (TRACE && !TRACE_REPO) usageError('--trace needs --repo DIR, the config repo it runs against');
if (!TRACE && (TRACE_REPO || TRACE_HOST)) usageError('--repo and --host go with --trace');
const SIZES = QUICK
  ? { hosts: 40, perHost: 25, memHosts: 20, calls: 100_000, churnCalls: 50_000, lintRuns: 1, emuRuns: 1, modelRuns: 5 }
  : { hosts: 400, perHost: 25, memHosts: 100, calls: 1_000_000, churnCalls: 200_000, lintRuns: 3, emuRuns: 3, modelRuns: 25 };

const log = (s) => process.stderr.write(`bench: ${s}\n`);

// ─── measuring ───────────────────────────────────────────────────────────────────────────────

const tmp = mkdtempSync(path.join(os.tmpdir(), 'pviommu-bench-'));
let rssSeq = 0;

/**
 * Run a command to completion. Node children get the peak-RSS hook. Returns wall ms, peak RSS
 * (KiB, Node children only), exit status, and stdout when `capture` (else it goes to a file in
 * the temp folder, or nowhere).
 */
function run(cmd, args, { cwd = ROOT, capture = false, stdoutFile, env } = {}) {
  const isNode = cmd === process.execPath;
  const rssFile = path.join(tmp, `rss-${++rssSeq}`);
  const fullArgs = isNode ? ['--import', PRELOAD, ...args] : args;
  let out = 'ignore';
  let fd;
  if (capture) out = 'pipe';
  else if (stdoutFile) out = fd = openSync(stdoutFile, 'w');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, fullArgs, {
    cwd,
    stdio: ['ignore', out, 'pipe'],
    env: { ...process.env, ...env, PVIOMMU_BENCH_RSS_FILE: rssFile, NO_COLOR: '1' },
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (fd !== undefined) closeSync(fd);
  if (r.error) throw r.error;
  let rssKiB;
  if (isNode && existsSync(rssFile)) {
    rssKiB = Number(readFileSync(rssFile, 'utf8'));
    rmSync(rssFile);
  }
  return { ms, rssKiB, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}


const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1], n: s.length };
};

// ─── the machine ─────────────────────────────────────────────────────────────────────────────

function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    // not Linux
  }
  let nproc = os.availableParallelism?.() ?? os.cpus().length;
  try {
    nproc = Number(execFileSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // no coreutils
  }
  return {
    nproc,
    cpu,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadavg: os.loadavg().map((x) => x.toFixed(2)).join(' '),
  };
}

// ─── yamllint ────────────────────────────────────────────────────────────────────────────────

function findYamllint() {
  const which = () => spawnSync('sh', ['-c', 'command -v yamllint'], { encoding: 'utf8' }).stdout.trim();
  let bin = which();
  if (bin) return { bin };
  if (process.getuid?.() !== 0) return { skip: 'yamllint is not installed and installing it needs root (apt-get install -y yamllint)' };
  log('installing yamllint (apt-get install -y yamllint)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-q', 'yamllint'], { encoding: 'utf8', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { encoding: 'utf8', env });
    r = spawnSync('apt-get', ['install', '-y', '-q', 'yamllint'], { encoding: 'utf8', env });
  }
  bin = which();
  return bin ? { bin } : { skip: `yamllint could not be installed (apt-get exit ${r.status ?? r.error?.message})` };
}

// ─── the bench ───────────────────────────────────────────────────────────────────────────────

const rows = [];
const notes = [];
const results = { machine: machine(), sizes: SIZES, runs: RUNS, rows };
const fmtS = (ms) => `${(ms / 1000).toFixed(2)} s`;
const fmtMiB = (kib) => (kib === undefined ? '–' : `${(kib / 1024).toFixed(0)} MiB`);
const range = (st, f) => `${f(st.median)} (${f(st.min)} – ${f(st.max)})`;

function row(name, measured, compare, target, ok) {
  rows.push({ name, measured, compare, target, ok });
}

function checkSummary(stdout) {
  try {
    return JSON.parse(stdout).summary;
  } catch {
    return undefined;
  }
}

try {
  log(`temp folder ${tmp}`);
  log(`machine: ${results.machine.nproc} CPUs, ${results.machine.cpu}, node ${results.machine.node}, load ${results.machine.loadavg}`);

  // ── check vs the parse floor (interleaved), yamllint ──
  let chkT;
  const fleetDir = FLEET ?? path.join(tmp, 'fleet');
  if (ONLY.has('check') || ONLY.has('yamllint')) {
    let fleetWhat;
    if (FLEET) {
      log(`fleet: ${FLEET} (yours)`);
    } else {
      const t = Date.now();
      const fleet = generateFleet(fleetDir, { hosts: SIZES.hosts, domainsPerHost: SIZES.perHost, ram: '256GiB', seed: 1 });
      log(`fleet: ${fleet.hosts} hosts, ${fleet.domains} domains, ${fleet.devices} devices, ${fleet.scenarios} scenarios; ${fleet.files} files, ${fleet.documents} documents, ${(fleet.bytes / 2 ** 20).toFixed(1)} MiB (${Date.now() - t} ms)`);
      fleetWhat = `${fleet.domains.toLocaleString('en-US')}-domain fleet`;
    }
    const checkArgs = [BIN, 'check', '.', '--format', 'json'];
    run(process.execPath, checkArgs, { cwd: fleetDir }); // warm the page cache and the compile cache
    const chk = [];
    const floor = [];
    let summary;
    for (let i = 0; i < RUNS; i++) {
      const c = run(process.execPath, checkArgs, { cwd: fleetDir, capture: true });
      if (c.status !== 0 && c.status !== 1) throw new Error(`check failed (exit ${c.status}): ${c.stderr.trim()}`);
      summary ??= checkSummary(c.stdout);
      chk.push(c);
      if (!ONLY.has('check')) {
        log(`check ${fmtS(c.ms)} ${fmtMiB(c.rssKiB)}`);
        continue;
      }
      const f = run(process.execPath, [path.join(ROOT, 'bench', 'floors.mjs'), 'yaml', '.'], { cwd: fleetDir, capture: true });
      if (f.status !== 0) throw new Error(`the parse floor failed (exit ${f.status}): ${f.stderr.trim().split('\n')[0]}`);
      floor.push({ ...JSON.parse(f.stdout), wall: f.ms });
      log(`check ${fmtS(c.ms)} ${fmtMiB(c.rssKiB)} · floor ${fmtS(floor.at(-1).ms)}`);
    }
    chkT = stats(chk.map((c) => c.ms));
    const chkR = stats(chk.map((c) => c.rssKiB ?? 0));
    const counts = summary ? `${summary.files.toLocaleString('en-US')} files, ${summary.documents.toLocaleString('en-US')} docs` : 'summary unreadable';
    const what = fleetWhat ? `${fleetWhat} (${counts})` : `${FLEET} (${counts}${summary ? `, ${summary.domains.toLocaleString('en-US')} domains` : ''})`;
    row(`check, ${what}`, `${range(chkT, fmtS)}; peak RSS ${fmtMiB(chkR.median)}`, '', '', undefined);
    if (ONLY.has('check')) {
      const floorT = stats(floor.map((f) => f.ms));
      const floorR = stats(floor.map((f) => f.maxRssKiB));
      const ratio = chkT.median / floorT.median;
      row('parse floor (read + yaml parse + toJS, in-process)', `${range(floorT, fmtS)}; peak RSS ${fmtMiB(floorR.median)}`, `check / floor = ${ratio.toFixed(2)}×`, '≤ 1.5×', ratio <= 1.5);
    }
    if (summary) notes.push(`check found ${summary.errors} errors and ${summary.warnings} warnings in the fleet${FLEET ? '' : ' (the injected mistakes of ~2% of the hosts)'}.`);
  }

  if (ONLY.has('yamllint')) {
    const yl = findYamllint();
    if (yl.skip) {
      notes.push(`yamllint row skipped: ${yl.skip}.`);
      log(yl.skip);
    } else {
      const times = [];
      for (let i = 0; i < SIZES.lintRuns; i++) {
        const r = run(yl.bin, ['-f', 'parsable', '.'], { cwd: fleetDir });
        if (r.status !== 0 && r.status !== 1) throw new Error(`yamllint failed (exit ${r.status}): ${r.stderr.trim().slice(0, 300)}`);
        times.push(r.ms);
        log(`yamllint ${fmtS(r.ms)}`);
      }
      const ylT = stats(times);
      const v = spawnSync(yl.bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
      const speed = ylT.median / chkT.median;
      row(`${v || 'yamllint'} (default config), same tree`, range(ylT, fmtS), `yamllint / check = ${speed.toFixed(2)}×`, 'pviommu ≥ 3× faster', speed >= 3);
    }
  }

  // ── memory: documents, not RAM sizes ──
  if (ONLY.has('memory')) {
    const mem = [];
    for (const ram of ['16GiB', '1TiB']) {
      const dir = path.join(tmp, `fleet-${ram}`);
      const g = generateFleet(dir, { hosts: SIZES.memHosts, domainsPerHost: SIZES.perHost, ram, seed: 2 });
      const rss = [];
      let docs;
      for (let i = 0; i < Math.min(RUNS, 3); i++) {
        const c = run(process.execPath, [BIN, 'check', '.', '--format', 'json'], { cwd: dir, capture: true });
        docs ??= checkSummary(c.stdout)?.documents;
        rss.push(c.rssKiB ?? 0);
      }
      mem.push({ ram, docs: docs ?? g.documents, rss: stats(rss) });
      rmSync(dir, { recursive: true, force: true });
    }
    const memRatio = mem[1].rss.median / mem[0].rss.median;
    for (const m of mem) {
      row(`check peak RSS, ${m.docs.toLocaleString('en-US')} docs, ${m.ram} hosts`, range(m.rss, fmtMiB), m === mem[1] ? `1 TiB / 16 GiB = ${memRatio.toFixed(2)}×` : '', m === mem[1] ? '≈ 1× (grows with documents, not RAM)' : '', m === mem[1] ? memRatio < 1.15 : undefined);
    }
  }

  // ── the model: 768 GiB host ──
  if (ONLY.has('model')) {
    const r = run(process.execPath, ['--expose-gc', path.join(ROOT, 'bench', 'model.bench.mjs'), String(SIZES.modelRuns)], { capture: true });
    const med = /median ([\d.]+) ms/.exec(r.stdout);
    const peak = /peak rss ([\d.]+) MiB/.exec(r.stdout);
    if (r.status === 0 && med) {
      const ms = Number(med[1]);
      const peakMiB = peak ? Number(peak[1]) : (r.rssKiB ?? 0) / 1024;
      row(`model build, 768 GiB host (bench/model.bench.mjs, ${SIZES.modelRuns} builds)`, `median ${ms.toFixed(1)} ms; peak RSS ${peakMiB.toFixed(0)} MiB`, '', '< 1 s, < 150 MB', ms < 1000 && peakMiB * 1.048576 < 150);
    } else {
      notes.push(`model row skipped: bench/model.bench.mjs exited ${r.status}: ${r.stderr.trim().split('\n')[0]}`);
    }
  }

  // ── emulate --trace vs the JSONL floor ──
  if (ONLY.has('emulate')) {
    let repo = TRACE_REPO;
    let trace = TRACE;
    let host = TRACE_HOST;
    if (!trace) {
      repo = path.join(tmp, 'one-host');
      generateFleet(repo, { hosts: 1, domainsPerHost: SIZES.perHost, ram: '256GiB', seed: 3, faultRate: 0 });
      trace = path.join(tmp, 'trace.jsonl');
      host = 'host-0000';
      const t = Date.now();
      const tr = generateTrace(trace, { calls: SIZES.calls, seed: 1 });
      log(`trace: ${tr.calls.toLocaleString('en-US')} calls, ${(tr.bytes / 2 ** 20).toFixed(0)} MiB (${Date.now() - t} ms)`);
    } else {
      log(`trace: ${trace} (yours), repo ${repo}${host ? `, host ${host}` : ''}`);
    }
    const emuArgs = [BIN, 'emulate', repo, '--trace', trace, '--format', 'jsonl', ...(host ? ['--host', host] : [])];
    const out = path.join(tmp, 'emulate.jsonl');
    const emu = [];
    const jfloor = [];
    let last;
    for (let i = 0; i < SIZES.emuRuns; i++) {
      const r = run(process.execPath, emuArgs, { stdoutFile: out });
      if (r.status !== 0 && r.status !== 1) throw new Error(`emulate failed (exit ${r.status}): ${r.stderr.trim().slice(0, 300)}`);
      emu.push(r);
      const f = run(process.execPath, [path.join(ROOT, 'bench', 'floors.mjs'), 'jsonl', trace], { capture: true });
      if (f.status !== 0) throw new Error(`the JSONL floor failed (exit ${f.status}): ${f.stderr.trim().split('\n')[0]}`);
      jfloor.push(JSON.parse(f.stdout));
      log(`emulate ${fmtS(r.ms)} ${fmtMiB(r.rssKiB)} · jsonl floor ${fmtS(jfloor.at(-1).ms)}`);
    }
    for (let i = 0; i < Math.max(0, RUNS - SIZES.emuRuns); i++) {
      const f = run(process.execPath, [path.join(ROOT, 'bench', 'floors.mjs'), 'jsonl', trace], { capture: true });
      jfloor.push(JSON.parse(f.stdout));
    }
    try {
      const text = readFileSync(out, 'utf8');
      last = JSON.parse(text.slice(text.lastIndexOf('\n', text.length - 2) + 1));
    } catch {
      last = undefined;
    }
    // Calls per second count the calls the run reports (the trace's non-blank lines).
    const calls = last?.summary?.calls ?? jfloor[0].lines;
    const emT = stats(emu.map((r) => r.ms));
    const emR = stats(emu.map((r) => r.rssKiB ?? 0));
    const jfT = stats(jfloor.map((f) => f.ms));
    const rate = calls / (emT.median / 1000);
    const jratio = emT.median / jfT.median;
    row(
      `emulate --trace, ${calls.toLocaleString('en-US')} calls${TRACE ? ` of ${path.basename(TRACE)}` : ''} (--format jsonl to a file)`,
      `${range(emT, fmtS)}; ${Math.round(rate).toLocaleString('en-US')} calls/s; peak RSS ${fmtMiB(emR.median)}`,
      '',
      '≥ 1,000,000 calls/s (first bar 500,000)',
      rate >= 1_000_000 ? true : rate >= 500_000 ? 'bar' : false,
    );
    row('JSONL parse floor (JSON.parse of the same lines, in-process)', range(jfT, fmtS), `emulate / floor = ${jratio.toFixed(2)}×`, '≤ 3×', jratio <= 3);
    if (last?.summary) notes.push(`the trace ran ${last.summary.calls.toLocaleString('en-US')} calls: ${last.summary.errors} errors, ${last.summary.warnings} warnings, ${last.summary.failed_expectations} failed expectations.`);
    else notes.push('could not read the summary line of the emulate output.');

    // The same trace in the other output formats: text (the default) and the JSON report (streamed
    // call by call), each to a file, against the floor measured above.
    for (const format of ['text', 'json']) {
      const args = [BIN, 'emulate', repo, '--trace', trace, '--format', format, ...(host ? ['--host', host] : [])];
      const runs = [];
      for (let i = 0; i < SIZES.emuRuns; i++) {
        const r = run(process.execPath, args, { stdoutFile: path.join(tmp, `emulate.${format}`) });
        if (r.status !== 0 && r.status !== 1) throw new Error(`emulate --format ${format} failed (exit ${r.status}): ${r.stderr.trim().slice(0, 300)}`);
        runs.push(r);
        log(`emulate --format ${format} ${fmtS(r.ms)} ${fmtMiB(r.rssKiB)}`);
      }
      const t = stats(runs.map((r) => r.ms));
      const rss = stats(runs.map((r) => r.rssKiB ?? 0));
      const ratio = t.median / jfT.median;
      row(
        `the same trace, --format ${format}${format === 'text' ? ' (the default)' : ' (one report, streamed)'} to a file`,
        `${range(t, fmtS)}; ${Math.round(calls / (t.median / 1000)).toLocaleString('en-US')} calls/s; peak RSS ${fmtMiB(rss.median)}`,
        `emulate / floor = ${ratio.toFixed(2)}×`,
        '≤ 3×',
        ratio <= 3,
      );
    }

    // Allocation churn (bench/gen/churn.mjs): the cost of a call must not grow with the run. A trace
    // twice as long must take at most ~twice as long (start-up makes the ratio lower, not higher).
    if (!TRACE) {
      const n = SIZES.churnCalls;
      const times = {};
      for (const calls of [n, 2 * n]) {
        const file = path.join(tmp, `churn-${calls}.jsonl`);
        generateChurn(file, { calls, seed: 1 });
        const ms = [];
        for (let i = 0; i < SIZES.emuRuns; i++) {
          const r = run(process.execPath, [BIN, 'emulate', repo, '--trace', file, '--host', host, '--format', 'jsonl'], { stdoutFile: out });
          if (r.status !== 0 && r.status !== 1) throw new Error(`emulate (churn) failed (exit ${r.status}): ${r.stderr.trim().slice(0, 300)}`);
          ms.push(r.ms);
        }
        times[calls] = stats(ms);
        log(`churn ${calls.toLocaleString('en-US')} calls: ${fmtS(times[calls].median)}`);
      }
      const growth = times[2 * n].median / times[n].median;
      row(
        `emulate --trace, allocation churn (bench/gen/churn.mjs): ${n.toLocaleString('en-US')} → ${(2 * n).toLocaleString('en-US')} calls`,
        `${range(times[n], fmtS)} → ${range(times[2 * n], fmtS)}`,
        `twice the calls = ${growth.toFixed(2)}× the time`,
        'linear (≤ 2.5×)',
        growth <= 2.5,
      );
    }
  }
} finally {
  if (!KEEP) rmSync(tmp, { recursive: true, force: true });
  else log(`kept ${tmp}`);
}

// ─── report ──────────────────────────────────────────────────────────────────────────────────

results.machine.loadavgEnd = os.loadavg().map((x) => x.toFixed(2)).join(' ');
const verdict = (ok) => (ok === undefined ? '' : ok === true ? '✔' : ok === 'bar' ? '½ (first bar)' : '✘');
const m = results.machine;
const lines = [
  `machine: ${m.nproc} CPUs (nproc), ${m.cpu}, ${m.memGiB} GiB, ${m.os}, node ${m.node}`,
  `load average at start ${m.loadavg}, at end ${m.loadavgEnd}; ${RUNS} runs per row unless noted (median, then min – max)`,
  '',
  '| measurement | result | comparison | target | |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.name} | ${r.measured} | ${r.compare} | ${r.target} | ${verdict(r.ok)} |`),
  '',
  ...notes.map((n) => `- ${n}`),
];
process.stdout.write(lines.join('\n') + '\n');
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(results, null, 2) + '\n');
