/**
 * One call report as a JSON line (`emulate --format jsonl`), byte for byte what
 * `JSON.stringify(report)` gives, built directly for the shape almost every call of a trace has:
 * no batch statuses, no findings, outputs that are flat strings / numbers / booleans / null.
 * Any other report goes through `JSON.stringify` itself. (A million-call trace spends a large
 * part of its time serialising results; generic stringify walks and checks every property.)
 */
import type { CallReport, Out } from './types.js';

/** Strings already quoted: op names, errno names, callers, output keys repeat call after call. */
const quoted = new Map<string, string>();
const MAX_QUOTED = 4096;

/** `JSON.stringify(s)` for a string, with the quoting of short repeated strings remembered. */
function str(s: string): string {
  if (s.length > 64) return JSON.stringify(s);
  let q = quoted.get(s);
  if (q === undefined) {
    q = JSON.stringify(s);
    if (quoted.size < MAX_QUOTED) quoted.set(s, q);
  }
  return q;
}

/** Output values (`0x…` frames, owner names) vary: quote them, without a cache. */
function plainStr(s: string): string {
  // Printable ASCII without `"` or `\` needs no escaping.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(s);
  }
  return `"${s}"`;
}

function num(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** The `out` object, or undefined when it holds anything but flat scalars. */
function outJson(out: Out): string | undefined {
  let s = '{';
  let first = true;
  for (const k in out) {
    if (!Object.prototype.hasOwnProperty.call(out, k)) continue;
    const v = out[k];
    let j: string;
    if (typeof v === 'string') j = plainStr(v);
    else if (typeof v === 'number') j = num(v);
    else if (typeof v === 'boolean') j = v ? 'true' : 'false';
    else if (v === null) j = 'null';
    else if (v === undefined) continue; // stringify drops undefined properties
    else return undefined;
    s += (first ? '' : ',') + str(k) + ':' + j;
    first = false;
  }
  return s + '}';
}

/** `JSON.stringify(c)`, faster for the common shape. */
export function callReportJson(c: CallReport): string {
  if (c.statuses !== undefined || c.errnos !== undefined || c.findings.length !== 0) return JSON.stringify(c);
  const out = outJson(c.out);
  if (out === undefined) return JSON.stringify(c);
  return `{"index":${num(c.index)},"op":${str(c.op)},"caller":${str(c.caller)},"rc":${num(c.rc)},"errno":${str(c.errno)},"status":${num(c.status)},"out":${out},"findings":[]}`;
}
