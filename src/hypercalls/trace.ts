/**
 * JSON Lines traces (`pviommu emulate --trace FILE.jsonl --host NAME`): one call object per line,
 * read as a stream (a million-line trace is never held in memory) and run as it is read.
 *
 * Every non-blank line is one call and takes the next index (0-based), so `bfn_of: N` names the
 * N-th non-blank line. A line that is not a JSON object is reported (`schema/invalid` at
 * file:line) and counted as a call that could not be made (−EINVAL); the run goes on.
 */
import { createReadStream } from 'node:fs';
import type { Location } from '../policy/types.js';
import type { Machine } from '../model/types.js';
import type { CallReport, RawCall } from './types.js';
import { Session, type RunOptions, type RunResult } from './scenario.js';

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
    readonly line: number,
    private readonly file: string,
    private readonly length: number,
    readonly error?: string,
  ) {}
  locate(): Location {
    return { file: this.file, line: this.line, column: 1, endLine: this.line, endColumn: this.length + 1 };
  }
}

/**
 * The streaming core: read `file` chunk by chunk (UTF-8, `\n` or `\r\n`), hand every non-blank
 * line to `each` synchronously. Only one chunk (1 MiB) and one partial line are held at a time.
 */
export async function forEachTraceLine(file: string, each: (t: TraceLine) => void, display: string = file): Promise<void> {
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  let carry: Buffer | undefined;
  let lineNo = 0;
  const parse = (buf: Buffer, start: number, end: number): void => {
    lineNo++;
    if (end > start && buf[end - 1] === 13) end--; // \r\n
    let s = start;
    while (s < end && (buf[s] === 32 || buf[s] === 9)) s++;
    if (s === end) return; // blank line
    const text = buf.toString('utf8', start, end);
    let call: unknown;
    try {
      call = JSON.parse(text);
    } catch (e) {
      each(new TraceCall(undefined, lineNo, display, text.length, `line ${lineNo} is not valid JSON (${(e as Error).message}); each line of a trace is one call object like {"op": "iommu.map_page", "bfn": "0x100", "gfn": "0x100"}`));
      return;
    }
    if (call === null || typeof call !== 'object' || Array.isArray(call)) {
      each(new TraceCall(undefined, lineNo, display, text.length, `line ${lineNo} is not a call object; each line of a trace is one JSON object with \`op\``));
      return;
    }
    each(new TraceCall(call, lineNo, display, text.length));
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let buf = chunk;
    if (carry) {
      buf = Buffer.concat([carry, chunk]);
      carry = undefined;
    }
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      parse(buf, start, nl);
      start = nl + 1;
    }
    if (start < buf.length) carry = Buffer.from(buf.subarray(start));
  }
  if (carry && carry.length) parse(carry, 0, carry.length);
}

/**
 * Read a trace as a stream of lines (blank lines skipped). `display` is the file name findings
 * show (default: `file`). Lines come a chunk at a time; the file is never held whole.
 */
export async function* readTrace(file: string, display: string = file): AsyncGenerator<TraceLine> {
  // Bridge the callback core to an async generator, one chunk's lines at a time.
  const queue: TraceLine[] = [];
  let done = false;
  let failed: unknown;
  let wake: (() => void) | undefined;
  const run = forEachTraceLine(
    file,
    (t) => {
      queue.push(t);
    },
    display,
  ).then(
    () => {
      done = true;
      wake?.();
    },
    (e: unknown) => {
      failed = e;
      done = true;
      wake?.();
    },
  );
  for (;;) {
    while (queue.length) yield queue.shift()!;
    if (done) break;
    await new Promise<void>((r) => {
      wake = r;
      setImmediate(r);
    });
  }
  await run;
  while (queue.length) yield queue.shift()!;
  if (failed) throw failed;
}

/**
 * Run a trace on `machine` (built fresh for it), calling `onCall` with each call's report as it
 * completes, then the end-of-run checks. Resolves to every finding and the summary.
 */
export async function emulateTrace(
  machine: Machine,
  file: string,
  onCall: (result: CallReport) => void,
  opts: RunOptions & { display?: string; scenario?: string } = {},
): Promise<RunResult> {
  const display = opts.display ?? file;
  const session = new Session(machine, {
    abi: opts.abi ?? machine.pvIommu.abi,
    scenario: opts.scenario ?? display,
    keepCallFindings: opts.keepCallFindings ?? true,
    fallback: { file: display, line: 1, column: 1, endLine: 1, endColumn: 1 },
  });
  await forEachTraceLine(file, (t) => onCall(t.error !== undefined ? session.invalid(t, t.error) : session.run(t)), display);
  return session.finish();
}
