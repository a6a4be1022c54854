/**
 * Reporters for `pviommu check`: turn a CheckReport into the text of one output format.
 *
 * Reporters only format — no I/O, no process access, no clock — so the same report always
 * gives byte-identical output. Writing it somewhere is the command's job (see ./write.ts).
 */
import { UsageError } from '../errors.js';
import { VERSION } from '../version.js';
import type { Finding } from '../policy/types.js';
import { formatGithub } from './github.js';
import { formatJson } from './json.js';
import { formatJunit } from './junit.js';
import { formatSarif } from './sarif.js';
import { formatText } from './text.js';
import type { CheckFormat, CheckReport, CheckSummary, FormatOptions } from './types.js';

export { formatGithub } from './github.js';
export { formatJson } from './json.js';
export { formatJunit } from './junit.js';
export { formatSarif } from './sarif.js';
export { formatText } from './text.js';

/**
 * Render `report` in `format`. Findings are (re-)sorted first, so the output does not depend on
 * the order the caller collected them in.
 */
export function formatCheck(report: CheckReport, format: CheckFormat, opts: FormatOptions): string {
  const sorted: CheckReport = { ...report, findings: sortFindings(report.findings) };
  switch (format) {
    case 'text':
      return formatText(sorted, opts);
    case 'json':
      return formatJson(sorted);
    case 'sarif':
      return formatSarif(sorted, opts);
    case 'junit':
      return formatJunit(sorted, opts);
    case 'github':
      return formatGithub(sorted);
    default: {
      const unknown: never = format;
      throw new UsageError(`unknown format '${String(unknown)}'`);
    }
  }
}

/** Compare strings by UTF-16 code unit, independent of locale (unlike `localeCompare`). */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

/**
 * Order of findings everywhere (SPEC §6.1): file, line, column, rule, message; then end
 * position and severity so that no two distinct findings compare equal.
 */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    compareCodeUnits(a.file, b.file) ||
    a.line - b.line ||
    a.column - b.column ||
    compareCodeUnits(a.rule, b.rule) ||
    compareCodeUnits(a.message, b.message) ||
    a.endLine - b.endLine ||
    a.endColumn - b.endColumn ||
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]
  );
}

/** A sorted copy of `findings` (the input is not modified). */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(compareFindings);
}

/** Count findings per severity, for `CheckSummary.errors/warnings/infos`. */
export function summarize(findings: readonly Finding[]): { errors: number; warnings: number; infos: number } {
  let errors = 0;
  let warnings = 0;
  let infos = 0;
  for (const f of findings) {
    if (f.severity === 'error') errors++;
    else if (f.severity === 'warning') warnings++;
    else infos++;
  }
  return { errors, warnings, infos };
}

/** A check report (SPEC §6.1) of `findings`; tree-wide counts default to 0, severities are counted. */
export function checkReport(
  findings: readonly Finding[],
  counts: Partial<Omit<CheckSummary, 'errors' | 'warnings' | 'infos'>> = {},
  version = VERSION,
): CheckReport {
  return {
    version: 1,
    tool: { name: 'pviommu', version },
    summary: {
      files: counts.files ?? 0,
      documents: counts.documents ?? 0,
      skipped: counts.skipped ?? 0,
      hosts: counts.hosts ?? 0,
      domains: counts.domains ?? 0,
      devices: counts.devices ?? 0,
      scenarios: counts.scenarios ?? 0,
      ...summarize(findings),
      suppressed: counts.suppressed ?? 0,
    },
    findings: sortFindings([...findings]),
  };
}
