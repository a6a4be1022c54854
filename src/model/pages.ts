/**
 * Machine frames: ownership, the allocation reference and other page references
 * (Xen's `struct page_info`, `alloc_domheap_pages`, `get_page`, `put_page`).
 *
 * State lives in `Machine.pages` (an ExtentMap of PageInfo, one extent per run of frames with the
 * same owner / allocation / reference count; one-frame reference changes go through its
 * `setPoint`). A frame of host RAM that is in neither `Machine.pages` nor `Machine.rmrr` is free.
 * Every function here is O(log n + k) in the number of extents it touches, whatever the number of
 * frames.
 *
 * Payloads are immutable: every update writes a new PageInfo over the affected frames.
 */
import type { ExtentMap, ExtentTable, PayloadOps } from './extents.js';
import { MAX_FRAME, constantWith } from './extents.js';
import type { DomId, Machine, PageInfo } from './types.js';

/** One piece of a partition of a range by a map: `value` is undefined where the map has nothing. */
export interface Run<T> {
  start: number;
  /** inclusive */
  end: number;
  value: T | undefined;
}

/**
 * Partition [start, end] by `map`: covered pieces (value shifted to the piece's start) and
 * uncovered ones (value undefined), ascending. Returns an array, so the caller may modify the map.
 */
export function segments<T>(map: ExtentTable<T>, start: number, end: number): Run<T>[] {
  const out: Run<T>[] = [];
  let cursor = start;
  for (const e of map.overlapping(start, end)) {
    if (e.start > cursor) out.push({ start: cursor, end: e.start - 1, value: undefined });
    out.push(e);
    cursor = e.end + 1;
  }
  if (cursor <= end) out.push({ start: cursor, end, value: undefined });
  return out;
}

/** A frame number the model can hold: an integer in [0, 2^52). */
export function isFrame(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_FRAME;
}

/** [mfn, mfn + count) as an inclusive range, or undefined when it is empty or not made of frames. */
function span(mfn: number, count: number): { start: number; end: number } | undefined {
  if (!isFrame(mfn) || !Number.isInteger(count) || count < 1 || mfn + count - 1 > MAX_FRAME) return undefined;
  return { start: mfn, end: mfn + count - 1 };
}

/**
 * Payload ops of `Machine.pages`: neighbours merge when their four fields are equal — what
 * shallow equality gives for PageInfo (every PageInfo has exactly these keys: build them with
 * `pageInfo`), without listing keys on the hot path of reference counting.
 */
export const PAGE_OPS: PayloadOps<PageInfo> = constantWith<PageInfo>(
  (a, b) => a === b || (a.owner === b.owner && a.refs === b.refs && a.allocated === b.allocated && a.pinned === b.pinned),
);

/**
 * A PageInfo with its keys always in one order (payloads merge by shallow equality). Payloads are
 * immutable, so the common ones (few references) are shared: reference counting a page then
 * allocates nothing, and its neighbours with the same state compare by identity.
 */
export function pageInfo(owner: DomId, allocated: boolean, refs: number, pinned: boolean): PageInfo {
  if (refs >= SHARED_REFS || refs < 0 || !Number.isInteger(refs)) return { owner, allocated, refs, pinned };
  let row = shared.get(owner);
  if (row === undefined) {
    row = [];
    shared.set(owner, row);
  }
  const i = refs * 4 + (allocated ? 2 : 0) + (pinned ? 1 : 0);
  return (row[i] ??= Object.freeze({ owner, allocated, refs, pinned }) as PageInfo);
}

/** Shared PageInfo objects per owner, indexed by (refs, allocated, pinned), for refs below SHARED_REFS. */
const shared = new Map<DomId, PageInfo[]>();
const SHARED_REFS = 16;

function addTotPages(m: Machine, domid: DomId, delta: number): void {
  const d = m.domains.get(domid);
  if (d) d.totPages += delta;
}

/** Whether `mfn` is a frame of host RAM (`ram:` or an E820 RAM range). */
export function isHostRam(m: Machine, mfn: number): boolean {
  return isFrame(mfn) && m.ram.has(mfn);
}

/** The page_info of a non-free frame, or undefined (free, reserved, or not host RAM). */
export function pageAt(m: Machine, mfn: number): PageInfo | undefined {
  return isFrame(mfn) ? m.pages.lookup(mfn) : undefined;
}

