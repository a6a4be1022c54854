/**
 * One call report as a JSON line (`emulate --format jsonl`), byte for byte what
 * `JSON.stringify(report)` gives:
 * - `encodeCallReport` writes it as UTF-8 straight into an output buffer (the hot path of a
 *   trace: no string per call; the op/caller/rc/errno/status part of a line is cached per op);
 * - `callReportJson` is `JSON.stringify` (scenarios, and the lines the byte writer leaves: values
 *   with `toJSON`, class instances, nesting beyond its limit, a line longer than its room).
 */
import type { CallReport } from './types.js';
import { NO_OUT } from './errno.js';

/** Most strings each cache below keeps (op names, callers, errnos and output keys repeat). */
const MAX_QUOTED = 4096;

/**
 * `JSON.stringify(c)`: the line of a Scenario's call, and of the few lines of a trace the byte
 * writer leaves (every other line of a trace never becomes a string).
 */
export function callReportJson(c: CallReport): string {
  return JSON.stringify(c);
}

// ---------------------------------------------------------------------------------------------
// The same line written as bytes straight into an output buffer (no string built per call).

/** UTF-8 bytes of `JSON.stringify(s)`, for strings that repeat (op, caller, errno, output keys). */
const quotedBytes = new Map<string, Uint8Array>();

function qbytes(s: string): Uint8Array {
  let b = quotedBytes.get(s);
  if (b === undefined) {
    b = Buffer.from(JSON.stringify(s), 'utf8');
    if (quotedBytes.size < MAX_QUOTED) quotedBytes.set(s, b);
  }
  return b;
}

/**
 * The line heads of the writers (JSON Lines here, text in text.ts), kept per op and caller: most
 * calls of an op by one caller have the same head, whatever other callers do in between. A
 * XENMEM call's rc is the number of frames it did, which changes from call to call over a few
 * values: the last {@link HEADS_PER_CALLER} heads made for each (op, caller) are kept, and the
 * writer looks for its own among them; at most MAX_QUOTED (op, caller) pairs in all.
 */
export class HeadCache<H> {
  private readonly byOp = new Map<string, Map<string, Heads<H>>>();
  private count = 0;

  /** The heads kept for (op, caller) (look for the one that fits among them), or undefined. */
  get(op: string, caller: string): readonly H[] | undefined {
    return this.byOp.get(op)?.get(caller)?.list;
  }

  /** Keep `h` for (op, caller), in place of the oldest when HEADS_PER_CALLER are kept already. */
  set(op: string, caller: string, h: H): void {
    let byCaller = this.byOp.get(op);
    let kept = byCaller?.get(caller);
    if (kept === undefined) {
      if (this.count >= MAX_QUOTED) return;
      this.count++;
      if (byCaller === undefined) this.byOp.set(op, (byCaller = new Map()));
      byCaller.set(caller, (kept = { list: [], next: 0 }));
    }
    if (kept.list.length < HEADS_PER_CALLER) kept.list.push(h);
    else {
      kept.list[kept.next] = h;
      kept.next = (kept.next + 1) % HEADS_PER_CALLER;
    }
  }
}

/** Heads kept per (op, caller). */
export const HEADS_PER_CALLER = 8;

interface Heads<H> {
  list: H[];
  /** The one to replace next once the list is full (the oldest). */
  next: number;
}

/** `,"op":OP,"caller":CALLER,"rc":RC,"errno":ERRNO,"status":STATUS` and what it was made from. */
interface Head {
  rc: number;
  errno: string;
  status: number;
  bytes: Uint8Array;
  /** `bytes` + `,"out":` */
  toOut: Uint8Array;
  /** `bytes` + `,"out":{},"findings":[]}`: the rest of a line with no outputs and no findings. */
  noOut: Uint8Array;
  /**
   * The same, pretty-printed as members of a call at `prettyBase`, and the pretty `,"out": ` after
   * it (made when first asked for).
   */
  pretty: Uint8Array | undefined;
  prettyBase: number;
}
const heads = new HeadCache<Head>();

