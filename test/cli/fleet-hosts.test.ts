/**
 * A fleet repo: an input error in one host's document is that host's (its findings name it; its
 * model is not built) and stops no other host — in check, emulate (scenario and trace) and inspect.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repo, run } from './helpers.js';

function hostFile(h: string, vm1Extra = ''): string {
  return `apiVersion: pviommu/v1
kind: Host
name: ${h}
ram: 16GiB
iommu: { dom0: strict }
---
apiVersion: pviommu/v1
kind: Domain
name: dom0
host: ${h}
domid: 0
type: pv
role: hardware
memory: 2GiB
---
apiVersion: pviommu/v1
kind: Domain
name: vm1
host: ${h}
domid: 10
type: hvm
memory: 1GiB
${vm1Extra}---
apiVersion: pviommu/v1
kind: Scenario
name: s-${h}
host: ${h}
calls:
  - op: memory.translate
    domid: vm1
    gfns: ["0x100"]
`;
}

type F = { rule: string; severity: string; file: string; line: number; host?: string };
const brief = (fs: F[]) => fs.map((f) => `${f.file}:${f.line} ${f.severity} ${f.rule} ${f.host ?? '-'}`);

describe('an input error belongs to the host of its document', () => {
  // (A document that failed validation stops check from building its host; one that was read —
  // a duplicate key keeps its first value — does not. Emulate refuses a host with either.)
  for (const [what, extra, rule, built] of [
    ['a key given twice (found while reading the YAML)', 'memory: 2GiB\n', 'yaml/duplicate-key', true],
    ['a schema error', 'vcpus: 4\n', 'schema/invalid', false],
  ] as const) {
    it(`${what}: check names beta; alpha is emulated, inspected and checked as if beta were fine, beta is not emulated`, async () => {
      const dir = repo({ 'alpha.yaml': hostFile('alpha'), 'beta.yaml': hostFile('beta', extra) });
      const c = await run(['check', '.', '-f', 'json'], { cwd: dir });
      const report = JSON.parse(c.stdout) as { findings: F[] };
      expect(c.code).toBe(1);
      // beta's error, with its host; beta's scenario ran only where beta was built
      expect(brief(report.findings)).toEqual([
        'alpha.yaml:31 warning hypercall/raw-mfn-exposed alpha',
        `beta.yaml:23 error ${rule} beta`,
        ...(built ? ['beta.yaml:32 warning hypercall/raw-mfn-exposed beta'] : []),
      ]);
      const s = await run(['emulate', '.', '--scenario', 's-alpha', '-f', 'json'], { cwd: dir });
      expect([s.code, JSON.parse(s.stdout).calls.length, s.stderr]).toEqual([0, 1, '']);
      writeFileSync(join(dir, 't.jsonl'), '{"op":"iommu.query_caps"}\n');
      const t = await run(['emulate', '.', '--trace', 't.jsonl', '--host', 'alpha', '-f', 'jsonl', '-q'], { cwd: dir });
      expect(t.code).toBe(0);
      expect((await run(['inspect', '.', '--host', 'alpha'], { cwd: dir })).code).toBe(0);
      // beta itself is refused, naming its error
      const b = await run(['emulate', '.', '--scenario', 's-beta'], { cwd: dir });
      expect(b.code).toBe(1);
      expect(b.stderr).toContain(rule);
      expect((await run(['inspect', '.', '--host', 'beta'], { cwd: dir })).code).toBe(1);
    });
  }

  it("another host's input warnings are not emulate's: alpha's run neither lists nor counts beta's", async () => {
    const dir = repo({ 'alpha.yaml': hostFile('alpha'), 'beta.yaml': hostFile('beta').replace('domid: 10', 'domid: 010') });
    const s = JSON.parse((await run(['emulate', '.', '--scenario', 's-alpha', '-f', 'json'], { cwd: dir })).stdout) as { findings: F[]; summary: { warnings: number } };
    expect(brief(s.findings)).toEqual(['alpha.yaml:31 warning hypercall/raw-mfn-exposed alpha']);
    expect(s.summary.warnings).toBe(1);
    // check reports it, as beta's
    const c = JSON.parse((await run(['check', '.', '-f', 'json'], { cwd: dir })).stdout) as { findings: F[] };
    expect(brief(c.findings).filter((x) => x.includes('ambiguous'))).toEqual(['beta.yaml:20 warning yaml/ambiguous-scalar beta']);
  });
});
