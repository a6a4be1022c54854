/**
 * JSON Lines traces (`pviommu emulate --trace FILE.jsonl --host NAME`): one call object per line,
 * read as a stream (a million-line trace is never held in memory) and run as it is read.
 *
 * Every non-blank line is one call and takes the next index (0-based), so `bfn_of: N` names the
 * N-th non-blank line. A line that is not a JSON object is reported (`schema/invalid` at
 * file:line) and counted as a call that could not be made (−EINVAL); the run goes on.
 */
import { closeSync, createReadStream, openSync, read, statSync } from 'node:fs';
import type { Location } from '../policy/types.js';
import { ioReason, ToolError } from '../errors.js';
import type { Machine } from '../model/types.js';
import type { CallReport, RawCall } from './types.js';
import { Session, type RunOptions, type RunResult } from './scenario.js';
import { ScannedCall, scanCall } from './scan.js';

export interface TraceLine extends RawCall {
  /** 1-based line number in the file. */
  line: number;
  /** Set when the line is not a JSON object: why (the call is then `undefined`). */
  error?: string;
}

/** One non-blank line of a trace (the location spans the whole line, whatever the path). */
class TraceCall implements TraceLine {
  constructor(
    readonly call: unknown,
    public line: number,
    private readonly file: string,
    public length: number,
    readonly error?: string,
  ) {}
  locate(): Location {
    return { file: this.file, line: this.line, column: 1, endLine: this.line, endColumn: this.length + 1 };
  }
}

/**
 * Longest trace line read (a call is a few hundred bytes; a batch of a thousand ops, ~100 KiB).
 * A longer line is reported and skipped without being held in memory.
 */
export const MAX_TRACE_LINE_BYTES = 16 * 1024 * 1024;
/** Deepest nesting of a call object (calls nest three or four levels; deeper data would overflow the stack of everything that walks it). */
export const MAX_TRACE_DEPTH = 64;

/** Whether `v` nests deeper than `max` arrays / objects (iterative: never overflows itself). */
function nestsDeeper(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d >= max) return true;
    for (const k in x) stack.push([(x as Record<string, unknown>)[k], d + 1]);
  }
  return false;
}

/** Number of `[` and `{` bytes in buf[start, end) (an upper bound on the nesting depth). */
function openers(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 91 || c === 123) n++;
  }
  return n;
}

/** Splits a byte stream into trace lines (UTF-8, `\n` or `\r\n`); keeps only the partial last line. */
class LineSplitter {
  /** Pieces of the current partial line (joined once its newline arrives: linear, not n²). */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Inside a line longer than MAX_TRACE_LINE_BYTES: its bytes are dropped until its newline. */
  private skipping = false;
  private lineNo = 0;
  /** The call of the current line when the fast reader took it (one object for every line). */
  private readonly scanned = new ScannedCall();
  /** Shared: the line the fast reader took, handed on (one object for every such line). */
  private scannedLine: TraceCall | undefined;
  /**
   * `shared`: a line the fast reader takes is handed on as the one TraceLine and ScannedCall of
   * this splitter, valid until the next line; otherwise as its own TraceLine with the object
   * JSON.parse would give.
   */
  constructor(
    private readonly display: string,
    private readonly shared: boolean,
  ) {}

