/**
 * `--format json`: the stable, versioned document of SPEC §6.1.
 *
 * Every object is rebuilt field by field so the key order is fixed by this file, not by how the
 * caller happened to construct its objects; optional fields that are absent are left out.
 */
import type { Finding, Related } from '../policy/types.js';
import type { CheckReport, CheckSummary } from './types.js';

export function formatJson(report: CheckReport): string {
  const doc = {
    version: report.version,
    tool: { name: report.tool.name, version: report.tool.version },
    summary: jsonSummary(report.summary),
    findings: report.findings.map(jsonFinding),
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

function jsonSummary(s: CheckSummary): CheckSummary {
  return {
    files: s.files,
    documents: s.documents,
    skipped: s.skipped,
    hosts: s.hosts,
    domains: s.domains,
    devices: s.devices,
    scenarios: s.scenarios,
    errors: s.errors,
    warnings: s.warnings,
    infos: s.infos,
    suppressed: s.suppressed,
  };
}

function jsonFinding(f: Finding): Finding {
  const out: Finding = {
    rule: f.rule,
    severity: f.severity,
    message: f.message,
    file: f.file,
    line: f.line,
    column: f.column,
    endLine: f.endLine,
    endColumn: f.endColumn,
  };
  if (f.host !== undefined) out.host = f.host;
  if (f.subject !== undefined) out.subject = { kind: f.subject.kind, name: f.subject.name };
  // An empty `related` carries nothing: present means at least one position.
  if (f.related !== undefined && f.related.length > 0) out.related = f.related.map(jsonRelated);
  return out;
}

function jsonRelated(r: Related): Related {
  return { file: r.file, line: r.line, column: r.column, message: r.message };
}
