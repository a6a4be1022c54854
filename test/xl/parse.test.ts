import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeXlString, parseXl, readXlNumber, type XlValue } from '../../src/xl/parse.js';

/** A plain view of a value (no spans) for compact assertions. */
function plain(v: XlValue): unknown {
  return v.kind === 'list' ? v.value.map(plain) : v.value;
}

function settings(text: string): Record<string, unknown> {
  const r = parseXl(text);
  return Object.fromEntries(r.settings.map((s) => [s.key, plain(s.value)]));
}

describe('parseXl: values', () => {
  it('reads double- and single-quoted strings with the escapes libxlu knows', () => {
    const r = parseXl(String.raw`a = "q\"x\\y\n\t\r" ; b = 'it\'s "fine"'` + '\n' + String.raw`c = "\a\b\f\v"` + '\n');
    expect(r.errors).toEqual([]);
    expect(plain(r.settings[0]!.value)).toBe('q"x\\y\n\t\r');
    expect(plain(r.settings[1]!.value)).toBe(`it's "fine"`);
    expect(plain(r.settings[2]!.value)).toBe('\x07\b\f\v');
    expect(r.settings[0]!.value.raw).toBe(String.raw`"q\"x\\y\n\t\r"`);
  });

  it('keeps # inside strings and reads comments elsewhere', () => {
    const r = parseXl('# head\nname = "a#b"   # trailing\n  # indented\n');
    expect(r.errors).toEqual([]);
    expect(settings('name = "a#b" # x\n')).toEqual({ name: 'a#b' });
    expect(r.comments.map((c) => c.text)).toEqual(['# head', '# trailing', '# indented']);
    expect(r.comments[1]!.span).toEqual({ line: 2, column: 16, endLine: 2, endColumn: 26 });
  });

  it('reads decimal, 0x hex and leading-0 octal numbers exactly', () => {
    expect(settings('a=1024\nb=0x1f\nc=017\nd=0\ne=0xffffffffffffffffffff\nf=00\n')).toEqual({
      a: 1024n,
      b: 31n,
      c: 15n,
      d: 0n,
      e: 0xffffffffffffffffffffn,
      f: 0n,
    });
    expect(readXlNumber('0777')).toEqual({ value: 511n });
    expect(readXlNumber('9007199254740993')).toEqual({ value: 9007199254740993n });
  });

  it('reports numbers strtol would not read completely', () => {
    for (const [src, col] of [['m = 08', 5], ['m = 0x', 5], ['m = 1e3', 5], ['m = 12abc', 5]] as const) {
      const r = parseXl(src + '\n');
      expect(r.errors, src).toHaveLength(1);
      expect(r.errors[0]!.span.column, src).toBe(col);
      expect(r.errors[0]!.message).toMatch(/malformed number/);
      expect(r.settings).toEqual([]);
    }
  });

  it('reads nested lists, trailing commas, newlines and comments inside lists', () => {
    const text = [
      'x = [ 1, [ 2, "a", [ ] ], ]',
      'y = [',
      '  "one",   # first',
      '',
      '  "two"',
      '  ,',
      '  ]',
      'z = []',
      '',
    ].join('\n');
    const r = parseXl(text);
    expect(r.errors).toEqual([]);
    expect(settings(text)).toEqual({ x: [1n, [2n, 'a', []]], y: ['one', 'two'], z: [] });
    const y = r.settings[1]!.value;
    expect(y.span).toEqual({ line: 2, column: 5, endLine: 7, endColumn: 4 });
    expect(y.kind === 'list' && y.value[1]!.span).toEqual({ line: 5, column: 3, endLine: 5, endColumn: 8 });
  });

  it('separates settings by newlines or semicolons; the last needs no newline', () => {
    expect(settings('a=1;b="x";;c=[1]\n\n;d=2')).toEqual({ a: 1n, b: 'x', c: [1n], d: 2n });
  });

  it('marks KEY+=VALUE as an append', () => {
    const r = parseXl('pci = ["01:00.0"]\npci += ["02:00.0"]\n');
    expect(r.errors).toEqual([]);
    expect(r.settings.map((s) => [s.key, s.append ?? false])).toEqual([
      ['pci', false],
      ['pci', true],
    ]);
  });

  it('gives exact 1-based spans with exclusive end columns', () => {
    const r = parseXl('  memory = 512\nname="vm"\n');
    const m = r.settings[0]!;
    expect(m.keySpan).toEqual({ line: 1, column: 3, endLine: 1, endColumn: 9 });
    expect(m.value.span).toEqual({ line: 1, column: 12, endLine: 1, endColumn: 15 });
    expect(m.span).toEqual({ line: 1, column: 3, endLine: 1, endColumn: 15 });
    expect(r.settings[1]!.value.span).toEqual({ line: 2, column: 6, endLine: 2, endColumn: 10 });
  });

  it('accepts keys with digits, underscores and dots', () => {
    expect(settings('device_model_args_hvm = ["-x"]\nvif2 = []\na.b = 1\n')).toEqual({
      device_model_args_hvm: ['-x'],
      vif2: [],
      'a.b': 1n,
    });
  });
});

