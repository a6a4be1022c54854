import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  allocFrames,
  freeFrameCount,
  freeRanges,
  getRef,
  isFree,
  isHostRam,
  ownerOf,
  pageAt,
  pinPage,
  putRef,
  releaseAllocation,
  segments,
  unpinPage,
} from '../../src/model/pages.js';
import { ExtentMap, constant, linear } from '../../src/model/extents.js';
import { DOMID_XEN } from '../../src/model/types.js';
import { dom0, guest, machine, pagesOf } from './helpers.js';

/** 1 MiB of RAM (0x100 frames); dom0 0x0-0xf, vm 0x10-0x1f; 0x20-0xff free. */
const small = () => machine({ host: { ram: '1MiB' }, domains: [dom0({ memory: '64KiB' }), guest('vm', 1, { memory: '64KiB' })] });

describe('queries', () => {
  it('isHostRam / pageAt / ownerOf / isFree, including bad frame numbers', () => {
    const m = machine({
      host: { memory_map: [{ mfns: '0x0-0xff', type: 'ram' }, { mfns: '0x100-0x1ff', type: 'reserved' }], xen_mfns: '0x0-0x7' },
      devices: [{ name: 'd', bdf: '00:02.0', rmrr: ['0x80-0x8f'] }],
      domains: [dom0({ memory: '64KiB' })],
    });
    expect([isHostRam(m, 0), isHostRam(m, 0xff), isHostRam(m, 0x100), isHostRam(m, -1), isHostRam(m, 1.5)]).toEqual([true, true, false, false, false]);
    expect(ownerOf(m, 0)).toBe(DOMID_XEN);
    expect(ownerOf(m, 8)).toBe(0);
    expect(pageAt(m, 8)).toEqual({ owner: 0, allocated: true, refs: 0, pinned: false });
    expect(pageAt(m, 0x18)).toBeUndefined();
    expect([isFree(m, 0), isFree(m, 8), isFree(m, 0x18), isFree(m, 0x80), isFree(m, 0x100), isFree(m, NaN)]).toEqual([false, false, true, false, false, false]);
    expect([...freeRanges(m)]).toEqual([
      { start: 0x18, end: 0x7f },
      { start: 0x90, end: 0xff },
    ]);
    expect(freeFrameCount(m)).toBe(0x68 + 0x70);
  });

  it('segments partitions a range by a map', () => {
    const map = new ExtentMap<string>(constant);
    map.set(5, 9, 'a');
    map.set(10, 12, 'b');
    expect(segments(map, 0, 20)).toEqual([
      { start: 0, end: 4, value: undefined },
      { start: 5, end: 9, value: 'a' },
      { start: 10, end: 12, value: 'b' },
      { start: 13, end: 20, value: undefined },
    ]);
    expect(segments(map, 7, 7)).toEqual([{ start: 7, end: 7, value: 'a' }]);
    expect(segments(map, 13, 20)).toEqual([{ start: 13, end: 20, value: undefined }]);
    expect(() => segments(map, 9, 8)).toThrow(RangeError);
    expect(() => segments(map, 6, 7.5)).toThrow(RangeError);
  });

  it('segments equals the partition read frame by frame, inside one extent, one gap or many (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ s: fc.nat({ max: 120 }), len: fc.nat({ max: 12 }), base: fc.nat({ max: 1000 }), del: fc.boolean() }), { maxLength: 25 }),
        fc.nat({ max: 140 }),
        fc.nat({ max: 30 }),
        (edits, start, len) => {
          const map = new ExtentMap<{ base: number }>(linear());
          for (const e of edits) {
            if (e.del) map.delete(e.s, e.s + e.len);
            else map.set(e.s, e.s + e.len, { base: e.base });
          }
          const end = start + len;
          // the reference, frame by frame: a run per stored extent met, and per stretch of no extent
          const want: { start: number; end: number; base: number | undefined; key: number }[] = [];
          for (let f = start; f <= end; f++) {
            const key = map.get(f)?.start ?? -1;
            const last = want[want.length - 1];
            if (last !== undefined && last.key === key) last.end = f;
            else want.push({ start: f, end: f, base: map.lookup(f)?.base, key });
          }
          expect(segments(map, start, end).map((r) => ({ start: r.start, end: r.end, base: r.value?.base }))).toEqual(want.map(({ key: _, ...r }) => r));
        },
      ),
      { numRuns: 500, seed: 3 },
    );
  });
});

