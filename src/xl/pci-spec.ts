/**
 * PCI_SPEC_STRING (xl-pci-configuration(5)), read with the semantics of libxlu's
 * `xlu_pci_parse_spec_string` (tools/libs/util/libxlu_pci.c) — reimplemented, not copied:
 *
 *   [ BDF [ "@" VSLOT ] "," ] { KEY "=" VALUE "," }      BDF := [DDDD:]BB:DD.F   (hex; F may be *)
 *
 * - The positional BDF may instead be `bdf=…`, `@VSLOT` may instead be `vslot=…`.
 * - Ranges: domain ≤ 0xffff, bus ≤ 0xff, device ≤ 0x1f, function ≤ 7, vslot ≤ 0x1f (hex).
 * - Exactly one of a BDF and `name=` (a label from `xl pci-assignable-add -n`).
 * - `permissive`, `msitranslate`, `seize`, `power_mgmt` are read with atoi(): we accept
 *   decimal digits only (0 = false) and report anything else, because atoi turns "yes" and
 *   "true" into 0 — the opposite of what the writer meant.
 * - `rdm_policy` is strict|relaxed (case-insensitive, as libxl's enum parser).
 * - Any other key: xl aborts with "Unknown PCI_SPEC_STRING option".
 * - F = `*` (all functions) needs a vslot: libxl "Must specify a v-slot for multi-function devices".
 *
 * Offsets are into the string as xl sees it (after dequoting); the caller maps them to columns.
 */

export interface PciIssue {
  message: string;
  start: number;
  end: number;
  severity: 'error' | 'info';
}

/** Where a field came from inside the string: its value, and for `key=value` the key. */
export interface PciField<T> {
  value: T;
  start: number;
  end: number;
  keyStart?: number;
  keyEnd?: number;
}

export interface PciBdf {
  seg: number;
  bus: number;
  dev: number;
  /** `'*'` = all functions of the device. */
  fn: number | '*';
}

export interface PciSpec {
  bdf?: PciField<PciBdf | undefined>;
  vslot?: PciField<bigint>;
  name?: PciField<string>;
  permissive?: PciField<boolean>;
  msitranslate?: PciField<boolean>;
  seize?: PciField<boolean>;
  power_mgmt?: PciField<boolean>;
  rdm_policy?: PciField<'strict' | 'relaxed'>;
  issues: PciIssue[];
}

export const PCI_SPEC_KEYS = [
  'bdf',
  'vslot',
  'permissive',
  'msitranslate',
  'seize',
  'power_mgmt',
  'rdm_policy',
  'name',
] as const;

const BOOL_KEYS = ['permissive', 'msitranslate', 'seize', 'power_mgmt'] as const;
type BoolKey = (typeof BOOL_KEYS)[number];

const hex = (n: number | bigint, width: number) => n.toString(16).padStart(width, '0');

/** `SSSS:BB:DD.F` (function 0 standing in for `*`). */
export function formatBdf(b: PciBdf): string {
  return `${hex(b.seg, 4)}:${hex(b.bus, 2)}:${hex(b.dev, 2)}.${b.fn === '*' ? '0' : hex(b.fn, 1)}`;
}

/**
 * Reads `[DDDD:]BB:DD.F` at `off` in `s`. Returns undefined when the text is not shaped like a
 * BDF at all; otherwise the parsed value (undefined on range errors, which are reported).
 */
function readBdf(
  s: string,
  off: number,
  issues: PciIssue[],
): { bdf: PciBdf | undefined; end: number } | undefined {
  const m = /^(?:([0-9a-fA-F]+):)?([0-9a-fA-F]+):([0-9a-fA-F]+)\.(\*|[0-9a-fA-F]+)/.exec(s.slice(off));
  if (!m) return undefined;
  const segTxt = m[1];
  const busTxt = m[2]!;
  const devTxt = m[3]!;
  const fnTxt = m[4]!;
  let p = off;
  const parts: { txt: string; what: string; max: number; start: number }[] = [];
  if (segTxt !== undefined) {
    parts.push({ txt: segTxt, what: 'PCI domain (segment)', max: 0xffff, start: p });
    p += segTxt.length + 1;
  }
  parts.push({ txt: busTxt, what: 'bus', max: 0xff, start: p });
  p += busTxt.length + 1;
  parts.push({ txt: devTxt, what: 'device', max: 0x1f, start: p });
  p += devTxt.length + 1;
  if (fnTxt !== '*') parts.push({ txt: fnTxt, what: 'function', max: 7, start: p });
  let ok = true;
  const vals: number[] = [];
  for (const part of parts) {
    const v = BigInt('0x' + part.txt);
    if (v > BigInt(part.max)) {
      ok = false;
      issues.push({
        message:
          `${part.what} 0x${part.txt.toLowerCase()} is out of range (at most 0x${part.max.toString(16)}): ` +
          'xl cannot parse this PCI_SPEC_STRING and refuses the domain; check the address with lspci -D',
        start: part.start,
        end: part.start + part.txt.length,
        severity: 'error',
      });
    }
    vals.push(Number(v > 0xffffffffn ? 0xffffffffn : v));
  }
  const end = off + m[0].length;
  if (!ok) return { bdf: undefined, end };
  const seg = segTxt !== undefined ? vals.shift()! : 0;
  const [bus, dev, fn] = vals as [number, number, number | undefined];
  return { bdf: { seg, bus, dev, fn: fnTxt === '*' ? '*' : fn! }, end };
}

