/**
 * ExtentMap: sorted, non-overlapping, inclusive frame ranges with a payload.
 *
 * Every table of the model (p2m, page ownership, reference counts, IOMMU contexts) is one of
 * these: a 768 GiB host is a handful of extents, never 2×10^8 entries.
 *
 * Storage is a B+ tree (`sorted-btree`) keyed by extent start, so a point lookup is O(log n) and
 * a range operation touching k extents is O(log n + k), whatever the number of frames involved.
 *
 * Invariants (checked by `checkInvariants()`), true after every public call:
 * - extents are sorted, non-overlapping and non-empty (start ≤ end);
 * - no two adjacent extents (a.end + 1 === b.start) are joinable: they are always merged, so the
 *   extent list is the canonical run-length encoding of the frame → value function;
 * - `frames` equals the sum of the extents' lengths.
 *
 * Payloads are treated as immutable: the map shares them between extents, clones and the values it
 * returns. Never mutate a payload after handing it to `set`.
 */

import BTreeModule from 'sorted-btree';
import type * as BTreeTypes from 'sorted-btree';

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

// sorted-btree is CommonJS with `exports.default = BTree`: under plain Node ESM the default import is
// the whole `module.exports`, while some loaders (vitest's interop) already unwrap `.default`.
type BTree<K, V> = BTreeTypes.default<K, V>;
type BTreeCtor = typeof BTreeModule.default;
const BTreeClass: BTreeCtor =
  (BTreeModule as { default?: BTreeCtor }).default ?? (BTreeModule as unknown as BTreeCtor);

/** Stored record, keyed by the extent's start. Immutable: replaced, never edited (clones share them). */
interface Rec<T> {
  readonly end: number;
  readonly value: T;
}

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

/**
 * Linear payload (e.g. gfn→mfn): `base` is the value at the extent's first frame, frame start+d maps
 * to base+d. shift moves base by delta (a shallow copy with a new base; other fields shared).
 * b continues a (of aLength frames) when `b.base === a.base + aLength` and `eq(a, b)`; the default
 * `eq` compares all own enumerable fields except `base` with `===` (same key set required).
 * Payloads must be plain objects (a shifted copy is made with object spread, dropping prototypes).
 */
