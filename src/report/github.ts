/**
 * `--format github`: GitHub Actions workflow commands, one annotation per finding:
 *
 *   ::error file=domains/vm2.yaml,line=9,col=7,endLine=9,endColumn=16,title=pci/multiple-owners::device igd …
 *
 * Nothing else is printed (no summary), so the output can go straight to a step's stdout.
 * Escaping follows @actions/core (`escapeData` / `escapeProperty`). GitHub shows at most 10
 * annotations per type per step; SARIF is the format for complete results.
 */
import type { Finding, Severity } from '../policy/types.js';
import type { CheckReport } from './types.js';
import { printable } from './text.js';

const COMMAND: Record<Severity, string> = { error: 'error', warning: 'warning', info: 'notice' };

export function formatGithub(report: CheckReport): string {
  return report.findings.map((f) => annotation(f) + '\n').join('');
}

function annotation(f: Finding): string {
  const props: [string, string | number][] = [
    ['file', printable(f.file)],
    ['line', f.line],
  ];
  // The toolkit: col/endColumn "cannot be sent when startLine and endLine are different".
  if (f.endLine === f.line) {
    props.push(['col', f.column], ['endLine', f.endLine], ['endColumn', f.endColumn]);
  } else {
    props.push(['endLine', f.endLine]);
  }
  props.push(['title', f.rule]);
  const propText = props.map(([k, v]) => `${k}=${escapeProperty(String(v))}`).join(',');

  let message = f.message;
  for (const r of f.related ?? []) message += `\n↳ ${r.file}:${r.line}:${r.column} ${r.message}`;
  // The Actions log renders ANSI sequences: control characters from the input are shown escaped.
  return `::${COMMAND[f.severity]} ${propText}::${escapeData(printable(message))}`;
}

/** The message part of a workflow command. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A `key=value` property of a workflow command: also `:` and `,`, which delimit properties. */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}
