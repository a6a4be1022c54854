/**
 * Raw documents → validated, cross-referenced config (SPEC §2), with input findings (§5.1):
 * `schema/invalid`, `ref/unknown`, `ref/duplicate`, `ref/no-hardware-domain`.
 */
import type { z } from 'zod';
import type { Finding, Location, Related, Subject, DocKind } from '../policy/types.js';
import type { RawDoc } from './load.js';
import type { DocSource, NodePart, PathSeg } from './source.js';
import {
  copyProtoKey,
  KIND_SCHEMAS,
  KINDS,
  normalizeNumbers,
  type DeviceInput,
  type DomainInput,
  type HostInput,
  type Kind,
  type ScenarioInput,
} from './schema.js';
import { looksLikeBdf, parseBdf, formatBdf, phantomBdfs, rangeText, type FrameRange } from './units.js';
import { closest } from '../util/suggest.js';
import { orderedFinding } from '../policy/finding.js';

export interface HostCfg extends Omit<HostInput, 'xen_mfns'> {
  src: DocSource;
  xen_mfns: FrameRange[];
}
export interface DeviceCfg extends DeviceInput {
  src: DocSource;
  hostName: string;
}
export interface DomainCfg extends Omit<DomainInput, 'maxmem' | 'trusted'> {
  src: DocSource;
  hostName: string;
  /** Read from an xl.cfg file; or `implicit`: the hardware domain assumed for an xl-only host. */
  origin?: 'xl' | 'implicit';
  maxmem: number;
  trusted: boolean;
}
export interface ScenarioCfg extends ScenarioInput {
  src: DocSource;
  hostName: string;
}

/** Everything that belongs to one host. Devices and domains sorted by name / domid. */
export interface HostConfig {
  host: HostCfg;
  devices: DeviceCfg[];
  domains: DomainCfg[];
  scenarios: ScenarioCfg[];
  /** True when a document of this host had input errors: the model is not built for it. */
  inputErrors: boolean;
}

export interface Config {
  hosts: HostConfig[];
  counts: { hosts: number; domains: number; devices: number; scenarios: number; documents: number };
}

export interface ValidateResult {
  config: Config;
  findings: Finding[];
}

/** Finding helper shared by every stage that reports at a document node. */
export function findingAt(
  src: DocSource,
  path: readonly PathSeg[],
  rule: string,
  severity: Finding['severity'],
  message: string,
  extra: { part?: NodePart; host?: string; subject?: Subject; related?: Related[] } = {},
): Finding {
  const loc: Location = src.locate(path, extra.part ?? 'value');
  const f: Finding = { rule, severity, message, ...loc };
  if (extra.host !== undefined) f.host = extra.host;
  if (extra.subject) f.subject = extra.subject;
  if (extra.related && extra.related.length) f.related = extra.related;
  return f;
}

export function relatedAt(src: DocSource, path: readonly PathSeg[], message: string, part: NodePart = 'value'): Related {
  const l = src.locate(path, part);
  return { file: l.file, line: l.line, column: l.column, message };
}

/**
 * The host a document belongs to, as far as its value tells (also when it failed validation): a
 * Host's own name, else its `host:` string. Undefined: it names none (the repo's only host, or
 * an error of its own).
 */
export function documentHost(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const h = o.kind === 'Host' ? o.name : o.host;
  return typeof h === 'string' ? h : undefined;
}

/** `f` with `host` set. */
function withHost(f: Finding, host: string): Finding {
  return orderedFinding({ ...f, host });
}

/**
 * Give each finding without a host the host of the document it lies in (a document's span in its
 * file): the findings of reading YAML (yaml/*, suppression/*) are made before documents are
 * known, and a command on one host must not be stopped by another host's input error.
 */
