/**
 * ExtentMap: sorted, non-overlapping, inclusive frame ranges with a payload.
 *
 * Every table of the model (p2m, page ownership, reference counts, IOMMU contexts) is one of
 * these: a 768 GiB host is a handful of extents, never 2×10^8 entries.
 *
 * Storage is a two-level list of sorted arrays specialised for numeric keys (in the manner of
 * Python's sortedcontainers): the extents, in order, are cut into leaves of at most `capacity`
 * extents; a top-level array holds each leaf's first start. The leaves live in fixed-size slots of
 * two columns — starts and ends side by side in one array, values in another — cut into chunks of
 * 32 slots, so that reaching an extent from the leaf index is one step into a column (whose chunk
 * is one of a few, and hot), not a walk through a leaf object and its arrays: in a map of 10^6
 * extents each of those steps is a cache miss. A large map grows by chunks, never copying its
 * columns. No object per extent. A point lookup is two searches (over the leaves, then in a leaf),
 * each galloping from a guess made from the bounds at hand, O(log n); a range
 * operation touching k extents is O(log n + k) plus moving the rest of one leaf (and, when a leaf
 * splits, merges or empties, editing the leaf index of ~n/capacity entries), whatever the number
 * of frames involved.
 *
 * Invariants (checked by `checkInvariants()`), true after every public call:
 * - extents are sorted, non-overlapping and non-empty (start ≤ end);
 * - no two adjacent extents (a.end + 1 === b.start) are joinable: they are always merged, so the
 *   extent list is the canonical run-length encoding of the frame → value function;
 * - `frames` equals the sum of the extents' lengths.
 *
 * Payloads are treated as immutable: the map shares them between extents, clones and the values it
 * returns. Never mutate a payload after handing it to `set`.
 *
 * One-frame writes (`setPoint`: a page's reference count going up and down, a frame mapped and
 * unmapped again, call after call) may be held aside in a hash map instead of splitting an extent
 * and merging it back or inserting one and removing it again; what every method returns is the
 * same as if they had been `set`.
 */

import { FrameTable } from './points.js';

/**
 * How a payload behaves when its extent is split or joined.
 * - `shift(v, delta)`: the payload of the sub-range that starts `delta` frames after the extent's start
 *   (e.g. a linear gfn→mfn mapping moves its base mfn by delta; a constant payload returns v).
 * - `joinable(a, aLength, b)`: whether extent b, starting right after an extent a of `aLength` frames,
 *   continues it (so the two merge into one).
 */
export interface PayloadOps<T> {
  shift(v: T, delta: number): T;
  joinable(a: T, aLength: number, b: T): boolean;
  /**
   * What the map writes where no extent is: undefined (the default), or for payloads that are
   * numbers, 0. The value columns then hold only numbers, which V8 keeps unboxed: no object per
   * extent (each a cache miss of its own after the extent is found) and no write barrier when
   * extents move.
   */
  readonly blank?: T;
}

export interface Extent<T> {
  start: number;
  /** inclusive */
  end: number;
  value: T;
}

/** Highest valid frame number: frames are exact integers with 0 ≤ frame < 2^52. */
export const MAX_FRAME = 2 ** 52 - 1;

/**
 * Shallow structural equality: `a === b`, or both are non-null objects with the same own enumerable
 * keys whose values are pairwise `===` (nested objects are compared by identity).
 */
export function shallowEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(rb, k) || ra[k] !== rb[k]) return false;
  }
  return true;
}

/** Payload ops for a value that is the same at every frame of the extent; joinable via `eq`. */
export function constantWith<T>(eq: (a: T, b: T) => boolean): PayloadOps<T> {
  return {
    shift: (v) => v,
    joinable: (a, _aLength, b) => eq(a, b),
  };
}

/**
 * Constant payload: shift is the identity; two neighbours are joinable when their values are
 * SHALLOW-STRUCTURALLY equal (see `shallowEqual`: `===`, or plain objects/arrays with the same own
 * enumerable keys and `===` values). Use `constantWith(eq)` for another equality.
 * On a merge the left extent's value object is kept.
 */
export const constant: PayloadOps<any> = constantWith<any>(shallowEqual);

/** Payload ops of a coverage index: every covered frame is `true`, so neighbours always merge. */
const COVERAGE_OPS: PayloadOps<true> = { shift: (v) => v, joinable: () => true };

/**
 * Linear payload (e.g. gfn→mfn): `base` is the value at the extent's first frame, frame start+d maps
 * to base+d. shift moves base by delta (a shallow copy with a new base; other fields shared).
 * b continues a (of aLength frames) when `b.base === a.base + aLength` and `eq(a, b)`; the default
 * `eq` compares all own enumerable fields except `base` with `===` (same key set required).
 * Payloads must be plain objects. The shifted copy is made by `withBase(v, base)` when given — a
 * copy of v with that base, built field by field for the payload's one shape — else by object
 * spread (which, shared by payloads of many shapes, costs a megamorphic store of `base` a copy).
 */
export function linear<T extends { base: number }>(
  eq?: (a: T, b: T) => boolean,
  withBase?: (v: T, base: number) => T,
): PayloadOps<T> {
  const same = eq ?? sameExceptBase;
  const copy = withBase ?? ((v: T, base: number): T => ({ ...v, base }));
  return {
    shift: (v, delta) => (delta === 0 ? v : copy(v, v.base + delta)),
    joinable: (a, aLength, b) => b.base === a.base + aLength && same(a, b),
  };
}

function sameExceptBase(a: { base: number }, b: { base: number }): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  for (const k of ka) {
    if (k === 'base') continue;
    if (!Object.prototype.hasOwnProperty.call(rb, k) || ra[k] !== rb[k]) return false;
  }
  return true;
}

function isFrame(f: number): boolean {
  return Number.isInteger(f) && f >= 0 && f <= MAX_FRAME;
}

function checkFrame(method: string, frame: number): void {
  if (!isFrame(frame)) {
    throw new RangeError(`ExtentMap.${method}: frame ${String(frame)} is not an integer in [0, 2^52)`);
  }
}

function checkRange(method: string, start: number, end: number): void {
  if (!isFrame(start) || !isFrame(end) || start > end) {
    throw new RangeError(
      `ExtentMap.${method}: invalid range [${String(start)}, ${String(end)}] ` +
        '(need integers 0 ≤ start ≤ end < 2^52)',
    );
  }
}

/**
 * Most one-frame values `setPoint` holds aside; past it a quarter of them is written into the
 * extents, taken going round the table from where the last such write stopped (bounds the memory
 * of a run that only ever takes references on new frames; the values that last — pins, long
 * mappings — go into the extents within a few rounds).
 */
const MAX_POINTS = 1 << 16;
/** Points are counted per bucket of frames (frame mod 2^20; see `ExtentMap.ptsBk`). */
const POINT_MASK = (1 << 20) - 1;
/** A bucket's count sticks at this (it then only says "maybe"). */
const BUCKET_FULL = 255;
/** The counts are made when this many points are held (fewer: the hash map alone is probed). */
const BUCKETS_FROM = 1024;

const NO_FRAMES: readonly number[] = [];
/** Points written in at once past this many are sorted first (see `writeIn`). */
const SORT_WRITES_FROM = 64;

/**
 * The columns are cut into chunks of 2^CHUNK_SHIFT slots (see `ExtentMap.room`): a chunk of the
 * default capacity holds 2,176 extents, ~50 KiB.
 */
const CHUNK_SHIFT = 5;
const CHUNK_SLOTS = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_SLOTS - 1;

/**
 * Default leaf capacity (extents per leaf); see `ExtentMap`'s constructor. An edit moves the
 * extents before it or those after it in its leaf, the fewer (a quarter of the leaf on average),
 * element by element (see `move`, `spliceLeaf`); with leaves in slots, more and smaller ones cost
 * the binary search over leaves little: 64 was faster than 128 and 32 on the fragmented maps of the
 * independent traces (docs/performance-log.md, fifteenth and sixteenth rounds).
 */
const DEFAULT_LEAF_CAPACITY = 64;
/** Room for leaves an empty map's index starts with (it doubles as it fills). */
const INDEX_MIN = 8;
const MIN_LEAF_CAPACITY = 4;
const MAX_LEAF_CAPACITY = 1 << 16;

