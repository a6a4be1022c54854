/**
 * The fast reader of trace lines: a JSON object of the plain kind traces are made of, read
 * straight from the line's bytes into a {@link ScannedCall} (its keys and values, no object
 * built for the call itself).
 *
 * It reads a subset of JSON: ASCII strings without escapes, integers of at most 15 digits,
 * `true` / `false` / `null`, arrays and objects nested at most {@link MAX_SCAN_DEPTH} deep, and
 * whitespace between tokens. A line outside that subset, or one `JSON.parse` would reject or read
 * differently (a duplicate key, a `__proto__` key), is declined: the caller then reads it with
 * `JSON.parse` as before. What it accepts it reads to exactly the values `JSON.parse` gives
 * (test/hypercalls/scan.test.ts compares the two on generated and fuzzed lines).
 */
import { MAX_FRAME } from '../model/extents.js';

/** Deepest nesting the fast reader takes (a call nests three or four levels). */
export const MAX_SCAN_DEPTH = 16;

/** Longest integer (in digits) read exactly: 15 digits are below 2^53. */
const MAX_DIGITS = 15;

/**
 * A call object read by {@link scanCall}: its keys in order and their values, as `JSON.parse`
 * would give them. Arrays and objects inside it are plain JS values.
 */
export class ScannedCall {
  /** Number of keys. */
  n = 0;
  readonly keys: string[] = [];
  /**
   * The values; a top-level string that starts with a digit (a frame number, almost always) is
   * made only when asked for: PENDING, its bytes at [starts[i], ends[i]) of `buf`. So is a
   * top-level list of such strings and integers (a list of gfns): PENDING_LIST, its bytes from
   * `[` to past `]` (`frameList` reads its frames without making it).
   */
  readonly values: unknown[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  buf: Buffer = EMPTY;

  private find(key: string): number {
    const keys = this.keys;
    for (let i = 0; i < this.n; i++) if (keys[i] === key) return i;
    return -1;
  }

  /** The value of `key` (undefined when absent), as `JSON.parse(line)[key]` would be. */
  get(key: string): unknown {
    const i = this.find(key);
    return i < 0 ? undefined : this.at(i);
  }

  /** Whether `key` is present and not null (without making its string). */
  has(key: string): boolean {
    const i = this.find(key);
    if (i < 0) return false;
    const v = this.values[i];
    return v !== undefined && v !== null;
  }

  /**
   * The frame number `fastFrame(this.get(key))` gives, read from the bytes; -1 when that is
   * undefined or the value is not such a string (ask `get` then).
   */
  frame(key: string): number {
    const i = this.find(key);
    if (i < 0 || this.values[i] !== PENDING) return -1;
    return frameOfBytes(this.buf, this.starts[i]!, this.ends[i]!);
  }

  /**
   * The entries of the list at `key` as frames, read from the bytes, into `into` (`into[j]` is
   * `fastFrame` of entry j, or -1 where that is undefined: ask `get(key)[j]` then); their number,
   * or -1 when `key` holds no list of digit-led strings and plain integers (ask `get` then).
   */
  frameList(key: string, into: number[]): number {
    const i = this.find(key);
    if (i < 0 || this.values[i] !== PENDING_LIST) return -1;
    return readFrameList(this.buf, this.starts[i]!, this.ends[i]!, into, true);
  }

  /**
   * The keys in the order of `Object.keys(JSON.parse(line))`: array-index keys ("0", "7", …)
   * first, ascending, then the others as written.
   */
  keyOrder(): readonly string[] {
    const keys = this.keys.slice(0, this.n);
    if (!this.hasIndexKey()) return keys;
    const idx = keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
    return [...idx, ...keys.filter((k) => !isArrayIndex(k))];
  }

  /** Whether a key is an array index (then `keyOrder` differs from the line's order). */
  hasIndexKey(): boolean {
    for (let i = 0; i < this.n; i++) if (isArrayIndex(this.keys[i]!)) return true;
    return false;
  }

  private at(i: number): unknown {
    let v = this.values[i];
    if (v === PENDING) {
      v = latin1(this.buf, this.starts[i]!, this.ends[i]!);
      this.values[i] = v;
    } else if (v === PENDING_LIST) {
      const a: unknown[] = [];
      readFrameList(this.buf, this.starts[i]!, this.ends[i]!, a, false);
      this.values[i] = v = a;
    }
    return v;
  }

  /** The call as the plain object `JSON.parse` gives. */
  toObject(): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < this.n; i++) o[this.keys[i]!] = this.at(i);
    return o;
  }
}