export function attributeHosts(findings: Finding[], docs: readonly RawDoc[]): Finding[] {
  const files = new Set<string>();
  for (const f of findings) if (f.host === undefined) files.add(f.file);
  if (files.size === 0) return findings;
  const spans = new Map<string, { line: number; endLine: number; host: string }[]>();
  for (const d of docs) {
    if (!files.has(d.source.file)) continue;
    const host = documentHost(d.value);
    if (host === undefined) continue;
    const l = d.source.locate([]);
    let list = spans.get(l.file);
    if (!list) spans.set(l.file, (list = []));
    list.push({ line: l.line, endLine: l.endLine, host });
  }
  return findings.map((f) => {
    if (f.host !== undefined) return f;
    const doc = spans.get(f.file)?.find((s) => f.line >= s.line && f.line <= s.endLine);
    return doc ? withHost(f, doc.host) : f;
  });
}

/** Whether a document names a host other than `host` (and is not a Host itself). */
export function ofAnotherHost(v: unknown, host: string): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return o.kind !== 'Host' && typeof o.host === 'string' && o.host !== host;
}

interface Parsed<T> {
  kind: Kind;
  data: T;
  src: DocSource;
  origin?: 'yaml' | 'xl';
}

/**
 * Validate documents and put each host's together. With `onlyHost`, the documents that name
 * another host (`host:` a string other than it) are left out, not validated: every Host is still
 * validated (names are unique across the repo, and a wrong `--host` gets the list), and so is every
 * document without a `host:` string (it belongs to the only host, or is an error of its own). What
 * the commands that work on one host need, without the rest of a fleet (`counts` still count every
 * document). `dropped`: documents the loader already left out for the same reason (its
 * `keepDoc`), counted in `counts.documents` too.
 */
export function validateDocs(raw: readonly RawDoc[], onlyHost?: string, dropped = 0): ValidateResult {
  const findings: Finding[] = [];
  const hosts: Parsed<HostInput>[] = [];
  const devices: Parsed<DeviceInput>[] = [];
  const domains: Parsed<DomainInput>[] = [];
  const scenarios: Parsed<ScenarioInput>[] = [];
  /** Host names (or '' when unknown) of documents that failed validation. */
  const brokenHosts = new Set<string>();
  /** `Kind\0name` of documents that failed validation: references to them are not "unknown". */
  const brokenNames = new Set<string>();
  /** Host documents that failed validation. */
  let brokenHostDocs = 0;

  for (const doc of raw) {
    if (onlyHost !== undefined && ofAnotherHost(doc.value, onlyHost)) continue;
    const value = normalizeNumbers(doc.value);
    const src = doc.source;
    const obj = value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
    const name = typeof obj.name === 'string' ? obj.name : undefined;
    const kindRaw = obj.kind;
    if (typeof kindRaw !== 'string' || !(KINDS as string[]).includes(kindRaw)) {
      const hint = typeof kindRaw === 'string' ? closest(kindRaw, KINDS) : undefined;
      const msg =
        kindRaw === undefined
          ? `document has no \`kind\`; add one of ${KINDS.join(', ')}`
          : `unknown kind ${JSON.stringify(kindRaw)}${hint ? ` — did you mean \`${hint}\`?` : ''}; expected one of ${KINDS.join(', ')}`;
      findings.push(findingAt(src, kindRaw === undefined ? [] : ['kind'], 'schema/invalid', 'error', msg));
      brokenHosts.add(typeof obj.host === 'string' ? obj.host : '');
      continue;
    }
    const kind = kindRaw as Kind;
    const schema = KIND_SCHEMAS[kind] as z.ZodType;
    const r = schema.safeParse(value);
    if (!r.success) {
      // (its findings are its host's: they stop that host, not another)
      const host = documentHost(obj);
      const first = findings.length;
      for (const issue of r.error.issues) {
        // One issue names every unknown key of a mapping: each gets its finding, at its key — up
        // to a bound (each is looked up in the mapping: 50,000 keys took a minute), then one
        // finding for the rest.
        if (issue.code === 'unrecognized_keys') {
          const shown = issue.keys.slice(0, MAX_UNKNOWN_KEYS);
          for (const key of shown) findings.push(issueFinding({ ...issue, keys: [key] }, src, kind, name, obj, schema));
          const rest = issue.keys.length - shown.length;
          if (rest > 0) {
            const f = issueFinding({ ...issue, keys: [issue.keys[shown.length]!] }, src, kind, name, obj, schema);
            // "unknown key `k` in iommu of Host h — did you mean …" → " in iommu of Host h"
            const tail = f.message.replace(/^unknown key `[^`]*`/, '').replace(/ — did you mean .*$/, '');
            findings.push({ ...f, message: `${rest} more unknown keys, from \`${issue.keys[shown.length]}\` on,${tail}` });
          }
        } else findings.push(issueFinding(issue, src, kind, name, obj, schema));
      }
      if (host !== undefined) for (let i = first; i < findings.length; i++) findings[i] = withHost(findings[i]!, host);
      if (name !== undefined) brokenNames.add(`${kind}\0${name}`);
      if (kind === 'Host') brokenHostDocs++;
      brokenHosts.add(kind === 'Host' ? (name ?? '') : typeof obj.host === 'string' ? obj.host : '');
      continue;
    }
    if (kind === 'Scenario') keepProtoKeys(value, r.data as { calls: Record<string, unknown>[] });
    const p = { kind, data: r.data, src, origin: doc.origin } as Parsed<never>;
    if (kind === 'Host') hosts.push(p);
    else if (kind === 'Device') devices.push(p);
    else if (kind === 'Domain') domains.push(p);
    else scenarios.push(p);
  }

  return crossReference(hosts, devices, domains, scenarios, findings, brokenHosts, brokenNames, brokenHostDocs, raw.length + dropped);
}

