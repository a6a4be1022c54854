/**
 * The call findings of a trace run, kept for the top-level `findings` list of `emulate --trace
 * --format json` in bounded memory.
 *
 * That list comes after `calls` and is sorted (SPEC §6.1), so every call's findings must be kept
 * until the run ends: as objects, ~0.5 KiB each, a trace whose every call raises a finding (a
 * `memory.translate` trace raises `hypercall/raw-mfn-exposed` on each) held 460 MiB for 400,000
 * calls and would run out of heap past a few million. Here each finding is kept as its compact
 * JSON line (byte for byte `JSON.stringify`), in memory up to a limit, then appended to a temp
 * file that is unlinked as soon as it is open (nothing is left behind, even if the process is
 * killed). At the end the lines are read back once, in order, and merged with the end-of-run
 * findings.
 *
 * Order: a call's findings all point at its own line of the trace, and calls come in line order,
 * so the findings come in their sorted order once each call's few are sorted among themselves.
 * The store checks that as they come; should a finding ever sort before the one kept before it,
 * the end reads them all back as objects and sorts them (what was done before this existed).
 */
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolError, ioReason } from '../errors.js';
import { encodeJson } from '../hypercalls/jsonl.js';
import type { Finding } from '../policy/types.js';
import { compareFindings, sortFindings } from '../report/index.js';

/** Bytes of findings kept in memory before they go to a temp file (default). */
export const DEFAULT_MEMORY_LIMIT = 32 * 1024 * 1024;
/** Size of the buffers the lines are written into, and read back through. */
const CHUNK = 1 << 20;

/** What the merged list yields: a finding object, or a finding's compact JSON (no newline). */
export type StoredFinding = Finding | Uint8Array;

export class FindingStore {
  /** Full buffers not yet written to the file (all of them while under the memory limit). */
  private chunks: Buffer[] = [];
  private buf: Buffer = Buffer.allocUnsafe(CHUNK);
  private pos = 0;
  private held = 0;
  private fd: number | undefined;
  /** Paths to remove at `dispose` where the file could not be unlinked while open (Windows). */
  private leftovers: { file: string; dir: string } | undefined;
  private fileBytes = 0;
  private last: Finding | undefined;
  private ordered = true;
  /** Findings kept. */
  count = 0;

  constructor(
    private readonly memoryLimit: number = DEFAULT_MEMORY_LIMIT,
    private readonly tempDir: string = tmpdir(),
  ) {}

  /** Keep the findings of one call (any order among themselves). */
  addCall(findings: readonly Finding[]): void {
    const list = findings.length > 1 ? sortFindings(findings) : findings;
    for (const f of list) this.add(f);
  }

  private add(f: Finding): void {
    if (this.ordered && this.last !== undefined && compareFindings(this.last, f) > 0) this.ordered = false;
    this.last = f;
    this.count++;
    // (Room is kept for the newline.)
    let end = encodeJson(f, this.buf, this.pos, this.buf.length - 1);
    if (end < 0 && this.pos > 0) {
      this.nextBuffer(0);
      end = encodeJson(f, this.buf, 0, this.buf.length - 1);
    }
    if (end < 0) {
      // Longer than a buffer, or a value the byte writer leaves to JSON.stringify.
      const line = Buffer.from(JSON.stringify(f), 'utf8');
      if (line.length + 1 > this.buf.length - this.pos) this.nextBuffer(line.length + 1);
      line.copy(this.buf, this.pos);
      end = this.pos + line.length;
    }
    this.buf[end] = 10;
    this.pos = end + 1;
  }