/** The head of `c`, or undefined when rc or status is not an integer JSON writes as digits. */
function head(c: CallReport): Head | undefined {
  const kept = heads.get(c.op, c.caller);
  if (kept !== undefined) {
    for (let i = 0; i < kept.length; i++) {
      const h = kept[i]!;
      if (h.rc === c.rc && h.errno === c.errno && h.status === c.status) return h;
    }
  }
  if (!Number.isSafeInteger(c.rc) || !Number.isSafeInteger(c.status)) return undefined;
  // (-0 as JSON writes it: String(-0) is "0".)
  const text = `,"op":${JSON.stringify(c.op)},"caller":${JSON.stringify(c.caller)},"rc":${String(c.rc)},"errno":${JSON.stringify(c.errno)},"status":${String(c.status)}`;
  const bytes = Buffer.from(text, 'utf8');
  const toOut = Buffer.from(`${text},"out":`, 'utf8');
  const noOut = Buffer.from(`${text},"out":{},"findings":[]}`, 'utf8');
  const made: Head = { rc: c.rc, errno: c.errno, status: c.status, bytes, toOut, noOut, pretty: undefined, prettyBase: -1 };
  heads.set(c.op, c.caller, made);
  return made;
}

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const NO_FINDINGS_END = ascii(',"findings":[]}');
const TRUE = ascii('true');
const FALSE = ascii('false');
const NULL = ascii('null');

/** Digits buffer for integers (written backwards). */
const digits = new Uint8Array(24);

/**
 * Write `JSON.stringify(c)` as UTF-8 into `buf` from `pos` and return where it ends; -1 when it
 * does not fit before `lim` or holds a value this writer leaves to `JSON.stringify` (anything but
 * plain objects, arrays, strings, finite numbers, booleans and null; nesting deeper than
 * {@link MAX_DEPTH}). Nothing before `pos` or from `lim` on is written; on -1 the caller writes
 * `callReportJson(c)` instead.
 */
export function encodeCallReport(c: CallReport, buf: Uint8Array, pos: number, lim: number = buf.length): number {
  // A batch's statuses: the whole object, key by key.
  if (c.statuses !== undefined || c.errnos !== undefined) return value(buf, pos, lim, c, 0);
  // The shape of almost every call: {index, op, caller, rc, errno, status, out, findings}.
  const h = head(c);
  if (h === undefined) return value(buf, pos, lim, c, 0);
  let p = put(buf, pos, lim, LINE_INDEX.of(c.index));
  const findings = c.findings;
  if (findings.length === 0) {
    // (No outputs, the shared empty `out` of most calls: the rest of the line is the head's.)
    if (c.out === NO_OUT) return put(buf, p, lim, h.noOut);
    p = value(buf, put(buf, p, lim, h.toOut), lim, c.out, 1);
    return put(buf, p, lim, NO_FINDINGS_END);
  }
  p = value(buf, put(buf, p, lim, h.toOut), lim, c.out, 1);
  p = put(buf, p, lim, FINDINGS_START);
  for (let i = 0; i < findings.length; i++) {
    if (i > 0 && p >= 0) {
      if (p >= lim) return -1;
      buf[p++] = 44; // ,
    }
    p = finding(buf, p, lim, findings[i]!);
  }
  return put(buf, p, lim, FINDINGS_END);
}

const FINDINGS_START = ascii(',"findings":[');
const FINDINGS_END = ascii(']}');

/**
 * The members of a finding as the runner makes it (`Session.finding`), in that order: a string
 * or a number each. A finding of this shape is written member by member with its keys' bytes
 * made once; any other (`subject`, `related`, another order or type) by {@link value}.
 */
const FINDING_MEMBERS: readonly { key: string; num: boolean; bytes: Uint8Array }[] = [
  ['rule', false],
  ['severity', false],
  ['message', false],
  ['file', false],
  ['line', true],
  ['column', true],
  ['endLine', true],
  ['endColumn', true],
  ['host', false],
].map(([key, num], i) => ({ key: key as string, num: num as boolean, bytes: ascii(`${i === 0 ? '{' : ','}${JSON.stringify(key)}:`) }));