/** Blank columns of a whole chunk, by blank value and number of extents: copied for each new chunk. */
const BLANK_CHUNKS = new Map<unknown, Map<number, { se: number[]; v: unknown[] }>>();

/** The blank columns of a chunk of `n` extents (made by `push`: packed, small integers and `blank`). */
function blankChunk(n: number, blank: unknown): { se: number[]; v: unknown[] } {
  let bySize = BLANK_CHUNKS.get(blank);
  if (bySize === undefined) BLANK_CHUNKS.set(blank, (bySize = new Map()));
  let b = bySize.get(n);
  if (b === undefined) {
    b = { se: [], v: [] };
    for (let x = 0; x < 2 * n; x++) b.se.push(0);
    for (let x = 0; x < n; x++) b.v.push(blank);
    bySize.set(n, b);
  }
  return b;
}

/**
 * The last index x in [a, c] whose key `keys[k * x]` is at most `frame`, where the keys ascend and
 * a's key is at most `frame`: gallop from the guess `g` (any index; clamped into [a, c]) with steps
 * of 1, 2, 4, … until x is bracketed, then halve the bracket. O(log n) however bad the guess.
 */
function lastAtOrBefore(keys: ArrayLike<number>, k: number, a: number, c: number, g: number, frame: number): number {
  if (g > c) g = c;
  if (g > a) {
    if (keys[k * g]! <= frame) {
      a = g;
      for (let step = 1; a + step <= c; step *= 2) {
        if (keys[k * (a + step)]! > frame) {
          c = a + step - 1;
          break;
        }
        a += step;
      }
    } else {
      c = g - 1;
      for (let step = 1; c - step >= a; step *= 2) {
        if (keys[k * (c - step)]! <= frame) {
          a = c - step;
          break;
        }
        c -= step + 1;
      }
    }
  }
  while (a < c) {
    const mid = (a + c + 1) >>> 1;
    if (keys[k * mid]! <= frame) a = mid;
    else c = mid - 1;
  }
  return a;
}

/**
 * What a table of frames offers its readers and writers: an ExtentMap, or a view that answers the
 * same questions from other tables (the IOMMU context that reads a domain's p2m, p2m.ts). Every
 * method means what it means on ExtentMap.
 */
export interface ExtentTable<T> {
  readonly size: number;
  readonly frames: number;
  get(frame: number): Extent<T> | undefined;
  lookup(frame: number): T | undefined;
  raw(frame: number): T | undefined;
  readonly rawStart: number;
  has(frame: number): boolean;
  set(start: number, end: number, value: T): void;
  setPoint(frame: number, value: T): void;
  delete(start: number, end: number): void;
  overlapping(start: number, end: number): Generator<Extent<T>, void, undefined>;
  entries(): Generator<Extent<T>, void, undefined>;
  gaps(start: number, end: number): Generator<{ start: number; end: number }, void, undefined>;
  firstGap(from: number, limit: number): number | undefined;
  firstCovered(from: number, limit: number): number | undefined;
  covered(start: number, end: number): boolean;
  anyIn(start: number, end: number): boolean;
  lowest(): Extent<T> | undefined;
  highest(): Extent<T> | undefined;
  toArray(): Extent<T>[];
  checkInvariants(): void;
}

/**
 * Map from frames to payloads, held as maximal extents.
 *
 * The ops must be consistent for merging to preserve what `lookup` sees: `joinable(a, n, b)` must
 * hold only if b is (equivalent to) `shift(a, n)`, and `shift(shift(v, x), y)` ≡ `shift(v, x + y)`.
 * `constant` and `linear` satisfy this.
 *
 * Generators (`entries`, `overlapping`, `gaps`) are lazy views: modifying the map while one is
 * live makes its next step throw; collect them first (`toArray()`, `[...]`) to edit while walking.
 * With points held (`setPoint`), a read that walks extents or asks about coverage (`get`,
 * `overlapping`, `firstGap`, …) may write some in, which counts as a modification too.
 *
 * Structure (see the file header): leaf li holds extents in order, every leaf non-empty and
 * holding at most `capacity` extents (and, when there are several leaves, at least capacity / 4:
 * an emptier leaf is merged with a neighbour); `mins[li]` is its first start. An extent is
 * addressed by its position (leaf index, index in the leaf), and stored at index
 * `(slotOf[li] & 31) × stride + heads[slotOf[li]] + i` of chunk `slotOf[li] >> 5` of the columns.
 */
export class ExtentMap<T> implements ExtentTable<T> {
  readonly ops: PayloadOps<T>;
  /** Written where no extent is (`ops.blank`). */
  private readonly blank: T;
  private readonly cap: number;
  /** A leaf with fewer extents than this is merged with a neighbour (unless it is the only one). */
  private readonly minFill: number;
  /**
   * The leaves, in order: leaf li lives in slot `slotOf[li]`. Slot s is in chunk c = s >> 5 of
   * the columns, its extents at indices [o, o + lens[s]) there, o = (s & 31) × stride + heads[s],
   * sorted by start: the extent at index x has its start at `seC[c][2x]`, its end at `seC[c][2x + 1]` (side
   * by side: the end is read right after the search over starts found the extent) and its value at
   * `vC[c][x]`. A slot has room for `stride` extents (a leaf starts anywhere in it that leaves it
   * room for its extents): a leaf may briefly pass `capacity` (by at most 3) before it is split.
   * Slots of dropped leaves are reused.
   */
  private slotOf: Int32Array = new Int32Array(INDEX_MIN);
  private seC: number[][] = [];
  private vC: T[][] = [];
  /**
   * Scratch: the columns of the chunk of the extent `at`, `locate` or `floor` found last, and (the
   * latter two) its index there (read at once).
   */
  private cse: number[] = [];
  private cv: T[] = [];
  private px = 0;
  /** Extents held per slot. */
  private lens: Int32Array = new Int32Array(0);
  /**
   * Where in its slot each leaf starts (its extents are at [head, head + lens) of the slot's room,
   * head + lens ≤ stride): an edit moves the shorter side of its leaf, the extents before it
   * (into the room before the leaf) or those after it (see `spliceLeaf`).
   */
  private heads: Int32Array = new Int32Array(0);
  private freeSlots: number[] = [];
  private nSlots = 0;
  private readonly stride: number;
  /** First start of each leaf, for the binary search over leaves. */
  private mins: Float64Array = new Float64Array(INDEX_MIN);
  /**
   * Number of leaves: `slotOf` and `mins` hold them at [0, leaves) and have room after (a leaf
   * added or dropped moves the entries after it with `copyWithin`, a memmove, cheaper than
   * `splice` on an array of small integers by a factor of ~3; docs/performance-log.md, eighteenth round).
   */
  private leaves = 0;
  private _size = 0;
  private _frames = 0;
  /** Bumped by every mutation; live generators throw if it changes under them. */
  private version = 0;
  /** Lowest frame whose coverage `delete`/`clear` removed since the last `markUncovered()`. */
  private _uncoveredFrom = Infinity;
  /** Position found by the last `locate`/`floor`/`find` (read at once, never kept across calls). */
  private pl = 0;
  private pi = 0;
  /**
   * Bumped by every change of the extents themselves (`set`, `delete`, `clear`; not by points
   * held or dropped, which leave every extent where it was).
   */
  private shape = 0;
  /**
   * Position of the extent the last point look-up found (the last one starting at or before its
   * frame, covering it or not), valid while `shape` is `hitShape`: a `set`/`delete` of a frame
   * just looked up (get, update) does not search twice — nor a `set` of a gap just found empty —
   * nor does a look-up of a frame of the same extent after points were held or dropped there.
   */
  private hitLeaf = 0;
  private hitPos = 0;
  private hitShape = -1;
  /** Scratch: the (at most 3) extents that `replace` writes in place of the removed ones. */
  private readonly tS: number[] = [0, 0, 0];
  private readonly tE: number[] = [0, 0, 0];
  private readonly tV: T[];
  /**
   * With `trackCoverage`: the frames covered, as maximal runs whatever the values (neighbours of
   * different values are one run here). `firstGap`, `covered` and `gaps` read it instead of
   * walking every extent of a covered stretch.
   */
  private cov: ExtentMap<true> | undefined;
  /**
   * Values of single frames written by `setPoint` and not yet written into the extents ("points").
   * A point over a covered frame differs from (is not `joinable` at offset 0 with) the stored
   * value there, which it overrides; a point over a frame no extent covers (flagged in `pts`; never
   * with `trackCoverage`) covers it.
   * Every method reads through them; those that walk extents (or, for points over gaps, their
   * coverage) first write the points of their range into the extents (`flushPoints`), those that
   * overwrite or uncover frames drop them. `_frames` counts the extents' frames only.
   */
  private pts: FrameTable<T> | undefined;
  /**
   * How many points each bucket of frames (frame mod 2^20) holds, up to 255 (a full bucket stays
   * full: it only says "maybe"): a range's frames are probed here (consecutive bytes, one cache
   * line for 64 frames) before the hash map, which most of them are not in. 1 MiB, made when
   * BUCKETS_FROM points are held (a short scenario never needs it).
   */
  private ptsBk: Uint8Array | undefined;
  /** Scratch: what `scanRun` found. */
  private runK = 0;
  private runRemoved = 0;
  private runS = 0;
  private runE = -1;
  private runV: T | undefined = undefined;