describe('parseXl: escapes xl cannot read', () => {
  it('reports \\x and octal escapes (decoding them as C would)', () => {
    const r = parseXl(String.raw`a = "A\x41B\101C"` + '\n');
    expect(r.settings).toHaveLength(1);
    expect(plain(r.settings[0]!.value)).toBe('AABAC');
    expect(r.errors.map((e) => e.span.column)).toEqual([7, 12]);
    expect(r.errors[0]!.message).toMatch(/rejects every \\x escape/);
    expect(r.errors[1]!.message).toMatch(/octal escape/);
  });

  it('reports an unknown escape', () => {
    const r = parseXl(String.raw`a = "x\qy"` + '\n');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.span).toEqual({ line: 1, column: 7, endLine: 1, endColumn: 9 });
  });

  it('maps decoded characters back to source offsets', () => {
    const d = decodeXlString(String.raw`"a\"b\\c"`);
    expect(d.value).toBe('a"b\\c');
    expect(d.offsets).toEqual([1, 2, 4, 5, 7, 8]);
  });
});

describe('parseXl: errors and resynchronisation', () => {
  it('reports an unquoted word and goes on at the next line', () => {
    const r = parseXl('type = hvm\nmemory = 512\n');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.span).toEqual({ line: 1, column: 8, endLine: 1, endColumn: 11 });
    expect(r.errors[0]!.message).toMatch(/write "hvm"/);
    expect(settings('type = hvm\nmemory = 512\n')).toEqual({ memory: 512n });
  });

  it('explains that booleans are numbers', () => {
    const r = parseXl('hap = true\n');
    expect(r.errors[0]!.message).toMatch(/booleans are numbers, write 1/);
  });

  it('skips a whole multi-line list after an error inside it, with one error', () => {
    const text = 'pci = [ "a",\n  foo,\n  "b" ]\nmemory = 1\n';
    const r = parseXl(text);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.span.line).toBe(2);
    expect(settings(text)).toEqual({ memory: 1n });
  });

  it('reports an unclosed list at its [ and parses the next setting', () => {
    const text = 'name = "x"\npci = [ "01:00.0",\n   "02:00.0"\nmemory = 512\n';
    const r = parseXl(text);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.span).toEqual({ line: 2, column: 7, endLine: 2, endColumn: 8 });
    expect(r.errors[0]!.message).toMatch(/not closed.*`memory`/);
    expect(settings(text)).toEqual({ name: 'x', memory: 512n });
  });

  it('reports a list that is still open at the end of the file', () => {
    const r = parseXl('a = [ 1,\n 2\n');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.message).toMatch(/file ends first/);
    expect(r.errors[0]!.span.column).toBe(5);
  });

  it('reports lexical errors at the offending text', () => {
    const r = parseXl('memory = 512MB\nx = -1\nName = "a"\nok = 1\n');
    expect(r.errors.map((e) => [e.span.line, e.span.column, e.span.endColumn])).toEqual([
      [1, 13, 15],
      [2, 5, 7],
      [3, 1, 5],
    ]);
    expect(settings('memory = 512MB\nx = -1\nName = "a"\nok = 1\n')).toEqual({ ok: 1n });
  });

  it('reports an unterminated string', () => {
    const r = parseXl('a = "abc\nb = 1\n');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.span).toEqual({ line: 1, column: 5, endLine: 1, endColumn: 9 });
    expect(settings('a = "abc\nb = 1\n')).toEqual({ b: 1n });
  });

  it('reports two settings on one line, a missing value and a missing =', () => {
    const r = parseXl('a = 1 b = 2\nc =\nd 3\ne = 5\n');
    expect(r.errors.map((e) => [e.span.line, e.span.column])).toEqual([
      [1, 7],
      [2, 3],
      [3, 3],
    ]);
    expect(r.settings.map((s) => s.key)).toEqual(['e']);
  });

  it('rejects an empty list item and semicolons in lists', () => {
    expect(parseXl('a = [ , ]\n').errors[0]!.span.column).toBe(7);
    expect(parseXl('a = [ 1; 2 ]\n').errors[0]!.span.column).toBe(8);
  });

  it('reports a DOS file once and still reads it', () => {
    const r = parseXl('name = "a"\r\nmemory = 1\r\n# c\r\n');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.span).toEqual({ line: 1, column: 11, endLine: 1, endColumn: 12 });
    expect(settings('name = "a"\r\nmemory = 1\r\n')).toEqual({ name: 'a', memory: 1n });
    expect(r.comments[0]!.text).toBe('# c');
  });

  it('reports a comment on a last line without newline', () => {
    const r = parseXl('a = 1\n# end');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.span).toEqual({ line: 2, column: 1, endLine: 2, endColumn: 6 });
    expect(settings('a = 1\n# end')).toEqual({ a: 1n });
  });

  it('never throws and keeps every span inside the text', () => {
    const alphabet = fc.constantFrom(...'ab0x9 \t\n\r#"\'\\[],;=+-_.Ac'.split(''));
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 80 }), (chars) => {
        const text = chars.join('');
        const lines = text.split('\n');
        const r = parseXl(text);
        const inside = (s: { line: number; column: number; endLine: number; endColumn: number }) => {
          expect(s.line).toBeGreaterThanOrEqual(1);
          expect(s.endLine).toBeLessThanOrEqual(lines.length);
          expect(s.column).toBeLessThanOrEqual(lines[s.line - 1]!.length + 1);
          expect(s.endColumn).toBeLessThanOrEqual(lines[s.endLine - 1]!.length + 1);
          expect(s.endLine > s.line || s.endColumn >= s.column).toBe(true);
        };
        for (const e of r.errors) inside(e.span);
        for (const s of r.settings) {
          inside(s.keySpan);
          inside(s.value.span);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