/** Unknown keys of one mapping reported one by one; the rest get one finding. */
const MAX_UNKNOWN_KEYS = 20;

/** A zod issue (of unknown keys: the first), at the node it is about, in words that say how to fix it. */
function issueFinding(
  issue: z.core.$ZodIssue,
  src: DocSource,
  kind: Kind,
  name: string | undefined,
  root: Record<string, unknown>,
  schema: z.ZodType,
): Finding {
  const subject: Subject | undefined = name ? { kind, name } : undefined;
  const where = `${kind}${name ? ` ${name}` : ''}`;
  const path = issue.path as PathSeg[];
  const field = path.length ? path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replace(/\.\[/g, '[') : undefined;
  let message: string;
  let part: NodePart = 'value';
  let at = path;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0]!;
      const allowed = allowedKeys(schema, path);
      const hint = allowed.length ? closest(key, allowed) : undefined;
      message = `unknown key \`${key}\`${field ? ` in ${field}` : ''} of ${where}${hint ? ` — did you mean \`${hint}\`?` : allowed.length ? `; allowed keys: ${allowed.join(', ')}` : ''}`;
      at = [...path, key];
      part = 'key';
      break;
    }
    case 'invalid_type': {
      const got = valueAt(root, path);
      if (got === undefined) {
        message = `${where} is missing required field \`${field}\``;
      } else {
        message = `\`${field}\` of ${where} must be ${expectedWord(issue.expected)}, not ${typeWord(got)}`;
      }
      break;
    }
    case 'invalid_value': {
      const got = valueAt(root, path);
      const options = issue.values.map((v) => String(v));
      const hint = typeof got === 'string' ? closest(got, options) : undefined;
      message =
        options.length === 1
          ? `\`${field}\` of ${where} must be ${JSON.stringify(options[0])}`
          : `\`${field}\` of ${where} is ${JSON.stringify(got)}; expected one of ${options.join(', ')}${hint ? ` — did you mean \`${hint}\`?` : ''}`;
      break;
    }
    case 'too_small':
      message = Array.isArray(valueAt(root, path))
        ? `\`${field}\` of ${where} needs at least ${String(issue.minimum)} entr${issue.minimum === 1 ? 'y' : 'ies'}`
        : `\`${field}\` of ${where} must not be empty`;
      break;
    case 'invalid_format':
    case 'custom':
      if (issue.code === 'custom' && issue.params?.part === 'key') part = 'key';
      message =
        valueAt(root, path) === undefined && path.length > 0
          ? `${where} is missing required field \`${field}\``
          : `\`${field}\` of ${where}: ${issue.message}`;
      break;
    case 'invalid_union':
      message = `\`${field}\` of ${where} has the wrong shape: ${issue.message}`;
      break;
    default:
      message = `\`${field ?? kind}\` of ${where}: ${issue.message}`;
  }
  return findingAt(src, at, 'schema/invalid', 'error', message, { part, ...(subject ? { subject } : {}) });
}