  /**
   * @param options.maxNodeSize leaf capacity: most extents per leaf (4..65536, default 64; other
   *   values give the default); small values only serve to exercise many-leaf structure in tests.
   * @param options.trackCoverage also keep the covered frames as maximal runs, so that finding
   *   the first uncovered frame (`firstGap`, `covered`, `gaps`) costs O(log n) even where many
   *   extents of different values lie back to back (the page map: the free frame after a run of
   *   pages of many owners). Costs an update of that index when coverage changes.
   */
  constructor(ops: PayloadOps<T>, options?: { maxNodeSize?: number; trackCoverage?: boolean }) {
    this.ops = ops;
    this.blank = ops.blank as T;
    // (Filled with the blank value: a map of numbers keeps even its scratch column numeric.)
    this.tV = [this.blank, this.blank, this.blank];
    const n = options?.maxNodeSize;
    this.cap =
      n !== undefined && n >= MIN_LEAF_CAPACITY ? Math.min(Math.floor(n), MAX_LEAF_CAPACITY) : DEFAULT_LEAF_CAPACITY;
    this.minFill = this.cap >> 2;
    // (An edit adds at most 3 extents to a leaf before `fix` splits it.)
    this.stride = this.cap + 4;
    if (options?.trackCoverage) this.cov = new ExtentMap<true>(COVERAGE_OPS);
  }

  /** Number of extents. */
  get size(): number {
    this.flushPoints(0, MAX_FRAME);
    return this._size;
  }

  /** Total number of frames covered. */
  get frames(): number {
    return this.pts === undefined ? this._frames : this._frames + this.pts.flagged;
  }

  /**
   * A number that changes with every modification (`set`, `delete`, `clear`): an index kept
   * beside the map can tell whether it is still in step with it.
   */
  get revision(): number {
    return this.version;
  }

  /** The stored extent containing `frame` (a fresh object; value is the one at extent start). */
  get(frame: number): Extent<T> | undefined {
    checkFrame('get', frame);
    for (;;) {
      if (!this.find(frame)) {
        if (this.pts === undefined || !this.pts.isFlagged(frame)) return undefined;
        this.flushPoints(frame, frame);
        continue;
      }
      const x = this.at(this.pl, this.pi);
      const s = this.cse[2 * x]!;
      const e = this.cse[2 * x + 1]!;
      // Points held inside the extent cut it, and one right next to it may continue it: write
      // them in, then find the extent again (it may now reach frames holding points in turn).
      const lo = s > 0 ? s - 1 : s;
      const hi = e < MAX_FRAME ? e + 1 : e;
      const near = this.pts === undefined || this.pts.size === 0 ? NO_FRAMES : this.pointsIn(this.pts, lo, hi);
      if (near.length === 0) return { start: s, end: e, value: this.cv[x]! };
      this.writeIn(near);
    }
  }

  /** The value as seen at `frame`: `ops.shift(value, frame - start)`. */
  lookup(frame: number): T | undefined {
    checkFrame('lookup', frame);
    if (this.pts !== undefined) {
      const p = this.pts.get(frame);
      if (p !== undefined) return p;
    }
    if (!this.find(frame)) return undefined;
    const x = this.px;
    return this.ops.shift(this.cv[x]!, frame - this.cse[2 * x]!);
  }

  /**
   * The stored payload that holds `frame`, unshifted (undefined: not covered), and in `rawStart`
   * the frame that payload is the value of (its extent's start, or `frame` itself for a point):
   * the value at `frame` is `ops.shift(raw, frame - rawStart)`. What `lookup` answers, without the
   * shifted copy a linear payload costs (a p2m or IOMMU look-up wants one field of it).
   */
  raw(frame: number): T | undefined {
    checkFrame('raw', frame);
    if (this.pts !== undefined) {
      const p = this.pts.get(frame);
      if (p !== undefined) {
        this.rawStart = frame;
        return p;
      }
    }
    if (!this.find(frame)) return undefined;
    const x = this.px;
    this.rawStart = this.cse[2 * x]!;
    return this.cv[x]!;
  }

  /** Set by `raw` (read it at once: the next call of `raw` changes it). */
  rawStart = 0;

  /** Whether `frame` is covered. */
  has(frame: number): boolean {
    checkFrame('has', frame);
    return (this.pts !== undefined && this.pts.flagged !== 0 && this.pts.isFlagged(frame)) || this.find(frame);
  }

  /**
   * Map [start, end] (inclusive) to `value` (value is the payload at `start`), overwriting whatever
   * was there: overlapped extents are split at the edges (their remainders shifted), then the new
   * extent is merged with joinable neighbours. O(log n + k), k = extents overwritten.
   */
  set(start: number, end: number, value: T): void {
    checkRange('set', start, end);
    this.dropPoints(start, end);
    let found = this.floor(start);
    this.version++;
    this.shape++;
    const ops = this.ops;
    const tS = this.tS;
    const tE = this.tE;
    const tV = this.tV;
    if (found && this.startAt(this.pl, this.pi) === start) {
      // The extent before, if any, is the one that may end at start - 1 (a neighbour to merge with).
      if (this.pi > 0) this.pi--;
      else if (this.pl > 0) this.pi = this.leafLen(--this.pl) - 1;
      else found = false;
    }
    // Now (pl, pi) is the last extent starting before `start`. The run of extents replaced starts
    // there if it reaches start - 1 (a left remainder, or a neighbour to merge with), else after it.
    let li = 0;
    let i = 0;
    let n = 0; // extents written in place of the run: [left remainder,] the new one[, right remainder]
    let s = start;
    let v = value;
    if (found) {
      li = this.pl;
      i = this.pi;
      const x = this.at(li, i);
      const as = this.cse[2 * x]!;
      const ae = this.cse[2 * x + 1]!;
      if (ae >= start - 1) {
        const av = this.cv[x]!;
        if (ops.joinable(av, start - as, value)) {
          // One frame strictly inside an extent already mapping it to (an equivalent of) value:
          // splitting and merging again would give the same extents.
          if (start === end && ae > end) return;
          s = as;
          v = av;
        } else {
          tS[0] = as;
          tE[0] = start - 1;
          tV[0] = av;
          n = 1;
        }
      } else {
        i++;
      }
    }
    // Walk the run: extents starting at or before end + 1 (overlapping, or a right neighbour).
    const bound = end + 1;
    this.scanRun(li, i, bound, start, end);
    const k = this.runK;
    const removed = this.runRemoved; // frames of [start, end] that were covered
    const bS = this.runS;
    const bE = this.runE;
    let rS = 0;
    let rE = -1;
    let rV: T | undefined;
    let e = end;
    if (bE > end) {
      // The run's last extent goes past end: its remainder (or itself, a neighbour at end + 1).
      const bV = this.runV as T;
      const rv = bS === bound ? bV : ops.shift(bV, bound - bS);
      if (ops.joinable(v, end - s + 1, rv)) {
        e = bE;
      } else {
        rS = bound;
        rE = bE;
        rV = rv;
      }
    }
    tS[n] = s;
    tE[n] = e;
    tV[n] = v;
    n++;
    if (rE >= 0) {
      tS[n] = rS;
      tE[n] = rE;
      tV[n] = rV!;
      n++;
    }
    this._frames += end - start + 1 - removed;
    this.replace(li, i, k, n);
    if (this.cov !== undefined && removed !== end - start + 1) this.cov.set(start, end, true);
  }

