/**
 * `--format junit`: JUnit XML in the Ant/Jenkins shape most CI systems read.
 *
 * - one <testsuite> per checked file (every file in `opts.files`, plus any file a finding names),
 *   sorted by path;
 * - a file without findings gets one passing <testcase>, so dashboards show it was checked;
 * - one <testcase> per finding, classname = rule id, name = "FILE:LINE:COL RULE";
 *   errors and warnings carry a <failure type="RULE">; the details say which severity it was;
 *   info findings pass and carry their text in <system-out> (they never fail a build);
 * - `time="0"` everywhere: the report has no timings, and some consumers (Buildkite) need the
 *   attribute.
 */
import type { Finding } from '../policy/types.js';
import type { CheckReport, FormatOptions } from './types.js';

export function formatJunit(report: CheckReport, opts: FormatOptions): string {
  const byFile = new Map<string, Finding[]>();
  for (const file of opts.files) byFile.set(file, []);
  for (const f of report.findings) {
    const list = byFile.get(f.file);
    if (list === undefined) byFile.set(f.file, [f]);
    else list.push(f);
  }
  const files = [...byFile.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  let tests = 0;
  let failures = 0;
  const suites: string[] = [];
  for (const file of files) {
    const findings = byFile.get(file)!;
    const suiteFailures = findings.filter(isFailure).length;
    const suiteTests = Math.max(1, findings.length);
    tests += suiteTests;
    failures += suiteFailures;
    suites.push(
      `  <testsuite name="${attr(file)}" tests="${suiteTests}" failures="${suiteFailures}" errors="0" time="0">`,
    );
    if (findings.length === 0) {
      suites.push(`    <testcase classname="pviommu" name="${attr(file)}" time="0"/>`);
    }
    for (const f of findings) suites.push(...testcase(f));
    suites.push('  </testsuite>');
  }

  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="pviommu" tests="${tests}" failures="${failures}" errors="0" time="0">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}

function isFailure(f: Finding): boolean {
  return f.severity === 'error' || f.severity === 'warning';
}

function testcase(f: Finding): string[] {
  const where = `${f.file}:${f.line}:${f.column}`;
  const open = `    <testcase classname="${attr(f.rule)}" name="${attr(`${where} ${f.rule}`)}" time="0">`;
  const details = [`${f.severity} ${f.rule} at ${where}`, f.message];
  for (const r of f.related ?? []) details.push(`related: ${r.file}:${r.line}:${r.column} ${r.message}`);
  const body = text(details.join('\n'));
  const inner = isFailure(f)
    ? `      <failure type="${attr(f.rule)}" message="${attr(f.message)}">${body}</failure>`
    : `      <system-out>${body}</system-out>`;
  return [open, inner, '    </testcase>'];
}

// Characters XML 1.0 does not allow at all (§2.2 Char): C0 controls other than tab, LF and CR,
// lone surrogates, U+FFFE and U+FFFF. They cannot even be written as character references.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/** Character data: drop what XML cannot hold, escape markup. */
export function text(s: string): string {
  return s.replace(NOT_XML_CHAR, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * An attribute value (always written in double quotes). Tab, LF and CR become character
 * references, or a parser's attribute-value normalisation would turn them into spaces.
 */
export function attr(s: string): string {
  return text(s)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}
