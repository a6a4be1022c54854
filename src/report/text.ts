/**
 * `--format text`: for people, in the manner of ESLint's "stylish".
 *
 *   domains/vm2.yaml
 *      9:7   error    device igd (0000:00:02.0) is assigned to vm1 and vm2  pci/multiple-owners
 *       ↳ domains/vm1.yaml:11:7 also assigned here
 *     12:13  warning  ...                                                    yaml/ambiguous-scalar
 *
 *   ✖ 2 problems (1 error, 1 warning) in 12 files, 40 documents (3 skipped)
 *
 * Columns are aligned per file (line right-aligned, column left-aligned, so the colons line up).
 * Everything that comes from the input (paths, messages) is passed through `printable`, so a
 * config cannot smuggle terminal escape sequences into the output.
 */
import type { Finding, Severity } from '../policy/types.js';
import { paint, type Painter } from './color.js';
import type { CheckReport, CheckSummary, FormatOptions } from './types.js';

export function formatText(report: CheckReport, opts: FormatOptions): string {
  const p = paint(opts.color);
  const out: string[] = [];
  for (const group of groupByFile(report.findings)) {
    out.push(p.underline(printable(group[0]!.file)));
    out.push(...formatGroup(group, p));
    out.push('');
  }
  out.push(summaryLine(report.summary, opts.quiet === true, p));
  return out.join('\n') + '\n';
}

function groupByFile(findings: readonly Finding[]): Finding[][] {
  const groups: Finding[][] = [];
  let current: Finding[] | undefined;
  for (const f of findings) {
    if (current === undefined || current[0]!.file !== f.file) {
      current = [];
      groups.push(current);
    }
    current.push(f);
  }
  return groups;
}

interface Row {
  line: string;
  column: string;
  severity: Severity;
  /** The message split into lines; the first goes in the table, the rest below it. */
  message: string[];
  rule: string;
  related: string[];
}

function formatGroup(group: readonly Finding[], p: Painter): string[] {
  const rows: Row[] = group.map((f) => ({
    line: String(f.line),
    column: String(f.column),
    severity: f.severity,
    message: printableLines(f.message),
    rule: printable(f.rule),
    related: (f.related ?? []).map(
      (r) => `${printable(r.file)}:${r.line}:${r.column} ${printableLines(r.message).join(' ')}`,
    ),
  }));
  const lineW = max(rows.map((r) => width(r.line)));
  const colW = max(rows.map((r) => width(r.column)));
  const sevW = max(rows.map((r) => width(r.severity)));
  const msgW = max(rows.map((r) => width(r.message[0]!)));
  // Where the message column starts: "  " + line ":" column "  " + severity "  ".
  const msgIndent = ' '.repeat(2 + lineW + 1 + colW + 2 + sevW + 2);

  const lines: string[] = [];
  for (const r of rows) {
    const pos = p.dim(`${pad(r.line, lineW, 'start')}:${pad(r.column, colW, 'end')}`);
    const sev = severityStyle(r.severity, p)(pad(r.severity, sevW, 'end'));
    lines.push(`  ${pos}  ${sev}  ${pad(r.message[0]!, msgW, 'end')}  ${p.dim(r.rule)}`);
    for (const more of r.message.slice(1)) lines.push(msgIndent + more);
    for (const rel of r.related) lines.push(`    ${p.dim('↳')} ${rel}`);
  }
  return lines;
}

function severityStyle(s: Severity, p: Painter): (s: string) => string {
  return s === 'error' ? p.red : s === 'warning' ? p.yellow : p.blue;
}

function summaryLine(s: CheckSummary, quiet: boolean, p: Painter): string {
  const scope = `in ${plural(s.files, 'file')}, ${plural(s.documents, 'document')}`;
  const notes: string[] = [];
  if (s.skipped > 0) notes.push(`${s.skipped} skipped`);
  if (s.suppressed > 0) notes.push(`${s.suppressed} suppressed`);
  if (quiet) {
    const hidden: string[] = [];
    if (s.warnings > 0) hidden.push(plural(s.warnings, 'warning'));
    if (s.infos > 0) hidden.push(plural(s.infos, 'info'));
    if (hidden.length > 0) notes.push(`${hidden.join(' and ')} hidden by --quiet`);
  }
  const tail = notes.length > 0 ? ` (${notes.join(', ')})` : '';

  const shown = quiet ? s.errors : s.errors + s.warnings + s.infos;
  if (shown === 0) return p.green(p.bold('✔')) + ` no ${quiet ? 'errors' : 'problems'} ${scope}${tail}`;
  let head: string;
  if (quiet) {
    head = `✖ ${plural(s.errors, 'error')}`;
  } else {
    const parts = [plural(s.errors, 'error'), plural(s.warnings, 'warning')];
    if (s.infos > 0) parts.push(plural(s.infos, 'info'));
    head = `✖ ${plural(shown, 'problem')} (${parts.join(', ')})`;
  }
  const style = s.errors > 0 ? p.red : s.warnings > 0 ? p.yellow : p.blue;
  return style(p.bold(head)) + ` ${scope}${tail}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

// Characters a terminal would act on: C0/C1 controls (except newline, handled by splitting),
// DEL, and the bidi overrides/isolates that can make text display differently from what it is.
const UNPRINTABLE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `s` with every unprintable character shown as an escape (`\x1b`, `\u202e`). */
export function printable(s: string): string {
  return s.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

function printableLines(s: string): string[] {
  return s.split(/\r\n|\r|\n/).map(printable);
}

/** Display width, counted in code points (good enough for the messages we write). */
function width(s: string): number {
  return Array.from(s).length;
}

function pad(s: string, w: number, side: 'start' | 'end'): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return side === 'start' ? fill + s : s + fill;
}

function max(ns: readonly number[]): number {
  return ns.reduce((a, b) => (a > b ? a : b), 0);
}
