/**
 * Issue 6: "import-xl then check on the YAML gives the same findings as check on the .cfg".
 *
 * For every .cfg fixture: `pviommu import-xl` it to YAML, put the YAML where the .cfg was (beside
 * the same Host/Devices), `pviommu check` both, and compare the findings — rule, severity,
 * message and related messages. Positions differ (different files), so for the .cfg run they
 * are only checked to lie inside the .cfg. xl's own parse findings (`xl/*`) cannot survive the
 * conversion: they are left out of the comparison, and import-xl must report them on stderr
 * (exit 1 when one is an error).
 *
 * - fixtures/xl/*.cfg and fixtures/xl/invalid/*.cfg: each alone beside fixtures/xl-repo's
 *   YAML (Host lab-1, its Devices, dom0);
 * - fixtures/xl-repo*: the whole repo converted at once, since rules look across domains
 *   (a device in two pci lists, duplicate domids).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run, ROOT } from '../cli/helpers.js';

interface JsonFinding {
  rule: string;
  severity: string;
  message: string;
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  related?: { file: string; line: number; column: number; message: string }[];
}

const FIXTURES = join(ROOT, 'fixtures');
const BASE_REPO = join(FIXTURES, 'xl-repo');
const BASE_YAML = ['host.yaml', 'devices.yaml', 'dom0.yaml'];

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    if (e.startsWith('.')) continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

const posix = (p: string) => p.split('\\').join('/');
const toYamlPath = (p: string) => p.replace(/\.cfg$/, '.yaml');

async function check(cwd: string): Promise<{ code: number; findings: JsonFinding[] }> {
  const r = await run(['check', '.', '--format', 'json'], { cwd });
  expect(r.code, r.stderr).not.toBe(2);
  return { code: r.code, findings: JSON.parse(r.stdout).findings };
}

async function importXl(cwd: string, file: string) {
  return run(['import-xl', file], { cwd });
}

/**
 * What must survive the conversion: rule, severity, message, and the related messages. (Only the
 * way to name a host differs: `host:` in YAML, a comment or --host for an xl.cfg.)
 */
const XL_NO_HOST = 'has no host (an xl.cfg names it with a `# pviommu: host=NAME` comment, or check --host NAME)';
const key = (f: JsonFinding) =>
  [f.rule, f.severity, f.message.replace(XL_NO_HOST, 'has no `host:`'), ...(f.related ?? []).map((r) => `related: ${r.message}`)].join(' | ');
const keys = (fs: JsonFinding[]) => fs.map(key).sort();
const isXl = (f: JsonFinding) => f.rule.startsWith('xl/');

/** Every position of a .cfg finding lies inside the .cfg text. */
function expectInside(f: JsonFinding, text: string) {
  const lines = text.split('\n');
  const where = `${f.file}:${f.line}:${f.column} ${f.rule}`;
  for (const [l, c] of [
    [f.line, f.column],
    [f.endLine, f.endColumn],
  ] as const) {
    expect(l, where).toBeGreaterThanOrEqual(1);
    expect(l, where).toBeLessThanOrEqual(lines.length);
    expect(c, where).toBeGreaterThanOrEqual(1);
    expect(c, where).toBeLessThanOrEqual(lines[l - 1]!.length + 1);
  }
  expect(f.endLine > f.line || (f.endLine === f.line && f.endColumn >= f.column), where).toBe(true);
}

/** import-xl reports the .cfg's xl/* findings on stderr, at their positions; exit 1 on an error. */
function expectXlReported(imp: { code: number; stderr: string }, xl: JsonFinding[]) {
  expect(imp.code).toBe(xl.some((f) => f.severity === 'error') ? 1 : 0);
  if (!xl.length) {
    expect(imp.stderr).toBe('');
    return;
  }
  for (const f of xl) {
    expect(imp.stderr).toMatch(new RegExp(`\\b${f.line}:${f.column}\\s+${f.severity}\\b.*${f.rule.replace('/', '\\/')}`));
  }
}

