/**
 * Reading a call's arguments (a YAML mapping or a JSON line) into the typed arguments of an op.
 *
 * The line between a finding and an errno: an argument that cannot be encoded in the hypercall's
 * ABI at all (a frame that is not a number or lies beyond the 52-bit frame space, a domid beyond
 * 16 bits, an unknown flag name, a missing field, an unknown key) is a `schema/invalid` finding at
 * that argument's node, and the call is not made. An argument that can be encoded but is wrong
 * (an unknown domid, an unbacked gfn, a bad count) is passed on, and Xen's errno answers it.
 * A domain or device *name* no document defines is a `ref/unknown` finding; the call is then made
 * with `DOMID_INVALID` / an unknown device, and fails as Xen would.
 *
 * Hot path (traces): numbers and plain `0x…` strings are parsed by hand, without regexes.
 */
import type { NodePart, PathSeg } from '../config/source.js';
import { parseFrame, parseFrameRange, parseBdf, formatBdf, toBigInt, describe, pow2, type FrameRange } from '../config/units.js';
import type { Machine } from '../model/types.js';
import { DOMID_INVALID, DOMID_IO, DOMID_SELF, DOMID_XEN } from '../model/types.js';
import { MAX_FRAME } from '../model/extents.js';
import { deviceNamed, domainNamed } from '../model/names.js';
import { closest } from '../util/suggest.js';
import { ScannedCall } from './scan.js';

export interface ArgIssue {
  rule: 'schema/invalid' | 'ref/unknown';
  /** Relative to the call. */
  path: PathSeg[];
  message: string;
  /** Point at the key (unknown keys) rather than the value. */
  part?: NodePart;
}

/** Keys every call may carry. */
export const COMMON_KEYS: ReadonlySet<string> = new Set(['op', 'caller', 'expect']);

/** A list of frames as ranges (a list may mix single frames and ranges), with its total count. */
export interface FrameList {
  ranges: FrameRange[];
  count: number;
}

/** Frame `i` (0-based) of a FrameList. */
export function frameAt(l: FrameList, i: number): number {
  for (const r of l.ranges) {
    const n = r.end - r.start + 1;
    if (i < n) return r.start + i;
    i -= n;
  }
  return -1;
}

/** Build a FrameList from frames (for ops called directly). */
export function frameList(frames: readonly (number | FrameRange)[]): FrameList {
  const out: FrameList = { ranges: [], count: 0 };
  for (const f of frames) {
    if (typeof f === 'number') addRange(out, f, f);
    else addRange(out, f.start, f.end);
  }
  return out;
}

const HEX: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[65 + i] = 10 + i;
    t[97 + i] = 10 + i;
  }
  return t;
})();

/**
 * A frame number from a number or a plain decimal / `0x` hex string, or undefined when the fast
 * path cannot decide (the caller falls back to `parseFrame` for the exact answer and message).
 */
export function fastFrame(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= MAX_FRAME ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const n = v.length;
  if (n === 0 || n > 15) return undefined;
  let x = 0;
  if (n > 2 && v.charCodeAt(0) === 48 && (v.charCodeAt(1) | 0x20) === 120) {
    for (let i = 2; i < n; i++) {
      const c = v.charCodeAt(i);
      const d = c < 128 ? HEX[c]! : -1;
      if (d < 0) return undefined;
      x = x * 16 + d;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const d = v.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return undefined;
      x = x * 10 + d;
    }
  }
  return x <= MAX_FRAME ? x : undefined;
}

/** Earlier results of the run, for `bfn_of` / `mfn_of`: a frame, or why there is none. */
export type OutputLookup = (kind: 'bfn' | 'mfn', index: number) => number | string;

const NO_BASE: readonly PathSeg[] = Object.freeze([]);
const NO_ARGS: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;
/** Scratch for `ScannedCall.frameList` (read at once: the next call overwrites it). */
const FRAME_LIST: number[] = [];

/** Add the frames [start, end] to a frame list. */
function addRange(out: FrameList, start: number, end: number): void {
  out.ranges.push({ start, end });
  out.count += end - start + 1;
}

/**
 * Reads the arguments of one call (or of one element of an xs batch, `base` = ['ops', j]) and
 * collects issues. Getters return a usable value even after an issue (the call is not made then).
 */
