/**
 * xl.cfg → a `kind: Domain` document (SPEC §2.3), read with xl's semantics
 * (tools/xl/xl_parse.c `parse_config_data`), with a DocSource that maps every path of the
 * produced document back to the .cfg text that produced it.
 *
 * Decisions (see also README.md beside this file):
 * - Repeated keys: the last one wins (libxlu finds the newest setting). `KEY+=` concatenates
 *   lists or strings as libxlu does; a number option set with `+=` is ignored by xl
 *   ("can't use += with numbers") and reported.
 * - Strings and numbers are one type to xl: `memory="512"` is a number, `name=12` a name.
 * - type: exact words only; xl accepts any prefix (`"h"` → hvm, `"p"` → pv, `""` → hvm) and
 *   so do we for the value, with an error. Default pv (x86).
 * - memory/maxmem: MiB; only memory → maxmem = memory (xl); only maxmem → memory = maxmem
 *   (libxl); neither → 32 MiB each (libxl). Always emitted.
 * - pci: every entry gets `dev`, `rdm_policy`, `permissive`, `seize` (the values xl will use,
 *   after `pci_permissive`/`pci_seize`); `vslot`, `msitranslate`, `power_mgmt` only when the
 *   .cfg sets them. `name=` entries use the label as `dev` (a Device of that name). An entry
 *   whose device cannot be determined is left out (and reported).
 * - rdm: the global `rdm=` goes into `rdm: {strategy, policy}` as written, even though upstream
 *   xl drops any rdm string containing `policy=` (the static rule rdm/global-policy-ignored
 *   reports that). Device policies are never seeded from it: with policy= the string is dropped,
 *   without it xl seeds from an uninitialised value, so the effective per-device default is strict.
 * - mmio_hole and rdm_mem_boundary are read for hvm only, as xl does.
 * - F = `*` (all functions) is modelled as function 0 with an info finding.
 * - device_model_stubdomain_override: validated, not modelled. The stub domain `NAME-dm` is not a
 *   document of the repo, so naming it as `device_model` would only produce ref/unknown; the
 *   default device model (the control domain) stays, which is the domain that builds the stubdom.
 * - e820_host, ioports, irqs: validated as xl does, not modelled (no Domain field).
 * - driver_domain=1 → role driver (unless the header or the caller gives a role).
 * - `# pviommu: host=H domid=N role=R` comments (anywhere, any subset; later ones win) also
 *   accept trusted=, device_model=, live_migration=, pv_iommu=. Caller options win over them.
 * - domid: caller, header, else 0 for role hardware, else left out.
 * - A missing name is an error; the document is named after the file so checking can go on.
 */
import type { DocSource, NodePart, PathSeg } from '../config/source.js';
import type { Finding, Location, Severity } from '../policy/types.js';
import { XL_CFG_OPTIONS, XM_ONLY_OPTIONS, suggestOption } from './options.js';
import { parseXl, type Span, type XlSetting, type XlValue } from './parse.js';
import { formatBdf, parsePciSpec, type PciField } from './pci-spec.js';
import { concatText, textOf, type TextRef } from './text.js';

export interface XlDomain {
  value: Record<string, unknown>;
  source: DocSource;
  findings: Finding[];
}

export interface XlToDomainOptions {
  host?: string;
  domid?: number;
  role?: string;
}

/** Rule ids this module reports. */
export const XL_RULES = {
  syntax: 'xl/syntax',
  pciSpec: 'xl/pci-spec',
  invalidValue: 'xl/invalid-value',
  unknownOption: 'xl/unknown-option',
} as const;

type Atom = Extract<XlValue, { kind: 'string' } | { kind: 'number' }>;

const ROLES = ['hardware', 'control', 'driver', 'guest'] as const;
const PASSTHROUGH = ['default', 'disabled', 'enabled', 'sync_pt', 'share_pt'] as const;
const ORIGIN: Span = { line: 1, column: 1, endLine: 1, endColumn: 1 };
const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);
const UINT32_MAX = 0xffffffffn;
const UINT64_LIMIT = 1n << 64n;

/** Where each path of the produced document came from. */
class SpanMap {
  private readonly m = new Map<string, { value: Span; key?: Span }>();

  set(path: readonly PathSeg[], value: Span, key?: Span): void {
    this.m.set(JSON.stringify(path), key ? { value, key } : { value });
  }

  locate(file: string, path: readonly PathSeg[], part: NodePart = 'value'): Location {
    for (let n = path.length; n > 0; n--) {
      const hit = this.m.get(JSON.stringify(path.slice(0, n)));
      if (!hit) continue;
      let span = hit.value;
      if (n === path.length && part !== 'value' && hit.key) {
        span = part === 'key' ? hit.key : join(hit.key, hit.value);
      }
      return { file, ...span };
    }
    return { file, ...ORIGIN };
  }
}