  push(chunk: Buffer, each: (t: TraceLine) => void): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      if (this.skipping) {
        this.skipping = false;
        this.tooLong(each);
      } else if (this.parts.length) {
        const buf = Buffer.concat([...this.parts, chunk.subarray(start, nl)]);
        this.parts = [];
        this.partsBytes = 0;
        this.parse(buf, 0, buf.length, each);
      } else {
        this.parse(chunk, start, nl, each);
      }
      start = nl + 1;
    }
    if (start < chunk.length && !this.skipping) {
      this.partsBytes += chunk.length - start;
      if (this.partsBytes > MAX_TRACE_LINE_BYTES) {
        this.parts = [];
        this.partsBytes = 0;
        this.skipping = true;
      } else {
        this.parts.push(Buffer.from(chunk.subarray(start)));
      }
    }
  }

  end(each: (t: TraceLine) => void): void {
    if (this.skipping) this.tooLong(each);
    else if (this.parts.length) {
      const buf = Buffer.concat(this.parts);
      this.parse(buf, 0, buf.length, each);
    }
    this.parts = [];
    this.partsBytes = 0;
    this.skipping = false;
  }

  private tooLong(each: (t: TraceLine) => void): void {
    const lineNo = ++this.lineNo;
    each(new TraceCall(undefined, lineNo, this.display, 1, `line ${lineNo} is longer than ${MAX_TRACE_LINE_BYTES} bytes; it was skipped (each line of a trace is one call object)`));
  }

  private parse(buf: Buffer, start: number, end: number, each: (t: TraceLine) => void): void {
    const lineNo = ++this.lineNo;
    // A UTF-8 byte order mark before the first line (an editor's) is not part of the call; editors
    // do not count it as a column either.
    if (lineNo === 1 && end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
    if (end > start && buf[end - 1] === 13) end--; // \r\n
    let s = start;
    while (s < end && (buf[s] === 32 || buf[s] === 9)) s++;
    if (s === end) return; // blank line
    // The plain lines traces are made of: read straight from the bytes (all ASCII: a column is a byte).
    const sc = this.scanned;
    if (scanCall(buf, s, end, sc)) {
      if (this.shared) {
        const t = (this.scannedLine ??= new TraceCall(sc, lineNo, this.display, 0));
        t.line = lineNo;
        t.length = end - start;
        each(t);
      } else each(new TraceCall(sc.toObject(), lineNo, this.display, end - start));
      return;
    }
    const text = buf.toString('utf8', start, end);
    let call: unknown;
    let notJson: string | undefined;
    // A line that is not JSON is a finding, not a failure: its SyntaxError is wanted for its
    // message, not for the stack trace V8 would capture (most of the cost of such a line).
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      call = JSON.parse(text);
    } catch (e) {
      notJson = (e as Error).message;
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    if (notJson !== undefined) {
      each(new TraceCall(undefined, lineNo, this.display, text.length, `line ${lineNo} is not valid JSON (${notJson}); each line of a trace is one call object like {"op": "iommu.map_page", "bfn": "0x100", "gfn": "0x100"}`));
      return;
    }
    if (call === null || typeof call !== 'object' || Array.isArray(call)) {
      each(new TraceCall(undefined, lineNo, this.display, text.length, `line ${lineNo} is not a call object; each line of a trace is one JSON object with \`op\``));
      return;
    }
    // A key given twice: JSON.parse kept the last, a YAML scenario keeps the first, and which was
    // meant cannot be told. (The fast reader declines such lines, so only these are looked at.)
    const dup = firstDuplicateKey(text);
    if (dup !== undefined) {
      each(new TraceCall(undefined, lineNo, this.display, text.length, `line ${lineNo} has the key ${JSON.stringify(dup)} twice; remove one (JSON would keep the last, a YAML scenario the first)`));
      return;
    }
    // Nesting deeper than MAX_TRACE_DEPTH takes more than MAX_TRACE_DEPTH `[` / `{` bytes (and a
    // line of at least twice that): only such lines are walked.
    if (end - s > 2 * MAX_TRACE_DEPTH && openers(buf, s, end) > MAX_TRACE_DEPTH && nestsDeeper(call, MAX_TRACE_DEPTH)) {
      each(new TraceCall(undefined, lineNo, this.display, text.length, `line ${lineNo} nests deeper than ${MAX_TRACE_DEPTH} levels; a call object is a flat mapping of arguments`));
      return;
    }
    each(new TraceCall(call, lineNo, this.display, text.length));
  }
}

/**
 * Where a trace comes from: a path (a file, or a FIFO such as `<(…)` or /dev/stdin), read in
 * 1 MiB chunks, or chunks handed over as they arrive (stdin).
 */
export type TraceSource = string | AsyncIterable<Uint8Array>;

/**
 * The chunks of a trace, each valid until the next is asked for. A regular file is read 1 MiB at
 * a time into two reused buffers, the next chunk while the consumer works on this one (a stream
 * would allocate every chunk; reading in turn with readSync stops the work for each read, and for
 * as long as the disk takes when the page cache does not hold the file). Anything else (a FIFO,
 * a device, stdin's chunks) is read as a stream: opening a FIFO waits for its writer, which must
 * not block the event loop. A read that fails is a ToolError naming the trace.
 */
async function* traceChunks(file: TraceSource, display: string): AsyncGenerator<Buffer> {
  const fd = typeof file === 'string' ? regularFile(file, display) : undefined;
  if (fd !== undefined) {
    // Two buffers: the next chunk is read (on the thread pool) while this one is worked on.
    let cur = Buffer.allocUnsafe(READ_CHUNK);
    let next = Buffer.allocUnsafe(READ_CHUNK);
    let at = 0;
    let reading: Promise<number> | undefined;
    try {
      reading = readAt(fd, cur, at);
      for (;;) {
        let n: number;
        try {
          n = await reading;
        } catch (e) {
          throw readFailed(display, e);
        }
        reading = undefined;
        if (n === 0) return;
        at += n;
        // (`next` was the chunk before this one: its consumer asked for this one, so is done with it.)
        reading = readAt(fd, next, at);
        yield cur.subarray(0, n);
        [cur, next] = [next, cur];
      }
    } finally {
      // A read still in flight writes into a buffer nobody holds; the descriptor is closed after it.
      if (reading !== undefined) await reading.catch(() => 0);
      closeSync(fd);
    }
  }
  const stream = typeof file === 'string' ? (createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) : file;
  // (Only the stream's own failures land here: a consumer that stops early ends this generator
  // through `return`, which closes the stream.)
  try {
    for await (const chunk of stream) yield asBuffer(chunk);
  } catch (e) {
    throw readFailed(display, e);
  }
}

