/**
 * Unit parsers of SPEC §1: frame numbers, inclusive frame ranges, binary sizes, PCI addresses.
 *
 * Every parser works on exact integers (BigInt) and rejects what does not fit instead of
 * rounding. Values reach these parsers after `normalizeNumbers` (see schema.ts): integers that
 * fit in a double exactly are numbers, larger ones are decimal strings.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
/** Frames are below 2^52 (a 64-bit physical address space of 4 KiB pages). */
export const MAX_FRAME_EXCLUSIVE = 2n ** 52n;

/**
 * A parsed value, or why not. `at`: where inside the value the problem is (a key of a mapping, an
 * entry of a list), so the finding points there; without it, at the value itself.
 */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string; at?: Inside };
/** A place inside a value: its path from the value, and whether the key or the value there is meant. */
export interface Inside {
  path: (string | number)[];
  part: 'key' | 'value';
}

/** A failure `r` of a part of a value found at `path` within it, as a failure of the whole. */
export function within<T>(path: (string | number)[], r: { ok: false; error: string; at?: Inside }): Parsed<T> {
  return { ok: false, error: r.error, at: { path: [...path, ...(r.at?.path ?? [])], part: r.at?.part ?? 'value' } };
}
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(error: string): Parsed<T> => ({ ok: false, error });

const POW2: readonly number[] = Array.from({ length: 65 }, (_, i) => 2 ** i);

/**
 * 2^n; for n in 0..64 from a table. V8 computes `2 ** n` of a variable n through a call of its
 * pow routine (~60 ns), and a trace asks for widths (address, DMA, flag masks) on every call.
 */
export function pow2(n: number): number {
  return POW2[n] ?? 2 ** n;
}

/** How many frames an address width of `bits` bits reaches: 2^(bits − 12), 1 below 12 bits. */
export function framesBelow(bits: number): number {
  return bits <= PAGE_SHIFT ? 1 : pow2(bits - PAGE_SHIFT);
}

const TWO_32 = 4294967296;
/** Two hex digits of each byte value; `0x` and the digits without leading zeros. */
const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const HEX0X: readonly string[] = Array.from({ length: 256 }, (_, i) => '0x' + i.toString(16));

/** Lower-case hex string of a frame: `0x1f00`. */
export function hex(n: number | bigint): string {
  // A frame — a non-negative integer below 2^53 — from byte tables: `toString(16)` costs ~60 ns
  // for a small integer and ~500 ns from 2^31 on (a double), and a trace's outputs are frames.
  if (typeof n === 'number' && n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n) {
    if (n < TWO_32) return hex32(n);
    const lo = n >>> 0;
    return hex32(Math.floor(n / TWO_32)) + HEX2[lo >>> 24]! + HEX2[(lo >>> 16) & 255]! + HEX2[(lo >>> 8) & 255]! + HEX2[lo & 255]!;
  }
  return '0x' + n.toString(16);
}

/** `hex` of an integer in [0, 2^32). */
function hex32(n: number): string {
  if (n < 0x100) return HEX0X[n]!;
  if (n < 0x10000) return HEX0X[n >>> 8]! + HEX2[n & 255]!;
  if (n < 0x1000000) return HEX0X[n >>> 16]! + HEX2[(n >>> 8) & 255]! + HEX2[n & 255]!;
  return HEX0X[n >>> 24]! + HEX2[(n >>> 16) & 255]! + HEX2[(n >>> 8) & 255]! + HEX2[n & 255]!;
}

/** Longest number string the parsers convert (no frame, size or id needs more than ~20 digits). */
const MAX_NUMBER_CHARS = 256;

