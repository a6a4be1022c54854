import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/policy/types.js';
import { formatCheck, sortFindings, summarize } from '../../src/report/index.js';
import type { CheckFormat } from '../../src/report/types.js';
import { CHECK_FORMATS } from '../../src/report/types.js';
import { FINDINGS, options, report } from './fixture.js';

const base: Finding = {
  rule: 'a/b', severity: 'error', message: 'm', file: 'f.yaml', line: 1, column: 1, endLine: 1, endColumn: 2,
};

describe('sortFindings', () => {
  it('orders by file, line, column, rule, message', () => {
    const input: Finding[] = [
      { ...base, file: 'b.yaml' },
      { ...base, line: 2, message: 'z' },
      { ...base, line: 2, message: 'a' },
      { ...base, line: 10 },
      { ...base, column: 3, rule: 'b/a' },
      { ...base, column: 3, rule: 'a/z' },
      { ...base, file: 'a.yaml', line: 99 },
    ];
    expect(sortFindings(input).map((f) => `${f.file}:${f.line}:${f.column} ${f.rule} ${f.message}`)).toEqual([
      'a.yaml:99:1 a/b m',
      'b.yaml:1:1 a/b m',
      'f.yaml:1:3 a/z m',
      'f.yaml:1:3 b/a m',
      'f.yaml:2:1 a/b a',
      'f.yaml:2:1 a/b z',
      'f.yaml:10:1 a/b m',
    ]);
  });

  it('compares code units, not locale (uppercase before lowercase, no accent folding)', () => {
    const files = ['b.yaml', 'B.yaml', 'é.yaml', 'e.yaml', 'a.yaml', 'Z.yaml'];
    const sorted = sortFindings(files.map((file) => ({ ...base, file }))).map((f) => f.file);
    expect(sorted).toEqual(['B.yaml', 'Z.yaml', 'a.yaml', 'b.yaml', 'e.yaml', 'é.yaml']);
  });

  it('does not modify its input and is deterministic for any input order', () => {
    const input = [...FINDINGS];
    const once = sortFindings(input);
    expect(input).toEqual(FINDINGS);
    expect(sortFindings([...FINDINGS].reverse())).toEqual(once);
  });
});

describe('summarize', () => {
  it('counts per severity', () => {
    expect(summarize(FINDINGS)).toEqual({ errors: 2, warnings: 1, infos: 1 });
    expect(summarize([])).toEqual({ errors: 0, warnings: 0, infos: 0 });
  });
});

describe('formatCheck', () => {
  it('knows every CheckFormat and rejects others', () => {
    for (const format of CHECK_FORMATS) {
      expect(typeof formatCheck(report(), format, options())).toBe('string');
    }
    expect(() => formatCheck(report(), 'xml' as CheckFormat, options())).toThrow(/unknown format 'xml'/);
  });

  it('never writes ANSI codes in machine formats, even with colour on', () => {
    for (const format of CHECK_FORMATS.filter((f) => f !== 'text')) {
      expect(formatCheck(report(), format, options({ color: true }))).not.toContain('\x1b');
    }
  });
});
