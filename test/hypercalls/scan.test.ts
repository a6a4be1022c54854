/**
 * The fast reader of trace lines (src/hypercalls/scan.ts) against `JSON.parse`: on hand-written
 * lines, generated lines of its subset (with random whitespace), generated JSON of any kind,
 * random strings and bytes, and mutated or cut-short lines, `scanCall` never throws, never reads a
 * byte outside [start, end), and either declines or reads exactly what `JSON.parse` gives (keys in
 * order, -0, nested values; `get` / `has` / `frame` agree with the parsed object and `fastFrame`).
 * It declines whatever `JSON.parse` rejects, non-objects, duplicate and `__proto__` keys at any
 * depth, and — so that the fast path demonstrably takes the plain lines traces are made of — it
 * accepts a generated line exactly when the line is in its subset.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastFrame } from '../../src/hypercalls/args.js';
import { MAX_SCAN_DEPTH, ScannedCall, scanCall, shareStrings } from '../../src/hypercalls/scan.js';

const SEED = 20240601;
const opts = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, seed: SEED, endOnFailure: true });

// ─── the contract ────────────────────────────────────────────────────────────────────────────

/** Readable form of a line (or bytes) in messages. */
const show = (s: string): string => JSON.stringify(s.length > 300 ? s.slice(0, 300) + '…' : s);
const fmt = (v: unknown): string => (Object.is(v, -0) ? '-0' : typeof v === 'string' ? JSON.stringify(v) : String(v));

/**
 * The first difference between two JSON values (undefined when none): numbers by `Object.is`
 * (-0 is not 0), arrays element by element, objects key by key in order (and plain objects).
 */
