/** yaml/ambiguous-scalar: plain scalars that YAML 1.1 reads differently from YAML 1.2. */
import fc from 'fast-check';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadText } from '../../src/config/load.js';
import { ambiguityMessage, readYaml11 } from '../../src/config/yaml/ambiguous.js';

const HEAD = 'apiVersion: pviommu/v1\nkind: Domain\nname: vm1\n';

function warnings(value: string): string[] {
  const r = loadText('a.yaml', `${HEAD}x: ${value}\n`);
  expect(r.docs).toHaveLength(1);
  return r.findings.map((f) => {
    expect(f).toMatchObject({ rule: 'yaml/ambiguous-scalar', severity: 'warning', line: 4, column: 4 });
    expect(f.endColumn).toBe(4 + value.length);
    return f.message;
  });
}

describe('ambiguous forms warn', () => {
  const booleans = ['y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'No', 'NO', 'on', 'On', 'ON', 'off', 'Off', 'OFF'];
  it.each(booleans)('YAML 1.1 boolean %s', (v) => {
    const [m] = warnings(v);
    const b = /^[yo]|^On|^ON/i.test(v) && !/^of/i.test(v) ? 'true' : 'false';
    expect(m).toBe(`\`${v}\` is the string "${v}" in YAML 1.2 but ${b} in YAML 1.1; quote it ("${v}") or write ${b}`);
  });

  it.each([
    ['010', /the integer 10 in YAML 1\.2 but 8 \(octal\) in YAML 1\.1/],
    ['0755', /the integer 755 in YAML 1\.2 but 493 \(octal\)/],
    ['-010', /the integer -10 in YAML 1\.2 but -8 \(octal\)/],
    ['08', /the integer 8 in YAML 1\.2 but the string "08" in YAML 1\.1/],
    ['0o17', /the integer 15 in YAML 1\.2 but the string "0o17" in YAML 1\.1/],
    ['1:20', /the string "1:20" in YAML 1\.2 but 80 \(base 60\)/],
    ['12:34:56', /the string "12:34:56" in YAML 1\.2 but 45296 \(base 60\)/],
    ['190:20:30.15', /the string "190:20:30.15" in YAML 1\.2 but 685230\.15 \(base 60\)/],
    ['52:54:00:12:34:56', /base 60/],
    ['00:02.0', /the string "00:02.0" in YAML 1\.2 but 2 \(base 60\)/],
    ['0b1010', /the string "0b1010" in YAML 1\.2 but 10 \(binary\) in YAML 1\.1; quote it \("0b1010"\) or write 10/],
    ['1_000', /the string "1_000" in YAML 1\.2 but the integer 1000 in YAML 1\.1/],
    ['+0x10', /the string "\+0x10" in YAML 1\.2 but 16 \(hex\)/],
  ])('%s', (v, re) => {
    const ms = warnings(v);
    expect(ms).toHaveLength(1);
    expect(ms[0]).toMatch(re);
    expect(ms[0]).toContain(`quote it (${JSON.stringify(v)})`);
  });

  it('the leading-zero advice names a form both versions read alike', () => {
    expect(warnings('010')[0]).toContain('write 10 (or 0xa)');
  });

  it('keys too', () => {
    const r = loadText('a.yaml', `${HEAD}on: push\n`);
    expect(r.findings.map((f) => `${f.rule}@${f.line}:${f.column}`)).toEqual(['yaml/ambiguous-scalar@4:1']);
  });

  it('every occurrence, in nested and flow collections', () => {
    const r = loadText('a.yaml', `${HEAD}pci:\n  - { dev: igd, permissive: yes, seize: off }\nlist: [010, "010", 10]\n`);
    expect(r.findings.map((f) => `${f.line}:${f.column}`)).toEqual(['5:29', '5:41', '6:8']);
  });
});

describe('unambiguous values are quiet', () => {
  it.each([
    'true', 'false', 'True', 'FALSE', '0x10', '10', '0', '-5', '1.5', '0.5', '1.0', '.inf', 'null', '~',
    '007', '00', '"yes"', "'no'", '"010"', '"12:34:56"', '"0b1010"', '"0o17"', '!!str yes', '"00:02.0"',
    '4GiB', '0x3e00000', '"0000:00:02.0"', 'igd', 'relaxed', 'none', 'normal', 'onion', 'yesterday',
    'ram_rw', '|\n  yes', '>\n  010',
  ])('%s', (v) => {
    expect(warnings(v)).toEqual([]);
  });
});

describe('readYaml11', () => {
  it('reads YAML 1.1 values', () => {
    expect(readYaml11('0b1010')).toEqual({ type: 'int', value: 10n, base: 'binary' });
    expect(readYaml11('017')).toEqual({ type: 'int', value: 15n, base: 'octal' });
    expect(readYaml11('0x1_F')).toEqual({ type: 'int', value: 31n, base: 'hex' });
    expect(readYaml11('-1:30')).toEqual({ type: 'int', value: -90n, base: 'base 60' });
    expect(readYaml11('1.5')).toEqual({ type: 'float', value: 1.5, base: 'decimal' });
    expect(readYaml11('1e3')).toEqual({ type: 'str' });
    expect(readYaml11('Off')).toEqual({ type: 'bool', value: false });
    expect(readYaml11('0o17')).toEqual({ type: 'str' });
    expect(readYaml11('.5')).toEqual({ type: 'float', value: 0.5, base: 'decimal' });
    expect(readYaml11('+0x1F')).toEqual({ type: 'int', value: 31n, base: 'hex' });
    expect(readYaml11('nope')).toEqual({ type: 'str' });
    expect(readYaml11('-.inf')).toEqual({ type: 'float', value: -Infinity, base: 'decimal' });
    expect(readYaml11('+.Inf')).toEqual({ type: 'float', value: Infinity, base: 'decimal' });
    // both versions read a signed infinity alike: no warning
    expect(ambiguityMessage('-.inf', -Infinity)).toBeNull();
  });

  it('an integer written alike in both versions is quiet; one with a leading zero, a sign or an underscore is read both ways', () => {
    for (const [src, v12] of [['0', 0n], ['4096', 4096n], ['0x1F', 31n], ['0xbeef', 48879n]] as const) {
      expect(ambiguityMessage(src, v12)).toBeNull();
    }
    // the YAML 1.2 reading of these differs from 1.1's, so each must reach the full comparison
    expect(ambiguityMessage('010', 10n)).toMatch(/8 \(octal\) in YAML 1\.1/);
    expect(ambiguityMessage('1_000', '1_000')).toMatch(/the integer 1000 in YAML 1\.1/);
    expect(ambiguityMessage('0x1_0', '0x1_0')).toMatch(/16 \(hex\) in YAML 1\.1/);
    // a string that looks like an integer (a quoted-looking key the 1.2 reader kept as text) is not skipped
    expect(ambiguityMessage('4096', '4096')).toMatch(/the integer 4096 in YAML 1\.1/);
  });

  it('property: an ordinary decimal or hex integer is never ambiguous', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), (n) => {
        for (const src of [n.toString(), n >= 0n ? `0x${n.toString(16)}` : null]) {
          if (src === null) continue;
          const v12 = parseDocument(src, { intAsBigInt: true }).contents as { value: unknown };
          expect(ambiguityMessage(src, v12.value)).toBeNull();
        }
      }),
    );
  });
});