function join(a: Span, b: Span): Span {
  const aFirst = a.line < b.line || (a.line === b.line && a.column <= b.column);
  const [s, e] = aFirst ? [a, b] : [b, a];
  return { line: s.line, column: s.column, endLine: e.endLine, endColumn: e.endColumn };
}

/** The effective value of a key after repeats and `+=`. */
interface Eff {
  key: string;
  value: XlValue;
  /** For atoms: the pieces joined by `+=`. */
  parts: Atom[];
  /** The last setting of the key. */
  setting: XlSetting;
  /** The last setting used `+=` (xl then refuses to read it as a number). */
  append: boolean;
  /** `value` (list items, or the joined text) and `parts` were built here: later `+=` may extend them in place. */
  owned?: boolean;
}

/** strtol(s, &end, base) that must consume all of `s` (leading blanks and a sign allowed). */
function strtolWhole(s: string, base: 0 | 10 | 16): bigint | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(.*)$/s.exec(s)!;
  const neg = m[1] === '-';
  const body = m[2]!;
  let v: bigint | undefined;
  if (base === 10) {
    if (/^[0-9]+$/.test(body)) v = BigInt(body);
  } else if (base === 16) {
    const h = /^(?:0[xX])?([0-9a-fA-F]+)$/.exec(body);
    if (h) v = BigInt('0x' + h[1]!);
  } else if (/^0[xX][0-9a-fA-F]+$/.test(body)) v = BigInt(body.toLowerCase());
  else if (/^0[0-7]*$/.test(body)) v = body.length > 1 ? BigInt('0o' + body.slice(1)) : 0n;
  else if (/^[1-9][0-9]*$/.test(body)) v = BigInt(body);
  if (v === undefined) return undefined;
  return neg ? -v : v;
}

/** sscanf("%x") at `off`: blanks, an optional 0x, hex digits. */
function scanHex(s: string, off: number): { value: bigint; start: number; end: number } | undefined {
  const m = /^[ \t\n\v\f\r]*((?:0[xX])?([0-9a-fA-F]+))/.exec(s.slice(off));
  if (!m) return undefined;
  const start = off + m[0].length - m[1]!.length;
  return { value: BigInt('0x' + m[2]!), start, end: off + m[0].length };
}

const hexStr = (n: bigint) => '0x' + n.toString(16);

function basenameStem(file: string): string {
  const base = file.split(/[\\/]/).pop() ?? file;
  const stem = base.replace(/\.(cfg|conf|xl|hvm|pv)$/i, '');
  return stem || 'domain';
}