function diff(got: unknown, want: unknown, at = '$'): string | undefined {
  if (typeof want !== 'object' || want === null || typeof got !== 'object' || got === null) {
    return Object.is(got, want) ? undefined : `${at}: got ${fmt(got)}, want ${fmt(want)}`;
  }
  if (Array.isArray(want) !== Array.isArray(got)) return `${at}: got ${Array.isArray(got) ? 'an array' : 'an object'}`;
  if (Array.isArray(want)) {
    const g = got as unknown[];
    if (g.length !== want.length) return `${at}: length ${g.length}, want ${want.length}`;
    for (let i = 0; i < want.length; i++) {
      const d = diff(g[i], want[i], `${at}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (Object.getPrototypeOf(got) !== Object.prototype) return `${at}: not a plain object`;
  const gk = Object.keys(got);
  const wk = Object.keys(want);
  if (gk.join('\u0000') !== wk.join('\u0000')) return `${at}: keys ${JSON.stringify(gk)}, want ${JSON.stringify(wk)}`;
  for (const k of wk) {
    const d = diff((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k], `${at}.${k}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

/**
 * Whether a text `JSON.parse` accepts has a duplicate key or a `__proto__` key in some object
 * (JSON.parse itself keeps the last of duplicates and makes `__proto__` an own key).
 */
function badKeys(text: string): boolean {
  const stack: (Set<string> | null)[] = []; // one entry per open container: its keys, or null (array)
  let wantKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (wantKey && top) {
        const k = JSON.parse(text.slice(i, j + 1)) as string;
        if (k === '__proto__' || top.has(k)) return true;
        top.add(k);
      }
      wantKey = false;
      i = j;
    } else if (c === '{') {
      stack.push(new Set());
      wantKey = true;
    } else if (c === '[') {
      stack.push(null);
      wantKey = false;
    } else if (c === '}' || c === ']') {
      stack.pop();
      wantKey = false;
    } else if (c === ',') wantKey = !!stack[stack.length - 1];
    else if (c === ':') wantKey = false;
  }
  return false;
}

type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };

/**
 * `buf` behind a proxy that records every byte index read outside [start, end) (and every slice
 * reaching outside it): what "never reads outside the line" means, checked on every input.
 */
function guarded(buf: Buffer, start: number, end: number, bad: string[]): Buffer {
  return new Proxy(buf, {
    get(target, prop) {
      if (typeof prop === 'string') {
        const c = prop.charCodeAt(0);
        if ((c >= 48 && c <= 57) || c === 45) {
          const i = Number(prop);
          if (!(i >= start && i < end)) bad.push(`read of byte ${prop} outside [${start}, ${end})`);
          return target[i];
        }
        if (prop === 'latin1Slice') {
          return (s: number, e: number) => {
            if (!(s >= start && e <= end && s <= e)) bad.push(`latin1Slice(${s}, ${e}) outside [${start}, ${end})`);
            return (target as Latin1).latin1Slice(s, e);
          };
        }
        if (prop === 'toString') {
          return (enc?: BufferEncoding, s = 0, e = target.length) => {
            if (!(s >= start && e <= end && s <= e)) bad.push(`toString(${enc}, ${s}, ${e}) outside [${start}, ${end})`);
            return target.toString(enc, s, e);
          };
        }
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Buffer;
}

const FAIL = Symbol('JSON.parse threw');
function reference(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return FAIL;
  }
}

/** One ScannedCall shared by all the property runs: reuse across lines of any shape is part of what is tested. */
const shared = new ScannedCall();

/** A key no line has. */
const ABSENT = '\u0000absent';

/** `sc` (just filled from a line) against `ref` = JSON.parse(line), read in the order a runner would. */
function checkRead(sc: ScannedCall, ref: Record<string, unknown>, what: string): void {
  const keys = Object.keys(ref);
  if (sc.n !== keys.length) throw new Error(`${what}: n = ${sc.n}, JSON.parse has ${keys.length} keys`);
  // frameList before anything is made: -1 (ask get), or each entry as fastFrame reads it.
  for (const k of keys) checkFrameList(sc, ref[k], k, what);
  // frame before anything is made: never -1 for a digit-led string that fastFrame reads.
  for (const k of keys) {
    const v = ref[k];
    const f = sc.frame(k);
    const ff = fastFrame(v);
    if (f !== -1 && f !== ff) throw new Error(`${what}: frame(${k}) = ${f}, fastFrame gives ${ff}`);
    if (typeof v === 'string' && /^[0-9]/.test(v) && ff !== undefined && f !== ff) {
      throw new Error(`${what}: frame(${k}) = ${f} for ${JSON.stringify(v)}, fastFrame gives ${ff}`);
    }
  }
  for (const k of keys) {
    const v = ref[k];
    const h = sc.has(k);
    if (h !== (v !== undefined && v !== null)) throw new Error(`${what}: has(${k}) = ${h} for ${fmt(v)}`);
  }
  for (const k of keys) {
    const d = diff(sc.get(k), ref[k], k);
    if (d !== undefined) throw new Error(`${what}: get: ${d}`);
    // Once made, frame may say -1 (ask get) but never a wrong frame.
    const f = sc.frame(k);
    if (f !== -1 && f !== fastFrame(ref[k])) throw new Error(`${what}: frame(${k}) after get = ${f}`);
  }
  for (const k of keys) checkFrameList(sc, ref[k], k, `${what} (after get)`);
  if (sc.get(ABSENT) !== undefined || sc.has(ABSENT) || sc.frame(ABSENT) !== -1 || sc.frameList(ABSENT, []) !== -1) {
    throw new Error(`${what}: an absent key is found`);
  }
  for (const k of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
    if (!Object.prototype.hasOwnProperty.call(ref, k) && (sc.get(k) !== undefined || sc.has(k) || sc.frame(k) !== -1)) {
      throw new Error(`${what}: absent key ${k} is found`);
    }
  }
  const d = diff(sc.toObject(), ref);
  if (d !== undefined) throw new Error(`${what}: toObject: ${d}`);
  const d2 = diff(sc.toObject(), ref);
  if (d2 !== undefined) throw new Error(`${what}: second toObject: ${d2}`);
}

/** `sc.frameList(k)` against `v` = JSON.parse(line)[k]: -1, or v's entries as `fastFrame` reads them (-1 for undefined). */
function checkFrameList(sc: ScannedCall, v: unknown, k: string, what: string): number {
  const got: number[] = [7, 7, 7];
  const n = sc.frameList(k, got);
  if (n === -1) return n;
  if (!Array.isArray(v) || v.length !== n) throw new Error(`${what}: frameList(${k}) = ${n} entries for ${JSON.stringify(v)}`);
  for (let j = 0; j < n; j++) {
    const want = fastFrame(v[j]) ?? -1;
    if (got[j] !== want) throw new Error(`${what}: frameList(${k})[${j}] = ${got[j]} for ${fmt(v[j])}, fastFrame gives ${want}`);
  }
  return n;
}

/**
 * Scan bytes [start, end) of `buf` and check the contract; returns whether the line was taken.
 * `want`: the acceptance the caller expects (undefined: either is fine).
 */
function checkBytes(buf: Buffer, start: number, end: number, want?: boolean, sc: ScannedCall = shared): boolean {
  const text = buf.toString('utf8', start, end);
  const what = `line ${show(text)}`;
  const bad: string[] = [];
  const gb = guarded(buf, start, end, bad);
  let ok: boolean;
  try {
    ok = scanCall(gb, start, end, sc);
  } catch (e) {
    throw new Error(`${what}: scanCall threw ${String(e)}`);
  }
  if (bad.length) throw new Error(`${what}: ${bad[0]}`);
  if (ok) {
    const ref = reference(text);
    if (ref === FAIL) throw new Error(`${what}: taken, but JSON.parse rejects it`);
    if (typeof ref !== 'object' || ref === null || Array.isArray(ref)) throw new Error(`${what}: taken, but it is not an object`);
    if (badKeys(text)) throw new Error(`${what}: taken, but it has a duplicate or __proto__ key`);
    checkRead(sc, ref as Record<string, unknown>, what);
    if (bad.length) throw new Error(`${what}: ${bad[0]}`);
  }
  if (want !== undefined && ok !== want) throw new Error(`${what}: ${ok ? 'taken' : 'declined'}, want ${want ? 'taken' : 'declined'}`);
  return ok;
}

/** A line alone in its buffer, surrounded by `pre` / `post` bytes. */
function check(line: string, want?: boolean, pre: string | Uint8Array = '', post: string | Uint8Array = '', sc?: ScannedCall): boolean {
  const p = typeof pre === 'string' ? Buffer.from(pre, 'utf8') : Buffer.from(pre);
  const l = Buffer.from(line, 'utf8');
  const q = typeof post === 'string' ? Buffer.from(post, 'utf8') : Buffer.from(post);
  return checkBytes(Buffer.concat([p, l, q]), p.length, p.length + l.length, want, sc);
}

/** `check` for vitest: the failure message is the contract's. */
function expectLine(line: string, want?: boolean, pre?: string | Uint8Array, post?: string | Uint8Array, sc?: ScannedCall): void {
  expect(() => check(line, want, pre, post, sc)).not.toThrow();
}

// ─── hand-written lines ──────────────────────────────────────────────────────────────────────

/** The plain lines traces are made of: all of them must be taken. */
const PLAIN: readonly string[] = [
  '{"op":"iommu.map_page","bfn":"0x5000dcc","gfn":"0x2a975","flags":["read","write"]}',
  '{"op":"device.dma","device":"igd","bfn_of":2,"access":"write","target":{"domain":"vm02","gfn":"0x74b3"}}',
  '{"op":"x","expect":{"status":0}}',
  '{"op":"iommu.unmap_page","bfn":"20480","expect":{"status":-22,"errno":"EINVAL"}}',
  '{"op":"memory.populate","domain":"vm01","gfns":["0x100-0x1ff","0x300"],"order":0,"count":256}',
  '{"op":"xs.batch","ops":[{"op":"map","bfn":"0x1","gfn":"0x2"},{"op":"unmap","bfn":"0x1"}]}',
  '{ "op" : "iommu.map_page" , "bfn" : "0x10" , "gfn" : "0x20" , "flags" : [ "read" ] }',
  '\t{\t"op":\t"x",\t"a":\t[ 1 ,\t2 ]\t}\t',
  '  {"op":"x"}  ',
  '{"op":"x"}\r',
  '{"op":"x",\n"a":\r\n1}',
  '{"a":true,"b":false,"c":null,"d":[true,false,null]}',
  '{"a":-1,"b":-2147483648,"c":0,"d":-0,"e":[-0,-5],"f":{"g":-0}}',
  '{"a":999999999999999,"b":-999999999999999,"c":123456789012345}',
  '{}',
  '{ }',
  '{"a":{},"b":[],"c":[{}],"d":{"e":[]},"f":[[],[[]]]}',
  '{"":"","k":""," ":" "}',
  '{"b":1,"2":"two","1":"one","a":[]}',
  '{"constructor":1,"toString":"x","hasOwnProperty":null,"valueOf":{},"__proto":1,"proto__":2}',
  '{"a":"0x","b":"0","c":"0x0","d":"0XaBcDeF","e":"12ab","f":"0x1g","g":"007","h":"1-2"}',
  '{"a":"0xfffffffffffff","b":"0x10000000000000","c":"4503599627370495","d":"4503599627370496","e":"999999999999999"}',
  '{"a":"0x000000000000001","b":"0x0000000000000001","c":"0000000000000001"}',
  '{"s":" !#$%&\'()*+,-./09:;<=>?@AZ[]^_`az{|}~"}',
  '{"a":"}","b":"{","c":"]","d":",","e":":","f":"[1,2]"}',
];

/** Lines the fast reader must decline (JSON.parse may or may not take them). */
const DECLINED: readonly [string, string][] = [
  ['escape in a value', '{"a":"a\\n"}'],
  ['escaped quote', '{"a":"say \\"hi\\""}'],
  ['unicode escape', '{"a":"\\u0041"}'],
  ['escape in a key', '{"a\\tb":1}'],
  ['escape in a nested string', '{"a":["x\\\\y"]}'],
  ['escape in a frame-like string', '{"bfn":"0x1\\u0030"}'],
  ['non-ASCII value', '{"a":"é"}'],
  ['non-ASCII key', '{"é":1}'],
  ['non-ASCII nested', '{"a":{"b":"日本"}}'],
  ['emoji', '{"a":"😀"}'],
  ['DEL in a string', '{"a":"\u007f"}'],
  ['raw tab in a string', '{"a":"\t"}'],
  ['raw newline in a string', '{"a":"x\ny"}'],
  ['NUL in a string', '{"a":"\u0000"}'],
  ['fraction', '{"a":1.5}'],
  ['negative fraction', '{"a":-1.5}'],
  ['zero fraction', '{"a":1.0}'],
  ['exponent', '{"a":1e3}'],
  ['capital exponent', '{"a":1E3}'],
  ['signed exponent', '{"a":1e+3}'],
  ['negative exponent', '{"a":2e-1}'],
  ['nested fraction', '{"a":[1,2.5]}'],
  ['leading zero', '{"a":01}'],
  ['negative leading zero', '{"a":-01}'],
  ['double zero', '{"a":00}'],
  ['16 digits', '{"a":1234567890123456}'],
  ['16 digits, negative', '{"a":-1000000000000000}'],
  ['max safe integer', '{"a":9007199254740991}'],
  ['beyond safe', '{"a":9007199254740993}'],
  ['20 digits nested', '{"a":{"b":[12345678901234567890]}}'],
  ['trailing garbage', '{"a":1}x'],
  ['second object', '{"a":1}{"b":2}'],
  ['second object after space', '{"a":1} {"b":2}'],
  ['extra brace', '{"a":1}}'],
  ['extra bracket', '{"a":1}]'],
  ['trailing comma', '{"a":1,}'],
  ['trailing comma in an array', '{"a":[1,]}'],
  ['trailing comma in a nested object', '{"a":{"b":1,}}'],
  ['lone comma', '{,}'],
  ['leading comma', '{,"a":1}'],
  ['comma in an empty array', '{"a":[,]}'],
  ['double comma', '{"a":[1,,2]}'],
  ['missing comma', '{"a":1 "b":2}'],
  ['missing comma in an array', '{"a":[1 2]}'],
  ['missing colon', '{"a" 1}'],
  ['double colon', '{"a"::1}'],
  ['missing value', '{"a":}'],
  ['missing value before comma', '{"a":,"b":1}'],
  ['unquoted key', '{a:1}'],
  ['single quotes', "{'a':1}"],
  ['number key', '{1:1}'],
  ['unterminated string', '{"a":"x}'],
  ['unterminated key', '{"a'],
  ['unclosed object', '{"a":1'],
  ['unclosed nested object', '{"a":{"b":1}'],
  ['unclosed array', '{"a":[1,2}'],
  ['mismatched brackets', '{"a":[1}]'],
  ['bare minus', '{"a":-}'],
  ['double minus', '{"a":--1}'],
  ['plus sign', '{"a":+1}'],
  ['leading dot', '{"a":.5}'],
  ['trailing dot', '{"a":1.}'],
  ['hex number', '{"a":0x10}'],
  ['NaN', '{"a":NaN}'],
  ['Infinity', '{"a":Infinity}'],
  ['negative Infinity', '{"a":-Infinity}'],
  ['truncated true', '{"a":tru}'],
  ['truncated false', '{"a":fals}'],
  ['truncated null', '{"a":nul}'],
  ['capital True', '{"a":True}'],
  ['word after true', '{"a":truex}'],
  ['word after null', '{"a":nullx}'],
  ['true glued to a number', '{"a":[true1]}'],
  ['undefined', '{"a":undefined}'],
  ['comment', '{"a":1 /* c */}'],
  ['line comment', '{"a":1} // c'],
  ['BOM', '\ufeff{"a":1}'],
  ['NBSP as whitespace', '{\u00a0"a":1}'],
  ['form feed as whitespace', '{\f"a":1}'],
  ['vertical tab as whitespace', '{"a":\u000b1}'],
  ['NUL after the object', '{"a":1}\u0000'],
  ['duplicate key', '{"a":1,"a":2}'],
  ['duplicate key, same value', '{"op":"x","op":"x"}'],
  ['duplicate key far apart', '{"a":1,"b":2,"c":3,"d":4,"a":5}'],
  ['duplicate nested key', '{"t":{"gfn":"0x1","gfn":"0x2"}}'],
  ['duplicate key in an object in an array', '{"ops":[{"op":"map"},{"op":"a","op":"b"}]}'],
  ['duplicate key deep', '{"a":{"b":{"c":{"d":1,"d":1}}}}'],
  ['__proto__ key', '{"__proto__":{"polluted":1}}'],
  ['__proto__ key after others', '{"op":"x","__proto__":1}'],
  ['__proto__ nested', '{"target":{"__proto__":{"x":1}}}'],
  ['__proto__ in an array', '{"ops":[{"__proto__":null}]}'],
  ['__proto__ deep', '{"a":[[{"b":{"__proto__":[]}}]]}'],
  ['array', '[1,2]'],
  ['empty array', '[]'],
  ['array of objects', '[{"a":1}]'],
  ['string', '"op"'],
  ['number', '1'],
  ['true', 'true'],
  ['null', 'null'],
  ['empty', ''],
  ['blank', '   '],
  ['lone brace', '{'],
  ['close brace', '}'],
];

describe('scanCall: hand-written lines', () => {
  it('takes the plain lines traces are made of and reads them as JSON.parse does', () => {
    for (const line of PLAIN) expectLine(line, true);
  });

  it('takes them with a fresh ScannedCall as well as the shared one', () => {
    for (const line of PLAIN) expectLine(line, true, '', '', new ScannedCall());
  });

  it.each(DECLINED)('declines: %s', (_why, line) => {
    expectLine(line, false);
    // and the same surrounded by bytes that would complete or repair it
    expectLine(line, false, '{"z":', '}');
    expectLine(line, false, ' ', ' \n');
  });

  it('reads -0 as -0 (also nested) and 0 as 0', () => {
    const sc = new ScannedCall();
    const line = '{"a":-0,"b":0,"c":[-0,0],"d":{"e":-0}}';
    expect(scanCall(Buffer.from(line), 0, line.length, sc)).toBe(true);
    expect(Object.is(sc.get('a'), -0)).toBe(true);
    expect(Object.is(sc.get('b'), 0)).toBe(true);
    const o = sc.toObject() as { a: number; b: number; c: number[]; d: { e: number } };
    expect(Object.is(o.a, -0)).toBe(true);
    expect(Object.is(o.c[0], -0)).toBe(true);
    expect(Object.is(o.c[1], 0)).toBe(true);
    expect(Object.is(o.d.e, -0)).toBe(true);
    expect(o).toStrictEqual(JSON.parse(line));
  });

  it('reads frame numbers from the bytes as fastFrame does', () => {
    const sc = new ScannedCall();
    const line =
      '{"bfn":"0x5000dcc","gfn":"174453","up":"0X1F","max":"0xfffffffffffff","over":"0x10000000000000",' +
      '"dec15":"999999999999999","dec16":"4503599627370495","bad":"12ab","x":"0x","num":5,"str":"abc","nul":null,"z":"0"}';
    expect(scanCall(Buffer.from(line), 0, line.length, sc)).toBe(true);
    expect(sc.frame('bfn')).toBe(0x5000dcc);
    expect(sc.frame('gfn')).toBe(174453);
    expect(sc.frame('up')).toBe(0x1f);
    expect(sc.frame('max')).toBe(2 ** 52 - 1);
    expect(sc.frame('over')).toBe(-1); // 16 characters: fastFrame gives undefined
    expect(fastFrame('0x10000000000000')).toBeUndefined();
    expect(sc.frame('dec15')).toBe(999999999999999);
    expect(sc.frame('dec16')).toBe(-1);
    expect(sc.frame('bad')).toBe(-1);
    expect(sc.frame('x')).toBe(-1);
    expect(sc.frame('z')).toBe(0);
    expect([-1, 5]).toContain(sc.frame('num'));
    expect(sc.frame('str')).toBe(-1);
    expect(sc.frame('nul')).toBe(-1);
    expect(sc.frame('absent')).toBe(-1);
    expect(sc.has('nul')).toBe(false);
    expect(sc.has('bfn')).toBe(true);
    expect(sc.has('absent')).toBe(false);
    expect(sc.get('bfn')).toBe('0x5000dcc');
    expect(sc.get('over')).toBe('0x10000000000000');
    expect(() => check(line, true)).not.toThrow();
  });

  it('reads a list of frames (digit-led strings, integers) from the bytes, and makes the array only when asked', () => {
    const sc = new ScannedCall();
    const line =
      '{"gfns":["0x100", "4096",12, "0x1-0x4","0xfffffffffffff","0x10000000000000",0],"one":["7"],"nums":[ 1 ,2 ],' +
      '"flags":["read","write"],"mixed":["0x1",true],"neg":[-1],"empty":[],"nested":[["1"]]}';
    expect(check(line, true)).toBe(true);
    expect(scanCall(Buffer.from(line), 0, line.length, sc)).toBe(true);
    const got: number[] = [];
    expect(sc.frameList('gfns', got)).toBe(7);
    expect(got.slice(0, 7)).toEqual([0x100, 4096, 12, -1, 2 ** 52 - 1, -1, 0]);
    expect(sc.frameList('one', got)).toBe(1);
    expect(got[0]).toBe(7);
    expect(sc.frameList('nums', got)).toBe(2);
    // Lists of anything else are read as before, as JSON.parse does.
    for (const k of ['flags', 'mixed', 'neg', 'empty', 'nested', 'absent']) expect([k, sc.frameList(k, got)]).toEqual([k, -1]);
    // Asked for, the list is the array JSON.parse gives; frameList then says -1 (ask get).
    expect(sc.get('gfns')).toEqual(['0x100', '4096', 12, '0x1-0x4', '0xfffffffffffff', '0x10000000000000', 0]);
    expect(sc.frameList('gfns', got)).toBe(-1);
    expect(sc.toObject()).toStrictEqual(JSON.parse(line));
    // What JSON.parse rejects inside such a list is still declined, and so is what the reader
    // leaves to it (a fraction, an exponent, an escape).
    for (const bad of ['[01]', '[1,]', '[1 2]', '["1" "2"]', '[1', '[,1]', '[1.5]', '[1e3]', '["1\\u0041"]']) expectLine(`{"gfns":${bad}}`, false);
  });

  it('takes nesting up to MAX_SCAN_DEPTH levels (the line itself is one) and declines deeper', () => {
    const arrays = (d: number) => '{"a":' + '['.repeat(d - 1) + ']'.repeat(d - 1) + '}';
    const objects = (d: number) => '{"a":' + '{"b":'.repeat(d - 2) + '{}' + '}'.repeat(d - 2) + '}';
    const mixed = (d: number) => {
      let s = '1';
      for (let i = 1; i < d; i++) s = i % 2 ? `[${s}]` : `{"k":${s}}`;
      return `{"a":${s}}`;
    };
    const leafy = (d: number) => '{"a":' + '[0,'.repeat(d - 1) + '"0x1"' + ']'.repeat(d - 1) + '}';
    for (const make of [arrays, objects, mixed, leafy]) {
      for (let d = 2; d <= MAX_SCAN_DEPTH; d++) expectLine(make(d), true);
      for (let d = MAX_SCAN_DEPTH + 1; d <= MAX_SCAN_DEPTH + 4; d++) expectLine(make(d), false);
    }
    // Very deep lines: declined without exhausting the stack.
    expectLine('{"a":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}', false);
    expectLine('{"a":' + '{"b":'.repeat(50_000) + '1' + '}'.repeat(50_000) + '}', false);
    expectLine('{"a":' + '['.repeat(100_000), false);
  });

  it('never reads the bytes around the line (garbage that would complete or change it)', () => {
    const around = ['}', ',"x":2}', '"', '0', '1', '5}', 'e5', '.5', ']', ']}', 'ue', 'ue}', 'll}', '"}', ':1}', ' ', '\\', '{', '\u0000', 'é'];
    for (const line of PLAIN) {
      for (const post of around) {
        for (const pre of ['', '{', '"', '[', ' ', ',', 'x']) expectLine(line, true, pre, post);
      }
    }
    for (const [, line] of DECLINED) for (const post of around) expectLine(line, false, '', post);
  });

  it('declines every line cut short, and every line started late, without reading past the cut', () => {
    const lines = [...PLAIN, '{"a":true}', '{"a":false}', '{"a":null}', '{"a":-12}', '{"a":"0x1f"}', '{"a":[1,2,{"b":"c"}]}'];
    for (const line of lines) {
      const buf = Buffer.from(line);
      const core = line.trimEnd().length;
      for (let e = 0; e < buf.length; e++) checkBytes(buf, 0, e, e < core ? false : undefined);
      for (let s = 1; s <= buf.length; s++) checkBytes(buf, s, buf.length);
      // the whole line inside a longer buffer: the same line, twice, back to back
      const two = Buffer.from(line + line);
      checkBytes(two, 0, buf.length, true);
      checkBytes(two, buf.length, two.length, true);
    }
  });

  it('reuses one ScannedCall across lines of different key counts', () => {
    const sc = new ScannedCall();
    const long =
      '{"op":"iommu.map_page","bfn":"0x5000dcc","gfn":"0x2a975","flags":["read","write"],"a":1,"b":"0x7","c":{"d":2},"e":"999"}';
    const short = '{"op":"x","bfn":3}';
    const long2 = '{"z":"0x1","y":"0x2","x":"0x3","w":"0x4","v":"0x5","u":"0x6","t":"0x7","s":"0x8","r":"0x9"}';
    expectLine(long, true, '', '', sc);
    expect(sc.n).toBe(8);
    expectLine(short, true, '', '', sc);
    expect(sc.n).toBe(2);
    expect(sc.toObject()).toStrictEqual({ op: 'x', bfn: 3 });
    // keys of the long line only: gone
    for (const k of ['gfn', 'flags', 'a', 'b', 'c', 'e']) {
      expect(sc.get(k)).toBeUndefined();
      expect(sc.has(k)).toBe(false);
      expect(sc.frame(k)).toBe(-1);
    }
    // `bfn` was a pending frame string at index 1, now a number at index 1
    expect(sc.get('bfn')).toBe(3);
    expect([-1, 3]).toContain(sc.frame('bfn'));
    // the other way round, through a line that is declined, then an empty object
    expect(scanCall(Buffer.from(long2), 0, long2.length, sc)).toBe(true);
    expect(sc.frame('r')).toBe(9); // before anything is made (`check` calls get, after which frame may be -1)
    expect(sc.frame('z')).toBe(1);
    expectLine(long2, true, '', '', sc);
    expectLine('{"z":"0x1","y":1.5}', false, '', '', sc);
    expectLine('{}', true, '', '', sc);
    expect(sc.n).toBe(0);
    expect(sc.get('z')).toBeUndefined();
    expect(sc.toObject()).toStrictEqual({});
    expectLine(long, true, '', '', sc);
    expectLine(long2, true, '', '', sc);
    expectLine(short, true, '', '', sc);
  });

  it('does not hold the values of a line of many keys past the next line', () => {
    const sc = new ScannedCall();
    const many = `{${Array.from({ length: 3000 }, (_, i) => `"k${i}":"0x${i.toString(16)}"`).join(',')}}`;
    expectLine(many, true, '', '', sc);
    expect(sc.n).toBe(3000);
    expect(sc.get('k2999')).toBe('0xbb7');
    expectLine('{"op":"x","bfn":"0x3"}', true, '', '', sc);
    expect(sc.keys.length).toBe(2);
    expect(sc.values.length).toBe(2);
    expect(sc.get('k2999')).toBeUndefined();
    expectLine(many, true, '', '', sc);
  });

  it('reads pending frame strings from the buffer of the latest line', () => {
    const sc = new ScannedCall();
    const a = Buffer.from('{"bfn":"0x111","gfn":"0x222"}');
    const b = Buffer.from('xx{"bfn":"0x333"}yy');
    expect(scanCall(a, 0, a.length, sc)).toBe(true);
    expect(scanCall(b, 2, b.length - 2, sc)).toBe(true);
    a.fill(0x39); // the first line's bytes are gone (a reused read buffer)
    expect(sc.get('bfn')).toBe('0x333');
    expect(sc.frame('gfn')).toBe(-1);
    expect(sc.get('gfn')).toBeUndefined();
    expect(sc.toObject()).toStrictEqual({ bfn: '0x333' });
  });

  it('keeps apart strings that a string cache would confuse', () => {
    // Same length, same bytes but one (first, second, middle, last or another position): whatever
    // few bytes a cheap hash looks at, some of these share a slot. "Aa" / "BB": a 31-based hash collision.
    const family: string[] = ['Aa', 'BB', 'AaAa', 'BBBB', 'AaBB', 'BBAa'];
    for (const base of ['ab', 'abc', 'abcde', 'iommu.map_page', 'x'.repeat(23), 'y'.repeat(24), 'z'.repeat(47), 'w'.repeat(48), 'v'.repeat(49)]) {
      for (let i = 0; i < base.length; i++) for (const c of 'AZ_') family.push(base.slice(0, i) + c + base.slice(i + 1));
    }
    const lines: string[] = [];
    for (let i = 0; i < family.length; i += 7) {
      const part = family.slice(i, i + 7);
      lines.push(JSON.stringify({ a: part[0], l: part, o: Object.fromEntries(part.map((k, j) => [k, part[(j + 1) % part.length]])) }));
    }
    for (let round = 0; round < 3; round++) for (const line of lines) expectLine(line, true);
    for (let round = 0; round < 2; round++) for (const line of [...lines].reverse()) expectLine(line, true);
    const sc = new ScannedCall();
    expectLine('{"Aa":1,"BB":2,"abcde":3,"abcZe":4,"aAcde":5}', true, '', '', sc);
    expect(sc.toObject()).toStrictEqual({ Aa: 1, BB: 2, abcde: 3, abcZe: 4, aAcde: 5 });
  });
});

// ─── generated lines ─────────────────────────────────────────────────────────────────────────

/** A JSON value as written: numbers may be -0, objects may repeat keys (which JSON.stringify cannot write). */
type G =
  | { t: 'n'; v: number }
  | { t: 's'; v: string }
  | { t: 'l'; v: boolean | null }
  | { t: 'a'; v: G[] }
  | { t: 'o'; v: [string, G][] };

/** JSON text of `g`; `ws()` goes between any two tokens. */
function ser(g: G, ws: () => string): string {
  switch (g.t) {
    case 'n':
      return Object.is(g.v, -0) ? '-0' : String(g.v);
    case 's':
      return JSON.stringify(g.v);
    case 'l':
      return String(g.v);
    case 'a':
      return g.v.length === 0 ? '[' + ws() + ']' : '[' + g.v.map((x) => ws() + ser(x, ws) + ws()).join(',') + ']';
    case 'o':
      return g.v.length === 0
        ? '{' + ws() + '}'
        : '{' + g.v.map(([k, x]) => ws() + JSON.stringify(k) + ws() + ':' + ws() + ser(x, ws) + ws()).join(',') + '}';
  }
}

/** A string JSON.stringify writes as printable ASCII without escapes. */
const plainString = (s: string): boolean => /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/.test(s);

/** Whether `g` is in the fast reader's subset (`level`: nesting level of g if it is a container). */
function inSubset(g: G, level = 1): boolean {
  switch (g.t) {
    case 'n':
      return Number.isInteger(g.v) && Math.abs(g.v) < 1e15;
    case 's':
      return plainString(g.v);
    case 'l':
      return true;
    case 'a':
      return level <= MAX_SCAN_DEPTH && g.v.every((x) => inSubset(x, level + 1));
    case 'o': {
      if (level > MAX_SCAN_DEPTH) return false;
      const seen = new Set<string>();
      for (const [k, x] of g.v) {
        if (!plainString(k) || k === '__proto__' || seen.has(k)) return false;
        seen.add(k);
        if (!inSubset(x, level + 1)) return false;
      }
      return true;
    }
  }
}

const ch = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((c) => String.fromCharCode(c));
const printable = fc.string({ unit: ch(0x20, 0x7e), maxLength: 10 });
const clean = fc.string({ unit: ch(0x20, 0x7e).filter((c) => c !== '"' && c !== '\\'), maxLength: 10 });
const hexFrame = fc
  .tuple(fc.constantFrom('0x', '0x', '0x', '0X'), fc.bigInt({ min: 0n, max: 1n << 64n }), fc.boolean(), fc.nat(3))
  .map(([p, v, up, z]) => p + '0'.repeat(z) + (up ? v.toString(16).toUpperCase() : v.toString(16)));
const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 18 });
/** Strings that start with a digit but are no frame number. */
const digitLed = fc
  .tuple(digits, fc.constantFrom('x', 'X', 'x1', 'xg', '-0x2', ' ', 'g', '.5', ':', 'a', 'é', '\\', '"', '\u007f'))
  .map(([a, b]) => a + b);
const words = fc.constantFrom('read', 'write', 'exec', 'iommu.map_page', 'device.dma', 'igd', 'vm02', 'dom0', '', 'Aa', 'BB', 'true', 'null', '-1');
const str = fc.oneof(
  { weight: 4, arbitrary: clean },
  { weight: 4, arbitrary: hexFrame },
  { weight: 2, arbitrary: digits },
  { weight: 1, arbitrary: digitLed },
  { weight: 3, arbitrary: words },
  { weight: 1, arbitrary: printable },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
);
const int = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: -300, max: 300 }) },
  { weight: 1, arbitrary: fc.constant(-0) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.maxSafeInteger() },
  { weight: 1, arbitrary: fc.constantFrom(999999999999999, -999999999999999, 1e15, -1e15, 2 ** 52 - 1, 2 ** 52) },
);
const num = fc.oneof({ weight: 12, arbitrary: int }, { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) });
const key = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.constantFrom('op', 'bfn', 'gfn', 'mfn', 'flags', 'device', 'target', 'domain', 'expect', 'status', 'access', 'bfn_of', 'order', 'count', '1', '0', '10', 'constructor', 'toString', ''),
  },
  { weight: 9, arbitrary: clean },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'a"b', 'é', 'a\\b', '\n', '\u007f') },
);
const flags = fc.subarray(['read', 'write', 'exec', 'cached']).map((v): G => ({ t: 'a', v: v.map((s): G => ({ t: 's', v: s })) }));

