/**
 * FrameTable: a hash table from frame numbers to values, with a flag per entry, for the points an
 * `ExtentMap` holds aside (one-frame writes not yet written into its extents).
 *
 * Why not a `Map`: a trace probes the points of a table several times per call, nearly always for
 * a frame that is not held, and the tables hold up to 65,536 of them. A `Map` entry is a chain of
 * heap words; here a probe is one multiply and, mostly, one read of a `Float64Array` (open
 * addressing, linear probing, at most half full), about a third of the cost. And the flag (a point
 * over a frame no extent covers) lives in the same slot instead of a second `Set`.
 *
 * Keys are frames (integers in [0, 2^52)); -1 marks an empty slot. Deletion shifts the following
 * entries of the probe run back (no tombstones), so a probe stops at the first empty slot.
 * Iteration (`forEach`, `framesIn`) walks the slots: an order that depends on the hashes, not on
 * insertion. The table halves itself when it falls under an eighth full, so a walk costs at most
 * ~16 slots per entry.
 */

const EMPTY = -1;
const MIN_CAPACITY = 16;
const TWO_32 = 4294967296;

export class FrameTable<T> {
  private keys: Float64Array;
  private vals: (T | undefined)[];
  private flags: Uint8Array;
  private mask: number;
  /** 32 - log2(capacity): the hash's top bits index the slots. */
  private shift: number;
  private _size = 0;
  private _flagged = 0;
  /** Where `some` goes on from. */
  private cursor = 0;

  constructor() {
    this.keys = new Float64Array(MIN_CAPACITY).fill(EMPTY);
    this.vals = new Array<T | undefined>(MIN_CAPACITY).fill(undefined);
    this.flags = new Uint8Array(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
    this.shift = 32 - Math.log2(MIN_CAPACITY);
  }

  /** Number of entries. */
  get size(): number {
    return this._size;
  }

  /** Number of flagged entries. */
  get flagged(): number {
    return this._flagged;
  }

  /** Home slot of `frame` (Fibonacci hashing of its low and high 32 bits). */
  private home(frame: number): number {
    const lo = frame < TWO_32 ? frame | 0 : frame % TWO_32 | 0;
    const hi = frame < TWO_32 ? 0 : (frame / TWO_32) | 0;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
  }

  /** Slot holding `frame`, or -1. */
  private slot(frame: number): number {
    const keys = this.keys;
    const mask = this.mask;
    let i = this.home(frame);
    for (;;) {
      const k = keys[i]!;
      if (k === frame) return i;
      if (k === EMPTY) return -1;
      i = (i + 1) & mask;
    }
  }

  get(frame: number): T | undefined {
    const i = this.slot(frame);
    return i < 0 ? undefined : this.vals[i];
  }

  has(frame: number): boolean {
    return this.slot(frame) >= 0;
  }

  /** Whether `frame` is held and flagged. */
  isFlagged(frame: number): boolean {
    const i = this.slot(frame);
    return i >= 0 && this.flags[i] === 1;
  }

  /** Hold `value` at `frame` with `flag`; whether the frame was new to the table. */
  set(frame: number, value: T, flag: boolean): boolean {
    const keys = this.keys;
    const mask = this.mask;
    let i = this.home(frame);
    for (;;) {
      const k = keys[i]!;
      if (k === frame) {
        this.vals[i] = value;
        const f = flag ? 1 : 0;
        this._flagged += f - this.flags[i]!;
        this.flags[i] = f;
        return false;
      }
      if (k === EMPTY) break;
      i = (i + 1) & mask;
    }
    keys[i] = frame;
    this.vals[i] = value;
    this.flags[i] = flag ? 1 : 0;
    if (flag) this._flagged++;
    if (++this._size * 2 > keys.length) this.resize(keys.length * 2);
    return true;
  }

  /** Stop holding `frame`; its value, or undefined when it was not held. */
  delete(frame: number): T | undefined {
    let i = this.slot(frame);
    if (i < 0) return undefined;
    const keys = this.keys;
    const vals = this.vals;
    const flags = this.flags;
    const mask = this.mask;
    const v = vals[i];
    this._size--;
    this._flagged -= flags[i]!;
    // Shift back every later entry of the run that may sit at i (its home is not in (i, j]).
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const k = keys[j]!;
      if (k === EMPTY) break;
      const h = this.home(k);
      const stays = i <= j ? i < h && h <= j : i < h || h <= j;
      if (stays) continue;
      keys[i] = k;
      vals[i] = vals[j];
      flags[i] = flags[j]!;
      i = j;
    }
    keys[i] = EMPTY;
    vals[i] = undefined;
    flags[i] = 0;
    if (keys.length > MIN_CAPACITY && this._size * 8 < keys.length) this.resize(keys.length / 2);
    return v;
  }

  /** Every entry, in slot order (`fn` must not modify the table). */
  forEach(fn: (value: T, frame: number, flagged: boolean) => void): void {
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k !== EMPTY) fn(this.vals[i]!, k, this.flags[i] === 1);
    }
  }

  /** The held frames in [start, end] (only flagged ones with `flaggedOnly`), in slot order. */
  framesIn(start: number, end: number, flaggedOnly: boolean, out: number[]): number[] {
    const keys = this.keys;
    const flags = this.flags;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k !== EMPTY && k >= start && k <= end && (!flaggedOnly || flags[i] === 1)) out.push(k);
    }
    return out;
  }

  /**
   * Up to `n` held frames, in slot order from where the last call stopped (so that calls in turn
   * take every entry before any twice, as far as the table stays the same).
   */
  some(n: number): number[] {
    const out: number[] = [];
    const keys = this.keys;
    const mask = this.mask;
    let i = this.cursor;
    for (let x = 0; x < keys.length && out.length < n; x++, i = (i + 1) & mask) {
      const k = keys[i]!;
      if (k !== EMPTY) out.push(k);
    }
    this.cursor = i;
    return out;
  }

  private resize(capacity: number): void {
    const keys = this.keys;
    const vals = this.vals;
    const flags = this.flags;
    this.keys = new Float64Array(capacity).fill(EMPTY);
    this.vals = new Array<T | undefined>(capacity).fill(undefined);
    this.flags = new Uint8Array(capacity);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
    this.cursor = 0;
    const nk = this.keys;
    const mask = this.mask;
    for (let x = 0; x < keys.length; x++) {
      const k = keys[x]!;
      if (k === EMPTY) continue;
      let i = this.home(k);
      while (nk[i] !== EMPTY) i = (i + 1) & mask;
      nk[i] = k;
      this.vals[i] = vals[x];
      this.flags[i] = flags[x]!;
    }
  }
}