/** Exact integer from a number / bigint / decimal or `0x` hex string. */
export function toBigInt(v: unknown): Parsed<bigint> {
  if (typeof v === 'bigint') return ok(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return bad(`${v} is not a number`);
    if (!Number.isInteger(v)) return bad(`${v} is not a whole number`);
    // (The value at hand is already rounded: JSON numbers are doubles. Showing it would show a
    // number the user did not write.)
    if (!Number.isSafeInteger(v)) return bad(`a number at or beyond 2^53 (about ${v.toExponential(3)}) is too large to be exact in JSON; quote it as a string`);
    return ok(BigInt(v));
  }
  if (typeof v === 'string') {
    const s = v.trim().replace(/_/g, '');
    // BigInt ↔ decimal conversions are quadratic in the length: refuse absurd literals up front.
    if (s.length > MAX_NUMBER_CHARS && /^-?(0x)?[0-9a-f]+$/i.test(s)) return bad(`a number of ${s.length} characters is beyond any value pviommu accepts`);
    if (/^-?0x[0-9a-f]+$/i.test(s)) {
      const neg = s.startsWith('-');
      const n = BigInt(neg ? s.slice(1) : s);
      return ok(neg ? -n : n);
    }
    if (/^-?\d+$/.test(s)) return ok(BigInt(s));
    return bad(`"${v}" is not a number (write decimal or 0x hex)`);
  }
  return bad(`expected a number, got ${describe(v)}`);
}

export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string "${v}"`;
  if (typeof v === 'boolean') return `the boolean ${v}`;
  return `${typeof v} ${String(v)}`;
}

/** A frame number (gfn, mfn, bfn/dfn, pfn): 0 ≤ n < 2^52. */
export function parseFrame(v: unknown): Parsed<number> {
  const b = toBigInt(v);
  if (!b.ok) return b;
  if (b.value < 0n) return bad(`frame number ${b.value} is negative`);
  if (b.value >= MAX_FRAME_EXCLUSIVE) {
    return bad(`frame number ${hex(b.value)} is beyond the 52-bit frame space (max 0xfffffffffffff)`);
  }
  return ok(Number(b.value));
}

export interface FrameRange {
  start: number;
  /** inclusive */
  end: number;
}

/** `0x100-0x1ff` (or `0x100` for one frame). */
export function rangeText(r: FrameRange): string {
  return r.start === r.end ? hex(r.start) : `${hex(r.start)}-${hex(r.end)}`;
}

export function rangePages(r: FrameRange): number {
  return r.end - r.start + 1;
}

/** `"0x100-0x1ff"` (inclusive), `"0x100"` (one frame), `{start, end}`, or `{start, pages}`. */
export function parseFrameRange(v: unknown): Parsed<FrameRange> {
  if (typeof v === 'string') {
    const s = v.trim();
    const m = /^([^-\s]+)\s*-\s*([^-\s]+)$/.exec(s);
    if (m) {
      const a = parseFrame(m[1]);
      if (!a.ok) return a;
      const b = parseFrame(m[2]);
      if (!b.ok) return b;
      return checkRange(a.value, b.value);
    }
    const one = parseFrame(s);
    if (!one.ok) return bad(`"${v}" is not a frame range (write "0x100-0x1ff", inclusive)`);
    return ok({ start: one.value, end: one.value });
  }
  if (typeof v === 'number' || typeof v === 'bigint') {
    const one = parseFrame(v);
    return one.ok ? ok({ start: one.value, end: one.value }) : one;
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    const extra = keys.filter((k) => k !== 'start' && k !== 'end' && k !== 'pages');
    if (extra.length) return { ok: false, error: `unknown key \`${extra[0]}\` in a frame range (use start with end or pages)`, at: { path: [extra[0]!], part: 'key' } };
    if (o.start === undefined) return bad('a frame range needs `start`');
    const a = parseFrame(o.start);
    if (!a.ok) return a;
    if (o.end !== undefined && o.pages !== undefined) return bad('give either `end` or `pages`, not both');
    if (o.end !== undefined) {
      const b = parseFrame(o.end);
      if (!b.ok) return b;
      return checkRange(a.value, b.value);
    }
    if (o.pages !== undefined) {
      const p = toBigInt(o.pages);
      if (!p.ok) return p;
      if (p.value < 1n) return bad('`pages` must be at least 1');
      const end = BigInt(a.value) + p.value - 1n;
      if (end >= MAX_FRAME_EXCLUSIVE) return bad(`range end ${hex(end)} is beyond the 52-bit frame space`);
      return ok({ start: a.value, end: Number(end) });
    }
    return bad('a frame range needs `end` (inclusive) or `pages`');
  }
  return bad(`expected a frame range like "0x100-0x1ff", got ${describe(v)}`);
}

