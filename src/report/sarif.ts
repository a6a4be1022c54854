/**
 * `--format sarif`: SARIF 2.1.0, in the shape GitHub code scanning accepts
 * (docs: "SARIF support for code scanning").
 *
 * - one run; `tool.driver.rules` lists every registered rule (sorted by id), plus a stub for any
 *   rule id a finding uses that is not registered, so every `ruleIndex` is valid;
 * - locations are relative URIs against `%SRCROOT%` (the repository root / cwd);
 *   columns are UTF-16 code units, 1-based, as the YAML parser counts them;
 * - `partialFingerprints["pviommuFinding/v1"]` = sha256(rule, file, message) plus the
 *   occurrence number among identical findings, so an alert survives lines moving above it
 *   and two identical findings in one file stay two alerts.
 */
import { createHash } from 'node:crypto';
import type { Finding, RuleMeta, Severity } from '../policy/types.js';
import type { CheckReport, FormatOptions } from './types.js';

const SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
const SRCROOT = '%SRCROOT%';
export const FINGERPRINT_KEY = 'pviommuFinding/v1';

type Level = 'error' | 'warning' | 'note';
const LEVEL: Record<Severity, Level> = { error: 'error', warning: 'warning', info: 'note' };

export function formatSarif(report: CheckReport, opts: FormatOptions): string {
  const rules = driverRules(opts.rules, report.findings);
  const ruleIndex = new Map(rules.map((r, i) => [r.id, i]));
  const seen = new Map<string, number>();

  const results = report.findings.map((f) => {
    const hash = fingerprint(f);
    const n = (seen.get(hash) ?? 0) + 1;
    seen.set(hash, n);
    return sarifResult(f, ruleIndex.get(f.rule)!, `${hash}:${n}`);
  });

  const sarif = {
    $schema: SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: report.tool.name,
            version: report.tool.version,
            semanticVersion: report.tool.version,
            rules: rules.map(sarifRule),
          },
        },
        columnKind: 'utf16CodeUnits',
        results,
      },
    ],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}

interface DriverRule {
  id: string;
  description: string;
  severity: Severity;
}

function driverRules(registered: readonly RuleMeta[], findings: readonly Finding[]): DriverRule[] {
  const byId = new Map<string, DriverRule>();
  for (const r of registered) {
    if (!byId.has(r.id)) byId.set(r.id, { id: r.id, description: r.description, severity: r.severity });
  }
  for (const f of findings) {
    if (!byId.has(f.rule)) byId.set(f.rule, { id: f.rule, description: '', severity: f.severity });
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function sarifRule(r: DriverRule) {
  // GitHub requires non-empty description texts.
  const text = r.description.trim() === '' ? r.id : r.description;
  return {
    id: r.id,
    name: r.id,
    shortDescription: { text },
    fullDescription: { text },
    help: { text: `Run \`pviommu explain ${r.id}\` for this rule's documentation.` },
    defaultConfiguration: { level: LEVEL[r.severity] },
  };
}

function sarifResult(f: Finding, ruleIndex: number, fp: string) {
  const start = { line: atLeast1(f.line), column: atLeast1(f.column) };
  const endLine = Math.max(start.line, f.endLine || start.line);
  const endColumn =
    endLine === start.line ? Math.max(start.column, f.endColumn || start.column) : atLeast1(f.endColumn);
  const result: Record<string, unknown> = {
    ruleId: f.rule,
    ruleIndex,
    level: LEVEL[f.severity],
    message: { text: f.message },
    locations: [
      {
        physicalLocation: {
          artifactLocation: artifactLocation(f.file),
          region: { startLine: start.line, startColumn: start.column, endLine, endColumn },
        },
      },
    ],
  };
  if (f.related !== undefined && f.related.length > 0) {
    result['relatedLocations'] = f.related.map((r, i) => ({
      id: i,
      physicalLocation: {
        artifactLocation: artifactLocation(r.file),
        region: { startLine: atLeast1(r.line), startColumn: atLeast1(r.column) },
      },
      message: { text: r.message },
    }));
  }
  result['partialFingerprints'] = { [FINGERPRINT_KEY]: fp };
  const properties: Record<string, unknown> = {};
  if (f.host !== undefined) properties['host'] = f.host;
  if (f.subject !== undefined) properties['subject'] = { kind: f.subject.kind, name: f.subject.name };
  if (Object.keys(properties).length > 0) result['properties'] = properties;
  return result;
}

function atLeast1(n: number): number {
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}

/** sha256 over the parts, NUL-separated so ("a","bc") and ("ab","c") differ. */
function fingerprint(f: Finding): string {
  return createHash('sha256').update(`${f.rule}\0${f.file}\0${f.message}`).digest('hex');
}

/**
 * A display path as a SARIF artifact location: relative paths become a percent-encoded relative
 * URI against %SRCROOT% (no leading `./`); absolute paths become `file://` URIs.
 */
export function artifactLocation(file: string): { uri: string; uriBaseId?: string } {
  if (file.startsWith('/')) return { uri: 'file://' + encodePath(file) };
  let rel = file;
  while (rel.startsWith('./')) rel = rel.slice(2);
  return { uri: encodePath(rel), uriBaseId: SRCROOT };
}

function encodePath(p: string): string {
  // encodeURIComponent throws on a lone surrogate; show it as U+FFFD instead.
  return p
    .replace(/[\ud800-\udfff]/gu, '\ufffd')
    .split('/')
    .map(encodeURIComponent)
    .join('/');
}