/** `%x`-style vslot (an optional 0x prefix is accepted, as sscanf does). */
function readVslot(
  s: string,
  off: number,
  end: number,
  issues: PciIssue[],
  keyed: boolean,
): bigint | undefined {
  const txt = s.slice(off, end);
  const m = /^(?:0[xX])?([0-9a-fA-F]+)/.exec(txt);
  if (!m) {
    issues.push({
      message: `vslot \`${txt}\` is not a hex number: xl cannot parse this PCI_SPEC_STRING; write a slot 0..1f in hex`,
      start: off,
      end: Math.max(end, off),
      severity: 'error',
    });
    return undefined;
  }
  if (m[0].length !== txt.length) {
    issues.push({
      message: keyed
        ? `unexpected \`${txt.slice(m[0].length)}\` after the vslot: xl ignores it, but it is not a slot number; remove it`
        : `unexpected \`${txt.slice(m[0].length)}\` after the vslot: xl expects \`,\` or the end of the string`,
      start: off + m[0].length,
      end,
      severity: 'error',
    });
    if (!keyed) return undefined;
  }
  const v = BigInt('0x' + m[1]!);
  if (v > 0x1fn) {
    issues.push({
      message:
        `vslot 0x${m[1]!.toLowerCase()} is out of range (at most 0x1f; the vslot is hex): ` +
        'xl cannot parse this PCI_SPEC_STRING',
      start: off,
      end: off + m[0].length,
      severity: 'error',
    });
    return undefined;
  }
  return v;
}

function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(s);
  return m ? Number.parseInt(m[1]!, 10) || 0 : 0;
}