  /** Remove coverage of [start, end] (inclusive), splitting straddling extents. O(log n + k). */
  delete(start: number, end: number): void {
    checkRange('delete', start, end);
    if (start === end && this.pts !== undefined && this.pts.flagged !== 0 && this.pts.isFlagged(start)) {
      // A point over a frame no extent covers (a frame mapped by `setPoint`, now unmapped):
      // dropping it is the whole delete.
      this.removePoint(start);
      this.version++;
      if (start < this._uncoveredFrom) this._uncoveredFrom = start;
      return;
    }
    this.dropPoints(start, end);
    const found = this.floor(start);
    this.version++;
    this.shape++;
    if (start < this._uncoveredFrom) this._uncoveredFrom = start;
    const tS = this.tS;
    const tE = this.tE;
    const tV = this.tV;
    let li = 0;
    let i = 0;
    let n = 0;
    if (found) {
      li = this.pl;
      i = this.pi;
      const x = this.at(li, i);
      const as = this.cse[2 * x]!;
      if (this.cse[2 * x + 1]! >= start) {
        if (as < start) {
          tS[0] = as;
          tE[0] = start - 1;
          tV[0] = this.cv[x]!;
          n = 1;
        }
      } else {
        i++;
      }
    }
    // Walk the extents starting at or before end.
    this.scanRun(li, i, end, start, end);
    const k = this.runK;
    const removed = this.runRemoved;
    const bS = this.runS;
    const bE = this.runE;
    if (k === 0) return;
    if (bE > end) {
      const bV = this.runV as T;
      tS[n] = end + 1;
      tE[n] = bE;
      tV[n] = this.ops.shift(bV, end + 1 - bS);
      n++;
    }
    this._frames -= removed;
    this.replace(li, i, k, n);
    if (this.cov !== undefined && removed > 0) this.cov.delete(start, end);
  }

  /**
   * The same as `set(frame, frame, value)`, but the value may be held aside (in a hash map by
   * frame) instead of splitting the extent around the frame, or inserting one for it: a value
   * equivalent to the stored one just drops what was held, and a later `set` or `delete` of the
   * frame drops it too. For one-frame updates that come and go (a reference taken, then dropped; a
   * frame mapped, then unmapped): the extents only change where such a value is still there when
   * a method walks them. A map with `trackCoverage` holds only values over covered frames (a frame
   * it did not cover is `set` at once). Amortised O(1) after the look-up.
   */
  setPoint(frame: number, value: T): void {
    checkFrame('setPoint', frame);
    if (!this.find(frame)) {
      if (this.cov !== undefined) {
        this.set(frame, frame, value);
        return;
      }
      this.version++;
      this.addPoint(frame, value, true);
      return;
    }
    const x = this.at(this.pl, this.pi);
    const s = this.cse[2 * x]!;
    const stored = frame === s ? this.cv[x]! : this.ops.shift(this.cv[x]!, frame - s);
    this.version++;
    if (this.ops.joinable(stored, 0, value)) {
      this.removePoint(frame);
      return;
    }
    this.addPoint(frame, value, false);
  }

  /** Remove everything. */
  clear(): void {
    this.pts = undefined;
    this.ptsBk = undefined;
    this.version++;
    this.shape++;
    this._uncoveredFrom = 0;
    this.slotOf = new Int32Array(INDEX_MIN);
    this.seC = [];
    this.vC = [];
    this.cse = [];
    this.cv = [];
    this.lens = new Int32Array(0);
    this.heads = new Int32Array(0);
    this.freeSlots = [];
    this.nSlots = 0;
    this.mins = new Float64Array(INDEX_MIN);
    this.leaves = 0;
    this._size = 0;
    this._frames = 0;
    this.cov?.clear();
  }

  /**
   * The lowest frame that may have lost its coverage (`delete`, `clear`) since the last
   * `markUncovered()` (Infinity: none did). `set` never uncovers a frame. With it a caller that
   * knew [0, f) to be covered at the mark knows [0, min(f, uncoveredFrom)) still is — what lets
   * the page allocator skip the allocated prefix of host RAM instead of walking it every time.
   */
  get uncoveredFrom(): number {
    return this._uncoveredFrom;
  }

  /** Start tracking `uncoveredFrom` afresh. */
  markUncovered(): void {
    this._uncoveredFrom = Infinity;
  }

  /**
   * Extents intersecting [start, end], clipped to it (payload shifted accordingly), ascending.
   * The map must not be modified while the generator is live (it throws if it is).
   */
  overlapping(start: number, end: number): Generator<Extent<T>, void, undefined> {
    checkRange('overlapping', start, end);
    this.flushPoints(start, end);
    return this.overlappingGen(start, end);
  }

  /** All extents, ascending (stored values). Must not be modified while iterating. */
  entries(): Generator<Extent<T>, void, undefined> {
    this.flushPoints(0, MAX_FRAME);
    return this.entriesGen();
  }

  [Symbol.iterator](): Generator<Extent<T>, void, undefined> {
    return this.entries();
  }

  /** Uncovered sub-ranges of [start, end], ascending. Must not be modified while iterating. */
  gaps(start: number, end: number): Generator<{ start: number; end: number }, void, undefined> {
    checkRange('gaps', start, end);
    this.flushGapPoints(start, end);
    return this.cov !== undefined ? this.coverageGaps(this.cov, start, end) : this.gapsGen(start, end);
  }

  /** Lowest uncovered frame f with from ≤ f ≤ limit, or undefined if [from, limit] is fully covered. */
  firstGap(from: number, limit: number): number | undefined {
    checkRange('firstGap', from, limit);
    this.flushGapPoints(from, limit);
    if (this.cov !== undefined) return this.cov.firstGap(from, limit);
    if (!this.locate(from)) return from;
    let li = this.pl;
    let x = this.at(li, this.pi);
    let se = this.cse;
    let stop = x - this.pi + this.leafLen(li);
    if (se[2 * x + 1]! < from) return from;
    let cursor = se[2 * x + 1]! + 1;
    if (cursor > limit) return undefined;
    // Adjacent-but-unjoinable extents may continue the coverage: walk them.
    for (;;) {
      if (++x === stop) {
        if (++li === this.leaves) return cursor;
        x = this.at(li, 0);
        se = this.cse;
        stop = x + this.leafLen(li);
      }
      if (se[2 * x] !== cursor) return cursor;
      cursor = se[2 * x + 1]! + 1;
      if (cursor > limit) return undefined;
    }
  }

  /** Lowest covered frame f with from ≤ f ≤ limit, or undefined if [from, limit] is all uncovered. O(log n). */
  firstCovered(from: number, limit: number): number | undefined {
    checkRange('firstCovered', from, limit);
    this.flushGapPoints(from, limit);
    let next: number | undefined;
    if (!this.locate(from)) {
      next = this.leaves > 0 ? this.mins[0] : undefined;
    } else {
      const x = this.at(this.pl, this.pi);
      if (this.cse[2 * x + 1]! >= from) return from;
      next = this.pi + 1 < this.leafLen(this.pl) ? this.cse[2 * (x + 1)] : this.pl + 1 < this.leaves ? this.mins[this.pl + 1] : undefined;
    }
    return next !== undefined && next <= limit ? next : undefined;
  }

  /** Whether every frame of [start, end] is covered. */
  covered(start: number, end: number): boolean {
    checkRange('covered', start, end);
    return this.firstGap(start, end) === undefined;
  }

  /** Whether some frame of [start, end] is covered. O(log n). */
  anyIn(start: number, end: number): boolean {
    checkRange('anyIn', start, end);
    this.flushGapPoints(start, end);
    if (!this.locate(end)) return false;
    const x = this.at(this.pl, this.pi);
    return this.cse[2 * x + 1]! >= start;
  }

  /** Lowest extent (stored value). */
  lowest(): Extent<T> | undefined {
    this.flushPoints(0, MAX_FRAME);
    if (this.leaves === 0) return undefined;
    const x = this.at(0, 0);
    return { start: this.cse[2 * x]!, end: this.cse[2 * x + 1]!, value: this.cv[x]! };
  }

  /** Highest extent (stored value). */
  highest(): Extent<T> | undefined {
    this.flushPoints(0, MAX_FRAME);
    const li = this.leaves - 1;
    if (li < 0) return undefined;
    const x = this.at(li, this.leafLen(li) - 1);
    return { start: this.cse[2 * x]!, end: this.cse[2 * x + 1]!, value: this.cv[x]! };
  }