/**
 * A call's `__proto__` key (or its `expect`'s), an own key of the document's value, is lost when
 * zod copies the open call mapping (it becomes the prototype): put it back as an own key, so the
 * run reports it as an unknown argument or output, as it does for a trace line's.
 */
function keepProtoKeys(raw: unknown, data: { calls: Record<string, unknown>[] }): void {
  const calls = (raw as { calls?: unknown } | null)?.calls;
  if (!Array.isArray(calls)) return;
  calls.forEach((c, i) => {
    const parsed = data.calls[i];
    copyProtoKey(c, parsed);
    copyProtoKey((c as { expect?: unknown } | null)?.expect, parsed?.expect);
  });
}

/** The first frame of `r` that no range of `cover` holds, or undefined. */
function firstUncovered(r: FrameRange, cover: readonly FrameRange[]): number | undefined {
  let at = r.start;
  for (const c of [...cover].sort((a, b) => a.start - b.start)) {
    if (c.end < at) continue;
    if (c.start > at) return at;
    at = c.end + 1;
    if (at > r.end) return undefined;
  }
  return at;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function expectedWord(e: string): string {
  return e === 'boolean' ? 'true or false' : e === 'array' ? 'a list' : e === 'object' ? 'a mapping' : `a ${e}`;
}

function typeWord(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Keys the schema allows at `path` (for "did you mean"). */
function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: unknown = schema;
  for (const p of path) {
    s = unwrap(s);
    const def = (s as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } }).def;
    if (!def) return [];
    if (def.type === 'object' && typeof p === 'string') s = def.shape?.[p];
    else if (def.type === 'array') s = def.element;
    else return [];
  }
  s = unwrap(s);
  const shape = (s as { def?: { shape?: Record<string, unknown> } })?.def?.shape;
  return shape ? Object.keys(shape) : [];
}

