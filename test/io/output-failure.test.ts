/**
 * `--output` failing half-way (disk full while writing, a rename that fails): the existing file
 * is left exactly as it was, the temp file is removed, and the CLI says so in one line (exit 2).
 * Being root, a read-only directory would not stop the write, so the failures are injected into
 * the file-system calls the writer makes.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

const fail = vi.hoisted(() => ({ write: false, rename: false, sync: false, read: false, stream: false, reads: 0, readsOk: Infinity }));

const enospc = vi.hoisted(() => (call: string) => Object.assign(new Error(`ENOSPC: no space left on device, ${call}`), { code: 'ENOSPC' }));

// The temp file of `--output` is written with writeSync (a regular file); other outputs through the handle.
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const writeSync = ((...args: Parameters<typeof real.writeSync>) => {
    if (fail.write) throw enospc('write');
    return real.writeSync(...args);
  }) as typeof real.writeSync;
  // A trace in a regular file is read with read (at an offset, a chunk ahead); a device or FIFO
  // as a stream.
  const read = ((...args: unknown[]) => {
    if (!fail.read && ++fail.reads <= fail.readsOk) return (real.read as (...a: unknown[]) => void)(...args);
    const cb = args[args.length - 1] as (e: Error) => void;
    process.nextTick(() => cb(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })));
  }) as typeof real.read;
  const createReadStream = ((...args: Parameters<typeof real.createReadStream>) => {
    const stream = real.createReadStream(...args);
    if (fail.stream) process.nextTick(() => stream.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })));
    return stream;
  }) as typeof real.createReadStream;
  const mocked = { writeSync, read, createReadStream };
  return { ...real, ...mocked, default: { ...real, ...mocked } };
});

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    default: real,
    open: async (...args: Parameters<typeof real.open>) => {
      const h = await real.open(...args);
      if (fail.sync) h.sync = async () => { throw enospc('fsync'); };
      return h;
    },
    rename: async (...args: Parameters<typeof real.rename>) => {
      if (fail.rename) throw enospc('rename');
      return real.rename(...args);
    },
  };
});

const { run, repo: makeRepo, HOST, DOM0 } = await import('../cli/helpers.js');
const { track, removeTemps } = await import('../fuzz/harness.js');
const repo = (files: Record<string, string>) => track(makeRepo(files));
afterAll(() => removeTemps());

afterEach(() => {
  fail.write = fail.rename = fail.sync = fail.read = fail.stream = false;
});

describe('a write that fails half-way keeps the old output', () => {
  for (const what of ['write', 'sync', 'rename'] as const) {
    it(`${what} fails: exit 2, one line, old file intact, no temp file left`, async () => {
      const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0 });
      const out = track(mkdtempSync(join(tmpdir(), 'pviommu-fail-')));
      writeFileSync(join(out, 'report.json'), 'the previous report');
      fail[what] = true;
      const r = await run(['check', dir, '-f', 'json', '-o', join(out, 'report.json')], { cwd: dir });
      fail[what] = false;
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`pviommu: error: cannot write output to ${join(out, 'report.json')}: no space left on device (ENOSPC)\n`);
      expect(readFileSync(join(out, 'report.json'), 'utf8')).toBe('the previous report');
      expect(readdirSync(out)).toEqual(['report.json']);
    });
  }

  it('the streamed output of emulate --trace too', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 't.jsonl': '{"op":"iommu.op","ops":[]}\n'.repeat(1000) });
    const out = track(mkdtempSync(join(tmpdir(), 'pviommu-fail-')));
    writeFileSync(join(out, 'calls.jsonl'), 'the previous run');
    fail.write = true;
    const r = await run(['emulate', '.', '--trace', 't.jsonl', '--host', 'h1', '-f', 'jsonl', '-o', join(out, 'calls.jsonl')], { cwd: dir });
    fail.write = false;
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(readFileSync(join(out, 'calls.jsonl'), 'utf8')).toBe('the previous run');
    expect(readdirSync(out)).toEqual(['calls.jsonl']);
  });
});

describe('a trace that cannot be read', () => {
  it('a file that fails after its first chunk (the next one is read while the first is run): exit 2, the old output kept', async () => {
    const line = '{"op":"iommu.op","ops":[]}\n';
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 't.jsonl': line.repeat(Math.ceil((5 << 19) / line.length)) });
    const out = track(mkdtempSync(join(tmpdir(), 'pviommu-fail-')));
    writeFileSync(join(out, 'calls.jsonl'), 'the previous run');
    fail.reads = 0;
    fail.readsOk = 1;
    const r = await run(['emulate', '.', '--trace', 't.jsonl', '--host', 'h1', '-f', 'jsonl', '-o', join(out, 'calls.jsonl')], { cwd: dir });
    const reads = fail.reads;
    fail.readsOk = Infinity;
    expect(reads).toBe(2); // the first chunk, then the failing one (no read after a failure)
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('pviommu: error: cannot read trace t.jsonl: i/o error (EIO)\n');
    expect(readFileSync(join(out, 'calls.jsonl'), 'utf8')).toBe('the previous run');
    expect(readdirSync(out)).toEqual(['calls.jsonl']);
  });

  for (const [what, trace] of [['read', 't.jsonl'], ['stream', '/dev/null']] as const) {
    it(`${trace === 't.jsonl' ? 'a file' : 'a device, read as a stream'}: exit 2, one line naming the trace, the old output kept`, async () => {
      const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 't.jsonl': '{"op":"iommu.op","ops":[]}\n' });
      const out = track(mkdtempSync(join(tmpdir(), 'pviommu-fail-')));
      writeFileSync(join(out, 'calls.jsonl'), 'the previous run');
      fail[what] = true;
      const r = await run(['emulate', '.', '--trace', trace, '--host', 'h1', '-f', 'jsonl', '-o', join(out, 'calls.jsonl')], { cwd: dir });
      fail[what] = false;
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`pviommu: error: cannot read trace ${relative(dir, resolve(dir, trace))}: i/o error (EIO)\n`);
      expect(readFileSync(join(out, 'calls.jsonl'), 'utf8')).toBe('the previous run');
      expect(readdirSync(out)).toEqual(['calls.jsonl']);
    });
  }
});