  /**
   * A new map with payload `f(extent)` for each extent (at its start), merged under `ops`.
   * O(n log n).
   */
  map<U>(ops: PayloadOps<U>, f: (e: Extent<T>) => U): ExtentMap<U> {
    const out = new ExtentMap<U>(ops);
    for (const e of this.entries()) out.set(e.start, e.end, f(e));
    return out;
  }

  /**
   * An independent copy (same leaf capacity). O(n): the columns are copied, the leaves packed into
   * slots 0, 1, … (payloads are shared, being immutable); either map may then be modified without
   * affecting the other.
   */
  clone(): ExtentMap<T> {
    this.flushPoints(0, MAX_FRAME);
    const c = new ExtentMap<T>(this.ops, { maxNodeSize: this.cap });
    const leaves = this.leaves;
    if (leaves > 0) {
      c.lens = new Int32Array(Math.max(8, leaves));
      c.heads = new Int32Array(c.lens.length);
      c.slotOf = new Int32Array(Math.max(INDEX_MIN, leaves));
      for (let li = 0; li < leaves; li++) {
        const from = this.at(li, 0);
        const se = this.cse;
        const V = this.cv;
        const len = this.leafLen(li);
        c.slotOf[li] = li;
        c.leaves = li + 1;
        c.room(li, len);
        const to = c.at(li, 0);
        for (let x = 0; x < len; x++) {
          c.cse[2 * (to + x)] = se[2 * (from + x)]!;
          c.cse[2 * (to + x) + 1] = se[2 * (from + x) + 1]!;
          c.cv[to + x] = V[from + x]!;
        }
        c.lens[li] = len;
      }
      c.nSlots = leaves;
    }
    c.mins = this.mins.slice(0, Math.max(INDEX_MIN, leaves));
    c.leaves = leaves;
    c._size = this._size;
    c._frames = this._frames;
    c._uncoveredFrom = this._uncoveredFrom;
    if (this.cov !== undefined) c.cov = this.cov.clone();
    return c;
  }

  /** Snapshot of all extents (for tests, debugging and serialisation). */
  toArray(): Extent<T>[] {
    return [...this.entries()];
  }

  /**
   * Verify the invariants (sorted, non-overlapping, non-empty, fully merged, frame count, leaf
   * structure). O(n). Throws an Error describing the first violation.
   */
  checkInvariants(): void {
    const leaves = this.leaves;
    if (this.mins.length !== this.slotOf.length || leaves > this.slotOf.length) {
      throw new Error(`ExtentMap invariant: room for ${this.mins.length} leaf minimums and ${this.slotOf.length} slots for ${leaves} leaves`);
    }
    // Every slot is either one leaf's or free, never both, never twice.
    const slotUse = new Uint8Array(this.nSlots);
    for (const slot of [...this.slotOf.subarray(0, leaves), ...this.freeSlots]) {
      if (!Number.isInteger(slot) || slot < 0 || slot >= this.nSlots || slotUse[slot] !== 0) {
        throw new Error(`ExtentMap invariant: slot ${slot} used twice or out of range (${this.nSlots} slots)`);
      }
      slotUse[slot] = 1;
    }
    if (slotUse.some((u) => u === 0)) throw new Error('ExtentMap invariant: a slot is neither a leaf nor free');
    let count = 0;
    for (let li = 0; li < leaves; li++) {
      const len = this.leafLen(li);
      if (len === 0 || len > this.cap || (leaves > 1 && len < this.minFill)) {
        throw new Error(`ExtentMap invariant: leaf ${li} holds ${len} extents (capacity ${this.cap}, ${leaves} leaves)`);
      }
      const head = this.heads[this.slotOf[li]!]!;
      if (head < 0 || head + len > this.stride) {
        throw new Error(`ExtentMap invariant: leaf ${li} at ${head} of its room holds ${len} extents (room for ${this.stride})`);
      }
      const x = this.at(li, 0);
      if (2 * (x + len) > this.cse.length || x + len > this.cv.length) {
        throw new Error(`ExtentMap invariant: leaf ${li} runs past its chunk's columns`);
      }
      if (this.mins[li] !== this.startAt(li, 0)) {
        throw new Error(`ExtentMap invariant: leaf ${li} minimum ${this.mins[li]} but first start ${this.startAt(li, 0)}`);
      }
      count += len;
    }
    if (count !== this._size) throw new Error(`ExtentMap invariant: size is ${this._size}, leaves hold ${count}`);
    // Nothing is kept outside the leaves: the rest of every room holds no value (garbage).
    for (let slot = 0; slot < this.nSlots; slot++) {
      const V = this.vC[slot >> CHUNK_SHIFT] ?? [];
      const b = this.roomOf(slot);
      const head = this.heads[slot]!;
      const len = this.lens[slot]!;
      for (let x = b; x < Math.min(V.length, b + this.stride); x++) {
        if ((x < b + head || x >= b + head + len) && V[x] !== this.blank) {
          throw new Error(`ExtentMap invariant: slot ${slot} keeps a value at ${x - b}, outside its extents [${head}, ${head + len})`);
        }
      }
    }
    let prev: Extent<T> | undefined;
    let total = 0;
    for (const { start: k, end, value } of this.entriesGen()) {
      if (!isFrame(k) || !isFrame(end) || k > end) {
        throw new Error(`ExtentMap invariant: bad extent [${k}, ${end}]`);
      }
      if (prev !== undefined) {
        if (k <= prev.end) throw new Error(`ExtentMap invariant: [${k}, ${end}] overlaps [${prev.start}, ${prev.end}]`);
        if (k === prev.end + 1 && this.ops.joinable(prev.value, prev.end - prev.start + 1, value)) {
          throw new Error(`ExtentMap invariant: [${prev.start}, ${prev.end}] and [${k}, ${end}] not merged`);
        }
      }
      total += end - k + 1;
      prev = { start: k, end, value };
    }
    if (total !== this._frames) {
      throw new Error(`ExtentMap invariant: frames is ${this._frames}, extents cover ${total}`);
    }
    if (this.pts !== undefined) {
      // Points are held over covered frames only, each differing from the stored value there.
      if (this.pts.size > MAX_POINTS) throw new Error(`ExtentMap invariant: ${this.pts.size} points held`);
      // Every bucket holding points counts them (or is full). (A bucket counting points that are
      // gone would only cost probes; it is not looked for: that needs a scan of all 2^20.)
      const inBucket = new Map<number, number>();
      this.pts.forEach((_v, f) => inBucket.set(f & POINT_MASK, (inBucket.get(f & POINT_MASK) ?? 0) + 1));
      const held = this.ptsBk;
      if (held === undefined && this.pts.size >= BUCKETS_FROM) throw new Error(`ExtentMap invariant: ${this.pts.size} points held without counts`);
      for (const [b, n] of inBucket) {
        if (held !== undefined && held[b] !== BUCKET_FULL && held[b] !== n) {
          throw new Error(`ExtentMap invariant: bucket ${b} counts ${held[b]} points, holds ${n}`);
        }
      }
      if (this.cov !== undefined && this.pts.flagged > 0) throw new Error('ExtentMap invariant: points over gaps with a coverage index');
      let gaps = 0;
      this.pts.forEach((v, f, gap) => {
        if (!isFrame(f)) throw new Error(`ExtentMap invariant: point at ${f}, not a frame`);
        if (v === undefined) throw new Error(`ExtentMap invariant: point ${f} holds no value`);
        if (gap) {
          gaps++;
          if (this.find(f)) throw new Error(`ExtentMap invariant: point ${f} over a gap is over a covered frame`);
          return;
        }
        if (!this.find(f)) throw new Error(`ExtentMap invariant: point ${f} is not over a covered frame`);
        const x = this.at(this.pl, this.pi);
        const stored = this.ops.shift(this.cv[x]!, f - this.cse[2 * x]!);
        if (this.ops.joinable(stored, 0, v)) throw new Error(`ExtentMap invariant: point ${f} holds the stored value`);
      });
      if (gaps !== this.pts.flagged) throw new Error(`ExtentMap invariant: ${this.pts.flagged} points counted over gaps, ${gaps} held`);
    }
    if (this.cov !== undefined) {
      // The coverage index holds exactly the covered frames, as maximal runs.
      this.cov.checkInvariants();
      const runs: { start: number; end: number }[] = [];
      for (const { start: k, end } of this.entriesGen()) {
        const last = runs[runs.length - 1];
        if (last !== undefined && last.end + 1 === k) last.end = end;
        else runs.push({ start: k, end });
      }
      const idx = this.cov.toArray().map(({ start: k, end }) => ({ start: k, end }));
      if (JSON.stringify(idx) !== JSON.stringify(runs)) {
        throw new Error(`ExtentMap invariant: coverage index ${JSON.stringify(idx.slice(0, 4))}… is not the covered runs ${JSON.stringify(runs.slice(0, 4))}…`);
      }
    }
  }