describe('fixtures/xl: each .cfg alone, beside a Host and its Devices', () => {
  const files = [
    ...readdirSync(join(FIXTURES, 'xl')).filter((f) => f.endsWith('.cfg')).map((f) => join(FIXTURES, 'xl', f)),
    ...readdirSync(join(FIXTURES, 'xl', 'invalid'))
      .filter((f) => f.endsWith('.cfg'))
      .map((f) => join(FIXTURES, 'xl', 'invalid', f)),
  ].sort();

  it('there are fixtures to convert', () => {
    expect(files.length).toBeGreaterThanOrEqual(45);
  });

  for (const file of files) {
    const name = posix(relative(FIXTURES, file));
    it(name, async () => {
      const text = readFileSync(file, 'utf8');
      const cfgName = basename(file);
      const a = mkdtempSync(join(tmpdir(), 'pviommu-xl-a-'));
      const b = mkdtempSync(join(tmpdir(), 'pviommu-xl-b-'));
      for (const y of BASE_YAML) {
        copyFileSync(join(BASE_REPO, y), join(a, y));
        copyFileSync(join(BASE_REPO, y), join(b, y));
      }
      writeFileSync(join(a, cfgName), text);

      const imp = await importXl(a, cfgName);
      expect(imp.code, imp.stderr).not.toBe(2);
      writeFileSync(join(b, toYamlPath(cfgName)), imp.stdout);

      const ra = await check(a);
      const rb = await check(b);
      for (const f of ra.findings) {
        expect(f.file).toBe(cfgName); // the base YAML is clean: every finding is about the .cfg
        expectInside(f, text);
      }
      expectXlReported(imp, ra.findings.filter(isXl));
      for (const f of rb.findings) expect(f.file).toBe(toYamlPath(cfgName));
      expect(keys(rb.findings)).toEqual(keys(ra.findings.filter((f) => !isXl(f))));
      // the exit code agrees once xl's own findings are set aside
      const errs = (fs: JsonFinding[]) => fs.some((f) => f.severity === 'error');
      expect(rb.code).toBe(errs(ra.findings.filter((f) => !isXl(f))) ? 1 : 0);
    });
  }
});

for (const repoName of readdirSync(FIXTURES).filter((d) => /^xl-repo/.test(d)).sort()) {
  describe(`fixtures/${repoName}: the whole repo converted with import-xl`, () => {
    const src = join(FIXTURES, repoName);
    const all = walk(src).map((f) => posix(relative(src, f)));
    const cfgs = all.filter((f) => f.endsWith('.cfg'));
    let ra: { code: number; findings: JsonFinding[] };
    let rb: { code: number; findings: JsonFinding[] };
    const imports = new Map<string, { code: number; stdout: string; stderr: string }>();

    beforeAll(async () => {
      const b = mkdtempSync(join(tmpdir(), `pviommu-${repoName}-`));
      for (const f of all) {
        mkdirSync(dirname(join(b, f)), { recursive: true });
        if (!f.endsWith('.cfg')) {
          copyFileSync(join(src, f), join(b, f));
          continue;
        }
        const imp = await importXl(src, f);
        imports.set(f, imp);
        writeFileSync(join(b, toYamlPath(f)), imp.stdout);
      }
      ra = await check(src);
      rb = await check(b);
    });

    it('has .cfg files', () => {
      expect(cfgs.length).toBeGreaterThanOrEqual(5);
    });

    it('the YAML files give the same findings, at the same positions, in both runs', () => {
      const yamlOnly = (fs: JsonFinding[]) =>
        fs.filter((f) => !f.file.endsWith('.cfg') && !cfgs.includes(f.file.replace(/\.yaml$/, '.cfg')));
      expect(yamlOnly(rb.findings)).toEqual(yamlOnly(ra.findings));
      expect(rb.code).toBe(ra.findings.some((f) => f.severity === 'error' && !isXl(f)) ? 1 : 0);
    });

    for (const f of cfgs) {
      it(f, () => {
        const imp = imports.get(f)!;
        expect(imp.code, imp.stderr).not.toBe(2);
        const text = readFileSync(join(src, f), 'utf8');
        const mine = ra.findings.filter((x) => x.file === f);
        for (const x of mine) expectInside(x, text);
        for (const x of ra.findings) for (const r of x.related ?? []) if (r.file === f) expect(r.line).toBeLessThanOrEqual(text.split('\n').length);
        expectXlReported(imp, mine.filter(isXl));
        const theirs = rb.findings.filter((x) => x.file === toYamlPath(f));
        expect(keys(theirs)).toEqual(keys(mine.filter((x) => !isXl(x))));
      });
    }
  });
}
