/** Run the CLI in-process and build throwaway config repos. */
import { cpSync, mkdtempSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { main } from '../../src/cli.js';
import { memoryIo } from '../../src/commands/io.js';

export const ROOT = join(__dirname, '..', '..');

export async function run(args: string[], opts: { cwd?: string; stdin?: string | Uint8Array; stdinTTY?: boolean; env?: NodeJS.ProcessEnv; tty?: boolean } = {}) {
  const m = memoryIo({ cwd: opts.cwd ?? ROOT, stdin: opts.stdin, stdinTTY: opts.stdinTTY, env: opts.env ?? {}, tty: opts.tty });
  const code = await main(['node', 'pviommu', ...args], m.io);
  return { code, stdout: m.stdout(), stderr: m.stderr() };
}

/** A temp directory holding `files` (path → content). */
export function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pviommu-test-'));
  for (const [p, text] of Object.entries(files)) {
    const abs = join(dir, p);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  }
  return dir;
}

/** A temp copy of the example repo `examples/NAME`, to change. */
export function labCopy(name = 'lab'): string {
  const dir = mkdtempSync(join(tmpdir(), 'pviommu-test-'));
  cpSync(join(ROOT, 'examples', name), dir, { recursive: true });
  return dir;
}

export const HOST = `apiVersion: pviommu/v1
kind: Host
name: h1
ram: 16GiB
iommu:
  dom0: strict
`;

export const DOM0 = `apiVersion: pviommu/v1
kind: Domain
name: dom0
domid: 0
type: pv
role: hardware
memory: 2GiB
`;

/** Whether dist/ was built from the current src/ (npm test builds it first). */
export function distIsFresh(): boolean {
  const newest = (dir: string, ext: RegExp): number => {
    let t = 0;
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = statSync(p);
      t = Math.max(t, st.isDirectory() ? newest(p, ext) : ext.test(name) ? st.mtimeMs : 0);
    }
    return t;
  };
  try {
    return newest(join(ROOT, 'dist'), /\.js$/) >= newest(join(ROOT, 'src'), /\.ts$/);
  } catch {
    return false;
  }
}