  /** The buffer is full: keep it (in memory, or written out past the limit) and start another. */
  private nextBuffer(need: number): void {
    if (this.pos > 0) {
      this.chunks.push(this.buf.subarray(0, this.pos));
      this.held += this.pos;
      if (this.held > this.memoryLimit) this.spill();
    }
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK, need));
    this.pos = 0;
  }

  /** Write the buffers held to the temp file (opened on first use). */
  private spill(): void {
    if (this.fd === undefined) this.open();
    for (const c of this.chunks) {
      let off = 0;
      while (off < c.length) {
        try {
          off += writeSync(this.fd!, c, off, c.length - off, this.fileBytes + off);
        } catch (e) {
          throw new ToolError(`cannot write the findings' temp file in ${this.tempDir}: ${ioReason(e)}`);
        }
      }
      this.fileBytes += c.length;
    }
    this.chunks = [];
    this.held = 0;
  }

  private open(): void {
    let dir: string;
    let file: string;
    try {
      dir = mkdtempSync(join(this.tempDir, 'pviommu-findings-'));
      file = join(dir, 'findings.jsonl');
      this.fd = openSync(file, 'w+', 0o600);
    } catch (e) {
      throw new ToolError(`cannot create a temp file for the findings in ${this.tempDir}: ${ioReason(e)}`);
    }
    try {
      // Gone from the directory at once: the open descriptor keeps the file until it is closed.
      unlinkSync(file);
      rmdirSync(dir);
    } catch {
      this.leftovers = { file, dir };
    }
  }

  /**
   * Every finding kept, merged with `more` (the end-of-run findings), in sorted order. Read once:
   * the store is spent after it.
   */
  *sorted(more: readonly Finding[]): Generator<StoredFinding> {
    const tail = sortFindings(more);
    if (!this.ordered) {
      // (Never seen: the order checked as they came did not hold. Sort them all as objects.)
      const all: Finding[] = [...tail];
      for (const line of this.lines()) all.push(JSON.parse(Buffer.from(line).toString('utf8')) as Finding);
      yield* sortFindings(all);
      return;
    }
    let t = 0;
    for (const line of this.lines()) {
      if (t < tail.length) {
        // End-of-run findings left to place: this one's place among them needs its fields.
        const f = JSON.parse(Buffer.from(line).toString('utf8')) as Finding;
        while (t < tail.length && compareFindings(tail[t]!, f) < 0) yield tail[t++]!;
      }
      yield line;
    }
    while (t < tail.length) yield tail[t++]!;
  }

  /** The kept lines in order, without their newlines (views valid until the next is asked for). */
  private *lines(): Generator<Uint8Array> {
    if (this.fd !== undefined) {
      this.spill();
      const read = Buffer.allocUnsafe(CHUNK);
      let at = 0;
      let carry: Buffer | undefined;
      while (at < this.fileBytes) {
        let n: number;
        try {
          n = readSync(this.fd, read, 0, Math.min(read.length, this.fileBytes - at), at);
        } catch (e) {
          throw new ToolError(`cannot read the findings' temp file back: ${ioReason(e)}`);
        }
        if (n === 0) throw new ToolError("cannot read the findings' temp file back: it ended early");
        at += n;
        let data = read.subarray(0, n);
        if (carry !== undefined) {
          data = Buffer.concat([carry, data]);
          carry = undefined;
        }
        const rest = yield* linesOf(data);
        // (A copy: `read` is filled again by the next read.)
        if (rest < data.length) carry = Buffer.from(data.subarray(rest));
      }
    }
    // (A buffer in memory holds whole lines.)
    for (const c of this.chunks) yield* linesOf(c);
    yield* linesOf(this.buf.subarray(0, this.pos));
  }

  /** Close and remove the temp file, if any. */
  dispose(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    if (this.leftovers !== undefined) {
      try {
        unlinkSync(this.leftovers.file);
        rmdirSync(this.leftovers.dir);
      } catch {
        // (Nothing more to do: it is in the system's temp dir.)
      }
      this.leftovers = undefined;
    }
    this.chunks = [];
  }
}

/** The newline-ended lines of `data`, without their newlines; returns where the unended rest starts. */
function* linesOf(data: Buffer): Generator<Uint8Array, number> {
  let start = 0;
  for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
    yield data.subarray(start, nl);
    start = nl + 1;
  }
  return start;
}
