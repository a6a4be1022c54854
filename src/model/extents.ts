/**
 * ExtentMap: sorted, non-overlapping, inclusive frame ranges with a payload.
 *
 * Every table of the model (p2m, page ownership, reference counts, IOMMU contexts) is one of
 * these: a 768 GiB host is a handful of extents, never 2×10^8 entries.
 *
 * Storage is a two-level list of sorted arrays specialised for numeric keys (in the manner of
 * Python's sortedcontainers): the extents, in order, are cut into leaves of at most `capacity`
 * extents, each leaf holding parallel plain arrays of starts, ends and values (no object per
 * extent); a top-level array holds each leaf's first start. A point lookup is two binary searches,
 * O(log n); a range operation touching k extents is O(log n + k) plus splicing within one leaf (and,
 * when a leaf splits, merges or empties, in the leaf index of ~n/capacity entries), whatever the
 * number of frames involved.
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

/** Default leaf capacity (extents per leaf); see `ExtentMap`'s constructor. */
const DEFAULT_LEAF_CAPACITY = 128;
const MIN_LEAF_CAPACITY = 4;
const MAX_LEAF_CAPACITY = 1 << 16;

/**
 * A run of consecutive extents: parallel arrays, sorted by start. Never empty while in a map.
 * Arrays are edited in place; clones copy them.
 */
