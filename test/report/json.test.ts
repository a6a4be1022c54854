import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/policy/types.js';
import { formatCheck } from '../../src/report/index.js';
import { FINDINGS, options, report } from './fixture.js';

const FINDING_KEYS = ['rule', 'severity', 'message', 'file', 'line', 'column', 'endLine', 'endColumn'];

describe('json reporter', () => {
  it('writes the SPEC §6.1 keys in the SPEC order', () => {
    const doc = JSON.parse(formatCheck(report(), 'json', options()));
    expect(Object.keys(doc)).toEqual(['version', 'tool', 'summary', 'findings']);
    expect(doc.version).toBe(1);
    expect(doc.tool).toEqual({ name: 'pviommu', version: '0.1.0' });
    expect(Object.keys(doc.tool)).toEqual(['name', 'version']);
    expect(Object.keys(doc.summary)).toEqual([
      'files', 'documents', 'skipped', 'hosts', 'domains', 'devices', 'scenarios',
      'errors', 'warnings', 'infos', 'suppressed',
    ]);
    const pci = doc.findings.find((f: Finding) => f.rule === 'pci/multiple-owners');
    expect(Object.keys(pci)).toEqual([...FINDING_KEYS, 'host', 'subject', 'related']);
    expect(Object.keys(pci.subject)).toEqual(['kind', 'name']);
    expect(Object.keys(pci.related[0])).toEqual(['file', 'line', 'column', 'message']);
  });

  it('fixes key order whatever order the caller built its objects in', () => {
    const scrambled = FINDINGS.map((f) => {
      const entries = Object.entries(f).reverse();
      return Object.fromEntries(entries) as unknown as Finding;
    });
    const r = report(scrambled);
    r.summary = Object.fromEntries(Object.entries(r.summary).reverse()) as typeof r.summary;
    expect(formatCheck(r, 'json', options())).toBe(formatCheck(report(), 'json', options()));
  });

  it('omits absent optional fields (and an empty related list)', () => {
    const bare = { ...FINDINGS[0]!, host: undefined, subject: undefined, related: [] };
    const doc = JSON.parse(formatCheck(report([bare]), 'json', options()));
    expect(Object.keys(doc.findings[0])).toEqual(FINDING_KEYS);
  });

  it('sorts findings by file, line, column, rule', () => {
    const doc = JSON.parse(formatCheck(report(), 'json', options()));
    expect(doc.findings.map((f: Finding) => `${f.file}:${f.line}:${f.column} ${f.rule}`)).toEqual([
      'domains/vm2.yaml:4:11 schema/invalid',
      'domains/vm2.yaml:9:7 pci/multiple-owners',
      'domains/vm2.yaml:12:13 yaml/ambiguous-scalar',
      'hosts/lab-1.yaml:3:5 iommu/identity-map',
    ]);
  });

  it('is byte-identical for identical input, in any input order', () => {
    const a = formatCheck(report(), 'json', options());
    const b = formatCheck(report([...FINDINGS].reverse()), 'json', options());
    expect(b).toBe(a);
    expect(a.endsWith('}\n')).toBe(true);
    expect(a).toBe(JSON.stringify(JSON.parse(a), null, 2) + '\n');
  });

  it('keeps the message text exactly, escaped only as JSON', () => {
    const doc = JSON.parse(formatCheck(report(), 'json', options()));
    const amb = doc.findings.find((f: Finding) => f.rule === 'yaml/ambiguous-scalar');
    expect(amb.message).toBe(FINDINGS[2]!.message);
  });

  it('contains no ANSI escape even with colour on', () => {
    expect(formatCheck(report(), 'json', options({ color: true }))).not.toContain('\x1b');
  });
});