function checkRange(start: number, end: number): Parsed<FrameRange> {
  if (end < start) return bad(`range end ${hex(end)} is below its start ${hex(start)} (ranges are inclusive: "start-end")`);
  return ok({ start, end });
}

const BINARY_UNITS: Record<string, bigint> = {
  B: 1n,
  KIB: 1n << 10n,
  MIB: 1n << 20n,
  GIB: 1n << 30n,
  TIB: 1n << 40n,
  PIB: 1n << 50n,
};
const DECIMAL_UNITS = new Set(['K', 'KB', 'M', 'MB', 'G', 'GB', 'T', 'TB', 'P', 'PB']);

/**
 * A size: `"512MiB"`, `"4GiB"`, `"1TiB"`, `"64KiB"`, `"1.5GiB"`, or an integer number of bytes.
 * Returns a number of 4 KiB pages; sizes must be whole pages. Decimal units are refused.
 */
export function parseSizePages(v: unknown): Parsed<number> {
  let bytes: bigint;
  if (typeof v === 'string') {
    const m = /^\s*(\d+)(?:\.(\d+))?\s*([A-Za-z]*)\s*$/.exec(v);
    if (!m) return bad(`"${v}" is not a size (write e.g. "4GiB", "512MiB")`);
    if (m[1]!.length + (m[2]?.length ?? 0) > MAX_NUMBER_CHARS) return bad(`a size of ${v.trim().length} characters is beyond any size pviommu accepts`);
    const unitRaw = m[3] ?? '';
    const unit = unitRaw.toUpperCase();
    if (unit === '' && m[2] === undefined) {
      bytes = BigInt(m[1]!);
    } else {
      const mul = BINARY_UNITS[unit];
      if (mul === undefined) {
        if (DECIMAL_UNITS.has(unit)) {
          const bin = unit[0] + 'iB';
          return bad(`"${v}" uses a decimal unit; pviommu sizes are binary — write "${m[1]}${m[2] ? '.' + m[2] : ''}${bin}"`);
        }
        return bad(`unknown size unit "${unitRaw}" in "${v}" (use B, KiB, MiB, GiB, TiB, PiB)`);
      }
      const frac = m[2] ?? '';
      const scale = 10n ** BigInt(frac.length);
      const num = BigInt(m[1]! + frac) * mul;
      if (num % scale !== 0n) return bad(`"${v}" is not a whole number of bytes`);
      bytes = num / scale;
    }
  } else {
    const b = toBigInt(v);
    if (!b.ok) return bad(`expected a size like "4GiB", got ${describe(v)}`);
    bytes = b.value;
  }
  if (bytes < 0n) return bad('a size cannot be negative');
  if (bytes % BigInt(PAGE_SIZE) !== 0n) {
    return bad(`${typeof v === 'string' ? `"${v}"` : String(v)} (${bytes} bytes) is not a whole number of 4 KiB pages`);
  }
  const pages = bytes / BigInt(PAGE_SIZE);
  if (pages > MAX_FRAME_EXCLUSIVE) return bad(`size ${formatBytes(bytes)} is beyond a 64-bit address space`);
  return ok(Number(pages));
}

/** Human size of a number of pages: `4 GiB`, `1.5 GiB`, `12 KiB`. */
export function formatPages(pages: number): string {
  return formatBytes(BigInt(pages) * BigInt(PAGE_SIZE));
}