/** Converts xl.cfg text to a Domain document. Never throws. */
export function xlToDomain(file: string, text: string, opts: XlToDomainOptions = {}): XlDomain {
  const findings: Finding[] = [];
  const spans = new SpanMap();
  const add = (rule: string, severity: Severity, message: string, span: Span) =>
    findings.push({ rule, severity, message, file, ...span });
  const err = (rule: string, message: string, span: Span) => add(rule, 'error', message, span);

  const parsed = parseXl(text);
  for (const e of parsed.errors) err(XL_RULES.syntax, e.message, e.span);

  // ----- effective settings (last wins; += concatenates) -----------------------------------
  const eff = new Map<string, Eff>();
  for (const s of parsed.settings) {
    if (XM_ONLY_OPTIONS.has(s.key)) {
      add(
        XL_RULES.unknownOption,
        'info',
        `\`${s.key}\` is an option of xm/xend (the toolstack before xl), not of xl: xl ignores it; ` +
          'it can be removed',
        s.keySpan,
      );
    } else if (!XL_CFG_OPTIONS.has(s.key)) {
      const near = suggestOption(s.key);
      add(
        XL_RULES.unknownOption,
        'warning',
        `\`${s.key}\` is not an xl.cfg option: xl ignores it without a word` +
          (near ? `; did you mean \`${near}\`?` : '; check the spelling against xl.cfg(5)'),
        s.keySpan,
      );
    }
    const prev = eff.get(s.key);
    if (!s.append || !prev) {
      eff.set(s.key, {
        key: s.key,
        value: s.value,
        parts: s.value.kind === 'list' ? [] : [s.value],
        setting: s,
        append: !!s.append,
      });
      continue;
    }
    // Each `+=` extends what the previous ones built, in place: copying the list (or re-joining
    // the text) on every append made n appends cost n² (a 1 MiB file of them: many minutes).
    if (prev.value.kind === 'list' && s.value.kind === 'list') {
      const items = prev.owned ? prev.value.value : [...prev.value.value];
      for (const item of s.value.value) items.push(item);
      eff.set(s.key, {
        key: s.key,
        value: { ...s.value, value: items },
        parts: [],
        setting: s,
        append: true,
        owned: true,
      });
    } else if (prev.value.kind !== 'list' && s.value.kind !== 'list') {
      const parts = prev.owned ? prev.parts : [...prev.parts];
      const text = (prev.owned ? (prev.value.value as string) : concatText(parts).text) + textOf(s.value).text;
      parts.push(s.value);
      eff.set(s.key, {
        key: s.key,
        value: { kind: 'string', value: text, span: s.value.span, raw: s.value.raw },
        parts,
        setting: s,
        append: true,
        owned: true,
      });
    } else {
      err(
        XL_RULES.syntax,
        `\`${s.key}+=\` adds a ${s.value.kind === 'list' ? 'list to a single value' : 'single value to a list'}: ` +
          'xl refuses the file ("can\'t add [list] to "string" or vice versa"); make both lists or both strings',
        s.value.span,
      );
    }
  }

  // ----- typed accessors, with xl's diagnostics ------------------------------------------------
  const keyOf = (e: Eff) => e.setting.keySpan;

  /** A single value (xl: find_atom). A list is ignored with a warning by xl. */
  const atom = (key: string): Eff | undefined => {
    const e = eff.get(key);
    if (!e) return undefined;
    if (e.value.kind === 'list') {
      err(
        XL_RULES.invalidValue,
        `\`${key}\` is a list but xl expects a single value: xl warns and ignores it; ` +
          `write ${key}=${e.value.value.length === 1 ? e.value.value[0]!.raw : '…'}`,
        e.value.span,
      );
      return undefined;
    }
    return e;
  };

  const str = (key: string): { text: TextRef; e: Eff } | undefined => {
    const e = atom(key);
    return e ? { text: concatText(e.parts), e } : undefined;
  };

  /** xlu_cfg_get_long: strtol(…, 0) of the whole value. */
  const long = (key: string, unit = ''): { value: bigint; e: Eff } | undefined => {
    const e = atom(key);
    if (!e) return undefined;
    if (e.append) {
      err(
        XL_RULES.invalidValue,
        `\`${key}+=\`: xl cannot use += with numbers and ignores \`${key}\`; write ${key}=`,
        e.setting.span,
      );
      return undefined;
    }
    const v = e.value.kind === 'number' ? e.value.value : strtolWhole(concatText(e.parts).text, 0);
    if (v === undefined) {
      err(
        XL_RULES.invalidValue,
        `\`${key}\` is not a number: xl warns ("not a valid number") and ignores it; ` +
          `write a decimal, 0x-hex or 0-octal integer${unit}`,
        e.value.span,
      );
      return undefined;
    }
    if (v > LONG_MAX || v < LONG_MIN) {
      err(
        XL_RULES.invalidValue,
        `\`${key}\` is out of range for xl (a 64-bit long): xl warns and ignores it`,
        e.value.span,
      );
      return undefined;
    }
    return { value: v, e };
  };

  const bool = (key: string): { value: boolean; e: Eff } | undefined => {
    const r = long(key);
    return r && { value: r.value !== 0n, e: r.e };
  };

  /** A list (xl: xlu_cfg_get_list). A single value is ignored with a warning by xl. */
  const list = (key: string, example: string): { items: XlValue[]; e: Eff } | undefined => {
    const e = eff.get(key);
    if (!e) return undefined;
    if (e.value.kind !== 'list') {
      err(
        XL_RULES.invalidValue,
        `\`${key}\` must be a list: xl warns ("is a single value but should be a list") and ignores it; ` +
          `write ${key}=[ ${e.value.kind === 'string' ? e.value.raw : example} ]`,
        e.value.span,
      );
      return undefined;
    }
    return { items: e.value.value, e };
  };

  // ----- header comment: # pviommu: host=NAME domid=N role=ROLE -----------------------------
  const hdr: {
    host?: { v: string; span: Span };
    domid?: { v: bigint; span: Span };
    role?: { v: string; span: Span };
    trusted?: { v: boolean; span: Span };
    device_model?: { v: string; span: Span };
    live_migration?: { v: boolean; span: Span };
    pv_iommu?: { v: boolean; span: Span };
  } = {};
  for (const c of parsed.comments) {
    const m = /^#[ \t]*pviommu:/.exec(c.text);
    if (!m) continue;
    const re = /\S+/g;
    re.lastIndex = m[0].length;
    for (let t = re.exec(c.text); t; t = re.exec(c.text)) {
      const tok = t[0];
      const col = c.span.column + t.index;
      const span: Span = { line: c.span.line, column: col, endLine: c.span.line, endColumn: col + tok.length };
      const eq = tok.indexOf('=');
      const k = eq < 0 ? tok : tok.slice(0, eq);
      const v = eq < 0 ? '' : tok.slice(eq + 1);
      const vSpan: Span = eq < 0 ? span : { ...span, column: col + eq + 1 };
      const bad = (what: string) =>
        err(XL_RULES.invalidValue, `pviommu header: ${k}=${v} is not ${what}`, eq < 0 ? span : vSpan);
      const boolOf = (s: string) => (/^(true|1)$/i.test(s) ? true : /^(false|0)$/i.test(s) ? false : undefined);
      switch (k) {
        case 'host':
        case 'device_model':
          if (v === '') bad('a name');
          else hdr[k] = { v, span: vSpan };
          break;
        case 'domid': {
          const n = /^(0x[0-9a-f]+|[0-9]+)$/i.test(v) ? BigInt(v.toLowerCase()) : undefined;
          if (n === undefined) bad('a domid (a decimal or 0x-hex integer)');
          else hdr.domid = { v: n, span: vSpan };
          break;
        }
        case 'role':
          if (!(ROLES as readonly string[]).includes(v)) bad(`a role (${ROLES.join(', ')})`);
          else hdr.role = { v, span: vSpan };
          break;
        case 'trusted':
        case 'live_migration':
        case 'pv_iommu': {
          const b = boolOf(v);
          if (b === undefined) bad('true or false');
          else hdr[k] = { v: b, span: vSpan };
          break;
        }
        default:
          add(
            XL_RULES.unknownOption,
            'warning',
            `pviommu header: unknown key \`${k}\` (known: host, domid, role, trusted, device_model, live_migration, pv_iommu)`,
            span,
          );
      }
    }
  }

  // ----- guest type: type= and the deprecated builder= ------------------------------------
  type DomType = 'pv' | 'pvh' | 'hvm';
  /** xl compares with strncmp(value, word, strlen(value)): any prefix of a word matches it. */
  const byPrefix = <W extends string>(s: string, words: readonly W[]): W | undefined =>
    words.find((w) => w.startsWith(s));
  let type: DomType | undefined;
  let typeSpan: { value: Span; key: Span } | undefined;
  const typeS = str('type');
  if (typeS) {
    const s = typeS.text.text;
    const w = byPrefix(s, ['hvm', 'pv', 'pvh'] as const);
    if (w === undefined) {
      err(
        XL_RULES.invalidValue,
        `type "${s}" is not a guest type: xl exits ("Invalid domain type"); write type="pv", "pvh" or "hvm"`,
        typeS.e.value.span,
      );
    } else {
      if (w !== s) {
        err(
          XL_RULES.invalidValue,
          `type "${s}" is not a guest type: xl takes any prefix and builds ${w === 'hvm' ? 'an' : 'a'} ${w} ` +
            `guest; write type="${w}"`,
          typeS.e.value.span,
        );
      }
      type = w;
      typeSpan = { value: typeS.e.value.span, key: keyOf(typeS.e) };
    }
  }
  const builderS = str('builder');
  if (builderS) {
    const s = builderS.text.text;
    const w = byPrefix(s, ['hvm', 'generic'] as const);
    if (w === undefined) {
      err(
        XL_RULES.invalidValue,
        `builder "${s}" is not "generic" or "hvm": xl exits ("Invalid domain type"); ` +
          'replace the deprecated builder= with type="pv", "pvh" or "hvm"',
        builderS.e.value.span,
      );
    } else {
      if (w !== s) {
        err(
          XL_RULES.invalidValue,
          `builder "${s}" is only a prefix of "${w}": xl accepts it; replace the deprecated builder= with ` +
            `type="${w === 'generic' ? 'pv' : 'hvm'}"`,
          builderS.e.value.span,
        );
      }
      const bt: DomType = w === 'generic' ? 'pv' : 'hvm';
      if (type !== undefined && type !== bt) {
        err(
          XL_RULES.invalidValue,
          `Contradicting builder and type: builder "${s}" means ${bt} but type is ${type}; xl exits ` +
            '("Contradicting "builder" and "type" options specified"); remove the deprecated builder=',
          builderS.e.value.span,
        );
      } else if (type === undefined && !(typeS && !typeSpan)) {
        type = bt;
        typeSpan = { value: builderS.e.value.span, key: keyOf(builderS.e) };
      }
    }
  }
  const domType: DomType = type ?? 'pv';
  if (typeSpan) spans.set(['type'], typeSpan.value, typeSpan.key);

  // ----- name ---------------------------------------------------------------------------------
  let name: string;
  const nameE = eff.get('name');
  const nameS = nameE && nameE.value.kind !== 'list' ? str('name') : undefined;
  if (!nameS) {
    err(
      XL_RULES.invalidValue,
      nameE
        ? 'Domain name must be specified: name is a list, so xl finds no name and exits; write name="NAME"'
        : 'Domain name must be specified: xl exits without name=; add name="NAME"',
      nameE ? nameE.value.span : ORIGIN,
    );
    name = basenameStem(file);
  } else {
    name = nameS.text.text;
    spans.set(['name'], nameS.e.value.span, keyOf(nameS.e));
    if (name === '') {
      err(XL_RULES.invalidValue, 'empty domain name: give the domain a name', nameS.e.value.span);
      name = basenameStem(file);
    }
  }

  // ----- hap -----------------------------------------------------------------------------------
  const hap = bool('hap');
  if (hap) spans.set(['hap'], hap.e.value.span, keyOf(hap.e));

  // ----- memory / maxmem (MiB) ----------------------------------------------------------------
  const mib = (key: string) => {
    const r = long(key, ' of MiB');
    if (r && r.value < 0n) {
      err(XL_RULES.invalidValue, `${key} ${r.value} is negative: write a size in MiB`, r.e.value.span);
      return undefined;
    }
    return r;
  };
  const mem = mib('memory');
  const maxm = mib('maxmem');
  const memory = mem?.value ?? maxm?.value ?? 32n;
  const maxmem = maxm?.value ?? mem?.value ?? 32n;
  const memSrc = mem ?? maxm;
  const maxSrc = maxm ?? mem;
  if (memSrc) spans.set(['memory'], memSrc.e.value.span, keyOf(memSrc.e));
  if (maxSrc) spans.set(['maxmem'], maxSrc.e.value.span, keyOf(maxSrc.e));

  // ----- options validated but not modelled ------------------------------------------------
  if (domType === 'pv') bool('e820_host');
  bool('device_model_stubdomain_override');
  const driverDomain = bool('driver_domain');

  // ----- role, host, domid, and the header-only fields ----------------------------------------
  let role = 'guest';
  if (opts.role !== undefined) role = opts.role;
  else if (hdr.role) {
    role = hdr.role.v;
    spans.set(['role'], hdr.role.span);
  } else if (driverDomain?.value) {
    role = 'driver';
    spans.set(['role'], driverDomain.e.value.span, keyOf(driverDomain.e));
  }
  let host: string | undefined;
  if (opts.host !== undefined) host = opts.host;
  else if (hdr.host) {
    host = hdr.host.v;
    spans.set(['host'], hdr.host.span);
  }
  let domid: bigint | undefined;
  if (opts.domid !== undefined) domid = BigInt(opts.domid);
  else if (hdr.domid) {
    domid = hdr.domid.v;
    spans.set(['domid'], hdr.domid.span);
  } else if (role === 'hardware') domid = 0n;
  for (const k of ['trusted', 'device_model', 'live_migration', 'pv_iommu'] as const) {
    const h = hdr[k];
    if (h) spans.set([k], h.span);
  }

  // ----- PCI global defaults -----------------------------------------------------------------
  const globals = {
    permissive: bool('pci_permissive'),
    msitranslate: bool('pci_msitranslate'),
    seize: bool('pci_seize'),
    power_mgmt: bool('pci_power_mgmt'),
  };

  // ----- global rdm= ----------------------------------------------------------------------------
  let rdm: { strategy?: string; policy?: string } | undefined;
  const rdmS = str('rdm');
  if (rdmS) {
    const t = rdmS.text;
    const s = t.text;
    spans.set(['rdm'], rdmS.e.value.span, keyOf(rdmS.e));
    const ignored = 'xl cannot parse this rdm= and silently ignores all of it';
    const out: { strategy?: string; policy?: string } = {};
    if (s === '') {
      err(XL_RULES.invalidValue, `empty rdm=: ${ignored}; write rdm="strategy=host" or remove it`, rdmS.e.value.span);
    }
    let p = 0;
    while (s !== '' && p <= s.length) {
      let e = s.indexOf(',', p);
      if (e < 0) e = s.length;
      const field = s.slice(p, e);
      const eq = field.indexOf('=');
      if (field === '') {
        err(
          XL_RULES.invalidValue,
          `empty option in rdm= (a stray comma): ${ignored}; remove the comma`,
          t.spanOf(Math.max(0, p - 1), Math.min(s.length, p + 1)),
        );
      } else if (eq < 0) {
        err(XL_RULES.invalidValue, `\`${field}\` in rdm= is not KEY=VALUE: ${ignored}`, t.spanOf(p, e));
      } else {
        const k = field.slice(0, eq);
        const v = field.slice(eq + 1);
        const vs = p + eq + 1;
        if (k === 'strategy') {
          if (v !== 'host') {
            err(
              XL_RULES.invalidValue,
              `unknown rdm strategy \`${v}\`: the only strategy is host; ${ignored}`,
              t.spanOf(vs, e),
            );
          } else {
            out.strategy = v;
            spans.set(['rdm', 'strategy'], t.spanOf(p, e), t.spanOf(p, p + eq));
          }
        } else if (k === 'policy') {
          const lv = v.toLowerCase();
          if (lv !== 'strict' && lv !== 'relaxed') {
            err(
              XL_RULES.invalidValue,
              `unknown rdm policy \`${v}\`: use strict or relaxed (xl itself lets an unknown policy through ` +
                'unnoticed and keeps the default, relaxed)',
              t.spanOf(vs, e),
            );
          } else {
            out.policy = lv;
            spans.set(['rdm', 'policy'], t.spanOf(p, e), t.spanOf(p, p + eq));
          }
        } else {
          const trimmed = k.trim();
          err(
            XL_RULES.invalidValue,
            trimmed !== k && (trimmed === 'strategy' || trimmed === 'policy')
              ? `\`${k}\` in rdm= has a blank: ${ignored} ("Unknown RDM state option"); write the options ` +
                  'without blanks, e.g. rdm="strategy=host,policy=relaxed"'
              : `unknown rdm option \`${k}\`: ${ignored} ("Unknown RDM state option"); options are strategy and policy`,
            t.spanOf(p, p + eq),
          );
        }
      }
      p = e + 1;
    }
    if (out.strategy !== undefined || out.policy !== undefined) rdm = out;
  }

  // ----- pci=[ PCI_SPEC_STRING, … ] ---------------------------------------------------------
  let pci: Record<string, unknown>[] | undefined;
  const pciL = list('pci', '"0000:03:00.0"');
  if (pciL) {
    pci = [];
    spans.set(['pci'], pciL.e.value.span, keyOf(pciL.e));
    for (const item of pciL.items) {
      if (item.kind === 'list') {
        err(
          XL_RULES.pciSpec,
          'a list inside pci=[…]: xl stops reading pci at this item and passes neither it nor the ' +
            'entries after it through; write each PCI_SPEC_STRING as a quoted string',
          item.span,
        );
        break;
      }
      const t = textOf(item);
      const at = (start: number, end: number): Span =>
        t.text.length === 0 ? t.whole : t.spanOf(start, end);
      const spec = parsePciSpec(t.text);
      for (const is of spec.issues) add(XL_RULES.pciSpec, is.severity, is.message, at(is.start, is.end));
      const bdf = spec.bdf?.value;
      let dev: string | undefined;
      let devField: PciField<unknown> | undefined;
      if (spec.name && spec.name.value !== '' && !spec.bdf) {
        dev = spec.name.value;
        devField = spec.name;
      } else if (bdf) {
        dev = formatBdf(bdf);
        devField = spec.bdf;
        if (bdf.fn === '*' && spec.vslot) {
          add(
            XL_RULES.pciSpec,
            'info',
            `all functions of ${dev.slice(0, -2)} are passed through (\`*\`); pviommu checks function 0 only: ` +
              'list the other functions as separate entries to check them too',
            at(spec.bdf!.start, spec.bdf!.end),
          );
        }
      }
      if (dev === undefined || !devField) continue;
      const i = pci.length;
      const entry: Record<string, unknown> = { dev };
      spans.set(['pci', i], item.span);
      spans.set(
        ['pci', i, 'dev'],
        at(devField.start, devField.end),
        devField.keyStart !== undefined ? at(devField.keyStart, devField.keyEnd!) : undefined,
      );
      /** `key=value` → the pair (key: the key); `@VSLOT` → the digits (key: the `@`). */
      const fieldSpan = (path: string, f: PciField<unknown>) => {
        if (f.keyStart === undefined) spans.set(['pci', i, path], at(f.start, f.end));
        else if (f.keyEnd === f.start - 1) spans.set(['pci', i, path], at(f.keyStart, f.end), at(f.keyStart, f.keyEnd));
        else spans.set(['pci', i, path], at(f.start, f.end), at(f.keyStart, f.keyEnd!));
      };
      const globalSpan = (path: string, g: { e: Eff }) => spans.set(['pci', i, path], g.e.value.span, keyOf(g.e));

      entry.rdm_policy = spec.rdm_policy?.value ?? 'strict';
      if (spec.rdm_policy) fieldSpan('rdm_policy', spec.rdm_policy);
      for (const k of ['permissive', 'seize'] as const) {
        const f = spec[k];
        const g = globals[k];
        entry[k] = f ? f.value : g ? g.value : false;
        if (f) fieldSpan(k, f);
        else if (g) globalSpan(k, g);
      }
      if (spec.vslot) {
        entry.vslot = spec.vslot.value;
        fieldSpan('vslot', spec.vslot);
      }
      for (const k of ['msitranslate', 'power_mgmt'] as const) {
        const f = spec[k];
        const g = globals[k];
        if (f) {
          entry[k] = f.value;
          fieldSpan(k, f);
        } else if (g) {
          entry[k] = g.value;
          globalSpan(k, g);
        }
      }
      pci.push(entry);
    }
  }

  // ----- passthrough ------------------------------------------------------------------------
  let passthrough: string | undefined;
  const ptS = str('passthrough');
  if (ptS) {
    const v = ptS.text.text.toLowerCase();
    if ((PASSTHROUGH as readonly string[]).includes(v)) {
      passthrough = v;
      spans.set(['passthrough'], ptS.e.value.span, keyOf(ptS.e));
    } else {
      err(
        XL_RULES.invalidValue,
        `unknown passthrough option "${ptS.text.text}": xl exits; use one of ${PASSTHROUGH.join(', ')}`,
        ptS.e.value.span,
      );
    }
  }

  // ----- HVM memory layout ----------------------------------------------------------------------
  let mmioHole: bigint | undefined;
  let rdmBoundary: bigint | undefined;
  if (domType === 'hvm') {
    const mh = long('mmio_hole', ' of MiB');
    if (mh) {
      if (mh.value < 256n || mh.value > 3840n) {
        err(
          XL_RULES.invalidValue,
          `invalid value ${mh.value} for mmio_hole: xl exits; the MMIO hole below 4 GiB must be 256..3840 MiB ` +
            '(3072 is known to work)',
          mh.e.value.span,
        );
      } else {
        mmioHole = mh.value;
        spans.set(['mmio_hole'], mh.e.value.span, keyOf(mh.e));
      }
    }
    const rb = mib('rdm_mem_boundary');
    if (rb) {
      rdmBoundary = rb.value;
      spans.set(['rdm_mem_boundary'], rb.e.value.span, keyOf(rb.e));
    }
  }

  // ----- ioports / irqs: validated as xl does ------------------------------------------------
  const ioL = list('ioports', '"2f8-2ff"');
  if (ioL) {
    for (const item of ioL.items) {
      if (item.kind === 'list') {
        err(XL_RULES.invalidValue, 'a list inside ioports=[…]: xl exits ("Unable to get element"); write "START-END"', item.span);
        break;
      }
      const t = textOf(item);
      const s = t.text;
      const whole = s.length ? t.spanOf(0, s.length) : t.whole;
      const a = scanHex(s, 0);
      if (!a) {
        err(XL_RULES.invalidValue, `ioport \`${s}\` is not hex: xl exits; write a port or range in hex, e.g. "2f8-2ff"`, whole);
        continue;
      }
      if (a.value >= UINT32_MAX) {
        err(XL_RULES.invalidValue, `ioport ${hexStr(a.value)} is too big: xl exits; I/O ports are below 0xffffffff`, t.spanOf(a.start, a.end));
        continue;
      }
      if (s[a.end] === '-') {
        const b = scanHex(s, a.end + 1);
        if (!b || b.end !== s.length) {
          err(XL_RULES.invalidValue, `ioport range \`${s}\` is not START-END in hex: xl exits`, whole);
          continue;
        }
        if (b.value >= UINT32_MAX) {
          err(XL_RULES.invalidValue, `ioport ${hexStr(b.value)} is too big: xl exits; I/O ports are below 0xffffffff`, t.spanOf(b.start, b.end));
        } else if (a.value > b.value) {
          err(
            XL_RULES.invalidValue,
            `ioport range \`${s}\` starts after it ends: xl does not notice and grants a wrapped-around range; ` +
              'write the lower port first',
            whole,
          );
        }
      } else if (a.end !== s.length) {
        err(
          XL_RULES.invalidValue,
          `unexpected \`${s.slice(a.end)}\` in ioport \`${s}\`: xl warns and grants only port ${hexStr(a.value)}; ` +
            'write "START-END" in hex',
          t.spanOf(a.end, s.length),
        );
      }
    }
  }
  const irqL = list('irqs', '10');
  if (irqL) {
    for (const item of irqL.items) {
      if (item.kind === 'list') {
        err(XL_RULES.invalidValue, 'a list inside irqs=[…]: xl exits ("Unable to get element"); write IRQ numbers', item.span);
        break;
      }
      const t = textOf(item);
      const v = strtolWhole(t.text, 10);
      if (v === undefined || v < 0n || t.text.trim() !== t.text) {
        err(XL_RULES.invalidValue, `irq \`${t.text}\` is not a decimal number: xl exits ("Invalid argument parsing irq")`, item.span);
      } else if (v >= UINT32_MAX) {
        err(XL_RULES.invalidValue, `irq ${v} is too big: xl exits`, item.span);
      }
    }
  }

  // ----- iomem=[ "START,NUM[@GFN]" ] (hex frames) ---------------------------------------------
  let iomem: string[] | undefined;
  const iomemL = list('iomem', '"fed00,2"');
  if (iomemL) {
    iomem = [];
    spans.set(['iomem'], iomemL.e.value.span, keyOf(iomemL.e));
    for (const item of iomemL.items) {
      if (item.kind === 'list') {
        err(XL_RULES.invalidValue, 'a list inside iomem=[…]: xl exits ("Unable to get element"); write "START,NUM[@GFN]"', item.span);
        break;
      }
      const t = textOf(item);
      const s = t.text;
      const whole = s.length ? t.spanOf(0, s.length) : t.whole;
      const bad = (why: string, span = whole) =>
        err(
          XL_RULES.invalidValue,
          `iomem \`${s}\` ${why}: xl exits ("Invalid argument parsing iomem"); write "START,NUM[@GFN]" ` +
            'in hex (frame numbers and a page count)',
          span,
        );
      const a = scanHex(s, 0);
      if (!a || s[a.end] !== ',') {
        bad(a ? 'has no page count' : 'does not start with a hex frame number');
        continue;
      }
      const nb = scanHex(s, a.end + 1);
      if (!nb) {
        bad('has no hex page count after the comma');
        continue;
      }
      let gfn: bigint | undefined;
      let end = nb.end;
      if (s[end] === '@') {
        const g = scanHex(s, end + 1);
        if (!g) {
          bad('has no hex GFN after @');
          continue;
        }
        gfn = g.value;
        end = g.end;
      }
      if (end !== s.length) {
        bad(`has unexpected \`${s.slice(end)}\``, t.spanOf(end, s.length));
        continue;
      }
      if (a.value >= UINT64_LIMIT || nb.value >= UINT64_LIMIT || (gfn ?? 0n) >= UINT64_LIMIT) {
        bad('has a number beyond 64 bits');
        continue;
      }
      if (nb.value === 0n) {
        err(XL_RULES.invalidValue, `iomem \`${s}\` grants no pages (NUM is 0): give the number of pages`, t.spanOf(nb.start, nb.end));
        continue;
      }
      const last = a.value + nb.value - 1n;
      if (last >= UINT64_LIMIT || (gfn !== undefined && gfn + nb.value - 1n >= UINT64_LIMIT)) {
        bad('runs past the end of the 64-bit frame space');
        continue;
      }
      spans.set(['iomem', iomem.length], item.span);
      iomem.push(`${hexStr(a.value)}-${hexStr(last)}${gfn !== undefined ? '@' + hexStr(gfn) : ''}`);
    }
  }

  // ----- the document, in SPEC §2.3 order ----------------------------------------------------
  const value: Record<string, unknown> = { apiVersion: 'pviommu/v1', kind: 'Domain', name };
  if (host !== undefined) value.host = host;
  if (domid !== undefined) value.domid = domid;
  value.type = domType;
  value.role = role;
  if (hdr.trusted) value.trusted = hdr.trusted.v;
  if (hdr.device_model) value.device_model = hdr.device_model.v;
  value.memory = `${memory}MiB`;
  value.maxmem = `${maxmem}MiB`;
  if (passthrough !== undefined) value.passthrough = passthrough;
  if (hap) value.hap = hap.value;
  if (pci) value.pci = pci;
  if (rdm) value.rdm = rdm;
  if (rdmBoundary !== undefined) value.rdm_mem_boundary = `${rdmBoundary}MiB`;
  if (mmioHole !== undefined) value.mmio_hole = `${mmioHole}MiB`;
  if (iomem) value.iomem = iomem;
  if (hdr.live_migration) value.live_migration = hdr.live_migration.v;
  if (hdr.pv_iommu) value.pv_iommu = hdr.pv_iommu.v;

  const subject = { kind: 'Domain' as const, name };
  for (const f of findings) {
    f.subject = subject;
    if (host !== undefined) f.host = host;
  }
  findings.sort(
    (a, b) =>
      a.line - b.line || a.column - b.column || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0),
  );

  const source: DocSource = {
    file,
    index: 0,
    locate: (path: readonly PathSeg[], part?: NodePart) => spans.locate(file, path, part),
  };
  return { value, source, findings };
}