export function linear<T extends { base: number }>(eq?: (a: T, b: T) => boolean): PayloadOps<T> {
  const same = eq ?? sameExceptBase;
  return {
    shift: (v, delta) => (delta === 0 ? v : { ...v, base: v.base + delta }),
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

/** Keys are exact integers < 2^52, so the difference is exact. */
function compareFrames(a: number, b: number): number {
  return a - b;
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
 * Map from frames to payloads, held as maximal extents.
 *
 * The ops must be consistent for merging to preserve what `lookup` sees: `joinable(a, n, b)` must
 * hold only if b is (equivalent to) `shift(a, n)`, and `shift(shift(v, x), y)` ≡ `shift(v, x + y)`.
 * `constant` and `linear` satisfy this.
 *
 * Generators (`entries`, `overlapping`, `gaps`) are lazy views: modifying the map while one is
 * live makes its next step throw; collect them first (`toArray()`, `[...]`) to edit while walking.
 */
export class ExtentMap<T> {
  readonly ops: PayloadOps<T>;
  private tree: BTree<number, Rec<T>>;
  private _frames = 0;
  /** Bumped by every mutation; live generators throw if it changes under them. */
  private version = 0;
  /** Lowest frame whose coverage `delete`/`clear` removed since the last `markUncovered()`. */
  private _uncoveredFrom = Infinity;
  /** Scratch pair for point look-ups (read at once, never handed out). */
  private readonly pair = [0, undefined] as unknown as [number, Rec<T>];
  /**
   * The extent the last point look-up found, valid while `version` is `hitVersion` (records are
   * immutable): a `set`/`delete` of a frame just looked up (get, update) does not walk the tree twice.
   */
  private hitKey = 0;
  private hitRec: Rec<T> | undefined = undefined;
  private hitVersion = -1;

  /**
   * @param options.maxNodeSize B-tree branching factor (4..256, default 32 as in sorted-btree); small
   *   values only serve to exercise deep trees in tests.
   */
  constructor(ops: PayloadOps<T>, options?: { maxNodeSize?: number }) {
    this.ops = ops;
    this.tree = new BTreeClass<number, Rec<T>>(undefined, compareFrames, options?.maxNodeSize);
  }

  /** Number of extents. */
  get size(): number {
    return this.tree.size;
  }

  /** Total number of frames covered. */
  get frames(): number {
    return this._frames;
  }

  /** The stored extent containing `frame` (a fresh object; value is the one at extent start). */
  get(frame: number): Extent<T> | undefined {
    checkFrame('get', frame);
    const p = this.find(frame);
    if (p === undefined) return undefined;
    return { start: p[0], end: p[1].end, value: p[1].value };
  }

  /** The value as seen at `frame`: `ops.shift(value, frame - start)`. */
  lookup(frame: number): T | undefined {
    checkFrame('lookup', frame);
    const p = this.find(frame);
    if (p === undefined) return undefined;
    return this.ops.shift(p[1].value, frame - p[0]);
  }

  /** Whether `frame` is covered. */
  has(frame: number): boolean {
    checkFrame('has', frame);
    return this.find(frame) !== undefined;
  }

  /**
   * Map [start, end] (inclusive) to `value` (value is the payload at `start`), overwriting whatever
   * was there: overlapped extents are split at the edges (their remainders shifted), then the new
   * extent is merged with joinable neighbours. O(log n + k), k = extents overwritten.
   */
  set(start: number, end: number, value: T): void {
    checkRange('set', start, end);
    // One frame (the hot path of reference counting): one look-up finds the only extent to cut.
    const p = start === end ? this.find(start) : undefined;
    this.version++;
    const tree = this.tree;
    const ops = this.ops;
    let carved = false;
    let keyAtStart = false;
    if (start === end) {
      if (p === undefined) {
        carved = true; // uncovered: nothing to cut
      } else {
        const ls = p[0];
        const lrec = p[1];
        if (ls < start && lrec.end > start) {
          // Strictly inside: split it in three, or leave it as it is when the frame already maps
          // to (an equivalent of) `value` (splitting and merging again gives the same extents).
          if (ops.joinable(lrec.value, start - ls, value)) return;
          const right = ops.shift(lrec.value, start + 1 - ls);
          if (!ops.joinable(value, 1, right)) {
            tree.set(ls, { end: start - 1, value: lrec.value });
            tree.set(start, { end: start, value });
            tree.set(start + 1, { end: lrec.end, value: right });
            return;
          }
        } else {
          // At an edge of the extent: cut the frame off (its key, if it has one, is rewritten below).
          if (ls < start) tree.set(ls, { end: start - 1, value: lrec.value });
          else {
            keyAtStart = true;
            if (lrec.end > start) tree.set(start + 1, { end: lrec.end, value: ops.shift(lrec.value, 1) });
          }
          this._frames--;
          carved = true;
        }
      }
    }
    if (!carved) this.carve(start, end);
    let s = start;
    let e = end;
    let v = value;
    if (start > 0) {
      const l = tree.nextLowerPair(start, this.pair);
      if (l !== undefined && l[1].end === start - 1 && ops.joinable(l[1].value, start - l[0], value)) {
        s = l[0];
        v = l[1].value;
        if (keyAtStart) tree.delete(start);
      }
    }
    if (end < MAX_FRAME) {
      const r = tree.get(end + 1);
      if (r !== undefined && ops.joinable(v, end - s + 1, r.value)) {
        e = r.end;
        tree.delete(end + 1);
      }
    }
    tree.set(s, { end: e, value: v });
    this._frames += end - start + 1;
  }

  /** Remove coverage of [start, end] (inclusive), splitting straddling extents. O(log n + k). */
  delete(start: number, end: number): void {
    checkRange('delete', start, end);
    const p = start === end ? this.find(start) : undefined;
    this.version++;
    if (start < this._uncoveredFrom) this._uncoveredFrom = start;
    if (start === end) {
      // One frame: at most one extent to cut.
      const tree = this.tree;
      if (p === undefined) return;
      const ls = p[0];
      const lrec = p[1];
      if (ls < start) tree.set(ls, { end: start - 1, value: lrec.value });
      else tree.delete(ls);
      if (lrec.end > start) tree.set(start + 1, { end: lrec.end, value: this.ops.shift(lrec.value, start + 1 - ls) });
      this._frames--;
      return;
    }
    this.carve(start, end);
  }

  /** Remove everything. */
  clear(): void {
    this.version++;
    this._uncoveredFrom = 0;
    this.tree.clear();
    this._frames = 0;
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
    return this.overlappingGen(start, end);
  }

  /** All extents, ascending (stored values). Must not be modified while iterating. */
  entries(): Generator<Extent<T>, void, undefined> {
    return this.entriesGen();
  }

  [Symbol.iterator](): Generator<Extent<T>, void, undefined> {
    return this.entriesGen();
  }

  /** Uncovered sub-ranges of [start, end], ascending. Must not be modified while iterating. */
  gaps(start: number, end: number): Generator<{ start: number; end: number }, void, undefined> {
    checkRange('gaps', start, end);
    return this.gapsGen(start, end);
  }

  /** Lowest uncovered frame f with from ≤ f ≤ limit, or undefined if [from, limit] is fully covered. */
  firstGap(from: number, limit: number): number | undefined {
    checkRange('firstGap', from, limit);
    const p = this.tree.getPairOrNextLower(from);
    if (p === undefined || p[1].end < from) return from;
    let cursor = p[1].end + 1;
    if (cursor > limit) return undefined;
    // Adjacent-but-unjoinable extents may continue the coverage: walk them.
    for (const [k, rec] of this.tree.entries(cursor)) {
      if (k !== cursor) break;
      cursor = rec.end + 1;
      if (cursor > limit) return undefined;
    }
    return cursor;
  }

  /** Whether every frame of [start, end] is covered. */
  covered(start: number, end: number): boolean {
    checkRange('covered', start, end);
    return this.firstGap(start, end) === undefined;
  }

  /** Whether some frame of [start, end] is covered. O(log n). */
  anyIn(start: number, end: number): boolean {
    checkRange('anyIn', start, end);
    const p = this.tree.getPairOrNextLower(end);
    return p !== undefined && p[1].end >= start;
  }

  /** Lowest extent (stored value). */
  lowest(): Extent<T> | undefined {
    const p = this.tree.nextHigherPair(undefined);
    return p === undefined ? undefined : { start: p[0], end: p[1].end, value: p[1].value };
  }

  /** Highest extent (stored value). */
  highest(): Extent<T> | undefined {
    const p = this.tree.nextLowerPair(undefined);
    return p === undefined ? undefined : { start: p[0], end: p[1].end, value: p[1].value };
  }

  /**
   * A new map with payload `f(extent)` for each extent (at its start), merged under `ops`.
   * O(n log n).
   */
  map<U>(ops: PayloadOps<U>, f: (e: Extent<T>) => U): ExtentMap<U> {
    const out = new ExtentMap<U>(ops);
    for (const e of this.entriesGen()) out.set(e.start, e.end, f(e));
    return out;
  }

  /** Cheap copy-on-write copy (O(1); nodes are copied lazily as either side is modified). */
  clone(): ExtentMap<T> {
    const c = new ExtentMap<T>(this.ops);
    c.tree = this.tree.clone(); // keeps this tree's maxNodeSize
    c._frames = this._frames;
    c._uncoveredFrom = this._uncoveredFrom;
    return c;
  }

  /** Snapshot of all extents (for tests, debugging and serialisation). */
  toArray(): Extent<T>[] {
    return [...this.entriesGen()];
  }

  /**
   * Verify the invariants (sorted, non-overlapping, non-empty, fully merged, frame count, B-tree
   * structure). O(n). Throws an Error describing the first violation.
   */
  checkInvariants(): void {
    this.tree.checkValid(true);
    let prev: Extent<T> | undefined;
    let total = 0;
    for (const [k, rec] of this.tree.entries()) {
      if (!isFrame(k) || !isFrame(rec.end) || k > rec.end) {
        throw new Error(`ExtentMap invariant: bad extent [${k}, ${rec.end}]`);
      }
      if (prev !== undefined) {
        if (k <= prev.end) throw new Error(`ExtentMap invariant: [${k}, ${rec.end}] overlaps [${prev.start}, ${prev.end}]`);
        if (k === prev.end + 1 && this.ops.joinable(prev.value, prev.end - prev.start + 1, rec.value)) {
          throw new Error(`ExtentMap invariant: [${prev.start}, ${prev.end}] and [${k}, ${rec.end}] not merged`);
        }
      }
      total += rec.end - k + 1;
      prev = { start: k, end: rec.end, value: rec.value };
    }
    if (total !== this._frames) {
      throw new Error(`ExtentMap invariant: frames is ${this._frames}, extents cover ${total}`);
    }
  }

  // ---- internals ----

  /** The stored extent covering `frame` (in the scratch pair: read it at once), or undefined. */
  private find(frame: number): [number, Rec<T>] | undefined {
    const pair = this.pair;
    const hit = this.hitRec;
    if (hit !== undefined && this.hitVersion === this.version && this.hitKey <= frame && hit.end >= frame) {
      pair[0] = this.hitKey;
      pair[1] = hit;
      return pair;
    }
    const p = this.tree.getPairOrNextLower(frame, pair);
    if (p === undefined || p[1].end < frame) return undefined;
    this.hitKey = p[0];
    this.hitRec = p[1];
    this.hitVersion = this.version;
    return p;
  }

  /**
   * Remove all coverage of [start, end]: truncate/split the extents straddling its edges (shifting
   * the right remainders) and delete those inside. Updates the frame count; no merging (removal
   * cannot make two extents adjacent).
   */
  private carve(start: number, end: number): void {
    const tree = this.tree;
    const ops = this.ops;
    const l = tree.getPairOrNextLower(start);
    if (l !== undefined && l[1].end >= start && l[0] < start) {
      const ls = l[0];
      const lrec = l[1];
      tree.set(ls, { end: start - 1, value: lrec.value });
      if (lrec.end > end) {
        // [start, end] is strictly inside one extent.
        tree.set(end + 1, { end: lrec.end, value: ops.shift(lrec.value, end + 1 - ls) });
        this._frames -= end - start + 1;
        return;
      }
      this._frames -= lrec.end - start + 1;
    }
    // Extents starting inside [start, end]; the last one may run past end.
    const r = tree.getPairOrNextLower(end);
    if (r === undefined || r[0] < start) return; // nothing starts inside
    if (r[1].end > end) {
      tree.set(end + 1, { end: r[1].end, value: ops.shift(r[1].value, end + 1 - r[0]) });
    }
    let removed = 0;
    tree.editRange(start, end, true, (k, rec) => {
      removed += (rec.end < end ? rec.end : end) - k + 1;
      return { delete: true };
    });
    this._frames -= removed;
  }

  private *entriesGen(): Generator<Extent<T>, void, undefined> {
    const version = this.version;
    for (const [k, rec] of this.tree.entries()) {
      yield { start: k, end: rec.end, value: rec.value };
      this.checkVersion(version);
    }
  }

  private *overlappingGen(start: number, end: number): Generator<Extent<T>, void, undefined> {
    const version = this.version;
    const ops = this.ops;
    const l = this.tree.getPairOrNextLower(start);
    const from = l !== undefined && l[1].end >= start ? l[0] : start;
    for (const [k, rec] of this.tree.entries(from)) {
      if (k > end) return;
      const s = k < start ? start : k;
      yield { start: s, end: rec.end > end ? end : rec.end, value: s === k ? rec.value : ops.shift(rec.value, s - k) };
      this.checkVersion(version);
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

  private checkVersion(version: number): void {
    if (version !== this.version) throw new Error('ExtentMap modified during iteration');
  }
}
