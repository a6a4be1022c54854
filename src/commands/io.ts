/**
 * The process boundary. Commands talk to the world only through an Io, so tests can run the
 * whole CLI in-process (`main(argv, io)`) and the core never touches `process`.
 */
import { fstatSync, readFileSync } from 'node:fs';
import { ioReason, ToolError } from '../errors.js';

export interface Out {
  /** Text, or UTF-8 bytes (long streamed outputs are written as buffers, not strings). */
  write(s: string | Uint8Array): void;
  /** When the stream is holding more than it wants (a slow reader on a pipe): a promise of its draining. */
  drained?(): Promise<void> | undefined;
  isTTY?: boolean;
  /**
   * `write` is done with the bytes it is given when it returns (stdout is a regular file: Node
   * writes it synchronously), so their buffer may be filled again. Otherwise a stream may hold
   * on to them until it drains.
   */
  writesAtOnce?: boolean;
}

export interface Io {
  stdout: Out;
  stderr: Out;
  /** Reads all of stdin, as bytes (called only when a path is `-`): the loader checks they are UTF-8, as a file's. */
  readStdin(): Promise<Uint8Array>;
  /** Stdin as it comes, chunk by chunk (a trace read from a pipe: `emulate --trace -`). */
  stdinChunks(): AsyncIterable<Uint8Array>;
  stdinIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export function processIo(): Io {
  // A reader that goes away (`pviommu check . | head`) is not an error of ours: what is left of the
  // output goes nowhere, and the run goes on to its verdict, so the exit code is the run's (0
  // here would say "clean" of a run nobody saw finish). Any other failure to write the report (a
  // full disk) means the job cannot be done: one line, exit 2.
  let stdoutGone = false;
  let stderrGone = false;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (stdoutGone) return;
    stdoutGone = true;
    if (e.code === 'EPIPE') return;
    if (!stderrGone) process.stderr.write(`pviommu: error: cannot write output: ${ioReason(e)}\n`);
    process.exit(2);
  });
  // stderr gone: nothing more can be said there (the exit code still tells)
  process.stderr.on('error', () => void (stderrGone = true));
  return {
    stdout: {
      write: (s) => void (stdoutGone || process.stdout.write(s)),
      drained: () =>
        !stdoutGone && process.stdout.writableNeedDrain
          ? new Promise<void>((resolve) => {
              // a reader that goes away while the output waits ends the wait too
              const done = (): void => {
                process.stdout.off('drain', done).off('close', done).off('error', done);
                resolve();
              };
              process.stdout.on('drain', done).on('close', done).on('error', done);
            })
          : undefined,
      isTTY: process.stdout.isTTY,
      writesAtOnce: isRegularFile(1),
    },
    stderr: { write: (s) => void (stderrGone || process.stderr.write(s)), isTTY: process.stderr.isTTY },
    readStdin: () =>
      new Promise<Uint8Array>((resolve, reject) => {
        if (isDirectory(0)) return reject(new ToolError('cannot read stdin: it is a directory'));
        const chunks: Buffer[] = [];
        process.stdin.on('data', (c: Buffer) => chunks.push(c));
        process.stdin.on('end', () => resolve(Buffer.concat(chunks)));
        process.stdin.on('error', (e) => reject(new ToolError(`cannot read stdin: ${ioReason(e)}`)));
      }),
    stdinChunks: () => {
      if (isDirectory(0)) throw new ToolError('cannot read stdin: it is a directory');
      return process.stdin as AsyncIterable<Uint8Array>;
    },
    stdinIsTTY: Boolean(process.stdin.isTTY),
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Whether descriptor `fd` is a directory (`pviommu check - < /etc`; false when that cannot be told). */
export function isDirectory(fd: number): boolean {
  try {
    return fstatSync(fd).isDirectory();
  } catch {
    return false;
  }
}

/** Whether descriptor `fd` is a regular file (false when that cannot be told). */
function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

function text(s: string | Uint8Array): string {
  return typeof s === 'string' ? s : Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('utf8');
}

/**
 * Lines of a long streamed output (a million-call `emulate --format jsonl`) encoded straight into
 * 64 KiB buffers, each handed to `write` once full, in order and one at a time. (Joining strings
 * and converting each chunk to bytes afterwards kept every pending line alive long enough to be
 * promoted, then collected, by the GC: a third of the time of a long run.)
 */
export class LineChunks {
  private static readonly SIZE = 1 << 16;
  /** Room kept free before an encoded line (one longer than what is left of the buffer falls back to its text). */
  private static readonly ROOM = 4096;
  /** Most written buffers kept to fill again (between two turns of the event loop a run fills ~30). */
  private static readonly SPARE = 64;
  private buf: Buffer = Buffer.allocUnsafe(LineChunks.SIZE);
  private pos = 0;
  private chain: Promise<void> = Promise.resolve();
  /** Bytes handed to `flush` and not yet written. */
  private pending = 0;
  /** Buffers written and free to fill again (with `reuse`). */
  private readonly spare: Buffer[] = [];

  /**
   * @param write writes a chunk; the chunk is its own until the promise settles.
   * @param reuse the chunk's bytes are written (not held by a stream) once `write`'s promise
   *   settles: its buffer is then filled again instead of a new one being allocated for every
   *   64 KiB of output (an output file; stdout when it is a file).
   */
  constructor(
    private readonly write: (chunk: Uint8Array) => Promise<void>,
    private readonly reuse = false,
  ) {}

  /** Add `line` and a newline (or, with `newline` false, only `line`). */
  line(line: string, newline = true): void {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8.
    const need = line.length * 3 + 1;
    if (this.pos + need > this.buf.length) {
      void this.flush();
      if (need > this.buf.length) this.buf = Buffer.allocUnsafe(need);
    }
    this.pos += this.buf.write(line, this.pos, 'utf8');
    if (newline) this.buf[this.pos++] = 10;
  }

  /**
   * Add a line that `encode` writes as UTF-8 straight into the buffer, before `lim`, returning its
   * end — or -1 when it cannot (a value of another shape, too long): then the line `text(v)`.
   * With `newline` false, no newline follows (a piece of a larger document).
   */
  encoded<T>(v: T, encode: (v: T, buf: Uint8Array, pos: number, lim: number) => number, text: (v: T) => string, newline = true): void {
    if (this.buf.length - this.pos < LineChunks.ROOM) void this.flush();
    const lim = this.buf.length - 1; // room for the newline
    const end = encode(v, this.buf, this.pos, lim);
    if (end < 0) return this.line(text(v), newline);
    this.pos = end;
    if (newline) this.buf[this.pos++] = 10;
  }

  /** Queue what is buffered; resolves when everything queued so far is written (or rejects). */
  flush(): Promise<void> {
    if (this.pos > 0) {
      const whole = this.buf;
      const chunk = whole.subarray(0, this.pos);
      // The chunk belongs to the writer now (an asynchronous stream keeps it until written).
      this.buf = this.spare.pop() ?? Buffer.allocUnsafe(LineChunks.SIZE);
      this.pos = 0;
      this.pending += chunk.byteLength;
      this.chain = this.chain.then(async () => {
        await this.write(chunk);
        this.pending -= chunk.byteLength;
        if (this.reuse && whole.length === LineChunks.SIZE && this.spare.length < LineChunks.SPARE) this.spare.push(whole);
      });
      this.chain.catch(() => undefined); // reported by the awaited flush; never an unhandled rejection
    }
    return this.chain;
  }

  /** When more than `limit` bytes wait to be written: a promise of their writing (else undefined). */
  backlog(limit = 8 << 20): Promise<void> | undefined {
    return this.pending > limit ? this.flush() : undefined;
  }
}

/** An Io that records everything, for tests. */
export function memoryIo(opts: { stdin?: string | Uint8Array; stdinTTY?: boolean; cwd?: string; env?: NodeJS.ProcessEnv; tty?: boolean } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const stdinBytes = (): Buffer => (typeof opts.stdin === 'string' || opts.stdin === undefined ? Buffer.from(opts.stdin ?? '', 'utf8') : Buffer.from(opts.stdin));
  const io: Io = {
    stdout: { write: (s) => void out.push(text(s)), isTTY: opts.tty ?? false },
    stderr: { write: (s) => void err.push(text(s)), isTTY: opts.tty ?? false },
    readStdin: async () => stdinBytes(),
    stdinChunks: async function* () {
      // in pieces, so that lines cross chunk boundaries as they do on a pipe
      const b = stdinBytes();
      for (let i = 0; i < b.length; i += 4093) yield b.subarray(i, i + 4093);
    },
    stdinIsTTY: opts.stdinTTY ?? false,
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
