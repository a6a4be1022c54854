/** callReportJson: the JSON line of a call is exactly JSON.stringify of its report. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadRepo } from '../../src/check.js';
import { runScenario } from '../../src/hypercalls/index.js';
import { callReportJson } from '../../src/hypercalls/jsonl.js';
import type { CallReport, Out } from '../../src/hypercalls/types.js';
import type { Finding } from '../../src/policy/types.js';

function report(over: Partial<CallReport> = {}): CallReport {
  return { index: 3, op: 'iommu.map_page', caller: 'dom0', rc: 0, errno: 'OK', status: 0, out: {}, findings: [], ...over };
}

describe('callReportJson', () => {
  it('matches JSON.stringify on every call of the shipped examples and scenario fixtures', async () => {
    let n = 0;
    for (const dir of ['examples/lab', 'examples/mediated-gpu', 'fixtures/scenarios']) {
      const { config } = await loadRepo([dir], { cwd: process.cwd() });
      for (const hc of config.hosts) {
        if (hc.inputErrors) continue;
        for (const sc of hc.scenarios) {
          for (const c of runScenario(hc, sc).calls) {
            expect(callReportJson(c)).toBe(JSON.stringify(c));
            n++;
          }
        }
      }
    }
    expect(n).toBeGreaterThan(20);
  });

  it('escapes what JSON escapes, and falls back for batches, findings and nested outputs', () => {
    const f: Finding = { rule: 'dma/fault', severity: 'error', message: 'm', file: 'a', line: 1, column: 1, endLine: 1, endColumn: 2 };
    const cases: CallReport[] = [
      report(),
      report({ caller: 'vm "1"\\\n', op: 'x\u2028y', errno: 'é' }),
      report({ out: { bfn: '0x100', owner: 'dom\u0001', note: 'tab\there', u: '\ud800', ok: true, no: false, z: null, n: -0, big: 1e21 } }),
      report({ out: { gone: undefined as unknown as string, mfn: '0x1' } }),
      report({ rc: Number.NaN, status: Infinity }),
      report({ statuses: [0, -1], errnos: ['OK', 'EPERM'] }),
      report({ findings: [f] }),
      report({ out: { ops: [{ bfn: '0x1' }] } }),
      report({ out: { mfns: ['0x1', '0x2'] } }),
      report({ out: { '2': 'numeric key first', a: 'x', '1': 'y' } }),
    ];
    for (const c of cases) expect(callReportJson(c)).toBe(JSON.stringify(c));
  });

  it('matches JSON.stringify on arbitrary flat outputs and strings (property)', () => {
    const scalar = fc.oneof(fc.string({ unit: 'binary' }), fc.double(), fc.integer(), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.string({ unit: 'binary' }),
        fc.integer(),
        fc.dictionary(fc.string({ unit: 'binary' }), scalar),
        (op, caller, rc, out) => {
          const c = report({ op, caller, rc, status: rc, errno: caller, out: out as Out });
          expect(callReportJson(c)).toBe(JSON.stringify(c));
        },
      ),
      { numRuns: 500, seed: 7 },
    );
  });
});
