/**
 * Merging check reports. Shards of one run (`--shard I/N`) all read the same tree, so tree-wide
 * counts (files, documents, hosts …) are the maximum over the inputs, while findings are a
 * disjoint partition: they are concatenated (identical duplicates dropped) and re-counted.
 */
import type { Finding } from '../policy/types.js';
import { sortFindings } from './index.js';
import type { CheckReport } from './types.js';
import { VERSION } from '../version.js';
import { orderedFinding } from '../policy/finding.js';

export function mergeReports(reports: CheckReport[]): { report: CheckReport; files: string[] } {
  const seen = new Set<string>();
  const findings: Finding[] = [];
  for (const r of reports) {
    for (const f of r.findings) {
      const key = JSON.stringify([f.rule, f.file, f.line, f.column, f.endLine, f.endColumn, f.message]);
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push(f.endLine === undefined || f.endColumn === undefined ? withEnd(f) : f);
    }
  }
  const max = (k: 'files' | 'documents' | 'skipped' | 'hosts' | 'domains' | 'devices' | 'scenarios') =>
    Math.max(0, ...reports.map((r) => r.summary[k] ?? 0));
  // A report written with --quiet lists its errors only but counts everything in its summary:
  // what it counted and did not list is counted here too, so that --max-warnings decides as
  // check did.
  const hidden = (sev: 'warning' | 'info', key: 'warnings' | 'infos') =>
    reports.reduce((n, r) => {
      const counted = r.summary[key];
      const listed = r.findings.filter((f) => f.severity === sev).length;
      return n + (Number.isSafeInteger(counted) && counted > listed ? counted - listed : 0);
    }, 0);
  const count = (s: string) => findings.filter((f) => f.severity === s).length;
  const sorted = sortFindings(findings);
  const files = [...new Set(sorted.map((f) => f.file))];
  return {
    report: {
      version: 1,
      tool: { name: 'pviommu', version: VERSION },
      summary: {
        files: max('files'),
        documents: max('documents'),
        skipped: max('skipped'),
        hosts: max('hosts'),
        domains: max('domains'),
        devices: max('devices'),
        scenarios: max('scenarios'),
        errors: count('error'),
        warnings: count('warning') + hidden('warning', 'warnings'),
        infos: count('info') + hidden('info', 'infos'),
        suppressed: reports.reduce((n, r) => n + (r.summary.suppressed ?? 0), 0),
      },
      findings: sorted,
    },
    files,
  };
}

/**
 * A finding of a hand-made report without its end: it ends where it starts (every format prints
 * an end; check's own findings always have one).
 */
function withEnd(f: Finding): Finding {
  return orderedFinding({ ...f, endLine: f.endLine ?? f.line, endColumn: f.endColumn ?? f.column });
}