describe('allocFrames', () => {
  it('first fit from the lowest free frame, split across holes; may return fewer', () => {
    const m = machine({
      host: {
        memory_map: [
          { mfns: '0x0-0xf', type: 'ram' },
          { mfns: '0x10-0x1f', type: 'reserved' },
          { mfns: '0x20-0x3f', type: 'ram' },
        ],
      },
      domains: [dom0({ memory: '32KiB' })], // 8 frames: 0x0-0x7
    });
    expect(allocFrames(m, 0, 0x10)).toEqual([
      { start: 0x8, end: 0xf },
      { start: 0x20, end: 0x27 },
    ]);
    expect(m.domains.get(0)!.totPages).toBe(0x18);
    expect(allocFrames(m, 0, 0x100)).toEqual([{ start: 0x28, end: 0x3f }]);
    expect(m.domains.get(0)!.totPages).toBe(0x30);
    expect(allocFrames(m, 0, 1)).toEqual([]);
    expect(allocFrames(m, 0, 0)).toEqual([]);
    expect(pagesOf(m)).toEqual([
      [0, 0xf, 0, true, 0],
      [0x20, 0x3f, 0, true, 0],
    ]);
  });
});

describe('allocFrames against freeRanges (first fit, from the free floor)', () => {
  /** RAM in three pieces with a reserved hole and an RMRR; dom0 0x0-0x7. */
  const holey = () =>
    machine({
      host: {
        memory_map: [
          { mfns: '0x0-0xf', type: 'ram' },
          { mfns: '0x10-0x1f', type: 'reserved' },
          { mfns: '0x20-0x3f', type: 'ram' },
          { mfns: '0x40-0x47', type: 'reserved' },
          { mfns: '0x48-0x5f', type: 'ram' },
        ],
      },
      devices: [{ name: 'd', bdf: '00:02.0', rmrr: ['0x28-0x2b', '0x48-0x49'] }],
      domains: [dom0({ memory: '32KiB' })],
    });

  it('takes the first frame freeRanges gives, skipping holes, RMRRs and taken frames', () => {
    const m = holey();
    const firsts: number[] = [];
    for (;;) {
      const want = [...freeRanges(m)][0]?.start;
      const got = allocFrames(m, 0, 1);
      if (want === undefined) {
        expect(got).toEqual([]);
        break;
      }
      expect(got).toEqual([{ start: want, end: want }]);
      firsts.push(want);
    }
    expect(firsts.slice(0, 9)).toEqual([0x8, 0x9, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x20]);
    expect(firsts).not.toContain(0x28); // RMRR
    expect(firsts).not.toContain(0x48); // RMRR at the start of a RAM piece
    expect(firsts.at(-1)).toBe(0x5f);
    expect(freeFrameCount(m)).toBe(0);
  });

  it('agrees with the first free frames freeRanges gives after any sequence of allocations and frees (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('alloc' as const), count: fc.integer({ min: 1, max: 12 }) }),
            fc.record({ kind: fc.constant('free' as const), mfn: fc.integer({ min: 0, max: 0x5f }), count: fc.integer({ min: 1, max: 6 }) }),
            fc.record({ kind: fc.constant('ref' as const), mfn: fc.integer({ min: 0, max: 0x5f }) }),
          ),
          { maxLength: 40 },
        ),
        (steps) => {
          const m = holey();
          for (const st of steps) {
            if (st.kind === 'alloc') {
              // First fit: the first `count` frames freeRanges gives, run by run.
              const want: { start: number; end: number }[] = [];
              let need = st.count;
              for (const r of freeRanges(m)) {
                if (need === 0) break;
                const take = Math.min(need, r.end - r.start + 1);
                want.push({ start: r.start, end: r.start + take - 1 });
                need -= take;
              }
              expect(allocFrames(m, 0, st.count)).toEqual(want);
            } else if (st.kind === 'free') {
              for (let f = st.mfn; f < st.mfn + st.count && f <= 0x5f; f++) if (ownerOf(m, f) === 0) releaseAllocation(m, f);
            } else {
              getRef(m, st.mfn);
            }
          }
        },
      ),
      { numRuns: 300, seed: 5 },
    );
  });
});

