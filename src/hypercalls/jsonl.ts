/**
 * One call report as a JSON line (`emulate --format jsonl`), byte for byte what
 * `JSON.stringify(report)` gives, built directly for the shape almost every call of a trace has:
 * no batch statuses, no findings, outputs that are flat strings / numbers / booleans / null.
 * Any other report goes through `JSON.stringify` itself. (A million-call trace spends a large
 * part of its time serialising results; generic stringify walks and checks every property.)
 */
import type { CallReport, Out } from './types.js';

/** Strings already quoted: op names, errno names, callers, output keys repeat call after call. */
const quoted = new Map<string, string>();
const MAX_QUOTED = 4096;

/** `JSON.stringify(s)` for a string, with the quoting of short repeated strings remembered. */
function str(s: string): string {
  if (s.length > 64) return JSON.stringify(s);
  let q = quoted.get(s);
  if (q === undefined) {
    q = JSON.stringify(s);
    if (quoted.size < MAX_QUOTED) quoted.set(s, q);
  }
  return q;
}

/** Output values (`0x…` frames, owner names) vary: quote them, without a cache. */
function plainStr(s: string): string {
  // Printable ASCII without `"` or `\` needs no escaping.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return `"${s}"`;
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** The `out` object, or undefined when it holds anything but flat scalars. */
function outJson(out: Out): string | undefined {
  let s = '{';
  let first = true;
  for (const k in out) {
    if (!Object.prototype.hasOwnProperty.call(out, k)) continue;
    const v = out[k];
    let j: string;
    if (typeof v === 'string') j = plainStr(v);
    else if (typeof v === 'number') j = num(v);
    else if (typeof v === 'boolean') j = v ? 'true' : 'false';
    else if (v === null) j = 'null';
    else if (v === undefined) continue; // stringify drops undefined properties
    else return undefined;
    s += (first ? '' : ',') + str(k) + ':' + j;
    first = false;
  }
  return s + '}';
}

/** `JSON.stringify(c)`, faster for the common shape. */
export function callReportJson(c: CallReport): string {
  if (c.statuses !== undefined || c.errnos !== undefined || c.findings.length !== 0) return JSON.stringify(c);
  const out = outJson(c.out);
  if (out === undefined) return JSON.stringify(c);
  return `{"index":${num(c.index)},"op":${str(c.op)},"caller":${str(c.caller)},"rc":${num(c.rc)},"errno":${str(c.errno)},"status":${num(c.status)},"out":${out},"findings":[]}`;
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

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const K_INDEX = ascii('{"index":');
const K_TAIL = ascii('},"findings":[]}');

/**
 * `,"op":OP,"caller":CALLER,"rc":RC,"errno":ERRNO,"status":STATUS,"out":{` — the same for most
 * calls of an op — for the last such combination seen with each op.
 */
interface Head {
  caller: string;
  rc: number;
  errno: string;
  status: number;
  bytes: Uint8Array;
}
const heads = new Map<string, Head>();

/** The head of `c`, or undefined when rc or status is not an integer JSON writes as digits. */
function head(c: CallReport): Uint8Array | undefined {
  const h = heads.get(c.op);
  if (h !== undefined && h.caller === c.caller && h.rc === c.rc && h.errno === c.errno && h.status === c.status) return h.bytes;
  if (!Number.isSafeInteger(c.rc) || !Number.isSafeInteger(c.status)) return undefined;
  // (-0 as JSON writes it: String(-0) is "0".)
  const bytes = Buffer.from(`,"op":${JSON.stringify(c.op)},"caller":${JSON.stringify(c.caller)},"rc":${String(c.rc)},"errno":${JSON.stringify(c.errno)},"status":${String(c.status)},"out":{`, 'utf8');
  if (heads.size < MAX_QUOTED) heads.set(c.op, { caller: c.caller, rc: c.rc, errno: c.errno, status: c.status, bytes });
  return bytes;
}

/** Digits buffer for integers (written backwards). */
const digits = new Uint8Array(24);

/**
 * Write `callReportJson(c)` as UTF-8 into `buf` from `pos` and return where it ends; -1 when the
 * report is not of the common shape or does not fit before `lim` (nothing is then
 * committed: the caller writes `callReportJson(c)` instead).
 */
export function encodeCallReport(c: CallReport, buf: Uint8Array, pos: number, lim: number = buf.length): number {
  if (c.statuses !== undefined || c.errnos !== undefined || c.findings.length !== 0) return -1;
  const h = head(c);
  if (h === undefined) return -1;
  let p = put(buf, pos, lim, K_INDEX);
  p = int(buf, p, lim, c.index);
  p = put(buf, p, lim, h);
  const out = c.out;
  let first = true;
  for (const k in out) {
    if (p < 0) return -1;
    if (!Object.prototype.hasOwnProperty.call(out, k)) continue;
    const v = out[k];
    if (v === undefined) continue; // stringify drops undefined properties
    if (!first) {
      if (p >= lim) return -1;
      buf[p++] = 44; // ,
    }
    first = false;
    p = put(buf, p, lim, qbytes(k));
    if (p < 0 || p >= lim) return -1;
    buf[p++] = 58; // :
    if (typeof v === 'string') p = plain(buf, p, lim, v);
    else if (typeof v === 'number') p = int(buf, p, lim, v);
    else if (v === true) p = put(buf, p, lim, TRUE);
    else if (v === false) p = put(buf, p, lim, FALSE);
    else if (v === null) p = put(buf, p, lim, NULL);
    else return -1;
  }
  return put(buf, p, lim, K_TAIL);
}

const TRUE = ascii('true');
const FALSE = ascii('false');
const NULL = ascii('null');

function put(buf: Uint8Array, p: number, lim: number, bytes: Uint8Array): number {
  if (p < 0) return -1;
  const n = bytes.length;
  if (p + n > lim) return -1;
  buf.set(bytes, p);
  return p + n;
}

/** An integer as JSON writes it (-0 as 0); -1 for anything else (a fraction, NaN, beyond 2^53). */
function int(buf: Uint8Array, p: number, lim: number, n: number): number {
  if (p < 0 || !Number.isSafeInteger(n)) return -1;
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

/** A string of printable ASCII without `"` or `\` (what needs no escaping), quoted; else -1. */
function plain(buf: Uint8Array, p: number, lim: number, s: string): number {
  if (p < 0) return -1;
  const n = s.length;
  if (p + n + 2 > lim) return -1;
  buf[p++] = 34;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return -1;
    buf[p++] = c;
  }
  buf[p++] = 34;
  return p;
}