export class ArgReader {
  issues: ArgIssue[];
  /** Set by the runner: outputs of earlier calls. */
  earlier?: OutputLookup;
  /** The call's arguments: a mapping, or a trace line read by the fast reader. */
  private raw: Record<string, unknown> = NO_ARGS;
  private sc: ScannedCall | undefined;
  /** For each set of allowed keys: the common keys and those, as a list to scan. */
  private readonly keyLists = new Map<ReadonlySet<string>, readonly string[]>();

  constructor(
    readonly m: Machine,
    raw: Record<string, unknown> | ScannedCall,
    public op: string,
    readonly base: readonly PathSeg[] = NO_BASE,
    issues?: ArgIssue[],
  ) {
    this.issues = issues ?? [];
    this.setArgs(raw);
  }

  private setArgs(raw: Record<string, unknown> | ScannedCall): void {
    if (raw instanceof ScannedCall) {
      this.sc = raw;
      this.raw = NO_ARGS;
    } else {
      this.sc = undefined;
      this.raw = raw;
    }
  }

  /** Read the arguments of another call of op `op` (the runner keeps one reader for a whole run). */
  reset(raw: Record<string, unknown> | ScannedCall, op: string): this {
    this.setArgs(raw);
    this.op = op;
    if (this.issues.length !== 0) this.issues = [];
    return this;
  }

  /** The value of argument `key` as given (undefined when absent). */
  get(key: string): unknown {
    const sc = this.sc;
    return sc !== undefined ? sc.get(key) : this.raw[key];
  }

  path(key: PathSeg, ...more: PathSeg[]): PathSeg[] {
    return this.base.length ? [...this.base, key, ...more] : [key, ...more];
  }

  bad(key: PathSeg | PathSeg[], message: string, rule: ArgIssue['rule'] = 'schema/invalid', part?: NodePart): void {
    const issue: ArgIssue = { rule, path: Array.isArray(key) ? [...this.base, ...key] : this.path(key), message };
    if (part) issue.part = part;
    this.issues.push(issue);
  }

  has(key: string): boolean {
    const sc = this.sc;
    if (sc !== undefined) return sc.has(key);
    const v = this.raw[key];
    return v !== undefined && v !== null;
  }

  missing(key: string, what: string): void {
    // written but null (`gfn: ~`, `"gfn": null`): at that key's value, not the call
    if (this.get(key) === null) this.bad([key], `${this.op} needs \`${key}\` (${what}); it is null`);
    else this.bad([], `${this.op} needs \`${key}\` (${what})`);
  }

  /** A required (or defaulted) frame number. */
  frame(key: string, def?: number): number {
    if (this.sc !== undefined) {
      const f = this.sc.frame(key);
      if (f >= 0) return f;
    }
    const v = this.get(key);
    if (v === undefined || v === null) {
      if (def !== undefined) return def;
      this.missing(key, 'a frame number');
      return 0;
    }
    return this.frameValue(v, [key]);
  }

  /**
   * A BFN / DFN argument `key`, or instead `bfn_of: INDEX` / `mfn_of: INDEX`: the out.bfn / out.mfn
   * (or first of out.mfns) of an earlier call. Exactly one of the three.
   */
  bfn(key = 'bfn'): number {
    const hasKey = this.has(key);
    const hasB = this.has('bfn_of');
    const hasM = this.has('mfn_of');
    if ((hasKey ? 1 : 0) + (hasB ? 1 : 0) + (hasM ? 1 : 0) !== 1) {
      if (hasKey || hasB || hasM) this.bad([hasKey && hasB ? 'bfn_of' : 'mfn_of'], `give only one of \`${key}\`, \`bfn_of\`, \`mfn_of\``);
      else this.missing(key, `a frame number, or \`bfn_of\` / \`mfn_of\`: the index of an earlier call whose out.bfn / out.mfn to use`);
      return 0;
    }
    const k = hasKey ? key : hasB ? 'bfn_of' : 'mfn_of';
    if (k === key) return this.frame(key);
    const before = this.issues.length;
    const idx = this.int(k, 0, 0x7fffffff);
    // not an index (already reported): no call to look at
    if (this.issues.length !== before) return 0;
    if (!this.earlier) {
      this.bad([k], `\`${k}\` needs the results of earlier calls; give \`${key}\` instead`);
      return 0;
    }
    const v = this.earlier(k === 'bfn_of' ? 'bfn' : 'mfn', idx);
    if (typeof v === 'string') {
      this.bad([k], `\`${k}: ${idx}\`: ${v}`);
      return 0;
    }
    return v;
  }

