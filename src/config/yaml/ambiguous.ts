/**
 * `yaml/ambiguous-scalar`: plain scalars that a YAML 1.1 reader (PyYAML, older Ruby and Go
 * parsers) resolves to a different value than our YAML 1.2 core-schema reader does.
 *
 * The YAML 1.1 resolution below follows the 1.1 type repository (bool, int, float) as PyYAML
 * implements it, plus `y`/`n` from the 1.1 spec. We compare the 1.1 reading with the value the
 * 1.2 parser produced and only warn when they differ, so `007` (7 either way) is quiet while
 * `010` (10 vs octal 8) and `08` (8 vs the string "08") are not.
 */

/** What a YAML 1.1 reader makes of a plain scalar. */
export type Yaml11Reading =
  | { type: 'bool'; value: boolean }
  | { type: 'int'; value: bigint; base: 'decimal' | 'octal' | 'hex' | 'binary' | 'base 60' }
  | { type: 'float'; value: number; base: 'decimal' | 'base 60' }
  | { type: 'null' }
  | { type: 'str' };

const BOOL_11 = new Map<string, boolean>([
  ['y', true], ['Y', true], ['yes', true], ['Yes', true], ['YES', true],
  ['n', false], ['N', false], ['no', false], ['No', false], ['NO', false],
  ['on', true], ['On', true], ['ON', true],
  ['off', false], ['Off', false], ['OFF', false],
]);

const INT_BIN = /^([-+]?)0b([01_]+)$/;
const INT_OCT = /^([-+]?)0([0-7_]+)$/;
const INT_DEC = /^[-+]?(?:0|[1-9][0-9_]*)$/;
const INT_HEX = /^([-+]?)0x([0-9a-fA-F_]+)$/;
const INT_SEXA = /^[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+$/;
const FLOAT_DEC = /^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)(?:[eE][-+][0-9]+)?$/;
const FLOAT_SEXA = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$/;
const FLOAT_INF = /^([-+]?)\.(?:inf|Inf|INF)$/;

function signed(sign: string, v: bigint): bigint {
  return sign === '-' ? -v : v;
}

function digitsOnly(s: string): string {
  return s.replace(/_/g, '');
}

/** Base-60 value of `a:b:c` (the last part may carry a fraction). */
function sexagesimal(src: string): number {
  const neg = src.startsWith('-');
  const body = src.replace(/^[-+]/, '');
  let v = 0;
  for (const part of body.split(':')) v = v * 60 + Number(digitsOnly(part));
  return neg ? -v : v;
}

function sexagesimalInt(src: string): bigint {
  const neg = src.startsWith('-');
  const body = src.replace(/^[-+]/, '');
  let v = 0n;
  for (const part of body.split(':')) v = v * 60n + BigInt(digitsOnly(part));
  return neg ? -v : v;
}

/**
 * Cheap pre-filter: could this plain scalar read differently under YAML 1.1 at all?
 * Only strings starting with one of `yYnNoO`, a digit or a sign can.
 */
export function mayBeAmbiguous(src: string): boolean {
  if (src.length === 0 || src.length > 64) return false;
  const c = src.charCodeAt(0);
  return (
    (c >= 48 && c <= 57) || // 0-9
    c === 43 || c === 45 || // + -
    c === 121 || c === 89 || c === 110 || c === 78 || c === 111 || c === 79 // y Y n N o O
  );
}

/** How a YAML 1.1 reader resolves the plain scalar `src`. */
export function readYaml11(src: string): Yaml11Reading {
  const b = BOOL_11.get(src);
  if (b !== undefined) return { type: 'bool', value: b };
  if (src === 'null' || src === 'Null' || src === 'NULL') return { type: 'null' };
  // every 1.1 number starts with a digit, a sign or a dot
  const c = src.charCodeAt(0);
  if (!(c >= 48 && c <= 57) && c !== 43 && c !== 45 && c !== 46) return STR_11;
  let m: RegExpExecArray | null;
  if ((m = INT_BIN.exec(src)) && digitsOnly(m[2]!) !== '') {
    return { type: 'int', value: signed(m[1]!, BigInt('0b' + digitsOnly(m[2]!))), base: 'binary' };
  }
  if ((m = INT_OCT.exec(src))) {
    const d = digitsOnly(m[2]!);
    return { type: 'int', value: signed(m[1]!, d === '' ? 0n : BigInt('0o' + d)), base: 'octal' };
  }
  if (INT_DEC.test(src)) {
    return { type: 'int', value: BigInt(digitsOnly(src)), base: 'decimal' };
  }
  if ((m = INT_HEX.exec(src)) && digitsOnly(m[2]!) !== '') {
    return { type: 'int', value: signed(m[1]!, BigInt('0x' + digitsOnly(m[2]!))), base: 'hex' };
  }
  if (INT_SEXA.test(src)) return { type: 'int', value: sexagesimalInt(src), base: 'base 60' };
  if ((m = FLOAT_INF.exec(src))) return { type: 'float', value: m[1] === '-' ? -Infinity : Infinity, base: 'decimal' };
  if (FLOAT_DEC.test(src)) return { type: 'float', value: Number(digitsOnly(src)), base: 'decimal' };
  if (FLOAT_SEXA.test(src)) return { type: 'float', value: sexagesimal(src), base: 'base 60' };
  return STR_11;
}