/** The owner of a non-free frame (a domid, or DOMID_XEN), else undefined. */
export function ownerOf(m: Machine, mfn: number): DomId | undefined {
  return pageAt(m, mfn)?.owner;
}

/** Free: host RAM, not an RMRR frame, and not in `Machine.pages`. */
export function isFree(m: Machine, mfn: number): boolean {
  return isHostRam(m, mfn) && !m.rmrr.has(mfn) && !m.pages.has(mfn);
}

/** The free frames of [start, end] (default: all of host RAM), ascending. Must not be modified while iterating. */
export function* freeRanges(m: Machine, start = 0, end = MAX_FRAME): Generator<{ start: number; end: number }> {
  for (const r of m.ram.overlapping(start, end)) {
    for (const g of m.pages.gaps(r.start, r.end)) yield* m.rmrr.gaps(g.start, g.end);
  }
}

/** Number of free frames of host RAM. O(extents). */
export function freeFrameCount(m: Machine): number {
  let n = 0;
  for (const r of freeRanges(m)) n += r.end - r.start + 1;
  return n;
}

/**
 * Give `count` free frames to `domid`, first-fit from the lowest free frame (Xen:
 * `alloc_domheap_pages` + `assign_pages`; the model's allocator is "lowest free frame first",
 * SPEC §3.1). The frames get owner = domid, the allocation reference, no other references; the
 * domain's totPages grows. Returns the ranges given, ascending — fewer frames than asked when the
 * host runs out. Limits (maxPages) are the caller's business.
 */
export function allocFrames(m: Machine, domid: DomId, count: number): { start: number; end: number }[] {
  const got: { start: number; end: number }[] = [];
  if (!Number.isInteger(count) || count < 1) return got;
  let need = count;
  // Search from the free floor (no free frame below it) rather than from frame 0: walking the
  // allocated prefix of RAM is O(extents) per call, which made every populate_physmap of a long
  // trace slower than the one before.
  const from = freeFloor(m);
  if (count === 1) {
    // One frame (populate_physmap of a trace, call after call): no range walk.
    const f = from <= MAX_FRAME ? firstFreeFrame(m, from) : undefined;
    if (f !== undefined) {
      got.push({ start: f, end: f });
      need = 0;
    }
  } else if (from <= MAX_FRAME) {
    for (const f of freeRanges(m, from)) {
      const take = Math.min(need, f.end - f.start + 1);
      got.push({ start: f.start, end: f.start + take - 1 });
      need -= take;
      if (need === 0) break;
    }
  }
  const page = pageInfo(domid, true, 0, false);
  for (const r of got) m.pages.set(r.start, r.end, page);
  addTotPages(m, domid, count - need);
  // First fit: every free frame from `from` up to the last one taken is taken now (and all of
  // them when the host ran out).
  setFreeFloor(m, need === 0 ? got[got.length - 1]!.end + 1 : MAX_FRAME + 1);
  return got;
}

/** The lowest free frame at or above `from` (the first frame `freeRanges(m, from)` gives), if any. */
function firstFreeFrame(m: Machine, from: number): number | undefined {
  let x = from;
  while (x <= MAX_FRAME) {
    const r = m.ram.get(x);
    if (r === undefined) {
      // Not RAM: go on at the next RAM extent above x.
      let next: number | undefined;
      for (const e of m.ram.overlapping(x, MAX_FRAME)) {
        next = e.start;
        break;
      }
      if (next === undefined) return undefined;
      x = next;
      continue;
    }
    const g = m.pages.firstGap(x, r.end);
    if (g === undefined) {
      x = r.end + 1;
      continue;
    }
    const q = m.rmrr.get(g);
    if (q === undefined) return g;
    x = q.end + 1;
  }
  return undefined;
}

/**
 * A frame below which no frame is free, per machine: `{ floor, ram, rmrr }` as of the last
 * allocation (with the frame counts of `ram`/`rmrr` then, which the model only fills while
 * building: a hint taken before they changed is not used).
 * Frames become free only when `pages` loses coverage, which `pages.uncoveredFrom` reports.
 */
const floors = new WeakMap<ExtentMap<PageInfo>, { floor: number; ram: number; rmrr: number }>();

function freeFloor(m: Machine): number {
  const h = floors.get(m.pages);
  if (h === undefined || h.ram !== m.ram.frames || h.rmrr !== m.rmrr.frames) return 0;
  return Math.min(h.floor, m.pages.uncoveredFrom);
}