const { value: genValue, obj: genObj } = fc.letrec<{ value: G; leaf: G; arr: G; obj: G }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), tie('leaf'), tie('arr'), tie('obj')),
  leaf: fc.oneof(
    { weight: 5, arbitrary: str.map((v): G => ({ t: 's', v })) },
    { weight: 4, arbitrary: num.map((v): G => ({ t: 'n', v })) },
    { weight: 2, arbitrary: fc.constantFrom(true, false, null).map((v): G => ({ t: 'l', v })) },
    { weight: 1, arbitrary: flags },
  ),
  arr: fc.array(tie('value'), { maxLength: 4 }).map((v): G => ({ t: 'a', v })),
  obj: fc
    .oneof(
      { weight: 12, arbitrary: fc.uniqueArray(fc.tuple(key, tie('value')), { selector: (e) => e[0], maxLength: 5 }) },
      { weight: 1, arbitrary: fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }) },
    )
    .map((v): G => ({ t: 'o', v })),
}));

/** A call as traces write it: op, frames, flags, a target, an expectation, and a few more keys. */
const genCall = fc
  .record({
    op: fc.constantFrom('iommu.map_page', 'iommu.unmap_page', 'device.dma', 'memory.populate', 'x'),
    bfn: fc.oneof(hexFrame, digits, fc.nat({ max: 1000 })),
    gfn: fc.option(fc.oneof(hexFrame, digits), { nil: undefined }),
    flags: fc.option(flags, { nil: undefined }),
    target: fc.option(fc.record({ domain: words, gfn: hexFrame }), { nil: undefined }),
    status: fc.option(fc.integer({ min: -125, max: 0 }), { nil: undefined }),
    extra: fc.uniqueArray(fc.tuple(key, genValue), { selector: (e) => e[0], maxLength: 3 }),
  })
  .map((r): G => {
    const e: [string, G][] = [['op', { t: 's', v: r.op }]];
    e.push(['bfn', typeof r.bfn === 'number' ? { t: 'n', v: r.bfn } : { t: 's', v: r.bfn }]);
    if (r.gfn !== undefined) e.push(['gfn', { t: 's', v: r.gfn }]);
    if (r.flags !== undefined) e.push(['flags', r.flags]);
    if (r.target !== undefined) {
      e.push(['target', { t: 'o', v: [['domain', { t: 's', v: r.target.domain }], ['gfn', { t: 's', v: r.target.gfn }]] }]);
    }
    if (r.status !== undefined) e.push(['expect', { t: 'o', v: [['status', { t: 'n', v: r.status }]] }]);
    const used = new Set(e.map(([k]) => k));
    for (const [k, v] of r.extra) if (!used.has(k)) e.push([k, v]);
    return { t: 'o', v: e };
  });

