/**
 * The text output of `emulate` (for people): one line per call — index, op, caller, result and
 * the outputs worth a glance — the findings under it, the end-of-run findings and a summary.
 * A trace's lines are written as bytes straight into the output buffer (`encodeCallText`).
 */
import type { CallReport, EmulateReport, EmulateSummary, Out, OutValue } from './types.js';
import type { Finding } from '../policy/types.js';
import { printable } from '../report/text.js';
import { HeadCache, IndexHead, LONG_STRING, copyAscii, put, wnum } from './jsonl.js';

/** Text from the input (op names, callers, messages quoting them) for a terminal: no control characters, no line breaks. */
function safe(s: string): string {
  return PLAIN.test(s) ? s : printable(s).replace(/\r\n|\r|\n/g, '\\n');
}
/** Printable ASCII only: what `safe` leaves as it is (most text: names, numbers, frames). */
const PLAIN = /^[\x20-\x7e]*$/;

/** `key=value` of the outputs worth a glance (frames, counts, owner), compact. */
function outputs(out: Out): string {
  let s = '';
  for (const k in out) {
    if (!Object.prototype.hasOwnProperty.call(out, k)) continue;
    s += `${s === '' ? '' : ' '}${k}=${fmtOut(out[k]!)}`;
  }
  return s;
}

function fmtOut(v: OutValue): string {
  if (typeof v !== 'object' || v === null) return String(v);
  if (Array.isArray(v)) return v.length > 4 ? `[${v.slice(0, 4).map(fmtOut).join(',')},…+${v.length - 4}]` : `[${v.map(fmtOut).join(',')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${k}=${fmtOut(x)}`).join(' ')}}`;
}

/** One call as a terminal line: `#3  iommu.map_page  dom0  → EPERM  bfn=…  [rule …]`. */
export function formatCallText(c: CallReport): string {
  const out = safe(outputs(c.out));
  let line = `#${c.index}${textHead(c).text}${out ? `  ${out}` : ''}`;
  for (const f of c.findings) line += `\n    ${f.severity}  ${safe(f.message)}  ${f.rule}`;
  return line;
}

/**
 * `  op  caller  → result` of a call line — the same for most calls of an op by one caller, so
 * the last few made for each are kept with what they were made from (see HeadCache).
 */
function textHead(c: CallReport): TextHead {
  const kept = c.statuses === undefined ? textHeads.get(c.op, c.caller) : undefined;
  if (kept !== undefined) {
    for (let i = 0; i < kept.length; i++) {
      const h = kept[i]!;
      if (h.rc === c.rc && h.errno === c.errno) return h;
    }
  }
  const result = c.statuses ? `${c.errno} [${(c.errnos ?? []).join(', ')}]` : c.rc > 0 ? `${c.rc} (${c.errno})` : c.errno;
  const text = `  ${safe(c.op) || '(invalid)'}${c.caller ? `  ${safe(c.caller)}` : ''}  → ${result}`;
  const head: TextHead = { rc: c.rc, errno: c.errno, text, bytes: Buffer.from(text, 'utf8') };
  if (c.statuses === undefined) textHeads.set(c.op, c.caller, head);
  return head;
}
interface TextHead {
  rc: number;
  errno: string;
  text: string;
  /** `text` in UTF-8. */
  bytes: Uint8Array;
}
const textHeads = new HeadCache<TextHead>();

/** `#` and the index, as formatCallText writes it. */
const TEXT_INDEX = new IndexHead(Buffer.from('#', 'latin1'), String);
const EQUALS = 61;
const SPACE = 32;

/**
 * Write `formatCallText(c)` as UTF-8 into `buf` from `pos`, before `lim`, and return its end; -1
 * when it does not fit, or for a call this writer leaves to `formatCallText`: findings, a
 * batch's statuses, or an output other than a printable-ASCII string, a safe integer, a boolean
 * or null (lists, objects, text to escape).
 */
export function encodeCallText(c: CallReport, buf: Uint8Array, pos: number, lim: number): number {
  if (c.findings.length !== 0 || c.statuses !== undefined) return -1;
  let p = put(buf, pos, lim, TEXT_INDEX.of(c.index));
  p = put(buf, p, lim, textHead(c).bytes);
  const out = c.out;
  let first = true;
  for (const k in out) {
    if (!Object.prototype.hasOwnProperty.call(out, k)) continue;
    if (p < 0 || p + 2 > lim) return -1;
    buf[p++] = SPACE;
    if (first) buf[p++] = SPACE;
    first = false;
    p = ascii(buf, p, lim, k);
    if (p < 0 || p >= lim) return -1;
    buf[p++] = EQUALS;
    const v = out[k];
    if (typeof v === 'string') p = ascii(buf, p, lim, v);
    else if (typeof v === 'number' && Number.isSafeInteger(v) && !Object.is(v, -0)) p = wnum(buf, p, lim, v);
    else if (typeof v === 'boolean' || v === null) p = ascii(buf, p, lim, String(v));
    else return -1;
  }
  return p;
}

/** A string of printable ASCII, as it is; -1 for any other character (it would need `safe`). */
function ascii(buf: Uint8Array, p: number, lim: number, s: string): number {
  if (p < 0) return -1;
  const n = s.length;
  if (p + n > lim) return -1;
  if (n >= LONG_STRING) return PLAIN.test(s) ? copyAscii(buf, p, s) : -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return -1;
    buf[p++] = c;
  }
  return p;
}

/** A whole run for people: one line per call (index, op, caller, result, key outputs), findings under each, then the end-of-run findings and a summary. */
export function formatEmulateText(report: EmulateReport, input: readonly Finding[] = []): string {
  const lines: string[] = [safe(`scenario ${report.scenario} on host ${report.host} (abi ${report.abi})`)];
  lines.push(...formatInputText(input));
  for (const c of report.calls) lines.push(formatCallText(c));
  const inCalls = new Set([...report.calls.flatMap((c) => c.findings), ...input]);
  const end = report.findings.filter((f) => !inCalls.has(f));
  if (end.length) {
    lines.push('end of scenario:');
    for (const f of end) lines.push(formatEndFinding(f));
  }
  lines.push(formatSummaryText(report.summary));
  return lines.join('\n') + '\n';
}

/** The config's own findings (warnings of the input rules), before the calls: a header and a line each. */
export function formatInputText(input: readonly Finding[]): string[] {
  return input.length ? ['input:', ...input.map(formatEndFinding)] : [];
}

/** A finding of the end of a run (not a call's), as a line of the text output: `    file:line:col  severity  message  rule`. */
export function formatEndFinding(f: Finding): string {
  return `    ${safe(f.file)}:${f.line}:${f.column}  ${f.severity}  ${safe(f.message)}  ${f.rule}`;
}

/** The last line of the text output: `12 calls, 1 error, 0 warnings, 0 failed expectations`. */
export function formatSummaryText(s: EmulateSummary): string {
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  return `${plural(s.calls, 'call')}, ${plural(s.errors, 'error')}, ${plural(s.warnings, 'warning')}, ${plural(s.failed_expectations, 'failed expectation')}`;
}