  // ---- internals ----

  /** Hold `value` at `frame` (over a frame no extent covers: `gap`). */
  private addPoint(frame: number, value: T, gap: boolean): void {
    const pts = (this.pts ??= new FrameTable<T>());
    if (pts.set(frame, value, gap)) {
      const bk = this.ptsBk;
      if (bk !== undefined) {
        const b = frame & POINT_MASK;
        if (bk[b]! < BUCKET_FULL) bk[b]!++;
      } else if (pts.size >= BUCKETS_FROM) {
        const made = (this.ptsBk = new Uint8Array(POINT_MASK + 1));
        pts.forEach((_v, f) => {
          const b = f & POINT_MASK;
          if (made[b]! < BUCKET_FULL) made[b]!++;
        });
      }
    }
    if (pts.size > MAX_POINTS) this.flushSome(MAX_POINTS >> 2);
  }

  /** Write `n` of the points into the extents (which ones: see `FrameTable.some`). */
  private flushSome(n: number): void {
    this.writeIn(this.pts!.some(n));
  }

  /**
   * Write the points held at `frames` into the extents (as `set` would have), and stop holding them.
   * Many are written in ascending order (they come in the hash table's order): each `set` then
   * lands next to the last one, in a leaf just searched, instead of anywhere in the map. The
   * result does not depend on the order — each frame is written once.
   */
  private writeIn(frames: readonly number[]): void {
    if (frames.length > SORT_WRITES_FROM) {
      const sorted = Float64Array.from(frames).sort();
      for (let i = 0; i < sorted.length; i++) this.set(sorted[i]!, sorted[i]!, this.removePoint(sorted[i]!)!);
      return;
    }
    for (const f of frames) this.set(f, f, this.removePoint(f)!);
  }

  /** Stop holding a point at `frame`; its value, or undefined when none was held. */
  private removePoint(frame: number): T | undefined {
    const v = this.pts?.delete(frame);
    if (v === undefined) return undefined;
    const bk = this.ptsBk;
    if (bk !== undefined) {
      const b = frame & POINT_MASK;
      if (bk[b]! < BUCKET_FULL) bk[b]!--;
    }
    return v;
  }

  /**
   * The frames of [start, end] held in `pts` (only those over gaps with `gapsOnly`): probing
   * each frame (its bucket, then the table), or walking the table when the range is the longer.
   */
  private pointsIn(pts: FrameTable<T>, start: number, end: number, gapsOnly = false): number[] {
    const out: number[] = [];
    if (end - start >= (gapsOnly ? pts.flagged : pts.size)) return pts.framesIn(start, end, gapsOnly, out);
    const bk = this.ptsBk;
    for (let f = start; f <= end; f++) {
      if ((bk === undefined || bk[f & POINT_MASK] !== 0) && (gapsOnly ? pts.isFlagged(f) : pts.has(f))) out.push(f);
    }
    return out;
  }

  /** Write the points held over [start, end] into the extents (as `set` would have). */
  private flushPoints(start: number, end: number): void {
    const pts = this.pts;
    if (pts !== undefined && pts.size !== 0) this.writeIn(this.pointsIn(pts, start, end));
  }

  /** Write the points held over gaps of [start, end] into the extents (for questions of coverage). */
  private flushGapPoints(start: number, end: number): void {
    const pts = this.pts;
    if (pts !== undefined && pts.flagged !== 0) this.writeIn(this.pointsIn(pts, start, end, true));
  }

  /** Forget the points held over [start, end] (the frames are being overwritten or uncovered). */
  private dropPoints(start: number, end: number): void {
    const pts = this.pts;
    if (pts === undefined || pts.size === 0) return;
    if (start === end) this.removePoint(start);
    else for (const f of this.pointsIn(pts, start, end)) this.removePoint(f);
  }

  /**
   * Position (pl, pi) of the last extent starting at or before `frame`, with its chunk's columns in
   * `cse` / `cv` and its index there in px; false if there is none (all of them then unspecified).
   */
  private locate(frame: number): boolean {
    const mins = this.mins;
    const last = this.leaves - 1;
    if (last < 0 || mins[0]! > frame) return false;
    // In a large fragmented map neither the leaf index nor the leaf is in the cache: a binary
    // search from the ends touches another line of each at every step. Where the frame falls is
    // guessed from the bounds at hand instead (the first and last leaves' starts; then the leaf's
    // own start and the next leaf's) and found by galloping from the guess: where extents are
    // spread evenly (a guest's pages given back at random), one or two lines.
    const m0 = mins[0]!;
    const lo = frame >= mins[last]! ? last : lastAtOrBefore(mins, 1, 0, last, Math.floor(((frame - m0) / (mins[last]! - m0)) * last), frame);
    const slot = this.slotOf[lo]!;
    const se = this.seC[slot >> CHUNK_SHIFT]!;
    const b = this.off(slot);
    const len = this.lens[slot]!;
    const s0 = mins[lo]!;
    const g = lo < last ? b + Math.floor(((frame - s0) / (mins[lo + 1]! - s0)) * len) : b + (len >> 1);
    const a = lastAtOrBefore(se, 2, b, b + len - 1, g, frame);
    this.pl = lo;
    this.pi = a - b;
    this.px = a;
    this.cse = se;
    this.cv = this.vC[slot >> CHUNK_SHIFT]!;
    return true;
  }

  /**
   * The i-th extent of leaf li: its chunk's columns into `cse` / `cv` (read them at once: the next
   * call changes them), and its index there.
   */
  private at(li: number, i: number): number {
    const slot = this.slotOf[li]!;
    this.cse = this.seC[slot >> CHUNK_SHIFT]!;
    this.cv = this.vC[slot >> CHUNK_SHIFT]!;
    return this.off(slot) + i;
  }

  /** Number of extents in leaf li. */
  private leafLen(li: number): number {
    return this.lens[this.slotOf[li]!]!;
  }

  /** Index of a slot's first extent in its chunk. */
  private off(slot: number): number {
    return this.roomOf(slot) + this.heads[slot]!;
  }

  /** Index of the start of a slot's room in its chunk. */
  private roomOf(slot: number): number {
    return (slot & CHUNK_MASK) * this.stride;
  }

  /**
   * Move the extents of `slot` to the start of its room (head 0), for an edit that adds extents
   * at its end and would otherwise run past the room.
   */
  private normalize(slot: number): void {
    const h = this.heads[slot]!;
    if (h === 0) return;
    const len = this.lens[slot]!;
    // (Indices from the start of the room now: the extents are at [h, h + len).)
    this.heads[slot] = 0;
    this.move(slot, 0, slot, h, len);
    this.forget(slot, Math.max(len, h), h + len);
  }

  /**
   * Make room in the chunk of `slot` for n extents of that slot. A chunk past the first is made
   * whole at once; the first doubles as it fills (up to one slot while the map has one leaf), so
   * that a map of a few extents stays small. A chunk never moves once made whole: a large map
   * grows by chunks, leaving no old columns behind for the garbage collector. Plain packed arrays
   * (grown by `push`, or copied from a blank chunk made so), never with holes: the frames stay
   * small integers where they are (a Float64Array would hand out doubles, and every computation on
   * a frame read from it would then be done in them).
   */
  private room(slot: number, n: number): void {
    const c = slot >> CHUNK_SHIFT;
    while (this.vC.length <= c) {
      this.seC.push([]);
      this.vC.push([]);
    }
    const V = this.vC[c]!;
    const need = this.off(slot) + n;
    if (need <= V.length) return;
    const whole = CHUNK_SLOTS * this.stride;
    if (c > 0 && V.length === 0) {
      // A whole chunk at once: a copy of a blank one (one allocation of the final size, where
      // growing by `push` left two to three times that behind for the garbage collector).
      const blank = blankChunk(whole, this.blank);
      this.seC[c] = blank.se.slice();
      this.vC[c] = blank.v.slice() as T[];
      return;
    }
    const size = c > 0 ? whole : Math.max(need, Math.min(V.length > 0 ? 2 * V.length : 4, need <= this.stride ? this.stride : whole));
    const se = this.seC[c]!;
    for (let x = se.length; x < 2 * size; x++) se.push(0);
    for (let x = V.length; x < size; x++) V.push(this.blank);
  }

