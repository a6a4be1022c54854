/**
 * RawLog (src/hypercalls/mm.ts): the frames handed out without a reference, kept as chunks of
 * number columns. It must give back exactly the records a list of objects would have held —
 * runs merged only within one call, in call order — across its chunk boundaries.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RawLog, type RawFrame } from '../../src/hypercalls/mm.js';
import type { Location } from '../../src/policy/types.js';
import type { IommuContext } from '../../src/model/types.js';

const loc = (line: number): Location => ({ file: 't.jsonl', line, column: 1, endLine: line, endColumn: 9 });
const ctxA = { id: 'ctx-a' } as unknown as IommuContext;
const ctxB = { id: 'ctx-b' } as unknown as IommuContext;

/** The reference: one object per run, the last one extended when the frame continues it. */
class ListLog {
  readonly runs: RawFrame[] = [];
  translated(domid: number, gfn: number, mfn: number, owner: number | undefined, at: Location | undefined, index: number | undefined): void {
    const last = this.runs.at(-1);
    if (last && last.kind === 'translate' && last.index === index && last.at === at && last.domid === domid && last.owner === owner && last.gfn! + last.count === gfn && last.mfn + last.count === mfn) {
      last.count++;
      return;
    }
    const r: RawFrame = { kind: 'translate', mfn, count: 1, owner, domid, gfn };
    if (at !== undefined) r.at = at;
    if (index !== undefined) r.index = index;
    this.runs.push(r);
  }
  unreferenced(ctx: IommuContext, bfn: number, mfn: number, owner: number | undefined, at: Location | undefined, index: number | undefined): void {
    const r: RawFrame = { kind: 'no_ref_cnt', mfn, count: 1, owner, ctx, bfn };
    if (at !== undefined) r.at = at;
    if (index !== undefined) r.index = index;
    this.runs.push(r);
  }
}

describe('RawLog', () => {
  it('merges consecutive frames of one call into a run, not across calls, owners or domains', () => {
    const log = new RawLog();
    const a = loc(1);
    const b = loc(2);
    log.translated(1, 0x10, 0x1110, 1, a, 0);
    log.translated(1, 0x11, 0x1111, 1, a, 0); // continues
    log.translated(1, 0x12, 0x1112, 2, a, 0); // another owner
    log.translated(3, 0x13, 0x1113, 2, a, 0); // another domain
    log.translated(3, 0x14, 0x1114, 2, b, 1); // another call
    log.translated(3, 0x16, 0x1116, undefined, b, 1); // a gap, no owner
    log.unreferenced(ctxA, 0x500, 0x1117, 0, b, 1);
    log.translated(3, 0x18, 0x1118, undefined, b, 1); // after a no_ref_cnt run: a new run
    expect(log.length).toBe(7);
    expect([...log].map((r) => [r.kind, r.gfn ?? r.bfn, r.mfn, r.count, r.owner, r.index])).toEqual([
      ['translate', 0x10, 0x1110, 2, 1, 0],
      ['translate', 0x12, 0x1112, 1, 2, 0],
      ['translate', 0x13, 0x1113, 1, 2, 0],
      ['translate', 0x14, 0x1114, 1, 2, 1],
      ['translate', 0x16, 0x1116, 1, undefined, 1],
      ['no_ref_cnt', 0x500, 0x1117, 1, 0, 1],
      ['translate', 0x18, 0x1118, 1, undefined, 1],
    ]);
    expect(log.at(5).ctx).toBe(ctxA);
    expect(log.at(0).at).toBe(a);
    expect(log.at(3).at).toBe(b);
    expect([0, 1, 2, 3, 4, 5, 6].map((r) => log.callOf(r))).toEqual([0, 0, 0, 1, 1, 1, 1]);
  });

  it('keeps frames past 2^32 and runs across its chunks (10,000 scattered frames)', () => {
    const log = new RawLog();
    const ref = new ListLog();
    const at = [loc(1), loc(2), loc(3)];
    for (let k = 0; k < 10_000; k++) {
      const call = Math.floor(k / 4000);
      const mfn = 2 ** 40 + k * 3; // scattered: one run each
      log.translated(9, k * 2, mfn, 4, at[call], call);
      ref.translated(9, k * 2, mfn, 4, at[call], call);
    }
    expect(log.length).toBe(10_000);
    expect([...log]).toEqual(ref.runs);
    expect(log.callOf(3999)).toBe(0);
    expect(log.callOf(4000)).toBe(1);
    expect(log.callOf(9999)).toBe(2);
  });

  it('gives back what a list of records holds, for any sequence of calls (property)', () => {
    const step = fc.record({
      kind: fc.constantFrom('translate', 'no_ref_cnt'),
      call: fc.nat({ max: 3 }),
      domid: fc.constantFrom(1, 2),
      gfn: fc.nat({ max: 40 }),
      mfn: fc.nat({ max: 40 }),
      owner: fc.option(fc.constantFrom(0, 1, 2), { nil: undefined }),
      ctx: fc.constantFrom(ctxA, ctxB),
      noOrigin: fc.boolean(),
      next: fc.boolean(), // the frame after the last step's (a run continues, or is cut)
      freshAt: fc.boolean(), // a place of its own (sub-calls of one call have the call's index, not its place)
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 100, maxLength: 300 }), (steps) => {
        const log = new RawLog();
        const ref = new ListLog();
        const at = [loc(1), loc(2), loc(3), loc(4)];
        let call = 0;
        let gfn = 0;
        let mfn = 0;
        for (const s of steps) {
          gfn = s.next ? gfn + 1 : s.gfn;
          mfn = s.next ? mfn + 1 : s.mfn;
          call += s.call === 0 ? 1 : 0; // calls come in order: a step either stays in the call or starts the next
          // Two calls in a row share a place (the index tells them apart), or a step has its own.
          const where = s.noOrigin ? undefined : s.freshAt ? loc(100 + call) : at[(call >> 1) % 4];
          const index = s.noOrigin ? undefined : call;
          if (s.kind === 'translate') {
            log.translated(s.domid, gfn, mfn, s.owner, where, index);
            ref.translated(s.domid, gfn, mfn, s.owner, where, index);
          } else {
            log.unreferenced(s.ctx, gfn, mfn, s.owner, where, index);
            ref.unreferenced(s.ctx, gfn, mfn, s.owner, where, index);
          }
        }
        expect([...log]).toEqual(ref.runs);
        for (let r = 0; r < log.length; r++) expect(log.callOf(r)).toBe(ref.runs[r]!.index);
      }),
      { numRuns: 200 },
    );
  });
});