/** Parses one PCI_SPEC_STRING. Never throws. */
export function parsePciSpec(s: string): PciSpec {
  const spec: PciSpec = { issues: [] };
  const issues = spec.issues;
  let p = 0;

  // Positional BDF: the first comma-separated field when it has no `=`.
  const firstEnd = s.indexOf(',') < 0 ? s.length : s.indexOf(',');
  const first = s.slice(0, firstEnd);
  const isKey = (PCI_SPEC_KEYS as readonly string[]).includes(first);
  if (first.length > 0 && !first.includes('=') && !isKey) {
    const r = readBdf(s, 0, issues);
    if (!r) {
      const at = s.indexOf('@');
      const bdfEnd = at >= 0 && at < firstEnd ? at : firstEnd;
      issues.push({
        message:
          `\`${s.slice(0, bdfEnd)}\` is not a PCI address: xl expects [DDDD:]BB:DD.F in hex ` +
          '(e.g. 0000:03:00.0) or KEY=VALUE options, and refuses this PCI_SPEC_STRING',
        start: 0,
        end: bdfEnd,
        severity: 'error',
      });
      spec.bdf = { value: undefined, start: 0, end: bdfEnd };
      p = firstEnd;
    } else {
      spec.bdf = { value: r.bdf, start: 0, end: r.end };
      p = r.end;
      if (s[p] === '@') {
        const vEnd = firstEnd;
        const v = readVslot(s, p + 1, vEnd, issues, false);
        if (v !== undefined) spec.vslot = { value: v, start: p + 1, end: vEnd, keyStart: p, keyEnd: p + 1 };
        p = vEnd;
      } else if (p < firstEnd) {
        issues.push({
          message:
            `unexpected \`${s.slice(p, firstEnd)}\` after the PCI address: xl expects \`@VSLOT\`, ` +
            '`,` or the end of the string, and refuses this PCI_SPEC_STRING',
          start: p,
          end: firstEnd,
          severity: 'error',
        });
        p = firstEnd;
      }
    }
    if (p < s.length) p++; // the comma
  }

  // KEY=VALUE options.
  while (p < s.length) {
    let e = s.indexOf(',', p);
    if (e < 0) e = s.length;
    const field = s.slice(p, e);
    const eq = field.indexOf('=');
    if (field.length === 0) {
      issues.push({
        message: 'empty option between commas: xl reads the next key with a leading comma and refuses it; remove the extra comma',
        start: p,
        end: Math.min(e + 1, s.length),
        severity: 'error',
      });
    } else if (eq < 0) {
      const known = (PCI_SPEC_KEYS as readonly string[]).includes(field);
      issues.push({
        message: known
          ? `option \`${field}\` has no value: xl refuses the PCI_SPEC_STRING; write ${field}=${
              field === 'rdm_policy' ? 'relaxed' : field === 'name' || field === 'bdf' || field === 'vslot' ? '…' : '1'
            }`
          : `\`${field}\` is not a KEY=VALUE option: xl refuses this PCI_SPEC_STRING` +
            (p === 0 ? '' : ' (a PCI address may only come first)'),
        start: p,
        end: e,
        severity: 'error',
      });
    } else {
      const key = field.slice(0, eq);
      const vs = p + eq + 1;
      const val = field.slice(eq + 1);
      const loc = { start: vs, end: e, keyStart: p, keyEnd: p + eq };
      switch (key) {
        case 'bdf': {
          const r = readBdf(s.slice(0, e), vs, issues);
          if (!r) {
            issues.push({
              message: `bdf \`${val}\` is not a PCI address: xl expects [DDDD:]BB:DD.F in hex (e.g. 0000:03:00.0)`,
              start: vs,
              end: e,
              severity: 'error',
            });
            spec.bdf = { value: undefined, ...loc };
          } else {
            if (r.end < e) {
              issues.push({
                message: `unexpected \`${s.slice(r.end, e)}\` after the PCI address in bdf=: remove it`,
                start: r.end,
                end: e,
                severity: 'error',
              });
            }
            spec.bdf = { value: r.bdf, ...loc };
          }
          break;
        }
        case 'vslot': {
          const v = readVslot(s, vs, e, issues, true);
          if (v !== undefined) spec.vslot = { value: v, ...loc };
          break;
        }
        case 'permissive':
        case 'msitranslate':
        case 'seize':
        case 'power_mgmt': {
          const k: BoolKey = key;
          if (val !== '' && !/^[0-9]+$/.test(val)) {
            const n = atoi(val);
            issues.push({
              message:
                `${k}=${val} is not a boolean: xl reads it with atoi() as ${n} (${n ? 'true' : 'false'}); ` +
                'write 0 or 1',
              start: vs,
              end: e,
              severity: 'error',
            });
          }
          spec[k] = { value: atoi(val) !== 0, ...loc };
          break;
        }
        case 'rdm_policy': {
          const v = val.toLowerCase();
          if (v === 'strict' || v === 'relaxed') spec.rdm_policy = { value: v, ...loc };
          else {
            issues.push({
              message: `rdm_policy \`${val}\` is not strict or relaxed: xl refuses this PCI_SPEC_STRING ("Unknown RDM policy")`,
              start: vs,
              end: e,
              severity: 'error',
            });
          }
          break;
        }
        case 'name': {
          if (val === '') {
            issues.push({
              message: 'empty name=: give the label used with `xl pci-assignable-add -n NAME`',
              start: vs,
              end: e,
              severity: 'error',
            });
          }
          spec.name = { value: val, ...loc };
          break;
        }
        default: {
          const near = PCI_SPEC_KEYS.find((k) => k !== key && similar(k, key));
          issues.push({
            message:
              `unknown PCI_SPEC_STRING option \`${key}\`: xl refuses the entry ("Unknown PCI_SPEC_STRING option") ` +
              `and does not create the domain; ${near ? `did you mean \`${near}\`? ` : ''}` +
              `options are ${PCI_SPEC_KEYS.join(', ')}`,
            start: p,
            end: p + eq,
            severity: 'error',
          });
        }
      }
    }
    p = e + 1;
  }

  const hasBdf = spec.bdf !== undefined;
  const hasName = spec.name !== undefined;
  if (hasBdf && hasName) {
    const n = spec.name!;
    issues.push({
      message: 'both a PCI address and name= are given: xl requires exactly one of them; remove one',
      start: n.keyStart ?? n.start,
      end: n.end,
      severity: 'error',
    });
  } else if (!hasBdf && !hasName) {
    issues.push({
      message:
        'no device in this PCI_SPEC_STRING: xl requires a PCI address ([DDDD:]BB:DD.F or bdf=) ' +
        'or name=',
      start: 0,
      end: s.length,
      severity: 'error',
    });
  }
  const b = spec.bdf?.value;
  if (b && b.fn === '*' && spec.vslot === undefined) {
    issues.push({
      message:
        'all functions (`*`) without a vslot: libxl refuses the device ("Must specify a v-slot for ' +
        'multi-function devices"); add @VSLOT, e.g. @5',
      start: spec.bdf!.start,
      end: spec.bdf!.end,
      severity: 'error',
    });
  }
  return spec;
}

/** Close enough to be a typo of the other (edit distance ≤ 2, or one is a prefix). */
function similar(a: string, b: string): boolean {
  if (a.startsWith(b) || b.startsWith(a)) return Math.min(a.length, b.length) >= 3;
  if (Math.abs(a.length - b.length) > 2) return false;
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]! <= 2;
}