describe('reference lifecycle', () => {
  it('alloc → getRef → releaseAllocation keeps it owned → putRef frees → the next alloc reuses the lowest frame', () => {
    const m = small();
    const vm = m.domains.get(1)!;
    expect(vm.totPages).toBe(0x10);
    expect(getRef(m, 0x15)).toBe(true);
    expect(pageAt(m, 0x15)).toEqual({ owner: 1, allocated: true, refs: 1, pinned: false });
    releaseAllocation(m, 0x15);
    expect(vm.totPages).toBe(0xf);
    expect(pageAt(m, 0x15)).toEqual({ owner: 1, allocated: false, refs: 1, pinned: false });
    expect(ownerOf(m, 0x15)).toBe(1); // still vm's: a reference keeps it alive
    expect(isFree(m, 0x15)).toBe(false);
    expect(allocFrames(m, 0, 1)).toEqual([{ start: 0x20, end: 0x20 }]);
    putRef(m, 0x15);
    expect(pageAt(m, 0x15)).toBeUndefined();
    expect(isFree(m, 0x15)).toBe(true);
    expect(allocFrames(m, 0, 1)).toEqual([{ start: 0x15, end: 0x15 }]);
    expect(ownerOf(m, 0x15)).toBe(0);
    expect(m.domains.get(0)!.totPages).toBe(0x12);
  });

  it('releaseAllocation of an unreferenced frame frees it at once; twice is harmless', () => {
    const m = small();
    releaseAllocation(m, 0x10, 4);
    expect(m.domains.get(1)!.totPages).toBe(0xc);
    expect([0x10, 0x13, 0x14].map((f) => isFree(m, f))).toEqual([true, true, false]);
    releaseAllocation(m, 0x10, 4);
    expect(m.domains.get(1)!.totPages).toBe(0xc);
  });

  it('getRef is all or nothing over a range; putRef never goes below zero', () => {
    const m = small();
    expect(getRef(m, 0x1e, 4)).toBe(false); // 0x20, 0x21 are free
    expect(pageAt(m, 0x1e)!.refs).toBe(0);
    expect(getRef(m, 0x0, 0x20)).toBe(true); // across dom0's and vm's frames
    expect(pagesOf(m)).toEqual([
      [0, 0xf, 0, true, 1],
      [0x10, 0x1f, 1, true, 1],
    ]);
    expect(getRef(m, 0x800)).toBe(false);
    expect(getRef(m, -1)).toBe(false);
    expect(getRef(m, 0, 0)).toBe(false);
    putRef(m, 0x0, 0x20);
    putRef(m, 0x0, 0x20);
    expect(pagesOf(m)).toEqual([
      [0, 0xf, 0, true, 0],
      [0x10, 0x1f, 1, true, 0],
    ]);
  });

  it('references on part of an extent split it, and it merges back', () => {
    const m = small();
    getRef(m, 0x14, 2);
    expect(m.pages.size).toBe(4);
    putRef(m, 0x14, 2);
    expect(m.pages.size).toBe(2);
  });

  it('foreign pin: one per page, counted in refs', () => {
    const m = small();
    expect(pinPage(m, 0x12)).toBe(true);
    expect(pinPage(m, 0x12)).toBe(false);
    expect(pageAt(m, 0x12)).toEqual({ owner: 1, allocated: true, refs: 1, pinned: true });
    releaseAllocation(m, 0x12);
    expect(unpinPage(m, 0x12)).toBe(true);
    expect(isFree(m, 0x12)).toBe(true);
    expect(unpinPage(m, 0x12)).toBe(false);
    expect(pinPage(m, 0x12)).toBe(false); // free
  });
});