/**
 * The bytes of the strings a finding repeats from call to call (rule, severity, file, host),
 * by member: the last string written there and its JSON. A message differs from call to call;
 * it is written afresh.
 */
const lastString: (string | undefined)[] = FINDING_MEMBERS.map(() => undefined);
const lastBytes: Uint8Array[] = FINDING_MEMBERS.map(() => new Uint8Array(0));
const MESSAGE = FINDING_MEMBERS.findIndex((m) => m.key === 'message');

/** `JSON.stringify(f)` for a finding (see FINDING_MEMBERS); -1 when it does not fit. */
function finding(buf: Uint8Array, p: number, lim: number, f: object): number {
  if (p < 0) return -1;
  const r = f as Record<string, unknown>;
  // The shape, checked as JSON.stringify would see it: these own keys, in this order, no other.
  let n = 0;
  for (const k in r) {
    const m = FINDING_MEMBERS[n];
    if (m === undefined || k !== m.key || typeof r[k] !== (m.num ? 'number' : 'string')) return value(buf, p, lim, f, 2);
    n++;
  }
  if (n !== FINDING_MEMBERS.length || Object.getPrototypeOf(f) !== Object.prototype) return value(buf, p, lim, f, 2);
  for (let i = 0; i < FINDING_MEMBERS.length; i++) {
    const m = FINDING_MEMBERS[i]!;
    p = put(buf, p, lim, m.bytes);
    const v = r[m.key];
    if (m.num) p = wnum(buf, p, lim, v as number);
    else if (i === MESSAGE) p = jstr(buf, p, lim, v as string);
    else {
      if (v !== lastString[i]) {
        lastString[i] = v as string;
        lastBytes[i] = Buffer.from(JSON.stringify(v), 'utf8');
      }
      p = put(buf, p, lim, lastBytes[i]!);
    }
    if (p < 0) return -1;
  }
  if (p >= lim) return -1;
  buf[p++] = 125; // }
  return p;
}

/**
 * `prefix` followed by a call's index (`show`: how an index that is not a count is written; JSON's
 * way by default), for one output: call after call, the digits of the line before are counted up
 * in place (calls come in order) instead of the number being written digit by digit. Any other
 * index is written afresh.
 */
export class IndexHead {
  private bytes: Uint8Array;
  private last = 0;

  constructor(
    private readonly prefix: Uint8Array,
    private readonly show: (n: number) => string = (n) => JSON.stringify(n) ?? 'null',
  ) {
    this.bytes = Buffer.concat([prefix, ascii('0')]);
  }

  of(index: number): Uint8Array {
    // (First: from 2^53 on, last + 1 is last, and would count up the same index again.)
    if (index === this.last) return this.bytes;
    if (index === this.last + 1) {
      const b = this.bytes;
      const first = this.prefix.length;
      let i = b.length - 1;
      while (i >= first && b[i] === 57) b[i--] = 48; // 9 → 0, carry
      if (i >= first) {
        b[i]!++;
        this.last = index;
        return b;
      }
      // (All nines: one digit more.)
    }
    const counted = Number.isSafeInteger(index) && index >= 0;
    this.bytes = Buffer.concat([this.prefix, ascii(counted ? String(index) : this.show(index))]);
    this.last = counted ? index : NaN;
    return this.bytes;
  }
}
const LINE_INDEX = new IndexHead(ascii('{"index":'));

/** Nesting the writer follows (a report nests four levels: findings → related → …). */
const MAX_DEPTH = 16;