  /** An optional frame number (undefined when absent). */
  optFrame(key: string): number | undefined {
    const v = this.get(key);
    return v === undefined || v === null ? undefined : this.frameValue(v, [key]);
  }

  frameValue(v: unknown, at: PathSeg[]): number {
    const f = fastFrame(v);
    if (f !== undefined) return f;
    const p = parseFrame(v);
    if (p.ok) return p.value;
    this.bad(at, `\`${at.join('.')}\` of ${this.op}: ${p.error}`);
    return 0;
  }

  /** A list of frames: a list of frames / ranges, a range ("0x100-0x1ff", {start, end|pages}), or one frame. */
  frames(key: string): FrameList {
    const out: FrameList = { ranges: [], count: 0 };
    const sc = this.sc;
    if (sc !== undefined) {
      // A trace line's list of frames, read from its bytes (no array or strings made for it).
      const n = sc.frameList(key, FRAME_LIST);
      if (n >= 0) {
        for (let i = 0; i < n; i++) {
          const f = FRAME_LIST[i]!;
          if (f < 0) this.frameEntry(out, (sc.get(key) as unknown[])[i], [key, i]);
          else addRange(out, f, f);
        }
        return out;
      }
    }
    const v = this.get(key);
    if (v === undefined || v === null) {
      this.missing(key, 'a list of frames or a range');
      return out;
    }
    // (A plain frame, nearly every entry of a trace's list, is taken here; the path of an entry
    // is made only for the other forms, which may need it for a finding.)
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const f = fastFrame(v[i]);
        if (f === undefined) this.frameEntry(out, v[i], [key, i]);
        else addRange(out, f, f);
      }
    } else {
      const f = fastFrame(v);
      if (f === undefined) this.frameEntry(out, v, [key]);
      else addRange(out, f, f);
    }
    return out;
  }

  /** One entry of a frame list that is not a plain frame (a range, a `{start, end | pages}`, an error), at `at`. */
  private frameEntry(out: FrameList, x: unknown, at: PathSeg[]): void {
    if (typeof x === 'string' && x.includes('-') && !x.trim().startsWith('-')) {
      const [a, b, ...rest] = x.split('-');
      if (rest.length === 0) {
        const s = parseFrame(a);
        const e = parseFrame(b);
        if (s.ok && e.ok && s.value <= e.value) {
          addRange(out, s.value, e.value);
          return;
        }
        const why = !s.ok ? s.error : !e.ok ? e.error : `range end ${b} is below its start ${a}`;
        this.bad(at, `\`${at.join('.')}\` of ${this.op}: ${why}`);
        return;
      }
    }
    if (x && typeof x === 'object' && !Array.isArray(x)) {
      // {start, end} or {start, pages}: read as a config's frame range is, with its messages
      const r = parseFrameRange(x);
      if (!r.ok) {
        if (r.at?.part === 'key') this.bad([...at, ...r.at.path], r.error, 'schema/invalid', 'key');
        else this.bad(r.at ? [...at, ...r.at.path] : at, `\`${at.join('.')}\` of ${this.op}: ${r.error}`);
        return;
      }
      addRange(out, r.value.start, r.value.end);
      return;
    }
    const p = parseFrame(x);
    if (p.ok) {
      addRange(out, p.value, p.value);
    } else {
      this.bad(at, `\`${at.join('.')}\` of ${this.op}: ${p.error}`);
    }
  }

  /** An integer in [min, max] (the field's C type), or `def` when absent (required when def is undefined). */
  int(key: string, min: number, max: number, def?: number): number {
    const v = this.get(key);
    if (v === undefined || v === null) {
      if (def !== undefined) return def;
      this.missing(key, 'an integer');
      return 0;
    }
    let n: number | undefined;
    if (typeof v === 'number' && Number.isSafeInteger(v)) n = v;
    else {
      const b = toBigInt(v);
      if (b.ok && b.value >= BigInt(min) && b.value <= BigInt(max)) n = Number(b.value);
      else if (!b.ok) {
        this.bad([key], `\`${key}\` of ${this.op}: ${b.error}`);
        return def ?? 0;
      }
    }
    if (n === undefined || n < min || n > max) {
      this.bad([key], `\`${key}\` of ${this.op} is ${describe(v)}; it must be an integer in ${min}..${max} (the field's size in the hypercall ABI)`);
      return def ?? 0;
    }
    return n;
  }

  bool(key: string, def: boolean): boolean {
    const v = this.get(key);
    if (v === undefined || v === null) return def;
    if (typeof v === 'boolean') return v;
    this.bad([key], `\`${key}\` of ${this.op} must be true or false, not ${describe(v)}`);
    return def;
  }

  /** One of `values` (or def when absent; required when def is undefined). */
  choice<T extends string>(key: string, values: readonly T[], def?: T): T {
    const v = this.get(key);
    if (v === undefined || v === null) {
      if (def !== undefined) return def;
      this.missing(key, `one of ${values.join(', ')}`);
      return values[0]!;
    }
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    const hint = typeof v === 'string' ? closest(v, values) : undefined;
    this.bad([key], `\`${key}\` of ${this.op} is ${describe(v)}; expected one of ${values.join(', ')}${hint ? ` — did you mean \`${hint}\`?` : ''}`);
    return def ?? values[0]!;
  }

  /**
   * A domain: its name, a domid, or `DOMID_SELF` / `self`. A name no domain has → ref/unknown and
   * DOMID_INVALID (the op answers as Xen does for an unknown id).
   */
  domid(key: string, def?: number): number {
    const v = this.get(key);
    if (v === undefined || v === null) {
      if (def !== undefined) return def;
      this.missing(key, 'a domain name or domid');
      return DOMID_INVALID;
    }
    return this.domidValue(v, [key]);
  }

  domidValue(v: unknown, at: PathSeg[]): number {
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 0 && v <= 0xffff) return v;
      this.bad(at, `\`${at.join('.')}\` of ${this.op}: domid ${String(v)} does not fit the 16-bit domid_t`);
      return DOMID_INVALID;
    }
    if (typeof v === 'string') {
      const s = v.trim();
      const f = fastFrame(s);
      if (f !== undefined) return this.domidValue(f, at);
      const special = SPECIAL_DOMIDS.get(s);
      if (special !== undefined) return special;
      const named = domainNamed(this.m, s);
      if (named !== undefined) return named.domid;
      const hint = closest(s, [...this.m.domains.values()].map((d) => d.name));
      this.bad(at, `\`${at.join('.')}\` of ${this.op} names domain ${JSON.stringify(s)}, which is not a domain on host ${this.m.host.name}${hint ? ` — did you mean \`${hint}\`?` : ''}`, 'ref/unknown');
      return DOMID_INVALID;
    }
    this.bad(at, `\`${at.join('.')}\` of ${this.op} must be a domain name or domid, not ${describe(v)}`);
    return DOMID_INVALID;
  }

  /**
   * A PCI device: a Device name or a BDF. Returns the canonical BDF (a BDF of no Device is passed on:
   * ENODEV is Xen's answer); a name no Device has → ref/unknown and undefined.
   */
  device(key: string): string | undefined {
    const v = this.get(key);
    if (v === undefined || v === null) {
      this.missing(key, 'a Device name or BDF');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.bad([key], `\`${key}\` of ${this.op} must be a Device name or a BDF, not ${describe(v)}`);
      return undefined;
    }
    const named = deviceNamed(this.m, v);
    if (named !== undefined) return named.bdf;
    const b = parseBdf(v);
    if (b.ok) return formatBdf(b.value);
    const hint = closest(v, [...this.m.devices.values()].map((d) => d.cfg.name));
    this.bad([key], `\`${key}\` of ${this.op} names device ${JSON.stringify(v)}, which no Device on host ${this.m.host.name} defines${hint ? ` — did you mean \`${hint}\`?` : ''}`, 'ref/unknown');
    return undefined;
  }

  /**
   * A flags field: a list of flag names, one name, or an integer bit mask of `bits` bits.
   * `names` maps each name to its bit value.
   */
  flags(key: string, names: Readonly<Record<string, number>>, bits: number): number {
    const v = this.get(key);
    if (v === undefined || v === null) return 0;
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 0 && v < pow2(bits)) return v;
      this.bad([key], `\`${key}\` of ${this.op} must be a list of flag names (${Object.keys(names).join(', ')}) or a ${bits}-bit mask, not ${String(v)}`);
      return 0;
    }
    const isList = Array.isArray(v);
    if (!isList && typeof v !== 'string') {
      // (a mapping, a boolean: not a flag that is unknown, but no way to write flags at all)
      this.bad([key], `\`${key}\` of ${this.op} must be a list of flag names (${Object.keys(names).join(', ')}) or a ${bits}-bit mask, not ${describe(v)}`);
      return 0;
    }
    const n = isList ? v.length : 1;
    let mask = 0;
    for (let i = 0; i < n; i++) {
      const x: unknown = isList ? v[i] : v;
      const bit = typeof x === 'string' ? flagBits(names).get(x) : undefined;
      if (bit !== undefined) {
        mask |= bit;
        continue;
      }
      const hint = typeof x === 'string' ? closest(x, Object.keys(names)) : undefined;
      this.bad(isList ? [key, i] : [key], `unknown flag ${typeof x === 'string' ? JSON.stringify(x) : describe(x)} for ${this.op}; known flags: ${Object.keys(names).join(', ')}${hint ? ` — did you mean \`${hint}\`?` : ''}`);
    }
    return mask;
  }

  /** Report keys the op does not take (strict, like the config schemas). */
  finish(allowed: ReadonlySet<string>, common: ReadonlySet<string> = COMMON_KEYS): void {
    const sc = this.sc;
    if (sc !== undefined) {
      // A trace line's keys are the very strings of the op's key list (the scanner shares them):
      // a scan of that short list compares them by reference, cheaper than hashing each.
      if (common === COMMON_KEYS) {
        let list = this.keyLists.get(allowed);
        if (list === undefined) this.keyLists.set(allowed, (list = [...COMMON_KEYS, ...allowed]));
        if (allListed(sc, list)) return;
      }
      if (!sc.hasIndexKey()) for (let i = 0; i < sc.n; i++) this.known(sc.keys[i]!, allowed, common);
      else for (const k of sc.keyOrder()) this.known(k, allowed, common);
    } else {
      for (const k in this.raw) this.known(k, allowed, common);
    }
  }

  private known(k: string, allowed: ReadonlySet<string>, common: ReadonlySet<string>): void {
    if (common.has(k) || allowed.has(k)) return;
    const hint = closest(k, [...allowed]);
    this.bad([k], `unknown argument \`${k}\` for ${this.op}${hint ? ` — did you mean \`${hint}\`?` : allowed.size ? `; it takes ${[...allowed].join(', ')}` : '; it takes no arguments'}`, 'schema/invalid', 'key');
  }
}

/** Whether every key of the scanned call is in `list`. */
function allListed(sc: ScannedCall, list: readonly string[]): boolean {
  const keys = sc.keys;
  const m = list.length;
  next: for (let i = 0; i < sc.n; i++) {
    const k = keys[i];
    for (let j = 0; j < m; j++) if (list[j] === k) continue next;
    return false;
  }
  return true;
}

// (Maps, not objects: a look-up by a string read from a trace then hashes it, instead of the
// object's property look-up by a key it has not seen before.)
const SPECIAL_DOMIDS: ReadonlyMap<string, number> = new Map([
  ['DOMID_SELF', DOMID_SELF],
  ['self', DOMID_SELF],
  ['DOMID_IO', DOMID_IO],
  ['dom_io', DOMID_IO],
  ['DOMID_XEN', DOMID_XEN],
  ['DOMID_INVALID', DOMID_INVALID],
]);

/** The flag names of a flags field (name → bit) as a Map, made once per table. */
const flagMaps = new Map<Readonly<Record<string, number>>, ReadonlyMap<string, number>>();
function flagBits(names: Readonly<Record<string, number>>): ReadonlyMap<string, number> {
  let m = flagMaps.get(names);
  if (m === undefined) flagMaps.set(names, (m = new Map(Object.entries(names))));
  return m;
}

/** `{…}` as a plain object, or undefined. */
export function asObject(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