/** Bytes read from a trace file at a time. */
const READ_CHUNK = 1 << 20;

/** Read into all of `buf` from file offset `at`; how many bytes were read (0 at the end). */
function readAt(fd: number, buf: Buffer, at: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, 0, buf.length, at, (e, n) => (e ? reject(e) : resolve(n))));
}

/** A trace that cannot be read (EIO, EACCES, …): the tool's failure, in one line. */
function readFailed(display: string, e: unknown): ToolError {
  return new ToolError(`cannot read trace ${display}: ${ioReason(e)}`);
}

/** An open descriptor of `file` when it is a regular file; undefined for a FIFO, a device, … */
function regularFile(file: string, display: string): number | undefined {
  try {
    return statSync(file).isFile() ? openSync(file, 'r') : undefined;
  } catch (e) {
    throw readFailed(display, e);
  }
}

/**
 * The streaming core: read `file` chunk by chunk and hand every non-blank line to `each`
 * synchronously. Only one chunk (1 MiB) and one partial line are held at a time (the splitter
 * copies what it keeps of a chunk).
 *
 * A line's `call` is the parsed object, or — for the plain lines the fast reader takes — a
 * {@link ScannedCall}; such a line and its call are reused for the next line: use them within
 * `each` (the runner does; the locations it keeps are made there).
 */
export async function forEachTraceLine(
  file: TraceSource,
  each: (t: TraceLine) => void,
  display: string = typeof file === 'string' ? file : '<stdin>',
  /** Called after each chunk of the file; the next chunk is read once what it returns settles. */
  between?: () => Promise<void> | undefined,
): Promise<void> {
  const split = new LineSplitter(display, true);
  for await (const chunk of traceChunks(file, display)) {
    split.push(chunk, each);
    const wait = between?.();
    if (wait !== undefined) await wait;
  }
  split.end(each);
}

/**
 * Read a trace as a stream of lines (blank lines skipped). `display` is the file name findings
 * show (default: `file`). The file is read a chunk at a time, as the consumer pulls.
 */
export async function* readTrace(file: TraceSource, display: string = typeof file === 'string' ? file : '<stdin>'): AsyncGenerator<TraceLine> {
  const split = new LineSplitter(display, false);
  for await (const chunk of traceChunks(file, display)) {
    // (every line of the chunk is made into its own objects before the next chunk is read)
    const batch: TraceLine[] = [];
    split.push(chunk, (t) => batch.push(t));
    yield* batch;
  }
  const batch: TraceLine[] = [];
  split.end((t) => batch.push(t));
  yield* batch;
}

/**
 * Run a trace on `machine` (built fresh for it), calling `onCall` with each call's report as it
 * completes, then the end-of-run checks. Resolves to every finding and the summary.
 */
export async function emulateTrace(
  machine: Machine,
  file: TraceSource,
  onCall: (result: CallReport) => void,
  opts: RunOptions & {
    display?: string;
    scenario?: string;
    /** Backpressure: called between chunks of the trace; reading waits for what it returns. */
    between?: () => Promise<void> | undefined;
  } = {},
): Promise<RunResult> {
  const display = opts.display ?? (typeof file === 'string' ? file : '<stdin>');
  const session = new Session(machine, {
    abi: opts.abi ?? machine.pvIommu.abi,
    scenario: opts.scenario ?? display,
    keepCallFindings: opts.keepCallFindings ?? true,
    fallback: { file: display, line: 1, column: 1, endLine: 1, endColumn: 1 },
    severities: opts.severities,
  });
  await forEachTraceLine(file, (t) => onCall(t.error !== undefined ? session.invalid(t, t.error) : session.run(t)), display, opts.between);
  return session.finish();
}

/** A chunk as a Buffer (a stream's chunks are; other sources may hand plain Uint8Arrays). */
function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * The first key that appears twice in one object of `json` (valid JSON, as JSON.parse took it),
 * at any depth; undefined when none does. One pass over the text.
 */
export function firstDuplicateKey(json: string): string | undefined {
  // per open object its keys so far; null for an array
  const stack: (Set<string> | null)[] = [];
  let keyNext = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x7b) {
      stack.push(new Set());
      keyNext = true;
    } else if (c === 0x5b) {
      stack.push(null);
      keyNext = false;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      keyNext = false;
    } else if (c === 0x2c) {
      keyNext = stack.length > 0 && stack[stack.length - 1] !== null;
    } else if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      for (; j < json.length; j++) {
        const d = json.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j++;
        } else if (d === 0x22) break;
      }
      if (keyNext) {
        const key = escaped ? (JSON.parse(json.slice(i, j + 1)) as string) : json.slice(i + 1, j);
        const keys = stack[stack.length - 1]!;
        if (keys.has(key)) return key;
        keys.add(key);
        keyNext = false;
      }
      i = j;
    }
  }
  return undefined;
}