/** An array index as property order sees it: "0", or digits without a leading zero below 2^32 - 1. */
function isArrayIndex(k: string): boolean {
  const n = k.length;
  if (n === 0 || n > 10) return false;
  const c0 = k.charCodeAt(0);
  if (c0 < 48 || c0 > 57 || (c0 === 48 && n > 1)) return false;
  for (let i = 1; i < n; i++) {
    const c = k.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return Number(k) < 4294967295;
}

const EMPTY = Buffer.alloc(0);
/** A string value not made yet. */
const PENDING = Symbol('pending');
/**
 * A top-level list of frames not made yet (a list of gfns): only strings that start with a digit
 * and integers, its bytes from its `[` to past its `]` at [starts[i], ends[i]) (see
 * {@link frameListEnd}).
 */
const PENDING_LIST = Symbol('pending list');

/** `fastFrame` of the string of bytes [s, e) (printable ASCII), or -1 where it gives undefined. */
function frameOfBytes(b: Buffer, s: number, e: number): number {
  const n = e - s;
  if (n === 0 || n > 15) return -1;
  let x = 0;
  if (n > 2 && b[s] === 48 && (b[s + 1]! | 0x20) === 120) {
    for (let i = s + 2; i < e; i++) {
      const c = b[i]!;
      const d = c >= 48 && c <= 57 ? c - 48 : (c | 0x20) >= 97 && (c | 0x20) <= 102 ? (c | 0x20) - 87 : -1;
      if (d < 0) return -1;
      x = x * 16 + d;
    }
  } else {
    for (let i = s; i < e; i++) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9) return -1;
      x = x * 10 + d;
    }
  }
  return x <= MAX_FRAME ? x : -1;
}

// Short strings that repeat from line to line (keys, op and domain names, flag names) are shared:
// a small table indexed by a hash of their bytes, each slot with a copy of its string's bytes. A
// hit is checked against that copy (4 bytes at a time), never against the string's characters,
// which cost several times more to read one by one.
const CACHE_SIZE = 2048;
const MAX_CACHED = 48;
const cache: (string | undefined)[] = new Array<string | undefined>(CACHE_SIZE).fill(undefined);
/** The bytes of each slot's string (MAX_CACHED bytes a slot), and the four the hash read of them. */
const cacheBytes = new Uint8Array(CACHE_SIZE * MAX_CACHED);
const cacheView = new DataView(cacheBytes.buffer);
const sampleOf = new Int32Array(CACHE_SIZE);
/** A view of the buffer being read (4-byte reads at any offset), made once per buffer. */
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
let viewOf: Buffer | undefined;

/** Strings handed out as these very objects wherever their text is met (see {@link shareStrings}). */
const shared = new Map<string, string>();

/**
 * Make the reader hand out these string objects for keys and values of the same text (the op
 * names and argument keys of the emulated ops): a call's keys are then compared with them, and op
 * names looked up, by reference instead of character by character.
 */
export function shareStrings(strings: Iterable<string>): void {
  for (const s of strings) if (s.length > 0 && s.length <= MAX_CACHED) shared.set(s, s);
}

/** Node's Buffer has `latin1Slice` (what `toString('latin1', s, e)` calls after its checks); @types/node leaves it out. */
type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };
const latin1: (b: Buffer, s: number, e: number) => string =
  typeof (Buffer.prototype as Latin1).latin1Slice === 'function' ? (b, s, e) => (b as Latin1).latin1Slice(s, e) : (b, s, e) => b.toString('latin1', s, e);

/**
 * The string of bytes [s, e) of `b` (the inside of a string token: `e` is its closing quote), or
 * NO when a byte is outside the subset (see {@link plain}).
 */