function setFreeFloor(m: Machine, floor: number): void {
  floors.set(m.pages, { floor, ram: m.ram.frames, rmrr: m.rmrr.frames });
  m.pages.markUncovered();
}

/**
 * Take one reference on each frame of [mfn, mfn + count) (Xen: `get_page`). All or nothing: false,
 * and no change, when any frame is free or not host RAM. The owner is not checked here.
 */
export function getRef(m: Machine, mfn: number, count = 1): boolean {
  if (count === 1) {
    // One frame: one look-up, no range walk.
    if (!isFrame(mfn)) return false;
    const v = m.pages.lookup(mfn);
    if (!v) return false;
    m.pages.setPoint(mfn, pageInfo(v.owner, v.allocated, v.refs + 1, v.pinned));
    return true;
  }
  const r = span(mfn, count);
  if (!r || !m.pages.covered(r.start, r.end)) return false;
  for (const e of segments(m.pages, r.start, r.end)) {
    const v = e.value!;
    m.pages.set(e.start, e.end, pageInfo(v.owner, v.allocated, v.refs + 1, v.pinned));
  }
  return true;
}

/**
 * Write `v` over [start, end], or free the frames when nothing holds them any more. A single frame
 * that stays in use goes through `setPoint`: a reference dropped right after it was taken leaves
 * the extents as they were.
 */
function store(m: Machine, start: number, end: number, v: PageInfo): void {
  if (!v.allocated && v.refs === 0) m.pages.delete(start, end);
  else if (start === end) m.pages.setPoint(start, v);
  else m.pages.set(start, end, v);
}

/**
 * Drop one reference from each frame of [mfn, mfn + count) (Xen: `put_page`); frames whose owner has
 * already given them up (!allocated) and whose last reference this was become free. Frames that
 * are free, or hold no reference, are left alone.
 */
export function putRef(m: Machine, mfn: number, count = 1): void {
  if (count === 1) {
    if (!isFrame(mfn)) return;
    const v = m.pages.lookup(mfn);
    if (v && v.refs !== 0) store(m, mfn, mfn, pageInfo(v.owner, v.allocated, v.refs - 1, v.pinned));
    return;
  }
  const r = span(mfn, count);
  if (!r) return;
  for (const e of [...m.pages.overlapping(r.start, r.end)]) {
    const v = e.value;
    if (v.refs === 0) continue;
    store(m, e.start, e.end, pageInfo(v.owner, v.allocated, v.refs - 1, v.pinned));
  }
}

/**
 * The owner gives the frames up: drop the allocation reference (Xen: `PGC_allocated` cleared by
 * `guest_remove_page` / `relinquish_memory`, then `put_page`). The owner's totPages shrinks; a frame
 * with no other reference becomes free, one still referenced stays allocated-to-nobody but owned
 * (SPEC §4.4: it still belongs to that owner until the last reference goes).
 */
export function releaseAllocation(m: Machine, mfn: number, count = 1): void {
  if (count === 1) {
    if (!isFrame(mfn)) return;
    const v = m.pages.lookup(mfn);
    if (!v || !v.allocated) return;
    addTotPages(m, v.owner, -1);
    store(m, mfn, mfn, pageInfo(v.owner, false, v.refs, v.pinned));
    return;
  }
  const r = span(mfn, count);
  if (!r) return;
  for (const e of [...m.pages.overlapping(r.start, r.end)]) {
    const v = e.value;
    if (!v.allocated) continue;
    addTotPages(m, v.owner, -(e.end - e.start + 1));
    store(m, e.start, e.end, pageInfo(v.owner, false, v.refs, v.pinned));
  }
}

/**
 * xs ABI foreign pin (`_PGC_foreign_map`, taken by `lookup_foreign_page`): at most one per page,
 * counted as a reference. False when the frame is free or already pinned.
 */
export function pinPage(m: Machine, mfn: number): boolean {
  const v = pageAt(m, mfn);
  if (!v || v.pinned) return false;
  m.pages.setPoint(mfn, pageInfo(v.owner, v.allocated, v.refs + 1, true));
  return true;
}

/** Release the foreign pin of a frame (and its reference; the frame may become free). False when not pinned. */
export function unpinPage(m: Machine, mfn: number): boolean {
  const v = pageAt(m, mfn);
  if (!v || !v.pinned) return false;
  store(m, mfn, mfn, pageInfo(v.owner, v.allocated, Math.max(0, v.refs - 1), false));
  return true;
}
