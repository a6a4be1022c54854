/**
 * The example config repos under examples/ check and emulate as their READMEs say:
 * - examples/lab is clean;
 * - examples/mediated-gpu shows the raw-MFN mediator's findings (exit 1) and a clean PV-IOMMU run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, ROOT } from './helpers.js';

const MG = 'examples/mediated-gpu';

/** 1-based line of the `nth` line of `file` (under ROOT) that contains `needle`. */
function lineOf(file: string, needle: string, nth = 0): number {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.includes(needle) && seen++ === nth) return i + 1;
  }
  throw new Error(`${needle} (#${nth}) not in ${file}`);
}

interface JsonFinding {
  rule: string;
  severity: string;
  file: string;
  line: number;
  column: number;
  message: string;
}

describe('examples/lab', () => {
  it('checks clean: exit 0, no finding', async () => {
    const r = await run(['check', 'examples/lab', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).findings).toEqual([]);
    expect((await run(['check', 'examples/lab'])).code).toBe(0);
  });
});

describe('examples/mediated-gpu', () => {
  it('check: exit 1 with exactly the raw-MFN story’s findings, where its README says', async () => {
    const r = await run(['check', MG, '--format', 'json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { summary: Record<string, number>; findings: JsonFinding[] };
    expect(j.summary).toMatchObject({ hosts: 1, domains: 3, devices: 1, scenarios: 2, errors: 2, warnings: 3 });
    const raw = `${MG}/scenarios/raw-mfn-mediator.yaml`;
    const host = `${MG}/host.yaml`;
    expect(j.findings.map((f) => `${f.rule} ${f.severity} ${f.file}:${f.line}`)).toEqual([
      // sorted by file, line, column, rule (SPEC §6.1)
      `dom0/relaxed-iommu warning ${host}:${lineOf(host, 'dom0: relaxed')}`,
      `mapping/dangling error ${raw}:${lineOf(raw, '- op: memory.translate', 0)}`, // call #0
      `hypercall/raw-mfn-exposed warning ${raw}:${lineOf(raw, 'gfns: ["0x100"]')}`, // call #0's gfns
      `hypercall/raw-mfn-exposed warning ${raw}:${lineOf(raw, 'gfns: ["0x800"]', 1)}`, // call #4's gfns
      `dma/isolation error ${raw}:${lineOf(raw, 'target: { domain: vm1, gfn: 0x100 }', 1)}`, // call #5
    ]);
    const iso = j.findings.find((f) => f.rule === 'dma/isolation')!;
    expect(iso.message).toContain('memory of vm2');
    expect(j.findings.find((f) => f.rule === 'mapping/dangling')!.message).toContain('now belongs to vm2');
    // nothing in the PV-IOMMU scenario
    expect(j.findings.some((f) => f.file.endsWith('pv-iommu-mediator.yaml'))).toBe(false);
  });

  it('emulate --scenario pv-iommu-mediator: exit 0, every expectation met, no finding', async () => {
    const r = await run(['emulate', MG, '--scenario', 'pv-iommu-mediator', '--format', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ version: 1, scenario: 'pv-iommu-mediator', host: 'gpu-lab', abi: 'xs' });
    expect(j.findings).toEqual([]);
    expect(j.summary).toEqual({ calls: 10, errors: 0, warnings: 0, failed_expectations: 0 });
    for (const c of j.calls) expect(c.findings, `call #${c.index}`).toEqual([]);
    // the late DMA after vm1's balloon-out still lands in vm1's (pinned) page
    expect(j.calls[6]).toMatchObject({ op: 'device.dma', errno: 'OK', out: { mfn: '0x1200', owner: 'vm1' } });
  });

  it('emulate --scenario raw-mfn-mediator: exit 1, the GPU writes into vm2', async () => {
    const r = await run(['emulate', MG, '--scenario', 'raw-mfn-mediator', '--format', 'json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.calls[5]).toMatchObject({ op: 'device.dma', out: { mfn: '0x1200', owner: 'vm2' } });
    expect(j.calls[5].findings.map((f: JsonFinding) => f.rule)).toEqual(['dma/isolation']);
    expect(j.summary).toMatchObject({ failed_expectations: 0 });
  });
});
