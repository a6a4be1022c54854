/** Unit parsers of SPEC §1: exact, never rounded. */
import { describe, expect, it } from 'vitest';
import { parseFrame, parseFrameRange, parseSizePages, parseBdf, formatBdf, formatPages, hex, toBigInt, pow2, framesBelow } from '../../src/config/units.js';
import { parseStatus, errnoName, gntstName, err } from '../../src/hypercalls/errno.js';

const ok = <T>(v: T) => ({ ok: true, value: v });

describe('frames', () => {
  it.each([
    [0, 0],
    ['0x1f00', 0x1f00],
    ['  0X1F00 ', 0x1f00],
    ['4096', 4096],
    [2 ** 52 - 1, 2 ** 52 - 1],
    ['0xfffffffffffff', 2 ** 52 - 1],
  ])('%s → %s', (input, want) => expect(parseFrame(input)).toEqual(ok(want)));

  it.each([
    [-1, /negative/],
    [1.5, /whole/],
    ['0x10000000000000', /beyond the 52-bit/],
    ['18446744073709551617', /beyond the 52-bit/],
    ['9007199254740993', /beyond the 52-bit/],
    ['abc', /not a number/],
    [true, /expected a number/],
    [null, /expected a number/],
  ])('%s is refused', (input, msg) => {
    const r = parseFrame(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(msg);
  });

  it('big integers are exact (BigInt), not rounded', () => {
    expect(toBigInt('9007199254740993')).toEqual(ok(9007199254740993n));
    expect(toBigInt(2 ** 53 + 2)).toEqual({ ok: false, error: expect.stringMatching(/too large to be exact/) });
    // the double at hand is rounded already (9007199254740993 reads as …992): it is not shown
    const r = toBigInt(JSON.parse('9007199254740993'));
    expect(r.ok === false && r.error).toBe('a number at or beyond 2^53 (about 9.007e+15) is too large to be exact in JSON; quote it as a string');
  });
});

describe('hex', () => {
  it('is `0x` and the lower-case digits of n, as toString(16) gives them, for every size of frame', () => {
    const cases = [0, 1, 15, 16, 255, 256, 0xfff, 0x1000, 0xffff, 0x10000, 0xffffff, 0x1000000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 0x1234_5678_9a, 2 ** 52 - 1, 2 ** 53 - 1];
    for (let x = 1; x < 2 ** 53; x = x * 3 + 7) cases.push(x, x - 1);
    for (const n of cases) expect(hex(n)).toBe('0x' + n.toString(16));
    expect(hex(0x2a975)).toBe('0x2a975');
    expect(hex(2 ** 40 + 0xab)).toBe('0x100000000ab'); // the low word keeps its leading zeros
  });

  it('anything else — negative, fractional, unsafe, bigint — as toString(16) gives it', () => {
    for (const n of [-1, -0x100, 1.5, 2 ** 53, 2 ** 60, Infinity, NaN]) expect(hex(n)).toBe('0x' + n.toString(16));
    expect(hex(2n ** 64n)).toBe('0x10000000000000000');
  });
});

describe('powers of two and address widths', () => {
  it('pow2 is 2 ** n, from its table for 0..64 and computed elsewhere', () => {
    for (let n = 0; n <= 70; n++) expect(pow2(n)).toBe(2 ** n);
    expect(pow2(-1)).toBe(0.5);
    expect(pow2(0.5)).toBe(2 ** 0.5);
  });

  it('framesBelow(bits) is the number of 4 KiB frames a width reaches, 1 at 12 bits or fewer', () => {
    expect(framesBelow(48)).toBe(2 ** 36);
    expect(framesBelow(39)).toBe(2 ** 27);
    expect(framesBelow(64)).toBe(2 ** 52);
    expect(framesBelow(13)).toBe(2);
    expect(framesBelow(12)).toBe(1);
    expect(framesBelow(0)).toBe(1);
  });
});

describe('frame ranges (inclusive)', () => {
  it.each([
    ['0x100-0x1ff', { start: 0x100, end: 0x1ff }],
    ['0x100 - 0x1ff', { start: 0x100, end: 0x1ff }],
    ['0x100', { start: 0x100, end: 0x100 }],
    [0x100, { start: 0x100, end: 0x100 }],
    [{ start: '0x100', end: '0x1ff' }, { start: 0x100, end: 0x1ff }],
    [{ start: 0x100, pages: 256 }, { start: 0x100, end: 0x1ff }],
  ])('%j', (input, want) => expect(parseFrameRange(input)).toEqual(ok(want)));

  it.each([
    ['0x1ff-0x100', /below its start/],
    [{ start: 1 }, /needs `end`/],
    [{ start: 1, end: 2, pages: 2 }, /either `end` or `pages`/],
    [{ start: 1, pages: 0 }, /at least 1/],
    [{ start: 1, stop: 2 }, /unknown key `stop`/],
    [{ start: '0xfffffffffffff', pages: 2 }, /beyond the 52-bit/],
    [[1, 2], /expected a frame range/],
  ])('%j is refused', (input, msg) => {
    const r = parseFrameRange(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(msg);
  });
});

describe('sizes (binary units, whole pages)', () => {
  it.each([
    ['4GiB', 1 << 20],
    ['512MiB', 131072],
    ['64KiB', 16],
    ['1TiB', 2 ** 28],
    ['768GiB', 768 * 2 ** 18],
    ['1.5GiB', 393216],
    ['4096', 1],
    [8192, 2],
    ['8192B', 2],
  ])('%s → %d pages', (input, pages) => expect(parseSizePages(input)).toEqual(ok(pages)));

  it.each([
    ['4GB', /decimal unit.*"4GiB"/],
    ['4G', /decimal unit/],
    ['100', /not a whole number of 4 KiB pages/],
    ['1.0001KiB', /not a whole number of bytes/],
    ['4 GiBs', /unknown size unit/],
    ['-4GiB', /not a size/],
    [true, /expected a size/],
  ])('%s is refused', (input, msg) => {
    const r = parseSizePages(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(msg);
  });

  it('formats pages for humans', () => {
    expect(formatPages(1 << 20)).toBe('4 GiB');
    expect(formatPages(393216)).toBe('1.5 GiB');
    expect(formatPages(1)).toBe('4 KiB');
    expect(formatPages(327680)).toBe('1.25 GiB');
  });

  it('never rounds a size: one page over a whole unit is written in a unit that holds it exactly', () => {
    // 1 GiB + 4 KiB used to read "1.0 GiB", right where a boundary finding needs the page
    expect(formatPages(262145)).toBe('1048580 KiB (about 1.00 GiB)');
    expect(formatPages(131073)).toBe('524292 KiB (about 512.00 MiB)');
    expect(formatPages(4000)).toBe('16000 KiB (about 15.63 MiB)'); // 15.625 MiB
    expect(formatPages(3 * 256 + 1)).toBe('3076 KiB (about 3.00 MiB)');
    expect(formatPages(262144 * 1024 + 256)).toBe('1048577 MiB (about 1.00 TiB)'); // 1 TiB + 1 MiB
  });
});

describe('PCI addresses', () => {
  it.each([
    ['0000:00:02.0', '0000:00:02.0'],
    ['00:02.0', '0000:00:02.0'],
    ['1:3:10.7', '0001:03:10.7'],
    ['FFFF:FF:1F.7', 'ffff:ff:1f.7'],
  ])('%s → %s', (input, want) => {
    const r = parseBdf(input);
    expect(r.ok && formatBdf(r.value)).toBe(want);
  });
  it.each([
    ['00:20.0', /device number 0x20/],
    ['00:02.8', /function number 8/],
    ['0000:00:02', /not a PCI address/],
    [0x10, /expected a PCI address/],
  ])('%s is refused', (input, msg) => {
    const r = parseBdf(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(msg);
  });
});

describe('error codes', () => {
  it('names and numbers', () => {
    expect(parseStatus('EPERM')).toBe(-1);
    expect(parseStatus('-EPERM')).toBe(-1);
    expect(parseStatus(-22)).toBe(-22);
    expect(parseStatus('-22')).toBe(-22);
    expect(parseStatus('OK')).toBe(0);
    expect(parseStatus(0n)).toBe(0);
    expect(parseStatus('GNTST_bad_handle')).toBe(-4);
    expect(parseStatus('EWHAT')).toBeUndefined();
    expect(parseStatus(5)).toBeUndefined();
    // Names of Object.prototype members are no error codes (they were once read as `in` the table).
    for (const s of ['toString', '-constructor', 'hasOwnProperty', '__proto__', 'valueOf']) expect(parseStatus(s), s).toBeUndefined();
    expect(errnoName(-98)).toBe('EADDRINUSE');
    expect(errnoName(0)).toBe('OK');
    expect(gntstName(-1)).toBe('GNTST_general_error');
    expect(err('ENOSYS')).toBe(-38);
    expect(hex(255)).toBe('0xff');
  });
});