/** Chains of containers around the depth limit, in an object. */
const genDeep = fc
  .tuple(fc.array(fc.constantFrom('a', 'o'), { minLength: MAX_SCAN_DEPTH - 3, maxLength: MAX_SCAN_DEPTH + 2 }), genValue)
  .map(([kinds, leaf]): G => {
    const chain = kinds.reduceRight<G>((inner, k) => (k === 'a' ? { t: 'a', v: [inner] } : { t: 'o', v: [['k', inner]] }), leaf);
    return { t: 'o', v: [['op', { t: 's', v: 'deep' }], ['d', chain]] };
  });

/** Top-level lines: mostly calls, also any object, deep ones, and now and then not an object. */
const genLine = fc.oneof(
  { weight: 6, arbitrary: genCall },
  { weight: 5, arbitrary: genObj },
  { weight: 1, arbitrary: genDeep },
  { weight: 1, arbitrary: genValue },
);

/** Whitespace JSON allows between tokens (mostly none). */
const genWs = fc.array(fc.constantFrom('', '', '', '', '', ' ', '  ', '\t', '\n', '\r\n', ' \t ', '\r'), { minLength: 1, maxLength: 16 });
const cycle = (ws: string[]) => {
  let i = 0;
  return () => ws[i++ % ws.length]!;
};
const compact = () => '';