export function formatBytes(bytes: bigint): string {
  const units: [string, bigint][] = [
    ['PiB', 1n << 50n],
    ['TiB', 1n << 40n],
    ['GiB', 1n << 30n],
    ['MiB', 1n << 20n],
    ['KiB', 1n << 10n],
  ];
  // The largest unit the size reaches, with up to two decimals when they are exact ("1.5 GiB",
  // "1.25 GiB"); otherwise the largest unit that divides it, and the size in the first unit
  // rounded beside it ("1048580 KiB (about 1.00 GiB)" for 1 GiB + 4 KiB: "1.0 GiB" alone would
  // hide the very page a finding is about).
  for (let i = 0; i < units.length; i++) {
    const [name, mul] = units[i]!;
    if (bytes < mul) continue;
    const whole = bytes / mul;
    const rem = bytes % mul;
    if (rem === 0n) return `${whole} ${name}`;
    if ((rem * 100n) % mul === 0n) {
      const frac = (rem * 100n) / mul;
      return `${whole}.${String(frac).padStart(2, '0').replace(/0+$/, '')} ${name}`;
    }
    const about = `about ${(Number(bytes) / Number(mul)).toFixed(2)} ${name}`;
    for (const [smaller, m] of units.slice(i + 1)) if (bytes % m === 0n) return `${bytes / m} ${smaller} (${about})`;
    return `${bytes} B (${about})`;
  }
  return `${bytes} B`;
}

export interface Bdf {
  seg: number;
  bus: number;
  dev: number;
  fn: number;
}

/** `"SSSS:BB:DD.F"` or `"BB:DD.F"` (segment 0), hex; dev ≤ 0x1f, fn ≤ 7. */
export function parseBdf(v: unknown): Parsed<Bdf> {
  if (typeof v !== 'string') return bad(`expected a PCI address like "0000:00:02.0", got ${describe(v)}`);
  const m = /^\s*(?:([0-9a-f]{1,4}):)?([0-9a-f]{1,2}):([0-9a-f]{1,2})\.([0-9a-f])\s*$/i.exec(v);
  if (!m) return bad(`"${v}" is not a PCI address (write "SSSS:BB:DD.F" or "BB:DD.F", hex)`);
  const seg = m[1] ? parseInt(m[1], 16) : 0;
  const bus = parseInt(m[2]!, 16);
  const dev = parseInt(m[3]!, 16);
  const fn = parseInt(m[4]!, 16);
  if (dev > 0x1f) return bad(`device number 0x${dev.toString(16)} in "${v}" is above 0x1f`);
  if (fn > 7) return bad(`function number ${fn} in "${v}" is above 7`);
  return ok({ seg, bus, dev, fn });
}

export function formatBdf(b: Bdf): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  return `${h(b.seg, 4)}:${h(b.bus, 2)}:${h(b.dev, 2)}.${b.fn}`;
}

/**
 * BDFs of the phantom functions of the device at `bdf`: with `phantom_stride` s, function f is
 * followed by f+s, f+2s, … while still in the same slot (fn ≤ 7), as Xen's assign loop does
 * (`devfn += pdev->phantom_stride` while `PCI_SLOT(devfn) == PCI_SLOT(pdev->devfn)`).
 */
export function phantomBdfs(bdf: string, stride: number): string[] {
  const b = parseBdf(bdf);
  // (Xen's alloc_pdev: a function at or above the stride has no phantoms — stride 0.)
  if (!stride || !b.ok || b.value.fn >= stride) return [];
  const out: string[] = [];
  for (let fn = b.value.fn + stride; fn <= 7; fn += stride) out.push(formatBdf({ ...b.value, fn }));
  return out;
}

/** devfn byte as Xen packs it. */
export function devfn(b: Bdf): number {
  return (b.dev << 3) | b.fn;
}

/** Does this look like a BDF rather than a device name? */
export function looksLikeBdf(s: string): boolean {
  return /^\s*(?:[0-9a-f]{1,4}:)?[0-9a-f]{1,2}:[0-9a-f]{1,2}\.[0-9a-f]\s*$/i.test(s);
}