/** A JSON value as `JSON.stringify` writes it (see encodeCallReport), or -1. */
function value(buf: Uint8Array, p: number, lim: number, v: unknown, depth: number): number {
  if (p < 0) return -1;
  if (typeof v === 'string') return jstr(buf, p, lim, v);
  if (typeof v === 'number') return wnum(buf, p, lim, v);
  if (v === true) return put(buf, p, lim, TRUE);
  if (v === false) return put(buf, p, lim, FALSE);
  if (v === null) return put(buf, p, lim, NULL);
  if (typeof v !== 'object' || depth > MAX_DEPTH) return -1;
  if (Array.isArray(v)) {
    if (p >= lim) return -1;
    buf[p++] = 91; // [
    for (let i = 0; i < v.length; i++) {
      if (i > 0) {
        if (p >= lim) return -1;
        buf[p++] = 44; // ,
      }
      const x: unknown = v[i];
      // (undefined, functions and symbols are null in an array)
      p = x === undefined || typeof x === 'function' || typeof x === 'symbol' ? put(buf, p, lim, NULL) : value(buf, p, lim, x, depth + 1);
      if (p < 0) return -1;
    }
    if (p >= lim) return -1;
    buf[p++] = 93; // ]
    return p;
  }
  return object(buf, p, lim, v, depth, COMPACT);
}

/** `object`'s layout: compact (JSON.stringify(v)), else pretty with the object's `}` at this indent. */
const COMPACT = -1;
/** What {@link object} returns, pretty, for an object with a member that is an object or array. */
const NOT_FLAT = -2;

/**
 * A plain object at `depth` as JSON.stringify writes it: compact (`indent` COMPACT), or — for a
 * flat object, none of whose members is an object or array — as `JSON.stringify(v, null, 2)` lays
 * it out with its members at `indent` + 2 and its `}` at `indent`. The end; -1 when it does not fit
 * before `lim` or is not a plain object (compact); NOT_FLAT when it is not a flat plain object
 * (pretty). Only [p, lim) is ever written.
 */
function object(buf: Uint8Array, p: number, lim: number, v: object, depth: number, indent: number): number {
  const pretty = indent !== COMPACT;
  const proto: unknown = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || typeof (v as { toJSON?: unknown }).toJSON === 'function') return pretty ? NOT_FLAT : -1;
  if (p >= lim) return -1;
  buf[p++] = 123; // {
  let first = true;
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    const x: unknown = (v as Record<string, unknown>)[k];
    // (undefined, functions and symbols are left out of an object)
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    if (pretty && x !== null && typeof x === 'object') return NOT_FLAT;
    if (!first) {
      if (p >= lim) return -1;
      buf[p++] = 44; // ,
    }
    first = false;
    if (pretty) p = newline(buf, p, lim, indent + 2);
    p = k.length <= 64 ? put(buf, p, lim, qbytes(k)) : jstr(buf, p, lim, k);
    if (p < 0 || p >= lim) return -1;
    buf[p++] = 58; // :
    if (pretty) {
      if (p >= lim) return -1;
      buf[p++] = 32;
    }
    p = value(buf, p, lim, x, depth + 1);
    if (p < 0) return -1;
  }
  if (pretty && !first) p = newline(buf, p, lim, indent);
  if (p < 0 || p >= lim) return -1;
  buf[p++] = 125; // }
  return p;
}

/** Copy `bytes` to buf at p (before lim); the end, or -1 (also when p is -1). */
export function put(buf: Uint8Array, p: number, lim: number, bytes: Uint8Array): number {
  if (p < 0) return -1;
  const n = bytes.length;
  if (p + n > lim) return -1;
  buf.set(bytes, p);
  return p + n;
}

/** A number as JSON writes it: integers digit by digit (-0 as 0), other finite numbers as String(n), NaN and ±Infinity as null. */
export function wnum(buf: Uint8Array, p: number, lim: number, n: number): number {
  if (p < 0) return -1;
  if (!Number.isSafeInteger(n)) {
    if (!Number.isFinite(n)) return put(buf, p, lim, NULL);
    const t = String(n); // ASCII: digits, '-', '.', 'e', '+'
    if (p + t.length > lim) return -1;
    for (let i = 0; i < t.length; i++) buf[p++] = t.charCodeAt(i);
    return p;
  }
  if (n < 0) {
    if (p >= lim) return -1;
    buf[p++] = 45; // -
    n = -n;
  }
  let d = 0;
  do {
    digits[d++] = 48 + (n % 10);
    n = Math.floor(n / 10);
  } while (n > 0);
  if (p + d > lim) return -1;
  while (d > 0) buf[p++] = digits[--d]!;
  return p;
}