function unwrap(s: unknown): unknown {
  for (let i = 0; i < 10; i++) {
    const def = (s as { def?: { type?: string; innerType?: unknown; in?: unknown } })?.def;
    if (!def) return s;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'prefault' || def.type === 'nullable') s = def.innerType;
    else if (def.type === 'pipe') s = def.in;
    else return s;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------

function crossReference(
  hostDocs: Parsed<HostInput>[],
  deviceDocs: Parsed<DeviceInput>[],
  domainDocs: Parsed<DomainInput>[],
  scenarioDocs: Parsed<ScenarioInput>[],
  findings: Finding[],
  brokenHosts: Set<string>,
  brokenNames: Set<string>,
  brokenHostDocs: number,
  documents: number,
): ValidateResult {
  const hostByName = new Map<string, HostConfig>();
  const hostOrder: HostConfig[] = [];
  const sub = (kind: DocKind, name: string): Subject => ({ kind, name });

  for (const h of hostDocs) {
    const prev = hostByName.get(h.data.name);
    if (prev) {
      findings.push(
        findingAt(h.src, ['name'], 'ref/duplicate', 'error', `Host ${h.data.name} is defined twice; host names are unique across the repo — rename or remove one`, {
          host: h.data.name,
          subject: sub('Host', h.data.name),
          related: [relatedAt(prev.host.src, ['name'], 'first defined here')],
        }),
      );
      continue;
    }
    const { xen_mfns, ...rest } = h.data;
    const xen = xen_mfns ?? [];
    const hc: HostConfig = { host: { ...rest, xen_mfns: xen, src: h.src }, devices: [], domains: [], scenarios: [], inputErrors: false };
    if (rest.ram === undefined && rest.memory_map === undefined) {
      findings.push(findingAt(h.src, ['name'], 'schema/invalid', 'error', `Host ${h.data.name} has neither \`ram\` nor \`memory_map\`; give one of them`, { host: h.data.name, subject: sub('Host', h.data.name) }));
      hc.inputErrors = true;
    } else if (rest.ram !== undefined && rest.memory_map !== undefined) {
      findings.push(findingAt(h.src, ['memory_map'], 'schema/invalid', 'error', `Host ${h.data.name} has both \`ram\` and \`memory_map\`; keep one (ram is shorthand for a single RAM range from MFN 0)`, { part: 'key', host: h.data.name, subject: sub('Host', h.data.name) }));
      hc.inputErrors = true;
    }
    if (rest.memory_map) {
      const sorted = rest.memory_map.map((e, i) => ({ ...e.mfns, i })).sort((a, b) => a.start - b.start);
      for (let k = 1; k < sorted.length; k++) {
        const a = sorted[k - 1]!;
        const b = sorted[k]!;
        if (b.start <= a.end) {
          findings.push(findingAt(h.src, ['memory_map', b.i, 'mfns'], 'schema/invalid', 'error', `memory_map ranges overlap (0x${b.start.toString(16)} is also in entry ${a.i}); E820 ranges must be disjoint`, { host: h.data.name, subject: sub('Host', h.data.name), related: [relatedAt(h.src, ['memory_map', a.i, 'mfns'], 'overlapping range')] }));
          hc.inputErrors = true;
        }
      }
    }
    // xen_mfns must lie inside host RAM (SPEC §2.1); judged when host RAM is given one way only
    const oneWay = (rest.ram === undefined) !== (rest.memory_map === undefined);
    const ram = rest.memory_map ? rest.memory_map.filter((e) => e.type === 'ram').map((e) => e.mfns) : [{ start: 0, end: (rest.ram ?? 0) - 1 }];
    if (oneWay) {
      xen.forEach((x, i) => {
        const out = firstUncovered(x, ram);
        if (out === undefined) return;
        findings.push(
          findingAt(h.src, ['xen_mfns', i], 'schema/invalid', 'error', `xen_mfns ${rangeText(x)} reaches MFN 0x${out.toString(16)}, which is not host RAM; Xen's own frames must lie inside host RAM (${rest.memory_map ? 'the RAM ranges of memory_map' : rest.ram ? `ram: MFNs 0x0-0x${(rest.ram - 1).toString(16)}` : 'ram: 0, none'})`, {
            host: h.data.name,
            subject: sub('Host', h.data.name),
          }),
        );
        hc.inputErrors = true;
      });
    }
    hostByName.set(h.data.name, hc);
    hostOrder.push(hc);
  }
  for (const b of brokenHosts) {
    const hc = hostByName.get(b);
    if (hc) hc.inputErrors = true;
    else if (b === '' && hostOrder.length === 1) hostOrder[0]!.inputErrors = true;
  }

  /** Resolve a document's `host:`; reports ref/unknown. */
  const resolveHost = (kind: DocKind, name: string, src: DocSource, host: string | undefined, origin?: RawDoc['origin']): HostConfig | undefined => {
    if (host !== undefined) {
      const hc = hostByName.get(host);
      if (!hc && !brokenNames.has(`Host\0${host}`)) {
        const hint = closest(host, [...hostByName.keys()]);
        findings.push(
          findingAt(src, ['host'], 'ref/unknown', 'error', `${kind} ${name} names host ${JSON.stringify(host)}, which no Host document defines${hint ? ` — did you mean \`${hint}\`?` : ''}`, {
            subject: sub(kind, name),
          }),
        );
      }
      return hc;
    }
    if (hostOrder.length === 1) return hostOrder[0];
    // the repo's one Host document failed validation: its own finding says why, and this
    // document would belong to it
    if (hostOrder.length === 0 && brokenHostDocs === 1) return undefined;
    findings.push(
      findingAt(src, ['name'], 'ref/unknown', 'error', hostOrder.length === 0 ? `${kind} ${name} needs a Host, but the repo defines none; add a Host document` : `${kind} ${name} has no ${origin === 'xl' ? 'host (an xl.cfg names it with a `# pviommu: host=NAME` comment, or check --host NAME)' : '`host:`'} and the repo defines ${hostOrder.length} hosts; name one of them (${hostOrder.map((h) => h.host.name).join(', ')})`, {
        subject: sub(kind, name),
      }),
    );
    return undefined;
  };

  const seen = new Map<string, DocSource>();
  const dup = (key: string, kind: DocKind, name: string, host: string, src: DocSource): boolean => {
    const prev = seen.get(key);
    if (prev) {
      findings.push(findingAt(src, ['name'], 'ref/duplicate', 'error', `${kind} ${name} is defined twice on host ${host}; names are unique per kind and host`, { host, subject: sub(kind, name), related: [relatedAt(prev, ['name'], 'first defined here')] }));
      return true;
    }
    seen.set(key, src);
    return false;
  };

  for (const d of deviceDocs) {
    const hc = resolveHost('Device', d.data.name, d.src, d.data.host);
    if (!hc) continue;
    if (dup(`Device\0${hc.host.name}\0${d.data.name}`, 'Device', d.data.name, hc.host.name, d.src)) continue;
    const other = hc.devices.find((x) => x.bdf === d.data.bdf);
    if (other) {
      findings.push(findingAt(d.src, ['bdf'], 'ref/duplicate', 'error', `Device ${d.data.name} has BDF ${d.data.bdf}, already used by Device ${other.name} on host ${hc.host.name}; one PCI function is one Device`, { host: hc.host.name, subject: sub('Device', d.data.name), related: [relatedAt(other.src, ['bdf'], `${other.name} has the same BDF`)] }));
      continue;
    }
    // The config objects are the schema's outputs with fields added (fresh objects nothing else
    // holds): a spread copy of each would cost time here and, worse, give every later property
    // read in the rules a slow path (copies take unstable shapes; measured 10× slower reads).
    hc.devices.push(Object.assign(d.data, { src: d.src, hostName: hc.host.name }));
  }
  for (const d of domainDocs) {
    const hc = resolveHost('Domain', d.data.name, d.src, d.data.host, d.origin);
    if (!hc) continue;
    if (dup(`Domain\0${hc.host.name}\0${d.data.name}`, 'Domain', d.data.name, hc.host.name, d.src)) continue;
    const other = hc.domains.find((x) => x.domid === d.data.domid);
    if (other) {
      findings.push(findingAt(d.src, ['domid'], 'ref/duplicate', 'error', `Domain ${d.data.name} has domid ${d.data.domid}, already used by ${other.name} on host ${hc.host.name}; domids are unique per host`, { host: hc.host.name, subject: sub('Domain', d.data.name), related: [relatedAt(other.src, ['domid'], `${other.name} has the same domid`)] }));
      continue;
    }
    const privileged = d.data.role === 'hardware' || d.data.role === 'control';
    const dom: DomainCfg = Object.assign(d.data, { src: d.src, hostName: hc.host.name }) as DomainCfg;
    if (d.origin === 'xl') dom.origin = 'xl';
    dom.maxmem = d.data.maxmem ?? d.data.memory;
    dom.trusted = d.data.trusted ?? privileged;
    hc.domains.push(dom);
  }
  for (const s of scenarioDocs) {
    const hc = resolveHost('Scenario', s.data.name, s.src, s.data.host);
    if (!hc) continue;
    if (dup(`Scenario\0${hc.host.name}\0${s.data.name}`, 'Scenario', s.data.name, hc.host.name, s.src)) continue;
    hc.scenarios.push(Object.assign(s.data, { src: s.src, hostName: hc.host.name }));
  }

  for (const hc of hostOrder) {
    const host = hc.host.name;
    hc.devices.sort((a, b) => (a.bdf < b.bdf ? -1 : a.bdf > b.bdf ? 1 : 0));
    hc.domains.sort((a, b) => a.domid - b.domid);
    hc.scenarios.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const before = findings.length;
    const domainNames = hc.domains.map((d) => d.name);
    // A reference to a document that exists but failed validation is reported there, not here.
    const domainExists = (ref: string | number) =>
      typeof ref === 'number' ? hc.domains.some((d) => d.domid === ref) : domainNames.includes(ref) || brokenNames.has(`Domain\0${ref}`);

    // xl.cfg files describe guests only; dom0 is configured on Xen's command line. A host whose
    // domains all come from xl.cfg files gets an implicit hardware domain (`Domain-0`, as
    // `xl list` names it: PV, domid 0, no RAM of its own in the model). A Domain document for
    // dom0 replaces it.
    if (hc.domains.length && hc.domains.every((d) => d.origin === 'xl') && !hc.domains.some((d) => d.role === 'hardware' || d.domid === 0)) {
      hc.domains.unshift(implicitDom0(hc));
    }
    // Hardware domain: exactly one when the host has domains.
    const hw = hc.domains.filter((d) => d.role === 'hardware');
    if (hc.domains.length && hw.length === 0) {
      findings.push(findingAt(hc.host.src, ['name'], 'ref/no-hardware-domain', 'error', `host ${host} has ${hc.domains.length} domain(s) but none with role: hardware; mark dom0 (domid 0) as \`role: hardware\``, { host, subject: sub('Host', host) }));
    } else if (hw.length > 1) {
      for (const extra of hw.slice(1)) {
        findings.push(findingAt(extra.src, ['role'], 'ref/no-hardware-domain', 'error', `host ${host} has more than one hardware domain (${hw.map((d) => d.name).join(', ')}); exactly one domain may have role: hardware`, { host, subject: sub('Domain', extra.name), related: [relatedAt(hw[0]!.src, ['role'], 'also role: hardware')] }));
      }
    }
    const controls = hc.domains.filter((d) => d.role === 'control');
    for (const extra of controls.slice(1)) {
      findings.push(findingAt(extra.src, ['role'], 'ref/duplicate', 'error', `host ${host} has more than one control domain (${controls.map((d) => d.name).join(', ')}); keep one`, { host, subject: sub('Domain', extra.name) }));
    }

    const devNames = hc.devices.map((d) => d.name);
    for (const dom of hc.domains) {
      dom.pci.forEach((p, i) => {
        const found = findDevice(hc, p.dev) ?? (brokenNames.has(`Device\0${p.dev}`) ? true : undefined);
        if (!found) {
          const bdf = looksLikeBdf(p.dev);
          const hint = bdf ? undefined : closest(p.dev, devNames);
          const norm = bdf ? parseBdf(p.dev) : undefined;
          const real = norm?.ok ? hc.devices.find((d) => phantomBdfs(d.bdf, d.phantom_stride).includes(formatBdf(norm.value))) : undefined;
          findings.push(findingAt(dom.src, ['pci', i, 'dev'], 'ref/unknown', 'error', real ? `Domain ${dom.name} assigns PCI device ${p.dev}, a phantom function of ${real.name} (${real.bdf}, phantom_stride ${real.phantom_stride}): Xen has no PCI device for it (ENODEV) and assigns it together with ${real.name}; assign ${real.name} instead` : bdf ? `Domain ${dom.name} assigns PCI device ${p.dev}, but host ${host} has no Device with that BDF; add a Device document for it` : `Domain ${dom.name} assigns device ${JSON.stringify(p.dev)}, which no Device on host ${host} defines${hint ? ` — did you mean \`${hint}\`?` : ''}`, { host, subject: sub('Domain', dom.name) }));
        }
      });
      if (dom.device_model !== undefined && !domainExists(dom.device_model)) {
        const hint = typeof dom.device_model === 'string' ? closest(dom.device_model, domainNames) : undefined;
        findings.push(findingAt(dom.src, ['device_model'], 'ref/unknown', 'error', `Domain ${dom.name} names device model ${JSON.stringify(dom.device_model)}, which is not a domain on host ${host}${hint ? ` — did you mean \`${hint}\`?` : ''}`, { host, subject: sub('Domain', dom.name) }));
      }
    }
    for (const dev of hc.devices) {
      dev.mediated?.vgpus.forEach((v, i, all) => {
        const first = all.indexOf(v);
        if (first < i) {
          findings.push(findingAt(dev.src, ['mediated', 'vgpus', i], 'schema/invalid', 'error', `mediated Device ${dev.name} lists vgpu ${JSON.stringify(v)} twice; list each guest once`, { host, subject: sub('Device', dev.name), related: [relatedAt(dev.src, ['mediated', 'vgpus', first], 'first listed here')] }));
        } else if (!domainExists(v)) {
          const hint = closest(v, domainNames);
          findings.push(findingAt(dev.src, ['mediated', 'vgpus', i], 'ref/unknown', 'error', `mediated Device ${dev.name} lists vgpu ${JSON.stringify(v)}, which is not a domain on host ${host}${hint ? ` — did you mean \`${hint}\`?` : ''}`, { host, subject: sub('Device', dev.name) }));
        }
      });
    }
    for (const sc of hc.scenarios) {
      sc.calls.forEach((c, i) => {
        if (c.caller !== undefined && !domainExists(c.caller)) {
          const hint = typeof c.caller === 'string' ? closest(c.caller, domainNames) : undefined;
          findings.push(findingAt(sc.src, ['calls', i, 'caller'], 'ref/unknown', 'error', `call #${i} of Scenario ${sc.name} has caller ${JSON.stringify(c.caller)}, which is not a domain on host ${host}${hint ? ` — did you mean \`${hint}\`?` : ''}`, { host, subject: sub('Scenario', sc.name) }));
        }
      });
    }
    if (findings.length > before) hc.inputErrors = true;
  }

  for (const hc of hostOrder) {
    for (const f of findings) if (f.host === hc.host.name && f.severity === 'error') hc.inputErrors = true;
  }

  const config: Config = {
    hosts: hostOrder,
    counts: {
      hosts: hostDocs.length,
      domains: domainDocs.length,
      devices: deviceDocs.length,
      scenarios: scenarioDocs.length,
      documents,
    },
  };
  return { config, findings };
}

function implicitDom0(hc: HostConfig): DomainCfg {
  return {
    apiVersion: 'pviommu/v1',
    kind: 'Domain',
    name: hc.domains.some((d) => d.name === 'Domain-0') ? 'Domain-0.implicit' : 'Domain-0',
    domid: 0,
    type: 'pv',
    role: 'hardware',
    memory: 0,
    maxmem: 0,
    trusted: true,
    passthrough: 'default',
    hap: true,
    pci: [],
    rdm_mem_boundary: 2048 * 256,
    mmio_hole: 256 * 256,
    iomem: [],
    live_migration: false,
    pv_iommu: false,
    src: hc.host.src,
    hostName: hc.host.name,
    origin: 'implicit',
  };
}

/** A `pci` entry's device: by name, or by BDF. */
export function findDevice(hc: { devices: DeviceCfg[] }, ref: string): DeviceCfg | undefined {
  const byName = hc.devices.find((d) => d.name === ref);
  if (byName) return byName;
  if (looksLikeBdf(ref)) {
    const b = parseBdf(ref);
    if (b.ok) {
      const s = formatBdf(b.value);
      return hc.devices.find((d) => d.bdf === s);
    }
  }
  return undefined;
}