  /** A slot for a new leaf (empty; its room in the columns is the caller's to make). */
  private newSlot(): number {
    const slot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.nSlots++;
    if (slot >= this.lens.length) {
      const lens = new Int32Array(Math.max(8, this.lens.length * 2));
      lens.set(this.lens);
      this.lens = lens;
      const heads = new Int32Array(lens.length);
      heads.set(this.heads);
      this.heads = heads;
    }
    this.lens[slot] = 0;
    this.heads[slot] = 0;
    return slot;
  }

  /** Let go of the values of extents [i, stop) of `slot` (for the garbage collector). */
  private forget(slot: number, i: number, stop: number): void {
    const V = this.vC[slot >> CHUNK_SHIFT]!;
    const b = this.off(slot);
    // (A loop: mostly a few entries, where calling `fill` costs more than the stores.)
    const blank = this.blank;
    for (let x = b + i; x < b + stop; x++) V[x] = blank;
  }

  /** Give a dropped leaf's slot back. */
  private freeSlot(slot: number): void {
    this.forget(slot, 0, this.lens[slot]!);
    this.lens[slot] = 0;
    this.heads[slot] = 0;
    this.freeSlots.push(slot);
  }

  /**
   * Move `count` extents from index si of slot `from` to index di of slot `to` (the same slot or
   * another), in the direction that never overwrites an extent before it moved. (A loop: the
   * arrays' `copyWithin` is generic, and 10× slower on these.)
   */
  private move(to: number, di: number, from: number, si: number, count: number): void {
    const dse = this.seC[to >> CHUNK_SHIFT]!;
    const dv = this.vC[to >> CHUNK_SHIFT]!;
    const sse = this.seC[from >> CHUNK_SHIFT]!;
    const sv = this.vC[from >> CHUNK_SHIFT]!;
    const d = this.off(to) + di;
    const s = this.off(from) + si;
    if (dse === sse && d > s) {
      for (let k = count - 1; k >= 0; k--) {
        dse[2 * (d + k)] = sse[2 * (s + k)]!;
        dse[2 * (d + k) + 1] = sse[2 * (s + k) + 1]!;
        dv[d + k] = sv[s + k]!;
      }
    } else {
      for (let k = 0; k < count; k++) {
        dse[2 * (d + k)] = sse[2 * (s + k)]!;
        dse[2 * (d + k) + 1] = sse[2 * (s + k) + 1]!;
        dv[d + k] = sv[s + k]!;
      }
    }
  }

  /** Write the n extents of the scratch arrays at index i of `slot`. */
  private writeScratch(slot: number, i: number, n: number): void {
    const se = this.seC[slot >> CHUNK_SHIFT]!;
    const V = this.vC[slot >> CHUNK_SHIFT]!;
    const x = this.off(slot) + i;
    for (let y = 0; y < n; y++) {
      se[2 * (x + y)] = this.tS[y]!;
      se[2 * (x + y) + 1] = this.tE[y]!;
      V[x + y] = this.tV[y]!;
    }
  }

  /** The start of the i-th extent of leaf li. */
  private startAt(li: number, i: number): number {
    const slot = this.slotOf[li]!;
    return this.seC[slot >> CHUNK_SHIFT]![2 * (this.off(slot) + i)]!;
  }

  /** The start of the first extent held in `slot` (a leaf's, or one about to be made a leaf). */
  private firstStart(slot: number): number {
    return this.seC[slot >> CHUNK_SHIFT]![2 * this.off(slot)]!;
  }

  /**
   * `locate`, answered from the remembered position when `frame` lies between that extent's start
   * and the next one's (covered by it, or in the gap after it), else searched and remembered.
   */
  private floor(frame: number): boolean {
    if (this.hitShape === this.shape) {
      const li = this.hitLeaf;
      const i = this.hitPos;
      const slot = this.slotOf[li]!;
      const se = this.seC[slot >> CHUNK_SHIFT]!;
      const x = this.off(slot) + i;
      if (se[2 * x]! <= frame) {
        const next = i + 1 < this.lens[slot]! ? se[2 * (x + 1)]! : li + 1 < this.leaves ? this.mins[li + 1]! : Infinity;
        if (frame < next) {
          this.pl = li;
          this.pi = i;
          this.px = x;
          this.cse = se;
          this.cv = this.vC[slot >> CHUNK_SHIFT]!;
          return true;
        }
      }
    }
    if (!this.locate(frame)) return false;
    this.hitLeaf = this.pl;
    this.hitPos = this.pi;
    this.hitShape = this.shape;
    return true;
  }

  /** Whether some extent covers `frame`; if so its position is (pl, pi) (and px, cse, cv: see `locate`). */
  private find(frame: number): boolean {
    return this.floor(frame) && this.cse[2 * this.px + 1]! >= frame;
  }

  /**
   * Replace the k extents from position (li, i) on (they may span leaves) by the n ≤ 3 extents
   * in the scratch arrays, then restore the leaf invariants. (li, i) may be one past the end of
   * leaf li (i.e. before the first extent of the next leaf); with no leaves, k is 0.
   */
  private replace(li: number, i: number, k: number, n: number): void {
    this._size += n - k;
    if (this.leaves === 0) {
      if (n === 0) return;
      const slot = this.newSlot();
      this.room(slot, n);
      this.writeScratch(slot, 0, n);
      this.lens[slot] = n;
      this.addLeaf(0, slot, this.tS[0]!);
      return;
    }
    let len = this.leafLen(li);
    if (k > 0 && i === len) {
      li++;
      i = 0;
      len = this.leafLen(li);
    }
    if (i + k <= len) {
      // Within one leaf (the common case).
      this.spliceLeaf(li, i, k, n);
      const after = this.leafLen(li);
      if (i === 0 || after > this.cap || after < this.minFill) this.fix(li);
      return;
    }
    // Across leaves: cut the tail of this leaf, drop the leaves wholly inside, cut the head of the
    // last one, and write the new extents at the end of this leaf.
    let rest = k - (len - i);
    const slot = this.slotOf[li]!;
    this.forget(slot, i, len);
    this.lens[slot] = i;
    let j = li + 1;
    while (rest > 0 && rest >= this.leafLen(j)) {
      rest -= this.leafLen(j);
      j++;
    }
    if (rest > 0) {
      const last = this.slotOf[j]!;
      const ll = this.lens[last]!;
      this.move(last, 0, last, rest, ll - rest);
      this.forget(last, ll - rest, ll);
      this.lens[last] = ll - rest;
      this.mins[j] = this.startAt(j, 0);
    }
    if (j > li + 1) {
      for (let x = li + 1; x < j; x++) this.freeSlot(this.slotOf[x]!);
      this.dropLeaves(li + 1, j - li - 1);
    }
    if (this.heads[slot]! + i + n > this.stride) this.normalize(slot);
    this.room(slot, i + n);
    this.writeScratch(slot, i, n);
    this.lens[slot] = i + n;
    if (li + 1 < this.leaves) this.fix(li + 1);
    this.fix(li);
  }

  /** In leaf li, replace the k extents from index i by the n in the scratch arrays. */
  private spliceLeaf(li: number, i: number, k: number, n: number): void {
    const slot = this.slotOf[li]!;
    const len = this.lens[slot]!;
    if (n !== k) {
      // The extents after the edit, or those before it, move: the fewer (at the end of the leaf —
      // extents added in ascending order — nothing does).
      const after = len - i - k;
      const h = this.heads[slot]!;
      if (n > k) {
        const d = n - k;
        const fits = h + len + d <= this.stride;
        if (h >= d && (i < after || !fits)) {
          // Those before, into the room before the leaf.
          this.heads[slot] = h - d;
          this.move(slot, 0, slot, d, i);
        } else {
          // (This normalize is not reached while an edit adds at most two extents to a leaf of at
          // most `capacity`: when the room after it is too short, the room before it holds at
          // least three, and the branch above is taken. Kept so that no edit can run a leaf past
          // its room.)
          if (!fits) this.normalize(slot);
          this.room(slot, len + d);
          if (after > 0) this.move(slot, i + n, slot, i + k, after);
        }
      } else if (i < after) {
        // Those before move up, the leaf now starting d later.
        const d = k - n;
        this.move(slot, d, slot, 0, i);
        this.forget(slot, 0, d);
        this.heads[slot] = h + d;
      } else {
        if (after > 0) this.move(slot, i + n, slot, i + k, after);
        this.forget(slot, len - (k - n), len);
      }
      this.lens[slot] = len + n - k;
    }
    this.writeScratch(slot, i, n);
  }