const HEXDIGITS = ascii('0123456789abcdef');
/** From this length on, a string is first tested as a whole (a regular expression), then copied natively. */
export const LONG_STRING = 24;
/** Printable ASCII but `"` and `\`: what JSON writes as it is. */
const JSON_PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const ENCODER = new TextEncoder();

/** Node's Buffer has `latin1Write` (what `write(s, p, 'latin1')` calls after its checks); @types/node leaves it out. */
type Latin1Writer = Uint8Array & { latin1Write?: (s: string, offset: number, length: number) => number };

/** Write an ASCII string (checked by the caller, with room for it) at p; the end. */
export function copyAscii(buf: Uint8Array, p: number, s: string): number {
  // (Straight into a Buffer — the output's buffers are — rather than through a TextEncoder and a
  // view made for each string: a long trace writes a finding's message and file on every line.)
  const b = buf as Latin1Writer;
  if (typeof b.latin1Write === 'function') b.latin1Write(s, p, s.length);
  else ENCODER.encodeInto(s, buf.subarray(p, p + s.length));
  return p + s.length;
}

/** The short escapes JSON.stringify uses (others below 0x20 are \u00XX). */
const SHORT_ESCAPE: Record<number, number> = { 8: 98, 9: 116, 10: 110, 12: 102, 13: 114 };

/** A string quoted and escaped as `JSON.stringify` does, in UTF-8 (a lone surrogate as \uXXXX). */
function jstr(buf: Uint8Array, p: number, lim: number, s: string): number {
  if (p < 0) return -1;
  const n = s.length;
  // Plain printable ASCII (frame numbers, names) fits in n + 2 bytes: checked once up front.
  if (p + n + 2 > lim) return -1;
  buf[p++] = 34;
  if (n >= LONG_STRING && JSON_PLAIN.test(s)) {
    // A long one with nothing to escape (a finding's message, a path): copied natively.
    p = copyAscii(buf, p, s);
    buf[p++] = 34;
    return p;
  }
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) {
      if (p >= lim) return -1;
      buf[p++] = c;
      continue;
    }
    if (c < 0x80) {
      // `"`, `\`, DEL or a control character.
      if (c === 0x7f) {
        if (p >= lim) return -1;
        buf[p++] = c;
        continue;
      }
      const short = c === 0x22 ? 0x22 : c === 0x5c ? 0x5c : SHORT_ESCAPE[c];
      if (short !== undefined) {
        if (p + 2 > lim) return -1;
        buf[p++] = 0x5c;
        buf[p++] = short;
      } else {
        p = uEscape(buf, p, lim, c);
        if (p < 0) return -1;
      }
      continue;
    }
    if (c < 0x800) {
      if (p + 2 > lim) return -1;
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        // A surrogate pair: one code point of four bytes.
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        if (p + 4 > lim) return -1;
        buf[p++] = 0xf0 | (cp >> 18);
        buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
        buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
        buf[p++] = 0x80 | (cp & 0x3f);
        i++;
      } else {
        p = uEscape(buf, p, lim, c); // a lone surrogate (well-formed JSON.stringify)
        if (p < 0) return -1;
      }
      continue;
    }
    if (p + 3 > lim) return -1;
    buf[p++] = 0xe0 | (c >> 12);
    buf[p++] = 0x80 | ((c >> 6) & 0x3f);
    buf[p++] = 0x80 | (c & 0x3f);
  }
  if (p >= lim) return -1;
  buf[p++] = 34;
  return p;
}

/** `\uXXXX` (lowercase hex, as JSON.stringify writes it). */
function uEscape(buf: Uint8Array, p: number, lim: number, c: number): number {
  if (p + 6 > lim) return -1;
  buf[p++] = 0x5c;
  buf[p++] = 0x75;
  buf[p++] = HEXDIGITS[(c >> 12) & 15]!;
  buf[p++] = HEXDIGITS[(c >> 8) & 15]!;
  buf[p++] = HEXDIGITS[(c >> 4) & 15]!;
  buf[p++] = HEXDIGITS[c & 15]!;
  return p;
}