function text(b: Buffer, s: number, e: number): string | typeof NO {
  const n = e - s;
  if (n === 0) return '';
  // Frame numbers (`0x…`, digits) hardly repeat: not worth a slot.
  const c0 = b[s]!;
  if (n > MAX_CACHED || (c0 >= 48 && c0 <= 57)) return plain(b, s, e) ? latin1(b, s, e) : NO;
  // A cheap hash of the length and four bytes (a collision only costs a new string). For up to
  // four bytes, those four are all of them (b[s + 1] of a one-byte string is its closing quote).
  const w = b[s + 1]! | (b[s + (n >> 1)]! << 8) | (b[e - 1]! << 16) | (c0 << 24);
  const h = Math.imul(n, 0x9e3779b1) ^ Math.imul(w, 0x85ebca6b);
  const slot = (h ^ (h >>> 15)) & (CACHE_SIZE - 1);
  const hit = cache[slot];
  const at = slot * MAX_CACHED;
  if (hit !== undefined && hit.length === n && sampleOf[slot] === w) {
    if (n <= 4) return hit;
    if (b !== viewOf) {
      view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      viewOf = b;
    }
    // Words at 0, 4, 8, …, then the last four bytes (overlapping the word before).
    let i = 0;
    for (; i + 4 <= n; i += 4) if (view.getInt32(s + i, true) !== cacheView.getInt32(at + i, true)) break;
    if (i + 4 > n && view.getInt32(e - 4, true) === cacheView.getInt32(at + n - 4, true)) return hit;
  }
  // (A slot only ever holds bytes checked here: a hit needs no check.)
  if (!plain(b, s, e)) return NO;
  let v = latin1(b, s, e);
  v = shared.get(v) ?? v;
  cache[slot] = v;
  sampleOf[slot] = w;
  for (let i = 0; i < n; i++) cacheBytes[at + i] = b[s + i]!;
  return v;
}

// The scanner's cursor (module state: the scanner is synchronous and not re-entrant).
let pos = 0;
let lim = 0;

/** Move pos past whitespace; the byte there, or -1 at the end of the line. */
function skipWs(b: Buffer): number {
  const c = pos < lim ? b[pos]! : -1;
  if (c > 32) return c; // (whitespace is at most 32)
  pos = ws(b, pos, lim);
  return pos < lim ? b[pos]! : -1;
}

/** Declined: a value the subset does not read (never a valid JS value of ours). */
const NO = Symbol('declined');

/** A string starting at the `"` at pos; NO outside the subset. */
function str(b: Buffer): string | typeof NO {
  const s = pos + 1;
  const c0 = s < lim ? b[s]! : -1;
  if (c0 >= 48 && c0 <= 57) {
    // A frame number, most likely: never cached, so checked as it is read.
    const e = plainQuoteAt(b, s, lim);
    if (e < 0) return NO;
    pos = e + 1;
    return latin1(b, s, e);
  }
  const e = quoteAt(b, s, lim);
  if (e < 0) return NO;
  const v = text(b, s, e);
  pos = e + 1;
  return v;
}

function value(b: Buffer, depth: number): unknown {
  const c = skipWs(b);
  if (c === 34) return str(b);
  if ((c >= 48 && c <= 57) || c === 45) {
    const neg = c === 45;
    if (neg) pos++;
    const s = pos;
    let v = 0;
    let d = pos < lim ? b[pos]! : -1;
    while (d >= 48 && d <= 57) {
      v = v * 10 + (d - 48);
      d = ++pos < lim ? b[pos]! : -1;
    }
    const n = pos - s;
    // No digits, a leading zero, too long for an exact double, or a fraction / exponent.
    if (n === 0 || n > MAX_DIGITS || (n > 1 && b[s] === 48) || d === 46 || d === 101 || d === 69) return NO;
    return neg ? -v : v;
  }
  if (c === 123) return depth >= MAX_SCAN_DEPTH ? NO : object(b, depth + 1);
  if (c === 91) {
    if (depth >= MAX_SCAN_DEPTH) return NO;
    pos++;
    const a: unknown[] = [];
    if (skipWs(b) === 93) {
      pos++;
      return a;
    }
    for (;;) {
      const v = value(b, depth + 1);
      if (v === NO) return NO;
      a.push(v);
      const t = skipWs(b);
      pos++;
      if (t === 44) continue;
      if (t === 93) return a;
      return NO;
    }
  }
  if (c === 116 && word(b, 0x74727565, 4)) return true; // true
  if (c === 102 && word(b, 0x616c7365, 5)) return false; // false
  if (c === 110 && word(b, 0x6e756c6c, 4)) return null; // null
  return NO;
}

