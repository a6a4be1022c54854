/**
 * Every rule fixture under fixtures/rules/<group>/<name>.{bad,good}.yaml:
 * - `<name>.bad.yaml` lists `# expect: RULE@LINE:COL` lines; the run must produce exactly those
 *   findings of RULE (other rules may fire too);
 * - `<name>.good.yaml` must be completely clean.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../../src/check.js';

const ROOT = join(__dirname, '..', '..');
const DIR = join(ROOT, 'fixtures', 'rules');

function fixtures(): { group: string; name: string; file: string; kind: 'bad' | 'good' }[] {
  if (!existsSync(DIR)) return [];
  const out: { group: string; name: string; file: string; kind: 'bad' | 'good' }[] = [];
  for (const group of readdirSync(DIR).sort()) {
    for (const f of readdirSync(join(DIR, group)).sort()) {
      const m = /^(.+)\.(bad|good)\.(ya?ml|cfg)$/.exec(f);
      if (m) out.push({ group, name: m[1]!, file: join(DIR, group, f), kind: m[2] as 'bad' | 'good' });
    }
  }
  return out;
}

export function expectations(text: string): { rule: string; line: number; column: number }[] {
  return [...text.matchAll(/^#\s*expect:\s*(\S+)@(\d+):(\d+)\s*$/gm)].map((m) => ({ rule: m[1]!, line: Number(m[2]), column: Number(m[3]) }));
}

const all = fixtures();

describe('rule fixtures', () => {
  it('exist', () => {
    expect(all.length).toBeGreaterThan(0);
  });
  for (const fx of all) {
    const id = `${fx.group}/${fx.name}`;
    it(`${id} ${fx.kind}`, async () => {
      const { report } = await runCheck([relative(ROOT, fx.file)], { cwd: ROOT });
      if (fx.kind === 'good') {
        expect(report.findings.map((f) => `${f.rule}@${f.line}:${f.column} ${f.message}`)).toEqual([]);
      } else {
        const want = expectations(readFileSync(fx.file, 'utf8'));
        expect(want.length, `${fx.file} has no "# expect:" lines`).toBeGreaterThan(0);
        const rulesExpected = new Set(want.map((w) => w.rule));
        const got = report.findings
          .filter((f) => rulesExpected.has(f.rule))
          .map((f) => `${f.rule}@${f.line}:${f.column}`)
          .sort();
        expect(got).toEqual(want.map((w) => `${w.rule}@${w.line}:${w.column}`).sort());
      }
    });
  }
});
