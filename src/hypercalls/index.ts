/**
 * The hypercall emulator (SPEC §4, §6.2): run scenarios and traces against a machine model.
 */
import type { CallReport, EmulateReport, Out, OutValue } from './types.js';

export type { Abi, CallReport, CallResult, EmulateReport, EmulateSummary, OpContext, OpFn, OpSpec, Out, RawCall } from './types.js';
export { runScenario, runCalls, withAbi, Session, OPS, sameValue, type RunOptions, type RunResult } from './scenario.js';
export { emulateTrace, readTrace, type TraceLine } from './trace.js';
export { stateOf } from './mm.js';

/** `key=value` of the outputs worth a glance (frames, counts, owner), compact. */
function outputs(out: Out): string {
  const parts: string[] = [];
  const fmt = (v: OutValue): string => {
    if (Array.isArray(v)) return v.length > 4 ? `[${v.slice(0, 4).map(fmt).join(',')},…+${v.length - 4}]` : `[${v.map(fmt).join(',')}]`;
    if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${k}=${fmt(x)}`).join(' ')}}`;
    return String(v);
  };
  for (const [k, v] of Object.entries(out)) parts.push(`${k}=${fmt(v)}`);
  return parts.join(' ');
}

/** One call as a terminal line: `#3  iommu.map_page  dom0  → EPERM  bfn=…  [rule …]`. */
export function formatCallText(c: CallReport): string {
  const result = c.statuses ? `${c.errno} [${(c.errnos ?? []).join(', ')}]` : c.rc > 0 ? `${c.rc} (${c.errno})` : c.errno;
  const head = `#${c.index}  ${c.op || '(invalid)'}${c.caller ? `  ${c.caller}` : ''}  → ${result}`;
  const out = outputs(c.out);
  const lines = [out ? `${head}  ${out}` : head];
  for (const f of c.findings) lines.push(`    ${f.severity}  ${f.message}  ${f.rule}`);
  return lines.join('\n');
}

/** A whole run for people: one line per call (index, op, caller, result, key outputs), findings under each, then the end-of-run findings and a summary. */
export function formatEmulateText(report: EmulateReport): string {
  const lines: string[] = [`scenario ${report.scenario} on host ${report.host} (abi ${report.abi})`];
  for (const c of report.calls) lines.push(formatCallText(c));
  const inCalls = new Set(report.calls.flatMap((c) => c.findings));
  const end = report.findings.filter((f) => !inCalls.has(f));
  if (end.length) {
    lines.push('end of scenario:');
    for (const f of end) lines.push(`    ${f.file}:${f.line}:${f.column}  ${f.severity}  ${f.message}  ${f.rule}`);
  }
  const s = report.summary;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  lines.push(`${plural(s.calls, 'call')}, ${plural(s.errors, 'error')}, ${plural(s.warnings, 'warning')}, ${plural(s.failed_expectations, 'failed expectation')}`);
  return lines.join('\n') + '\n';
}
