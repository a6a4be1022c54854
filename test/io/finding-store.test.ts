/**
 * FindingStore: the call findings of a `--format json` trace report, kept compact — in memory,
 * then in a temp file — and read back once, merged with the end-of-run findings in sorted order.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FindingStore, type StoredFinding } from '../../src/commands/finding-store.js';
import { ToolError } from '../../src/errors.js';
import type { Finding } from '../../src/policy/types.js';
import { sortFindings } from '../../src/report/index.js';

function finding(line: number, rule = 'dma/isolation', message = `call on line ${line} — é "q"`, extra: Partial<Finding> = {}): Finding {
  return { rule, severity: 'error', message, file: 't.jsonl', line, column: 1, endLine: line, endColumn: 40, host: 'h', ...extra };
}

/** What the store gives back, each as its JSON text (read at once: a line's bytes are a view the next one reuses). */
function texts(items: Iterable<StoredFinding>): string[] {
  const out: string[] = [];
  for (const f of items) out.push(f instanceof Uint8Array ? Buffer.from(f).toString('utf8') : JSON.stringify(f));
  return out;
}

function freshDir(): string {
  return mkdtempSync(join(tmpdir(), 'pviommu-store-test-'));
}

/** Calls of 0–3 findings each, in line order, their findings in any order among themselves. */
function calls(n: number, message = (line: number) => `m${line}`): Finding[][] {
  const out: Finding[][] = [];
  for (let line = 1; line <= n; line++) {
    const k = line % 4;
    const rules = ['schema/invalid', 'dma/isolation', 'hypercall/raw-mfn-exposed'].slice(0, k).reverse();
    out.push(rules.map((r) => finding(line, r, message(line))));
  }
  return out;
}

describe('FindingStore', () => {
  for (const [name, limit] of [
    ['in memory', 1 << 30],
    ['in a temp file from the first buffer on', 0],
    ['past a small limit', 5000],
  ] as const) {
    it(`${name}: gives back every finding as JSON.stringify writes it, sorted, merged with the end-of-run ones`, () => {
      const dir = freshDir();
      const store = new FindingStore(limit, dir);
      // Long messages, so that the 1 MiB buffers fill several times.
      const all = calls(9000, (line) => `m${line} ${'x'.repeat(line % 700)}`);
      for (const c of all) store.addCall(c);
      const end = [finding(0, 'mapping/dangling'), finding(5, 'mapping/dangling'), finding(4, 'zz/last'), finding(9001, 'mapping/dangling'), finding(7, 'a/first')];
      const want = sortFindings([...all.flat(), ...end]).map((f) => JSON.stringify(f));
      expect(store.count).toBe(all.flat().length);
      // The temp file never shows in the directory (it is unlinked as soon as it is open).
      expect(readdirSync(dir)).toEqual([]);
      expect(texts(store.sorted(end))).toEqual(want);
      store.dispose();
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('gives back no end-of-run finding twice and loses none when there are no call findings', () => {
    const store = new FindingStore(0, freshDir());
    const end = [finding(3), finding(1)];
    expect(texts(store.sorted(end))).toEqual(sortFindings(end).map((f) => JSON.stringify(f)));
    store.dispose();
  });

  it('a finding longer than a buffer, and one the byte writer leaves to JSON.stringify, come back whole', () => {
    const store = new FindingStore(0, freshDir());
    const long = finding(1, 'r', 'y'.repeat(3 << 20));
    const withToJson = { ...finding(2), subject: { kind: 'Scenario', name: 's', toJSON: () => ({ kind: 'Scenario', name: 'renamed' }) } } as unknown as Finding;
    store.addCall([long]);
    store.addCall([withToJson]);
    store.addCall([finding(3)]);
    expect(texts(store.sorted([]))).toEqual([long, withToJson, finding(3)].map((f) => JSON.stringify(f)));
    store.dispose();
  });

  it('findings that do not come in their order are still given back sorted', () => {
    for (const limit of [0, 1 << 30]) {
      const store = new FindingStore(limit, freshDir());
      const out = [finding(5), finding(2), finding(9), finding(1, 'b'), finding(1, 'a')];
      for (const f of out) store.addCall([f]);
      const end = [finding(3, 'mapping/dangling')];
      expect(texts(store.sorted(end))).toEqual(sortFindings([...out, ...end]).map((f) => JSON.stringify(f)));
      store.dispose();
    }
  });

  it('a temp dir it cannot write to is a one-line ToolError naming it', () => {
    const missing = join(freshDir(), 'no', 'such');
    const store = new FindingStore(0, missing);
    let thrown: unknown;
    try {
      for (const c of calls(20000, (line) => `m${line} ${'x'.repeat(100)}`)) store.addCall(c);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ToolError);
    expect((thrown as Error).message).toContain(missing);
    expect((thrown as Error).message).not.toContain('\n');
    store.dispose();
  });
});
