/**
 * Safe I/O, writing side (issue 7): nothing is written except `--output`, and that atomically (a
 * temp file in the same directory, renamed over the target only on success); `--output` is never
 * one of the files read (also through a symlink, a hard link, `..`, or a directory walk); a FIFO
 * or device given as `--output` is written in place, never replaced.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, closeSync, readSync, statSync, symlinkSync, writeFileSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { distIsFresh, run, repo as makeRepo, HOST, DOM0, ROOT } from '../cli/helpers.js';
import { removeTemps, track } from '../fuzz/harness.js';

const repo = (files: Record<string, string>) => track(makeRepo(files));
afterAll(() => removeTemps());

const SCENARIO = `apiVersion: pviommu/v1
kind: Scenario
name: s
host: h1
calls:
  - { op: memory.populate_physmap, caller: dom0, gfns: ["0x100"] }
`;

/** Every path under `dir` (hidden ones included) with its size and mtime. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
      out[relative(dir, p)] = st ? `${st.size}:${st.mtimeMs}:${st.ino}` : 'dangling';
    }
  };
  walk(dir);
  return out;
}

function oneLine(stderr: string): void {
  expect(stderr.endsWith('\n')).toBe(true);
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at |internal error/);
}

describe('nothing is written but --output', () => {
  it('a run without --output leaves the repo and the cwd exactly as they were', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 's.yaml': SCENARIO });
    const before = snapshot(dir);
    for (const args of [['check', '.'], ['check', '.', '-f', 'sarif'], ['emulate', '.', '--scenario', 's'], ['inspect', '.'], ['translate', '.', '--domain', 'dom0', '--gfn', '0']]) {
      const r = await run(args, { cwd: dir });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBeLessThan(2);
    }
    expect(snapshot(dir)).toEqual(before);
  });

  it('--output writes that one file, completely, and nothing else (no temp file left)', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0 });
    const out = track(mkdtempSync(join(tmpdir(), 'pviommu-out-')));
    const before = snapshot(dir);
    const r = await run(['check', dir, '-f', 'json', '-o', join(out, 'report.json')], { cwd: out });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).summary.files).toBe(2);
    expect(readdirSync(out)).toEqual(['report.json']);
    expect(snapshot(dir)).toEqual(before);
  });

  it('an existing file is replaced by rename (a new inode), keeping its permission bits', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0 });
    const out = track(mkdtempSync(join(tmpdir(), 'pviommu-out-')));
    const target = join(out, 'report.sarif');
    writeFileSync(target, 'old report');
    chmodSync(target, 0o640);
    const ino = statSync(target).ino;
    const r = await run(['check', dir, '-f', 'sarif', '-o', target], { cwd: out });
    expect(r.code).toBe(0);
    const st = statSync(target);
    expect(st.ino).not.toBe(ino); // readers see the old file or the new one, never half of one
    expect(st.mode & 0o777).toBe(0o640);
    expect(JSON.parse(readFileSync(target, 'utf8')).version).toBe('2.1.0');
    expect(readdirSync(out)).toEqual(['report.sarif']);
  });
});

describe('a failed write leaves an existing output alone', () => {
  const cases: [string, (d: string) => string][] = [
    ['the parent of --output is a file', (d) => join(d, 'host.yaml', 'out.json')],
    ['the directory of --output does not exist', (d) => join(d, 'missing', 'out.json')],
    ['--output is a directory', (d) => (mkdirSync(join(d, 'outdir')), join(d, 'outdir'))],
  ];
  for (const [name, path] of cases) {
    it(`${name}: exit 2, one line, nothing created`, async () => {
      const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0 });
      const out = path(dir);
      const before = snapshot(dir);
      const r = await run(['check', '.', '-o', out], { cwd: dir });
      expect(r.code).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/^pviommu: error: cannot write output to /);
      expect(snapshot(dir)).toEqual(before);
    });
  }

  it.skipIf(process.getuid?.() === 0)('a read-only directory: exit 2, the old file unchanged', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0 });
    const out = track(mkdtempSync(join(tmpdir(), 'pviommu-ro-')));
    writeFileSync(join(out, 'report.json'), 'old');
    chmodSync(out, 0o555);
    try {
      const r = await run(['check', dir, '-f', 'json', '-o', join(out, 'report.json')], { cwd: dir });
      expect(r.code).toBe(2);
      oneLine(r.stderr);
      expect(readFileSync(join(out, 'report.json'), 'utf8')).toBe('old');
    } finally {
      chmodSync(out, 0o755);
    }
  });
});

describe('--output is never a file that was read', () => {
  type Case = { name: string; args: (d: string) => string[]; victim: string; setup?: (d: string) => void };
  const cases: Case[] = [
    { name: 'an input named on the command line', args: () => ['check', 'host.yaml', 'dom0.yaml', '-o', 'host.yaml'], victim: 'host.yaml' },
    { name: 'the same input through `..`', args: (d) => ['check', 'host.yaml', 'dom0.yaml', '-o', join(d, 'sub', '..', 'host.yaml')], victim: 'host.yaml', setup: (d) => mkdirSync(join(d, 'sub')) },
    { name: 'a symlink to an input', args: () => ['check', 'host.yaml', 'dom0.yaml', '-o', 'link.json'], victim: 'host.yaml', setup: (d) => symlinkSync('host.yaml', join(d, 'link.json')) },
    { name: 'a hard link to an input', args: () => ['check', 'host.yaml', 'dom0.yaml', '-o', 'hard.json'], victim: 'host.yaml', setup: (d) => linkSync(join(d, 'host.yaml'), join(d, 'hard.json')) },
    // before the fix, only the PATHs themselves were compared: a file found by walking was overwritten
    { name: 'a file found by walking a directory', args: () => ['check', '.', '-o', 'dom0.yaml'], victim: 'dom0.yaml' },
    { name: 'a file found by walking the default `.`', args: () => ['check', '-o', 'host.yaml'], victim: 'host.yaml' },
    { name: 'a file read by emulate', args: () => ['emulate', '.', '--scenario', 's', '-o', 's.yaml'], victim: 's.yaml' },
    { name: 'the trace read by emulate', args: () => ['emulate', '.', '--trace', 't.jsonl', '--host', 'h1', '-f', 'jsonl', '-o', 't.jsonl'], victim: 't.jsonl', setup: (d) => writeFileSync(join(d, 't.jsonl'), '{"op":"iommu.op","ops":[]}\n') },
    { name: 'a file read by inspect', args: () => ['inspect', '.', '-o', 'host.yaml'], victim: 'host.yaml' },
    { name: 'a file read by translate', args: () => ['translate', '.', '--domain', 'dom0', '--gfn', '0', '-o', 'dom0.yaml'], victim: 'dom0.yaml' },
    { name: 'the xl.cfg read by import-xl', args: () => ['import-xl', 'd.cfg', '-o', 'd.cfg'], victim: 'd.cfg', setup: (d) => writeFileSync(join(d, 'd.cfg'), 'name = "d"\nmemory = 512\n') },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 's.yaml': SCENARIO });
      c.setup?.(dir);
      const before = readFileSync(join(dir, c.victim));
      const snap = snapshot(dir);
      const r = await run(c.args(dir), { cwd: dir });
      expect(r.code, r.stderr).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/refusing to write output to .*: it is one of the input files/);
      expect(readFileSync(join(dir, c.victim))).toEqual(before);
      expect(snapshot(dir)).toEqual(snap);
    });
  }

  it('an output inside the walked directory that is not an input is fine', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0 });
    const r = await run(['check', '.', '-f', 'json', '-o', 'report.json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).summary.files).toBe(2);
  });
});

describe('special files as --output are written in place, never replaced', () => {
  it('a FIFO stays a FIFO and receives the report', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0 });
    const fifo = join(track(mkdtempSync(join(tmpdir(), 'pviommu-fifo-'))), 'out');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      return;
    }
    // a reader first, so that opening the FIFO for writing does not wait
    const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const r = await run(['check', '.', '-f', 'json', '-o', fifo], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      const buf = Buffer.alloc(1 << 16);
      const n = readSync(rd, buf);
      expect(JSON.parse(buf.subarray(0, n).toString('utf8')).summary.files).toBe(2);
    } finally {
      closeSync(rd);
    }
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it('a character device (a private /dev/null) stays a device', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0 });
    const dev = join(track(mkdtempSync(join(tmpdir(), 'pviommu-dev-'))), 'null');
    try {
      execFileSync('mknod', [dev, 'c', '1', '3']);
    } catch {
      return; // not permitted here
    }
    for (const args of [['check', '.', '-o', dev], ['emulate', ROOT + '/examples/lab', '--scenario', 'xengt-pv-iommu', '-o', dev]]) {
      const r = await run(args, { cwd: dir });
      expect(r.code, r.stderr).toBeLessThan(2);
      expect(statSync(dev).isCharacterDevice()).toBe(true);
    }
  });
});

describe('a long streamed output is the same whatever stdout is', () => {
  // Output buffers are filled again once written when stdout is a file or with --output (not on a
  // pipe, whose stream may still hold them): the bytes must not depend on it. The trace is longer
  // than the 1 MiB read at a time, so that written buffers come round again.
  it.skipIf(!distIsFresh())('emulate --trace to stdout as a file, to a pipe, and to --output', () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0 });
    const calls: string[] = [];
    for (let i = 0; i < 24000; i++) {
      const gfn = `0x${(0x100 + (i % 64)).toString(16)}`;
      calls.push(i % 2 === 0 ? `{"op":"memory.populate_physmap","gfns":["${gfn}"]}` : `{"op":"memory.decrease_reservation","gfns":["${gfn}"],"pad":"${'p'.repeat(i % 40)}"}`);
    }
    writeFileSync(join(dir, 'trace.jsonl'), calls.join('\n') + '\n');
    expect(statSync(join(dir, 'trace.jsonl')).size).toBeGreaterThan(1.5 * (1 << 20));
    for (const format of ['jsonl', 'text']) {
      const args = [join(ROOT, 'bin', 'pviommu.js'), 'emulate', '.', '--trace', 'trace.jsonl', '--host', 'h1', '--format', format, '--quiet'];
      const toFile = join(dir, `stdout.${format}`);
      const fd = openSync(toFile, 'w');
      let r;
      try {
        r = spawnSync(process.execPath, args, { cwd: dir, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
      } finally {
        closeSync(fd);
      }
      expect(r.status, r.stderr).toBe(1); // unknown key `pad`: schema/invalid
      const piped = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20 });
      const out = spawnSync(process.execPath, [...args, '-o', `out.${format}`], { cwd: dir, encoding: 'utf8' });
      expect(out.status, out.stderr).toBe(1);
      const bytes = readFileSync(toFile, 'utf8');
      expect(bytes.length).toBeGreaterThan(2 << 20);
      expect(piped.stdout).toBe(bytes);
      expect(readFileSync(join(dir, `out.${format}`), 'utf8')).toBe(bytes);
      const lines = bytes.split('\n');
      expect(lines[0]).toMatch(/^(\{"index":0,|#0 )/);
      expect(lines.filter((l) => /^(\{"index":|#)\d+/.test(l))).toHaveLength(24000);
    }
  });
});
