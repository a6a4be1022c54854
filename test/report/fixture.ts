/** A small fixed report shared by the reporter tests. */
import type { Finding, RuleMeta } from '../../src/policy/types.js';
import type { CheckReport, FormatOptions } from '../../src/report/types.js';

export const RULES: RuleMeta[] = [
  { id: 'pci/multiple-owners', severity: 'error', description: 'A PCI device is assigned to more than one domain.', phase: 'static' },
  { id: 'yaml/ambiguous-scalar', severity: 'warning', description: 'YAML 1.1 would read the value differently.', phase: 'input' },
  { id: 'schema/invalid', severity: 'error', description: 'The document does not match the schema.', phase: 'input' },
  { id: 'iommu/identity-map', severity: 'info', description: "dom0's IOMMU identity-maps host RAM.", phase: 'static' },
];

/** Deliberately unsorted, to check that every format sorts. */
export const FINDINGS: Finding[] = [
  {
    rule: 'iommu/identity-map',
    severity: 'info',
    message: 'dom0 maps all of host RAM 1:1',
    file: 'hosts/lab-1.yaml',
    line: 3,
    column: 5,
    endLine: 3,
    endColumn: 12,
    host: 'lab-1',
    subject: { kind: 'Host', name: 'lab-1' },
  },
  {
    rule: 'pci/multiple-owners',
    severity: 'error',
    message: 'device igd (0000:00:02.0) is assigned to vm1 and vm2',
    file: 'domains/vm2.yaml',
    line: 9,
    column: 7,
    endLine: 9,
    endColumn: 16,
    host: 'lab-1',
    subject: { kind: 'Domain', name: 'vm2' },
    related: [{ file: 'domains/vm1.yaml', line: 11, column: 7, message: 'also assigned here' }],
  },
  {
    rule: 'yaml/ambiguous-scalar',
    severity: 'warning',
    message: 'value 100% of "on", <&\'> is read as a boolean: quote it\nsecond line',
    file: 'domains/vm2.yaml',
    line: 12,
    column: 13,
    endLine: 12,
    endColumn: 15,
  },
  {
    rule: 'schema/invalid',
    severity: 'error',
    message: 'memory: expected a size, got "lots"',
    file: 'domains/vm2.yaml',
    line: 4,
    column: 11,
    endLine: 5,
    endColumn: 3,
    subject: { kind: 'Domain', name: 'vm2' },
  },
];

export function report(findings: Finding[] = FINDINGS): CheckReport {
  let errors = 0;
  let warnings = 0;
  let infos = 0;
  for (const f of findings) {
    if (f.severity === 'error') errors++;
    else if (f.severity === 'warning') warnings++;
    else infos++;
  }
  return {
    version: 1,
    tool: { name: 'pviommu', version: '0.1.0' },
    summary: {
      files: 3, documents: 5, skipped: 1, hosts: 1, domains: 2, devices: 1, scenarios: 0,
      errors, warnings, infos, suppressed: 2,
    },
    findings,
  };
}

export const FILES = ['hosts/lab-1.yaml', 'domains/vm2.yaml', 'domains/vm1.yaml'];

export function options(over: Partial<FormatOptions> = {}): FormatOptions {
  return { color: false, files: FILES, rules: RULES, ...over };
}
