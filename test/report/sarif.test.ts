import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/policy/types.js';
import { formatCheck } from '../../src/report/index.js';
import { artifactLocation, FINGERPRINT_KEY } from '../../src/report/sarif.js';
import { FINDINGS, options, report, RULES } from './fixture.js';

type Json = any;

function sarif(findings: Finding[] = FINDINGS, over = {}): Json {
  return JSON.parse(formatCheck(report(findings), 'sarif', options(over)));
}

describe('sarif reporter', () => {
  it('has the SARIF 2.1.0 envelope and one run', () => {
    const doc = sarif();
    expect(doc.$schema).toBe('https://json.schemastore.org/sarif-2.1.0.json');
    expect(doc.version).toBe('2.1.0');
    expect(doc.runs).toHaveLength(1);
    const driver = doc.runs[0].tool.driver;
    expect(driver.name).toBe('pviommu');
    expect(driver.version).toBe('0.1.0');
    expect(driver.informationUri).toBeUndefined();
  });

  it('lists every registered rule with the fields GitHub requires', () => {
    const rules = sarif([]).runs[0].tool.driver.rules;
    expect(rules.map((r: Json) => r.id)).toEqual(RULES.map((r) => r.id).sort());
    for (const r of rules) {
      expect(r.name).toBe(r.id);
      expect(r.shortDescription.text).toMatch(/\S/);
      expect(r.fullDescription.text).toMatch(/\S/);
      expect(r.help.text).toBe(`Run \`pviommu explain ${r.id}\` for this rule's documentation.`);
      expect(r.helpUri).toBeUndefined();
    }
    const level = Object.fromEntries(rules.map((r: Json) => [r.id, r.defaultConfiguration.level]));
    expect(level).toEqual({
      'iommu/identity-map': 'note',
      'pci/multiple-owners': 'error',
      'schema/invalid': 'error',
      'yaml/ambiguous-scalar': 'warning',
    });
  });

  it('gives every result a valid ruleIndex, a level and a region of numbers >= 1', () => {
    const run = sarif().runs[0];
    expect(run.results).toHaveLength(FINDINGS.length);
    for (const res of run.results) {
      expect(run.tool.driver.rules[res.ruleIndex].id).toBe(res.ruleId);
      expect(['error', 'warning', 'note']).toContain(res.level);
      expect(res.message.text).toMatch(/\S/);
      const loc = res.locations[0].physicalLocation;
      expect(loc.artifactLocation.uriBaseId).toBe('%SRCROOT%');
      for (const k of ['startLine', 'startColumn', 'endLine', 'endColumn']) {
        expect(Number.isInteger(loc.region[k]) && loc.region[k] >= 1).toBe(true);
      }
      expect(res.partialFingerprints[FINGERPRINT_KEY]).toMatch(/^[0-9a-f]{64}:\d+$/);
    }
    expect(run.results.map((r: Json) => r.level)).toEqual(['error', 'error', 'warning', 'note']);
  });

  it('maps positions and related locations', () => {
    const res = sarif().runs[0].results.find((r: Json) => r.ruleId === 'pci/multiple-owners');
    expect(res.locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: 'domains/vm2.yaml', uriBaseId: '%SRCROOT%' },
      region: { startLine: 9, startColumn: 7, endLine: 9, endColumn: 16 },
    });
    expect(res.relatedLocations).toEqual([
      {
        id: 0,
        physicalLocation: {
          artifactLocation: { uri: 'domains/vm1.yaml', uriBaseId: '%SRCROOT%' },
          region: { startLine: 11, startColumn: 7 },
        },
        message: { text: 'also assigned here' },
      },
    ]);
    expect(res.properties).toEqual({ host: 'lab-1', subject: { kind: 'Domain', name: 'vm2' } });
  });

  it('clamps positions a rule could not give (0) to 1', () => {
    const f: Finding = { ...FINDINGS[0]!, line: 0, column: 0, endLine: 0, endColumn: 0 };
    const region = sarif([f]).runs[0].results[0].locations[0].physicalLocation.region;
    expect(region).toEqual({ startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 });
  });

  it('adds a stub rule for a finding whose rule is not registered', () => {
    const f: Finding = { ...FINDINGS[0]!, rule: 'zz/unregistered' };
    const run = sarif([f]).runs[0];
    const rule = run.tool.driver.rules[run.results[0].ruleIndex];
    expect(rule.id).toBe('zz/unregistered');
    expect(rule.shortDescription.text).toBe('zz/unregistered');
  });

  it('fingerprints on rule+file+message: stable when lines move, distinct for repeats', () => {
    const a = sarif().runs[0].results;
    const moved = FINDINGS.map((f) => ({ ...f, line: f.line + 10, endLine: f.endLine + 10 }));
    const b = sarif(moved).runs[0].results;
    expect(b.map((r: Json) => r.partialFingerprints)).toEqual(a.map((r: Json) => r.partialFingerprints));

    const twice = [FINDINGS[0]!, { ...FINDINGS[0]!, line: 30, endLine: 30 }];
    const fps = sarif(twice).runs[0].results.map((r: Json) => r.partialFingerprints[FINGERPRINT_KEY]);
    expect(fps[0].split(':')[0]).toBe(fps[1].split(':')[0]);
    expect(fps[0]).not.toBe(fps[1]);
  });

  it('is byte-identical for identical input', () => {
    const a = formatCheck(report(), 'sarif', options());
    expect(formatCheck(report([...FINDINGS].reverse()), 'sarif', options())).toBe(a);
    expect(formatCheck(report(), 'sarif', options({ rules: [...RULES].reverse() }))).toBe(a);
  });

  it('turns display paths into relative, percent-encoded URIs', () => {
    expect(artifactLocation('domains/vm 1.yaml')).toEqual({ uri: 'domains/vm%201.yaml', uriBaseId: '%SRCROOT%' });
    expect(artifactLocation('./a/b.yaml').uri).toBe('a/b.yaml');
    expect(artifactLocation('a/100%#?.yaml').uri).toBe('a/100%25%23%3F.yaml');
    expect(artifactLocation('höst:1.yaml').uri).toBe('h%C3%B6st%3A1.yaml');
    expect(artifactLocation('../other/x.yaml').uri).toBe('../other/x.yaml');
    expect(artifactLocation('/etc/x y.yaml')).toEqual({ uri: 'file:///etc/x%20y.yaml' });
    expect(artifactLocation('bad\ud800.yaml').uri).toBe('bad%EF%BF%BD.yaml');
  });
});