// ---------------------------------------------------------------------------------------------
// The same report pretty-printed, as an element of the `calls` array of `emulate --format json`
// (`JSON.stringify(report, null, 2)`), so that a trace's JSON report is streamed call by call.

/** Scratch for a call's compact line before it is indented. */
let compact = new Uint8Array(1 << 16);

/**
 * `JSON.stringify(c, null, 2)` with every line after the first indented by `base` more spaces —
 * the text of `c` as an element nested in a pretty-printed document — written as UTF-8 into `buf`
 * from `pos`, before `lim`; returns its end, or -1 when it does not fit (the caller then writes
 * {@link prettyJson}).
 */
export function encodePrettyCallReport(c: CallReport, buf: Uint8Array, pos: number, lim: number, base: number): number {
  // The shape of almost every call (see encodeCallReport): the cached head, pretty-printed once
  // per head and depth; only `out` is indented byte by byte.
  if (c.statuses === undefined && c.errnos === undefined && c.findings.length === 0) {
    const h = head(c);
    if (h !== undefined) {
      const end = prettyCommon(c, h, buf, pos, lim, base);
      if (end >= 0) return end;
    }
  }
  return encodePretty(c, buf, pos, lim, base, encodeCallReport);
}

/** The fixed pieces of a pretty call of the common shape at one depth. */
interface PrettyPieces {
  /** `{`, a line break, the members' indentation, `"index": ` and the index */
  index: IndexHead;
  /** `,`, a line break, the indentation, `"out": ` */
  out: Uint8Array;
  /** `,` … `"findings": []`, a line break, the call's indentation, `}` */
  close: Uint8Array;
}
const prettyPieces = new Map<number, PrettyPieces>();

function piecesAt(base: number): PrettyPieces {
  let pc = prettyPieces.get(base);
  if (pc === undefined) {
    const ind = '\n' + ' '.repeat(base + 2);
    const open = ascii(`{${ind}"index": `);
    pc = { index: new IndexHead(open), out: ascii(`,${ind}"out": `), close: ascii(`,${ind}"findings": []\n${' '.repeat(base)}}`) };
    if (prettyPieces.size < 64) prettyPieces.set(base, pc);
  }
  return pc;
}

/** `c` (no findings, statuses or errnos; its head `h`) pretty-printed at `base`, or -1. */
function prettyCommon(c: CallReport, h: Head, buf: Uint8Array, pos: number, lim: number, base: number): number {
  if (h.prettyBase !== base) {
    // `,"op":…` → `,\n  "op": …` at the members' depth: indentJson lays it out as JSON.stringify does.
    const room = new Uint8Array(h.bytes.length * 2 + 8 * (base + 3));
    const end = indentJson(h.bytes, 0, h.bytes.length, base + 2, room, 0, room.length);
    if (end < 0) return -1;
    h.pretty = Buffer.concat([room.subarray(0, end), piecesAt(base).out]);
    h.prettyBase = base;
  }
  const pc = piecesAt(base);
  let p = put(buf, pos, lim, pc.index.of(c.index));
  p = put(buf, p, lim, h.pretty!);
  if (p < 0) return -1;
  const at = p;
  p = object(buf, at, lim, c.out, 1, base + 2);
  if (p === NOT_FLAT) {
    // Nested outputs (a list of mfns, a batch's ops): compact, then indented.
    const outEnd = value(compact, 0, compact.length, c.out, 1);
    if (outEnd < 0) return -1;
    p = indentJson(compact, 0, outEnd, base + 2, buf, at, lim);
  }
  return put(buf, p, lim, pc.close);
}

/** The same for any JSON value (a finding of the report's top-level list). */
export function encodePrettyJson(v: unknown, buf: Uint8Array, pos: number, lim: number, base: number): number {
  return encodePretty(v, buf, pos, lim, base, encodeJson);
}