class Leaf<T> {
  constructor(
    readonly s: number[],
    readonly e: number[],
    readonly v: T[],
  ) {}
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
 * Structure (see the file header): `leaves[li]` holds extents in order, every leaf non-empty and
 * holding at most `capacity` extents (and, when there are several leaves, at least capacity / 4:
 * an emptier leaf is merged with a neighbour); `mins[li]` is `leaves[li].s[0]`. An extent is
 * addressed by its position (leaf index, index in the leaf).
 */
export class ExtentMap<T> {
  readonly ops: PayloadOps<T>;
  private readonly cap: number;
  /** A leaf with fewer extents than this is merged with a neighbour (unless it is the only one). */
  private readonly minFill: number;
  private leaves: Leaf<T>[] = [];
  /** First start of each leaf, for the binary search over leaves. */
  private mins: number[] = [];
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
  private readonly tV: T[] = [undefined, undefined, undefined] as T[];
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
   * @param options.maxNodeSize leaf capacity: most extents per leaf (4..65536, default 128; other
   *   values give the default); small values only serve to exercise many-leaf structure in tests.
   * @param options.trackCoverage also keep the covered frames as maximal runs, so that finding
   *   the first uncovered frame (`firstGap`, `covered`, `gaps`) costs O(log n) even where many
   *   extents of different values lie back to back (the page map: the free frame after a run of
   *   pages of many owners). Costs an update of that index when coverage changes.
   */
  constructor(ops: PayloadOps<T>, options?: { maxNodeSize?: number; trackCoverage?: boolean }) {
    this.ops = ops;
    const n = options?.maxNodeSize;
    this.cap =
      n !== undefined && n >= MIN_LEAF_CAPACITY ? Math.min(Math.floor(n), MAX_LEAF_CAPACITY) : DEFAULT_LEAF_CAPACITY;
    this.minFill = this.cap >> 2;
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
      const leaf = this.leaves[this.pl]!;
      const i = this.pi;
      const s = leaf.s[i]!;
      const e = leaf.e[i]!;
      // Points held inside the extent cut it, and one right next to it may continue it: write
      // them in, then find the extent again (it may now reach frames holding points in turn).
      const lo = s > 0 ? s - 1 : s;
      const hi = e < MAX_FRAME ? e + 1 : e;
      const near = this.pts === undefined || this.pts.size === 0 ? NO_FRAMES : this.pointsIn(this.pts, lo, hi);
      if (near.length === 0) return { start: s, end: e, value: leaf.v[i]! };
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
    const leaf = this.leaves[this.pl]!;
    const i = this.pi;
    return this.ops.shift(leaf.v[i]!, frame - leaf.s[i]!);
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
    const leaf = this.leaves[this.pl]!;
    this.rawStart = leaf.s[this.pi]!;
    return leaf.v[this.pi]!;
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
    const leaves = this.leaves;
    const tS = this.tS;
    const tE = this.tE;
    const tV = this.tV;
    if (found && leaves[this.pl]!.s[this.pi] === start) {
      // The extent before, if any, is the one that may end at start - 1 (a neighbour to merge with).
      if (this.pi > 0) this.pi--;
      else if (this.pl > 0) this.pi = leaves[--this.pl]!.s.length - 1;
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
      const leaf = leaves[li]!;
      const as = leaf.s[i]!;
      const ae = leaf.e[i]!;
      if (ae >= start - 1) {
        const av = leaf.v[i]!;
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
    const leaves = this.leaves;
    const tS = this.tS;
    const tE = this.tE;
    const tV = this.tV;
    let li = 0;
    let i = 0;
    let n = 0;
    if (found) {
      li = this.pl;
      i = this.pi;
      const leaf = leaves[li]!;
      const as = leaf.s[i]!;
      if (leaf.e[i]! >= start) {
        if (as < start) {
          tS[0] = as;
          tE[0] = start - 1;
          tV[0] = leaf.v[i]!;
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
    const leaf = this.leaves[this.pl]!;
    const i = this.pi;
    const s = leaf.s[i]!;
    const stored = frame === s ? leaf.v[i]! : this.ops.shift(leaf.v[i]!, frame - s);
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
    this.leaves = [];
    this.mins = [];
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
    const leaves = this.leaves;
    let li = this.pl;
    let i = this.pi;
    let leaf = leaves[li]!;
    if (leaf.e[i]! < from) return from;
    let cursor = leaf.e[i]! + 1;
    if (cursor > limit) return undefined;
    // Adjacent-but-unjoinable extents may continue the coverage: walk them.
    for (;;) {
      if (++i === leaf.s.length) {
        if (++li === leaves.length) return cursor;
        leaf = leaves[li]!;
        i = 0;
      }
      if (leaf.s[i] !== cursor) return cursor;
      cursor = leaf.e[i]! + 1;
      if (cursor > limit) return undefined;
    }
  }

  /** Lowest covered frame f with from ≤ f ≤ limit, or undefined if [from, limit] is all uncovered. O(log n). */
  firstCovered(from: number, limit: number): number | undefined {
    checkRange('firstCovered', from, limit);
    this.flushGapPoints(from, limit);
    let next: number | undefined;
    if (!this.locate(from)) {
      next = this.mins[0];
    } else {
      const leaf = this.leaves[this.pl]!;
      if (leaf.e[this.pi]! >= from) return from;
      next = this.pi + 1 < leaf.s.length ? leaf.s[this.pi + 1] : this.mins[this.pl + 1];
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
    return this.locate(end) && this.leaves[this.pl]!.e[this.pi]! >= start;
  }

  /** Lowest extent (stored value). */
  lowest(): Extent<T> | undefined {
    this.flushPoints(0, MAX_FRAME);
    const leaf = this.leaves[0];
    return leaf === undefined ? undefined : { start: leaf.s[0]!, end: leaf.e[0]!, value: leaf.v[0]! };
  }

  /** Highest extent (stored value). */
  highest(): Extent<T> | undefined {
    this.flushPoints(0, MAX_FRAME);
    const leaf = this.leaves[this.leaves.length - 1];
    if (leaf === undefined) return undefined;
    const i = leaf.s.length - 1;
    return { start: leaf.s[i]!, end: leaf.e[i]!, value: leaf.v[i]! };
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
   * An independent copy (same leaf capacity). O(n): the leaves' arrays are copied (payloads are
   * shared, being immutable); either map may then be modified without affecting the other.
   */
  clone(): ExtentMap<T> {
    this.flushPoints(0, MAX_FRAME);
    const c = new ExtentMap<T>(this.ops, { maxNodeSize: this.cap });
    c.leaves = this.leaves.map((l) => new Leaf<T>(l.s.slice(), l.e.slice(), l.v.slice()));
    c.mins = this.mins.slice();
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
    if (this.mins.length !== leaves.length) {
      throw new Error(`ExtentMap invariant: ${this.mins.length} leaf minimums for ${leaves.length} leaves`);
    }
    let count = 0;
    for (let li = 0; li < leaves.length; li++) {
      const leaf = leaves[li]!;
      const len = leaf.s.length;
      if (leaf.e.length !== len || leaf.v.length !== len) {
        throw new Error(`ExtentMap invariant: leaf ${li} arrays of lengths ${len}, ${leaf.e.length}, ${leaf.v.length}`);
      }
      if (len === 0 || len > this.cap || (leaves.length > 1 && len < this.minFill)) {
        throw new Error(`ExtentMap invariant: leaf ${li} holds ${len} extents (capacity ${this.cap}, ${leaves.length} leaves)`);
      }
      if (this.mins[li] !== leaf.s[0]) {
        throw new Error(`ExtentMap invariant: leaf ${li} minimum ${this.mins[li]} but first start ${leaf.s[0]}`);
      }
      count += len;
    }
    if (count !== this._size) throw new Error(`ExtentMap invariant: size is ${this._size}, leaves hold ${count}`);
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
        const leaf = this.leaves[this.pl]!;
        const stored = this.ops.shift(leaf.v[this.pi]!, f - leaf.s[this.pi]!);
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
   * Position (pl, pi) of the last extent starting at or before `frame`; false if there is none
   * (pl, pi then unspecified).
   */
  private locate(frame: number): boolean {
    const mins = this.mins;
    let hi = mins.length - 1;
    if (hi < 0 || mins[0]! > frame) return false;
    let lo = 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (mins[mid]! <= frame) lo = mid;
      else hi = mid - 1;
    }
    const s = this.leaves[lo]!.s;
    let a = 0;
    let b = s.length - 1;
    while (a < b) {
      const mid = (a + b + 1) >>> 1;
      if (s[mid]! <= frame) a = mid;
      else b = mid - 1;
    }
    this.pl = lo;
    this.pi = a;
    return true;
  }

  /**
   * `locate`, answered from the remembered position when `frame` lies between that extent's start
   * and the next one's (covered by it, or in the gap after it), else searched and remembered.
   */
  private floor(frame: number): boolean {
    if (this.hitShape === this.shape) {
      const li = this.hitLeaf;
      const s = this.leaves[li]!.s;
      const i = this.hitPos;
      if (s[i]! <= frame) {
        const next = i + 1 < s.length ? s[i + 1]! : li + 1 < this.mins.length ? this.mins[li + 1]! : Infinity;
        if (frame < next) {
          this.pl = li;
          this.pi = i;
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

  /** Whether some extent covers `frame`; if so its position is (pl, pi). */
  private find(frame: number): boolean {
    return this.floor(frame) && this.leaves[this.pl]!.e[this.pi]! >= frame;
  }

  /**
   * Replace the k extents from position (li, i) on (they may span leaves) by the n ≤ 3 extents
   * in the scratch arrays, then restore the leaf invariants. (li, i) may be one past the end of
   * leaf li (i.e. before the first extent of the next leaf); with no leaves, k is 0.
   */
  private replace(li: number, i: number, k: number, n: number): void {
    const leaves = this.leaves;
    this._size += n - k;
    if (leaves.length === 0) {
      if (n === 0) return;
      leaves.push(new Leaf<T>(this.tS.slice(0, n), this.tE.slice(0, n), this.tV.slice(0, n)));
      this.mins.push(this.tS[0]!);
      return;
    }
    let leaf = leaves[li]!;
    let len = leaf.s.length;
    if (k > 0 && i === len) {
      li++;
      i = 0;
      leaf = leaves[li]!;
      len = leaf.s.length;
    }
    if (i + k <= len) {
      // Within one leaf (the common case).
      this.spliceLeaf(leaf, i, k, n);
      const after = leaf.s.length;
      if (i === 0 || after > this.cap || after < this.minFill) this.fix(li);
      return;
    }
    // Across leaves: cut the tail of this leaf, drop the leaves wholly inside, cut the head of the
    // last one, and write the new extents at the end of this leaf.
    let rest = k - (len - i);
    leaf.s.length = i;
    leaf.e.length = i;
    leaf.v.length = i;
    let j = li + 1;
    while (rest > 0 && rest >= leaves[j]!.s.length) {
      rest -= leaves[j]!.s.length;
      j++;
    }
    if (rest > 0) {
      const last = leaves[j]!;
      last.s.splice(0, rest);
      last.e.splice(0, rest);
      last.v.splice(0, rest);
      this.mins[j] = last.s[0]!;
    }
    if (j > li + 1) {
      leaves.splice(li + 1, j - li - 1);
      this.mins.splice(li + 1, j - li - 1);
    }
    for (let x = 0; x < n; x++) {
      leaf.s.push(this.tS[x]!);
      leaf.e.push(this.tE[x]!);
      leaf.v.push(this.tV[x]!);
    }
    if (li + 1 < leaves.length) this.fix(li + 1);
    this.fix(li);
  }

  /** In leaf `leaf`, replace the k extents from index i by the n in the scratch arrays. */
  private spliceLeaf(leaf: Leaf<T>, i: number, k: number, n: number): void {
    const s = leaf.s;
    const e = leaf.e;
    const v = leaf.v;
    const tS = this.tS;
    const tE = this.tE;
    const tV = this.tV;
    const common = k < n ? k : n;
    for (let x = 0; x < common; x++) {
      s[i + x] = tS[x]!;
      e[i + x] = tE[x]!;
      v[i + x] = tV[x]!;
    }
    if (n > k) {
      const at = i + k;
      if (at === s.length) {
        // At the end of the leaf (extents added in ascending order): no splice.
        for (let x = k; x < n; x++) {
          s.push(tS[x]!);
          e.push(tE[x]!);
          v.push(tV[x]!);
        }
      } else if (n - k === 1) {
        s.splice(at, 0, tS[k]!);
        e.splice(at, 0, tE[k]!);
        v.splice(at, 0, tV[k]!);
      } else if (n - k === 2) {
        s.splice(at, 0, tS[k]!, tS[k + 1]!);
        e.splice(at, 0, tE[k]!, tE[k + 1]!);
        v.splice(at, 0, tV[k]!, tV[k + 1]!);
      } else {
        s.splice(at, 0, tS[k]!, tS[k + 1]!, tS[k + 2]!);
        e.splice(at, 0, tE[k]!, tE[k + 1]!, tE[k + 2]!);
        v.splice(at, 0, tV[k]!, tV[k + 1]!, tV[k + 2]!);
      }
    } else if (k > n) {
      if (i + k === s.length) {
        // The leaf's last extents go: cut it short.
        s.length = i + n;
        e.length = i + n;
        v.length = i + n;
      } else {
        s.splice(i + n, k - n);
        e.splice(i + n, k - n);
        v.splice(i + n, k - n);
      }
    }
  }

  /**
   * Count the run of extents from leaf `li`, position `i`, that start at or before `bound`: into
   * runK (how many), runRemoved (their frames inside [start, end]) and runS / runE / runV (the
   * last one's start, end and value). Scratch fields, so the hot paths allocate nothing.
   */
  private scanRun(li: number, i: number, bound: number, start: number, end: number): void {
    const leaves = this.leaves;
    let k = 0;
    let removed = 0;
    let bS = 0;
    let bE = -1;
    let bV: T | undefined;
    let cl = li;
    let ci = i;
    walk: while (cl < leaves.length) {
      const leaf = leaves[cl]!;
      const ls = leaf.s;
      const le = leaf.e;
      for (; ci < ls.length; ci++) {
        const xs = ls[ci]!;
        if (xs > bound) break walk;
        const xe = le[ci]!;
        removed += (xe < end ? xe : end) - (xs > start ? xs : start) + 1;
        bS = xs;
        bE = xe;
        bV = leaf.v[ci];
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
    const leaves = this.leaves;
    const leaf = leaves[li]!;
    const len = leaf.s.length;
    if (len > this.cap) {
      this.split(li);
      return;
    }
    if (len === 0) {
      leaves.splice(li, 1);
      this.mins.splice(li, 1);
      return;
    }
    this.mins[li] = leaf.s[0]!;
    if (len < this.minFill && leaves.length > 1) {
      // Append the right one of (previous, this) or (this, next) to the left one.
      const a = li > 0 ? li - 1 : li;
      const left = leaves[a]!;
      const right = leaves[a + 1]!;
      for (let x = 0; x < right.s.length; x++) {
        left.s.push(right.s[x]!);
        left.e.push(right.e[x]!);
        left.v.push(right.v[x]!);
      }
      leaves.splice(a + 1, 1);
      this.mins.splice(a + 1, 1);
      if (left.s.length > this.cap) this.split(a);
    }
  }

  /** Cut leaf li in two halves (it holds at most 2 × capacity extents). */
  private split(li: number): void {
    const leaf = this.leaves[li]!;
    const half = leaf.s.length >> 1;
    const right = new Leaf<T>(leaf.s.slice(half), leaf.e.slice(half), leaf.v.slice(half));
    leaf.s.length = half;
    leaf.e.length = half;
    leaf.v.length = half;
    this.leaves.splice(li + 1, 0, right);
    this.mins.splice(li + 1, 0, right.s[0]!);
    this.mins[li] = leaf.s[0]!;
  }

  private *entriesGen(): Generator<Extent<T>, void, undefined> {
    const version = this.version;
    const leaves = this.leaves;
    for (let li = 0; li < leaves.length; li++) {
      const leaf = leaves[li]!;
      for (let i = 0; i < leaf.s.length; i++) {
        yield { start: leaf.s[i]!, end: leaf.e[i]!, value: leaf.v[i]! };
        this.checkVersion(version);
      }
    }
  }

  private *overlappingGen(start: number, end: number): Generator<Extent<T>, void, undefined> {
    const version = this.version;
    const ops = this.ops;
    const leaves = this.leaves;
    let li = 0;
    let i = 0;
    if (this.locate(start)) {
      li = this.pl;
      i = this.pi;
      if (leaves[li]!.e[i]! < start) i++;
    }
    for (; li < leaves.length; li++, i = 0) {
      const leaf = leaves[li]!;
      for (; i < leaf.s.length; i++) {
        const k = leaf.s[i]!;
        if (k > end) return;
        const ke = leaf.e[i]!;
        const s = k < start ? start : k;
        yield { start: s, end: ke > end ? end : ke, value: s === k ? leaf.v[i]! : ops.shift(leaf.v[i]!, s - k) };
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