/** Whether the last four bytes of the `len`-byte word at pos are `tail` (big-endian); moves past it. */
function word(b: Buffer, tail: number, len: number): boolean {
  const end = pos + len;
  if (end > lim) return false;
  const t = ((b[end - 4]! << 24) | (b[end - 3]! << 16) | (b[end - 2]! << 8) | b[end - 1]!) >>> 0;
  if (t !== tail) return false;
  pos = end;
  return true;
}

/** A nested object at the `{` at pos. */
function object(b: Buffer, depth: number): Record<string, unknown> | typeof NO {
  pos++;
  const o: Record<string, unknown> = {};
  let c = skipWs(b);
  if (c === 125) {
    pos++;
    return o;
  }
  for (;;) {
    if (c !== 34) return NO;
    const k = str(b);
    if (k === NO || k === '__proto__' || Object.prototype.hasOwnProperty.call(o, k)) return NO;
    if (skipWs(b) !== 58) return NO;
    pos++;
    const v = value(b, depth);
    if (v === NO) return NO;
    o[k] = v;
    const t = skipWs(b);
    pos++;
    if (t === 125) return o;
    if (t !== 44) return NO;
    c = skipWs(b);
  }
}

/**
 * Read bytes [start, end) of `b` — one line — as a call object into `into`. False when the line
 * is outside the subset (or not a JSON object): read it with `JSON.parse` instead. `into` is
 * overwritten either way.
 */
export function scanCall(b: Buffer, start: number, end: number, into: ScannedCall): boolean {
  const l = end;
  into.n = 0;
  if (into.keys.length > 1024) {
    // After a line of many keys: do not hold its values for the rest of the run.
    into.keys.length = into.values.length = into.starts.length = into.ends.length = 0;
  }
  // (The top level is read with a local cursor, values other than strings by `value`. `c` is
  // the byte at p, -1 at the end; whitespace, at most 32, is skipped only where a byte is ≤ 32.)
  let p = ws(b, start, l);
  if (p >= l || b[p] !== 123) return false;
  p++;
  let c = p < l ? b[p]! : -1;
  if (c <= 32) c = (p = ws(b, p, l)) < l ? b[p]! : -1;
  const keys = into.keys;
  const values = into.values;
  const starts = into.starts;
  const ends = into.ends;
  let n = 0;
  if (c === 125) p++;
  else {
    for (;;) {
      if (c !== 34) return false;
      const ke = quoteAt(b, p + 1, l);
      if (ke < 0) return false;
      const k = text(b, p + 1, ke);
      if (k === NO || k === '__proto__') return false;
      for (let i = 0; i < n; i++) if (keys[i] === k) return false;
      p = ke + 1;
      c = p < l ? b[p]! : -1;
      if (c <= 32) c = (p = ws(b, p, l)) < l ? b[p]! : -1;
      if (c !== 58) return false;
      p++;
      c = p < l ? b[p]! : -1;
      if (c <= 32) c = (p = ws(b, p, l)) < l ? b[p]! : -1;
      let v: unknown;
      if (c === 34) {
        const c0 = p + 1 < l ? b[p + 1]! : -1;
        let ve: number;
        if (c0 >= 48 && c0 <= 57) {
          // A frame number, most likely: made into a string only if asked for.
          ve = plainQuoteAt(b, p + 1, l);
          if (ve < 0) return false;
          v = PENDING;
          starts[n] = p + 1;
          ends[n] = ve;
        } else {
          ve = quoteAt(b, p + 1, l);
          if (ve < 0) return false;
          v = text(b, p + 1, ve);
          if (v === NO) return false;
        }
        p = ve + 1;
      } else {
        const le = c === 91 ? frameListEnd(b, p, l) : -1;
        if (le > 0) {
          // A list of frames, most likely: made into an array only if asked for.
          v = PENDING_LIST;
          starts[n] = p;
          ends[n] = le;
          p = le;
        } else {
          pos = p;
          lim = l;
          v = value(b, 1);
          if (v === NO) return false;
          p = pos;
        }
      }
      keys[n] = k;
      values[n] = v;
      n++;
      c = p < l ? b[p]! : -1;
      if (c <= 32) c = (p = ws(b, p, l)) < l ? b[p]! : -1;
      p++;
      if (c === 125) break;
      if (c !== 44) return false;
      c = p < l ? b[p]! : -1;
      if (c <= 32) c = (p = ws(b, p, l)) < l ? b[p]! : -1;
    }
  }
  if (ws(b, p, l) !== l) return false; // something after the object
  into.buf = b;
  into.n = n;
  return true;
}

