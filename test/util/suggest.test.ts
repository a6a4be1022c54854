import { describe, expect, it } from 'vitest';
import { closest, editDistance } from '../../src/util/suggest.js';

/** The distance by the textbook recurrence, full table, no cut-off. */
function reference(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push([]);
    for (let j = 0; j <= b.length; j++) {
      if (i === 0 || j === 0) {
        d[i]![j] = i + j;
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** Deterministic pseudo-random strings over a small alphabet (so that near misses are common). */
function* pairs(count: number): Generator<[string, string]> {
  let x = 12345;
  const rnd = (n: number): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
  const word = (): string => Array.from({ length: rnd(9) }, () => 'abcd'[rnd(4)]).join('');
  for (let k = 0; k < count; k++) yield [word(), word()];
}

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and adjacent transpositions', () => {
    expect(editDistance('memory', 'memory')).toBe(0);
    expect(editDistance('memroy', 'memory')).toBe(1);
    expect(editDistance('dom0', 'dom01')).toBe(1);
    expect(editDistance('vm1', 'vm2')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('agrees with the full table on every pair, with and without a cut-off', () => {
    for (const [a, b] of pairs(3000)) {
      const d = reference(a, b);
      expect(editDistance(a, b)).toBe(d);
      for (const max of [0, 1, 2, 3]) {
        const capped = editDistance(a, b, max);
        // Exact up to max; above it, anything above max (the cut-off answers max + 1).
        if (d <= max) expect(capped).toBe(d);
        else expect(capped).toBeGreaterThan(max);
      }
    }
  });
});

describe('closest', () => {
  it('suggests the nearest candidate within a third of the word, case-insensitively', () => {
    expect(closest('memroy', ['memory', 'grant'])).toBe('memory');
    expect(closest('VM01', ['vm01x', 'dom0'])).toBe('vm01x');
    expect(closest('zzzz', ['memory', 'grant'])).toBeUndefined();
    expect(closest('memory', ['memory'])).toBeUndefined();
  });

  it('gives no suggestion for a word over 1,024 characters (its table would cost length²), and does up to it', () => {
    expect(closest('v'.repeat(1023) + 'w', ['v'.repeat(1024)])).toBe('v'.repeat(1024));
    expect(closest('v'.repeat(1024) + 'w', ['v'.repeat(1025)])).toBeUndefined();
  });

  it('answers a repeated question the same way, and a changed candidate list anew', () => {
    const names = ['vm01', 'vm02', 'dom0'];
    expect(closest('vm0l', names)).toBe('vm01');
    expect(closest('vm0l', names)).toBe('vm01');
    expect(closest('vm0l', ['vm02', 'dom0'])).toBe('vm02');
    expect(closest('vm0l', ['dom0'])).toBeUndefined();
    expect(closest('vm0l', names)).toBe('vm01');
  });

  it('does not confuse a word and its candidates when they contain separators', () => {
    expect(closest('a\u0000b', ['c'])).toBeUndefined();
    expect(closest('a', ['b\u0000c'])).toBeUndefined();
    expect(closest('a', ['b'])).toBe('b');
    expect(closest('a\u0000b', ['a\u0000c'])).toBe('a\u0000c');
  });
});

describe('closest on long words', () => {
  it('answers words too long to be remembered all the same', () => {
    const long = 'x'.repeat(300);
    expect(closest(long, ['x'.repeat(299) + 'y'])).toBe('x'.repeat(299) + 'y');
    expect(closest(long, ['y'.repeat(300)])).toBeUndefined();
  });

  it('answers long candidate lists, which are not remembered, all the same', () => {
    const many = Array.from({ length: 2000 }, (_, i) => `vm${i}`);
    expect(closest('vm1999x', many)).toBe('vm1999');
    expect(closest('vm1999x', many.slice(0, 1999))).toBe('vm199');
  });

  it('remembers more candidate lists for a word than it keeps, without mixing them up', () => {
    const lists = [['ab'], ['ac'], ['ad'], ['ae'], ['af'], ['ag']];
    for (let round = 0; round < 2; round++) {
      for (const l of lists) expect(closest('aa', l)).toBe(l[0]);
    }
  });
});
