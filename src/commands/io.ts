/**
 * The process boundary. Commands talk to the world only through an Io, so tests can run the
 * whole CLI in-process (`main(argv, io)`) and the core never touches `process`.
 */
import { readFileSync } from 'node:fs';

export interface Out {
  write(s: string): void;
  isTTY?: boolean;
}

export interface Io {
  stdout: Out;
  stderr: Out;
  /** Reads all of stdin (called only when a path is `-`). */
  readStdin(): Promise<string>;
  stdinIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIo(): Io {
  // A reader that goes away (`pviommu rules | head`) is not an error of ours: stop quietly.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      throw e;
    });
  }
  return {
    stdout: { write: (s) => void process.stdout.write(s), isTTY: process.stdout.isTTY },
    stderr: { write: (s) => void process.stderr.write(s), isTTY: process.stderr.isTTY },
    readStdin: () =>
      new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        process.stdin.on('data', (c: Buffer) => chunks.push(c));
        process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        process.stdin.on('error', reject);
      }),
    stdinIsTTY: Boolean(process.stdin.isTTY),
    env: process.env,
    cwd: process.cwd(),
  };
}

/** An Io that records everything, for tests. */
export function memoryIo(opts: { stdin?: string; cwd?: string; env?: NodeJS.ProcessEnv; tty?: boolean } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    stdout: { write: (s) => void out.push(s), isTTY: opts.tty ?? false },
    stderr: { write: (s) => void err.push(s), isTTY: opts.tty ?? false },
    readStdin: async () => opts.stdin ?? '',
    stdinIsTTY: false,
    env: opts.env ?? {},
    cwd: opts.cwd ?? process.cwd(),
  };
  return { io, stdout: () => out.join(''), stderr: () => err.join('') };
}

/** Package root (for docs/rules/…), from either src/ or dist/. */
export const PACKAGE_ROOT = new URL('../../', import.meta.url);

export function readPackageFile(rel: string): string | undefined {
  try {
    return readFileSync(new URL(rel, PACKAGE_ROOT), 'utf8');
  } catch {
    return undefined;
  }
}