/** Bytes around a line. */
const genAround = fc.oneof(
  fc.constantFrom('', '}', ',"x":2}', '"', '0', '5}', 'e5', ']', 'ue', '{', ' ', '\\', 'é').map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
);

const isTopObject = (g: G) => g.t === 'o';

describe('shareStrings', () => {
  it('keys and values of shared text read as before (the reader only hands out the shared object for them)', () => {
    // (A string's identity is not observable in JS: what can be checked is that sharing changes
    // no value, whether the text was met before it was shared or after.)
    const line = Buffer.from('{"zq-key":"zq-value","n":"zq-key","zq-other":["zq-value"]}');
    const before = new ScannedCall();
    expect(scanCall(line, 0, line.length, before)).toBe(true);
    shareStrings(['zq-key', 'zq-value', '', 'x'.repeat(200)]);
    const after = new ScannedCall();
    expect(scanCall(line, 0, line.length, after)).toBe(true);
    for (const sc of [before, after]) expect(sc.toObject()).toEqual(JSON.parse(line.toString()));
    expect(after.keys.slice(0, after.n)).toEqual(['zq-key', 'n', 'zq-other']);
  });
});

describe('scanCall: properties', () => {
  it('takes a generated line exactly when it is in the subset, and reads it as JSON.parse does', () => {
    let taken = 0;
    let runs = 0;
    fc.assert(
      fc.property(genLine, (g) => {
        const line = ser(g, compact);
        const want = isTopObject(g) && inSubset(g);
        if (check(line, want)) taken++;
        runs++;
      }),
      opts(4000),
    );
    // the generator is aimed at the subset: most lines must go through the fast path
    expect(taken / runs).toBeGreaterThan(0.4);
  });

  it('the same with random whitespace between tokens and bytes around the line', () => {
    fc.assert(
      fc.property(genLine, genWs, genAround, genAround, (g, ws, pre, post) => {
        const next = cycle(ws);
        const line = next() + ser(g, next) + next();
        check(line, isTopObject(g) && inSubset(g), pre, post);
      }),
      opts(3000),
    );
  });

  it('one ScannedCall through sequences of lines of every size', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(genLine, fc.boolean()), { minLength: 2, maxLength: 8 }), (lines) => {
        const sc = new ScannedCall();
        for (const [g, spaced] of lines) {
          const line = spaced ? ser(g, () => ' ') : ser(g, compact);
          check(line, isTopObject(g) && inSubset(g), '', '', sc);
        }
      }),
      opts(800),
    );
  });

  it('JSON.stringify of fc.jsonValue / fc.object / fc.json: declined or read as JSON.parse does', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.jsonValue({ maxDepth: 20 }).map((v) => JSON.stringify(v)),
          fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 })).map((v) => JSON.stringify(v)),
          fc.object().map((v) => JSON.stringify(v) ?? ''),
          fc.object({ maxDepth: 3 }).map((v) => JSON.stringify(v, null, 2) ?? ''),
          fc.object({ maxDepth: 3 }).map((v) => JSON.stringify(v, null, '\t') ?? ''),
          fc.json(),
        ),
        (line) => {
          check(line);
        },
      ),
      opts(3000),
    );
  });

  it('plain ASCII objects from fc.dictionary are taken', () => {
    const plainKey = clean.filter((k) => k !== '__proto__');
    const plainVal = fc.oneof(clean, fc.integer(), fc.boolean(), fc.constant(null), fc.array(clean, { maxLength: 3 }));
    fc.assert(
      fc.property(fc.dictionary(plainKey, plainVal, { maxKeys: 8 }), (o) => {
        check(JSON.stringify(o), true);
        check(JSON.stringify(o, null, 1), true);
      }),
      opts(2000),
    );
  });

  /** Characters of JSON's grammar, the subset's edges and a few outside ASCII. */
  const TOKEN_CHARS = [...'{}[]":,  \t\n\r0123456789-+.eExXabcdeftrunls_p\\/', 'é', '\u0000', '\u007f', '\ufeff', '😀'];

  it('random strings and bytes: never throws, declined or read as JSON.parse does', () => {
    const tokenString = fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), maxLength: 40 });
    const soup = fc
      .array(fc.constantFrom('{', '}', '[', ']', '"a"', '"0x1f"', '"12"', ':', ',', '1', '-0', '01', 'true', 'null', 'fals', ' ', '"__proto__"', '"é"', '1.5'), {
        maxLength: 24,
      })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), tokenString, tokenString.map((s) => '{' + s), soup, soup.map((s) => '{' + s)),
        genAround,
        genAround,
        (line, pre, post) => {
          check(line, undefined, pre, post);
        },
      ),
      opts(5000),
    );
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 48 }),
      fc.array(fc.constantFrom(...Buffer.from('{}[]":,0-19 \t\r\nabtruefalsnx\\'), 0x80, 0xc3, 0xa9, 0xff, 0, 0x7f), { maxLength: 48 }).map((a) => Uint8Array.from([0x7b, ...a])),
    );
    fc.assert(
      fc.property(bytes, fc.nat(4), fc.nat(4), (a, cutL, cutR) => {
        const buf = Buffer.from(a);
        const s = Math.min(cutL, buf.length);
        const e = Math.max(s, buf.length - cutR);
        checkBytes(buf, s, e);
      }),
      opts(5000),
    );
  });

  it('mutated lines (a character deleted, inserted or replaced): declined or read as JSON.parse does', () => {
    const mutation = fc.record({ kind: fc.constantFrom('del', 'ins', 'rep'), at: fc.nat(), c: fc.constantFrom(...TOKEN_CHARS) });
    fc.assert(
      fc.property(genLine, fc.boolean(), fc.array(mutation, { minLength: 1, maxLength: 3 }), genAround, (g, spaced, muts, post) => {
        let line = spaced ? ser(g, () => ' ') : ser(g, compact);
        for (const m of muts) {
          const i = m.at % (line.length + 1);
          if (m.kind === 'del') line = line.slice(0, i) + line.slice(i + 1);
          else if (m.kind === 'ins') line = line.slice(0, i) + m.c + line.slice(i);
          else line = line.slice(0, i) + m.c + line.slice(i + 1);
        }
        check(line, undefined, '', post);
      }),
      opts(5000),
    );
  });

  it('lines cut short or started late inside their own bytes: declined or read as JSON.parse does', () => {
    fc.assert(
      fc.property(genCall, fc.nat(), fc.nat(), (g, a, b) => {
        const buf = Buffer.from(ser(g, compact));
        const cut = a % buf.length; // a proper prefix: never a whole object
        checkBytes(buf, 0, cut, false);
        checkBytes(buf, b % (buf.length + 1), buf.length);
        const twice = Buffer.concat([buf, buf]);
        checkBytes(twice, cut, cut + buf.length);
      }),
      opts(3000),
    );
  });
});