const STR_11: Yaml11Reading = Object.freeze({ type: 'str' });

/**
 * Is `src` an integer written the way both YAML versions read alike: decimal without a leading
 * zero or an underscore, or `0x` and hex digits without an underscore? (Most numbers in a config.)
 */
function plainInteger(src: string): boolean {
  const n = src.length;
  let i = 0;
  if (n > 2 && src.charCodeAt(0) === 48 && src.charCodeAt(1) === 120) {
    for (i = 2; i < n; i++) {
      const c = src.charCodeAt(i);
      if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false;
    }
    return true;
  }
  if (n === 0 || (src.charCodeAt(0) === 48 && n > 1)) return false;
  for (; i < n; i++) {
    const c = src.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Do the YAML 1.2 value `v12` and the YAML 1.1 reading agree? */
function sameReading(v12: unknown, r: Yaml11Reading): boolean {
  switch (r.type) {
    case 'bool':
      return v12 === r.value;
    case 'int':
      return typeof v12 === 'bigint' ? v12 === r.value : typeof v12 === 'number' && v12 === Number(r.value);
    case 'float':
      if (typeof v12 === 'number') return v12 === r.value || (Number.isNaN(v12) && Number.isNaN(r.value));
      return typeof v12 === 'bigint' && Number(v12) === r.value;
    case 'null':
      return v12 === null;
    case 'str':
      return typeof v12 === 'string';
  }
}

function describe12(src: string, v12: unknown): string {
  if (typeof v12 === 'string') return `the string ${JSON.stringify(src)}`;
  if (typeof v12 === 'bigint') return `the integer ${v12}`;
  if (typeof v12 === 'number') return `the number ${v12}`;
  if (typeof v12 === 'boolean') return String(v12);
  return 'null';
}

function describe11(src: string, r: Yaml11Reading): string {
  switch (r.type) {
    case 'bool':
      return String(r.value);
    case 'int':
      return r.base === 'decimal' ? `the integer ${r.value}` : `${r.value} (${r.base})`;
    case 'float':
      return r.base === 'decimal' ? `the number ${r.value}` : `${r.value} (${r.base})`;
    case 'null':
      return 'null';
    case 'str':
      return `the string ${JSON.stringify(src)}`;
  }
}

function hex(v: bigint): string {
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

/**
 * The warning message for a plain scalar `src` that YAML 1.2 read as `v12`, or null when a
 * YAML 1.1 reader would read the same value.
 */
export function ambiguityMessage(src: string, v12: unknown): string | null {
  if (!mayBeAmbiguous(src)) return null;
  if ((typeof v12 === 'bigint' || typeof v12 === 'number') && plainInteger(src)) return null;
  const r = readYaml11(src);
  if (sameReading(v12, r)) return null;
  const quoted = JSON.stringify(src);
  let advice: string;
  if (typeof v12 === 'bigint') {
    advice = `write ${v12} (or ${hex(v12)}), which both read the same, or quote it (${quoted}) if it is a string`;
  } else if (typeof v12 === 'string' && r.type === 'bool') {
    advice = `quote it (${quoted}) or write ${r.value}`;
  } else if (typeof v12 === 'string' && r.type === 'int' && r.base !== 'base 60') {
    advice = `quote it (${quoted}) or write ${r.value}`;
  } else {
    advice = `quote it (${quoted})`;
  }
  return `\`${src}\` is ${describe12(src, v12)} in YAML 1.2 but ${describe11(src, r)} in YAML 1.1; ${advice}`;
}
