/**
 * The real process's stdin and stdout under the CLI (only a process of its own shows these): a
 * full disk is exit 2 with one line and no stack trace; a reader that goes away early (`| head`)
 * does not turn the run's verdict into 0; a directory as stdin is exit 2, one line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { distIsFresh, ROOT } from '../cli/helpers.js';

const BIN = join(ROOT, 'bin/pviommu.js');
const MEDIATED = join(ROOT, 'examples/mediated-gpu');

describe.skipIf(!distIsFresh())('stdout of the process', () => {
  // /dev/full is Linux's always-full device (CI runs on Linux; elsewhere there is no such file)
  it.runIf(existsSync('/dev/full'))('a write that fails (disk full): exit 2, one line on stderr, no stack trace', () => {
    for (const args of [['check', join(ROOT, 'examples/lab'), '-f', 'json'], ['rules']]) {
      const fd = openSync('/dev/full', 'w');
      const r = spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
      closeSync(fd);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe('pviommu: error: cannot write output: no space left on device (ENOSPC)\n');
    }
  });

  it('a directory as stdin: exit 2, one line, for a config (`check -`) and a trace (`--trace -`)', () => {
    for (const args of [['check', '-'], ['emulate', join(ROOT, 'examples/lab'), '--trace', '-', '--host', 'lab-1']]) {
      const fd = openSync(tmpdir(), 'r');
      const r = spawnSync(process.execPath, [BIN, ...args], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8' });
      closeSync(fd);
      expect([r.status, r.stdout, r.stderr]).toEqual([2, '', 'pviommu: error: cannot read stdin: it is a directory\n']);
    }
  });

  it('a reader that closes the pipe after the first line: the run still ends with its own exit code', async () => {
    // every call faults (an error finding): the verdict is 1, and the output far more than a pipe holds
    const dir = mkdtempSync(join(tmpdir(), 'pviommu-pipe-'));
    const trace = join(dir, 'faults.jsonl');
    writeFileSync(trace, '{"op":"device.dma","device":"igd","bfn":"0x3fff0000"}\n'.repeat(20_000));
    for (const format of ['jsonl', 'text']) {
      const child = spawn(process.execPath, [BIN, 'emulate', MEDIATED, '--trace', trace, '--host', 'gpu-lab', '-f', format], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      // read one chunk, then go away as `head -1` does
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      child.stdout.destroy();
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      expect({ format, code, stderr }).toEqual({ format, code: 1, stderr: '' });
    }
    rmSync(dir, { recursive: true, force: true });
  });
});