/** `JSON.stringify(v)` written as UTF-8 into `buf` (see {@link encodeCallReport}); -1 when it cannot. */
export function encodeJson(v: unknown, buf: Uint8Array, pos: number, lim: number): number {
  return value(buf, pos, lim, v, 0);
}

/** Compact by `encode` (or JSON.stringify where it cannot), then indented into place. */
function encodePretty<T>(v: T, buf: Uint8Array, pos: number, lim: number, base: number, encode: (v: T, buf: Uint8Array, pos: number, lim: number) => number): number {
  let end = encode(v, compact, 0, compact.length);
  if (end < 0) {
    const text = Buffer.from(JSON.stringify(v) ?? 'null', 'utf8');
    if (text.length > compact.length) compact = new Uint8Array(text.length);
    compact.set(text, 0);
    end = text.length;
  }
  return indentJson(compact, 0, end, base, buf, pos, lim);
}

/** The string {@link encodePrettyCallReport} / {@link encodePrettyJson} write. */
export function prettyJson(v: unknown, base: number): string {
  return indentText(JSON.stringify(v, null, 2) ?? 'null', base);
}

/** Every line of `text` after the first indented by `base` more spaces (JSON text: no line break inside a string). */
export function indentText(text: string, base: number): string {
  return base === 0 ? text : text.replace(/\n/g, '\n' + ' '.repeat(base));
}

/**
 * Write compact JSON — `JSON.stringify(v)`, the bytes src[from, to) — as `JSON.stringify(v, null, 2)`
 * writes the same value, each line after the first indented by `base` more spaces, into `buf`
 * from `pos`, before `lim`. Returns the end, or -1 when it does not fit. The layout is
 * JSON.stringify's: a non-empty object or array opens a line per member (two more spaces per
 * level), closes on a line of its own; `{}` and `[]` stay as they are; a key is followed by `": "`.
 */
export function indentJson(src: Uint8Array, from: number, to: number, base: number, buf: Uint8Array, pos: number, lim: number): number {
  let p = pos;
  let depth = base;
  let i = from;
  while (i < to) {
    const c = src[i++]!;
    if (c === 34) {
      // A string, copied through its closing quote (an escaped character is copied with its backslash).
      if (p >= lim) return -1;
      buf[p++] = c;
      for (;;) {
        if (i >= to || p >= lim) return -1;
        const d = src[i++]!;
        buf[p++] = d;
        if (d === 34) break;
        if (d === 92) {
          if (i >= to || p >= lim) return -1;
          buf[p++] = src[i++]!;
        }
      }
      continue;
    }
    if (c === 123 || c === 91) {
      // `{` or `[`: empty as is, else open a level.
      if (i < to && src[i] === c + 2) {
        if (p + 2 > lim) return -1;
        buf[p++] = c;
        buf[p++] = c + 2;
        i++;
        continue;
      }
      if (p >= lim) return -1;
      buf[p++] = c;
      depth += 2;
      p = newline(buf, p, lim, depth);
      if (p < 0) return -1;
      continue;
    }
    if (c === 125 || c === 93) {
      depth -= 2;
      p = newline(buf, p, lim, depth);
      if (p < 0 || p >= lim) return -1;
      buf[p++] = c;
      continue;
    }
    if (c === 44) {
      if (p >= lim) return -1;
      buf[p++] = c;
      p = newline(buf, p, lim, depth);
      if (p < 0) return -1;
      continue;
    }
    if (c === 58) {
      if (p + 2 > lim) return -1;
      buf[p++] = c;
      buf[p++] = 32;
      continue;
    }
    if (p >= lim) return -1;
    buf[p++] = c;
  }
  return p;
}

/** A line break and `indent` spaces. */
function newline(buf: Uint8Array, p: number, lim: number, indent: number): number {
  if (p + 1 + indent > lim) return -1;
  buf[p++] = 10;
  // (a loop: the few spaces of a level cost less than a call of `fill`)
  for (let i = 0; i < indent; i++) buf[p++] = 32;
  return p;
}