  /**
   * Count the run of extents from leaf `li`, position `i`, that start at or before `bound`: into
   * runK (how many), runRemoved (their frames inside [start, end]) and runS / runE / runV (the
   * last one's start, end and value). Scratch fields, so the hot paths allocate nothing.
   */
  private scanRun(li: number, i: number, bound: number, start: number, end: number): void {
    const slotOf = this.slotOf;
    const leaves = this.leaves;
    let k = 0;
    let removed = 0;
    let bS = 0;
    let bE = -1;
    let bV: T | undefined;
    let cl = li;
    let ci = i;
    walk: while (cl < leaves) {
      const slot = slotOf[cl]!;
      const se = this.seC[slot >> CHUNK_SHIFT]!;
      const b = this.off(slot);
      const stop = b + this.lens[slot]!;
      for (let x = b + ci; x < stop; x++) {
        const xs = se[2 * x]!;
        if (xs > bound) break walk;
        const xe = se[2 * x + 1]!;
        removed += (xe < end ? xe : end) - (xs > start ? xs : start) + 1;
        bS = xs;
        bE = xe;
        bV = this.vC[slot >> CHUNK_SHIFT]![x];
        k++;
      }
      cl++;
      ci = 0;
    }
    this.runK = k;
    this.runRemoved = removed;
    this.runS = bS;
    this.runE = bE;
    this.runV = bV;
  }

  /** Restore the invariants of leaf li after an edit: split it, drop it, or merge it with a neighbour. */
  private fix(li: number): void {
    const slot = this.slotOf[li]!;
    const len = this.lens[slot]!;
    if (len > this.cap) {
      this.split(li);
      return;
    }
    if (len === 0) {
      this.freeSlot(slot);
      this.dropLeaves(li, 1);
      return;
    }
    this.mins[li] = this.startAt(li, 0);
    if (len < this.minFill && this.leaves > 1) {
      // Of (previous, this) or (this, next): append the right one to the left one, or, when the
      // two hold more than a leaf may, share their extents out evenly (the left one taking the
      // smaller half, as a split of the two appended would).
      const a = li > 0 ? li - 1 : li;
      const left = this.slotOf[a]!;
      const right = this.slotOf[a + 1]!;
      const ll = this.lens[left]!;
      const rl = this.lens[right]!;
      const total = ll + rl;
      if (total <= this.cap) {
        if (this.heads[left]! + total > this.stride) this.normalize(left);
        this.room(left, total);
        this.move(left, ll, right, 0, rl);
        this.lens[left] = total;
        this.freeSlot(right);
        this.dropLeaves(a + 1, 1);
        return;
      }
      const half = total >> 1;
      if (ll > half) {
        // The left one's tail goes to the front of the right one.
        const m = ll - half;
        if (this.heads[right]! + rl + m > this.stride) this.normalize(right);
        this.room(right, rl + m);
        this.move(right, m, right, 0, rl);
        this.move(right, 0, left, half, m);
        this.forget(left, half, ll);
      } else {
        // The right one's head goes to the end of the left one.
        const m = half - ll;
        if (this.heads[left]! + half > this.stride) this.normalize(left);
        this.room(left, half);
        this.move(left, ll, right, 0, m);
        this.move(right, 0, right, m, rl - m);
        this.forget(right, rl - m, rl);
      }
      this.lens[left] = half;
      this.lens[right] = total - half;
      this.mins[a] = this.startAt(a, 0);
      this.mins[a + 1] = this.startAt(a + 1, 0);
    }
  }

  /** Cut leaf li in two halves (it holds at most capacity + 3 extents). */
  private split(li: number): void {
    const slot = this.slotOf[li]!;
    const len = this.lens[slot]!;
    const half = len >> 1;
    const to = this.newSlot();
    // (In the middle of its room: it may then grow on either side before anything moves.)
    this.heads[to] = (this.stride - (len - half)) >> 1;
    this.room(to, len - half);
    this.move(to, 0, slot, half, len - half);
    this.forget(slot, half, len);
    this.lens[slot] = half;
    this.lens[to] = len - half;
    this.addLeaf(li + 1, to, this.firstStart(to));
    this.mins[li] = this.startAt(li, 0);
  }

  /** Make `slot` leaf `at` (the leaves from `at` on move up one), its first start `min`. */
  private addLeaf(at: number, slot: number, min: number): void {
    const n = this.leaves;
    if (n === this.slotOf.length) {
      const slotOf = new Int32Array(2 * n);
      slotOf.set(this.slotOf);
      this.slotOf = slotOf;
      const mins = new Float64Array(2 * n);
      mins.set(this.mins);
      this.mins = mins;
    }
    if (at < n) {
      this.slotOf.copyWithin(at + 1, at, n);
      this.mins.copyWithin(at + 1, at, n);
    }
    this.slotOf[at] = slot;
    this.mins[at] = min;
    this.leaves = n + 1;
  }

  /** Drop leaves [at, at + k) from the index (their slots are the caller's). */
  private dropLeaves(at: number, k: number): void {
    const n = this.leaves;
    if (at + k < n) {
      this.slotOf.copyWithin(at, at + k, n);
      this.mins.copyWithin(at, at + k, n);
    }
    this.leaves = n - k;
  }

  // (The generators keep a leaf's columns in locals: a change of the map makes the next step
  // throw before they are read again.)
  private *entriesGen(): Generator<Extent<T>, void, undefined> {
    const version = this.version;
    for (let li = 0; li < this.leaves; li++) {
      const b = this.at(li, 0);
      const se = this.cse;
      const V = this.cv;
      const stop = b + this.leafLen(li);
      for (let x = b; x < stop; x++) {
        yield { start: se[2 * x]!, end: se[2 * x + 1]!, value: V[x]! };
        this.checkVersion(version);
      }
    }
  }

  private *overlappingGen(start: number, end: number): Generator<Extent<T>, void, undefined> {
    const version = this.version;
    const ops = this.ops;
    let li = 0;
    let i = 0;
    if (this.locate(start)) {
      li = this.pl;
      i = this.pi;
      if (this.cse[2 * this.px + 1]! < start) i++;
    }
    for (; li < this.leaves; li++, i = 0) {
      const slot = this.slotOf[li]!;
      const se = this.seC[slot >> CHUNK_SHIFT]!;
      const V = this.vC[slot >> CHUNK_SHIFT]!;
      const b = this.off(slot);
      const stop = b + this.lens[slot]!;
      for (let x = b + i; x < stop; x++) {
        const k = se[2 * x]!;
        if (k > end) return;
        const ke = se[2 * x + 1]!;
        const s = k < start ? start : k;
        yield { start: s, end: ke > end ? end : ke, value: s === k ? V[x]! : ops.shift(V[x]!, s - k) };
        this.checkVersion(version);
      }
    }
  }

  private *gapsGen(start: number, end: number): Generator<{ start: number; end: number }, void, undefined> {
    let cursor = start;
    for (const e of this.overlappingGen(start, end)) {
      if (e.start > cursor) yield { start: cursor, end: e.start - 1 };
      cursor = e.end + 1;
    }
    if (cursor <= end) yield { start: cursor, end };
  }

  /** `gaps` read from the coverage index (live against this map's changes, like the others). */
  private *coverageGaps(cov: ExtentMap<true>, start: number, end: number): Generator<{ start: number; end: number }, void, undefined> {
    const version = this.version;
    for (const g of cov.gapsGen(start, end)) {
      yield g;
      this.checkVersion(version);
    }
  }

  private checkVersion(version: number): void {
    if (version !== this.version) throw new Error('ExtentMap modified during iteration');
  }
}