/**
 * The end (past its `]`) of a non-empty list at the `[` at p whose entries are all strings that
 * start with a digit and integers, each as `value` reads it (plain printable ASCII without escapes;
 * at most 15 digits, no leading zero, no sign, fraction or exponent); -1 for any other list (read
 * by `value` then, which also declines what is not JSON).
 */
function frameListEnd(b: Buffer, p: number, l: number): number {
  p = ws(b, p + 1, l);
  if (p >= l || b[p] === 93) return -1;
  for (;;) {
    const c = b[p]!;
    if (c === 34) {
      const c0 = p + 1 < l ? b[p + 1]! : -1;
      if (c0 < 48 || c0 > 57) return -1;
      const e = plainQuoteAt(b, p + 1, l);
      if (e < 0) return -1;
      p = e + 1;
    } else if (c >= 48 && c <= 57) {
      const s = p;
      let d = c;
      while (d >= 48 && d <= 57) d = ++p < l ? b[p]! : -1;
      const n = p - s;
      if (n > MAX_DIGITS || (n > 1 && c === 48) || d === 46 || d === 101 || d === 69) return -1;
    } else return -1;
    p = ws(b, p, l);
    if (p >= l) return -1;
    const t = b[p++]!;
    if (t === 93) return p;
    if (t !== 44) return -1;
    p = ws(b, p, l);
    if (p >= l) return -1;
  }
}

/**
 * The entries of the list at bytes [s, e) (checked by {@link frameListEnd}) into `into`: as
 * `JSON.parse` gives them, or with `frames` as `fastFrame` reads them (-1 where it gives
 * undefined); their number.
 */
function readFrameList(b: Buffer, s: number, e: number, into: unknown[], frames: boolean): number {
  let n = 0;
  let p = s + 1;
  for (;;) {
    p = ws(b, p, e);
    if (b[p] === 34) {
      const q = quoteAt(b, p + 1, e);
      into[n++] = frames ? frameOfBytes(b, p + 1, q) : latin1(b, p + 1, q);
      p = q + 1;
    } else {
      // (At most 15 digits: below 2^52, so always a frame too.)
      let v = 0;
      let d = b[p]!;
      while (d >= 48 && d <= 57) {
        v = v * 10 + (d - 48);
        d = b[++p]!;
      }
      into[n++] = v;
    }
    p = ws(b, p, e);
    if (b[p++] === 93) return n;
  }
}

/** The first byte at or after p that is not JSON whitespace (l when none). */
function ws(b: Buffer, p: number, l: number): number {
  while (p < l) {
    const c = b[p]!;
    // (Whitespace is at most 32: anything above ends it at the first compare.)
    if (c > 32 || (c !== 32 && c !== 9 && c !== 13 && c !== 10)) break;
    p++;
  }
  return p;
}

/**
 * The first `"` at or after p, or -1. The bytes before it are checked by {@link plain} (or are
 * those of a cached string): a `\` there means the quote may be escaped, and the line is declined.
 */
function quoteAt(b: Buffer, p: number, l: number): number {
  for (; p < l; p++) if (b[p] === 34) return p;
  return -1;
}

/** The first `"` at or after p when the bytes before it pass {@link plain}; else -1 (one pass). */
function plainQuoteAt(b: Buffer, p: number, l: number): number {
  for (; p < l; p++) {
    const c = b[p]!;
    if (c === 34) return p;
    if (c === 92 || c < 32 || c > 126) return -1;
  }
  return -1;
}

/** Whether bytes [s, e) may stand in a string of the subset: printable ASCII, no `\` (no escapes). */
function plain(b: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = b[i]!;
    if (c === 92 || c < 32 || c > 126) return false;
  }
  return true;
}
