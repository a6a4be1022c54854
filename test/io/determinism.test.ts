/**
 * Determinism (issue 7, SPEC §6.1): the same input gives byte-identical output in every format
 * (text without colour, json, sarif, junit, github; emulate's json and jsonl), whatever order the
 * files were written in, whatever the directory the repo sits in is called, and whatever the
 * locale — in-process and in separate processes started with different LANG / LC_ALL / TZ.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distIsFresh, run, ROOT } from '../cli/helpers.js';
import { removeTemps, track } from '../fuzz/harness.js';

afterAll(() => removeTemps());

/** The repo every run checks: the example lab plus every rule fixture (many hosts, many findings). */
function sourceFiles(): { rel: string; data: Buffer }[] {
  const out: { rel: string; data: Buffer }[] = [];
  const walk = (dir: string, base: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p, base);
      else out.push({ rel: relative(base, p), data: readFileSync(p) });
    }
  };
  walk(join(ROOT, 'examples', 'lab'), join(ROOT, 'examples'));
  for (const sub of ['rules', 'scenarios', 'xl']) walk(join(ROOT, 'fixtures', sub), ROOT);
  return out;
}

const FILES = sourceFiles();

/** Write the repo into a new directory named `name`, files in the order `order` gives. */
function copy(name: string, order: number[]): string {
  const parent = track(mkdtempSync(join(tmpdir(), 'pviommu-det-')));
  const dir = join(parent, name);
  mkdirSync(dir);
  for (const i of order) {
    const f = FILES[i]!;
    mkdirSync(dirname(join(dir, f.rel)), { recursive: true });
    writeFileSync(join(dir, f.rel), f.data);
  }
  return dir;
}

const FORMATS = ['text', 'json', 'sarif', 'junit', 'github'] as const;

async function outputs(dir: string, env: NodeJS.ProcessEnv = {}): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of FORMATS) {
    const r = await run(['check', '.', '--format', f, '--no-color'], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(1); // the fixtures hold findings
    out[f] = r.stdout;
  }
  for (const f of ['json', 'text']) {
    const r = await run(['emulate', 'lab', '--scenario', 'xengt-pv-iommu', '--format', f], { cwd: dir, env });
    expect(r.code, r.stderr).toBe(0);
    out[`emulate ${f}`] = r.stdout;
  }
  return out;
}

describe('byte-identical output whatever the file-system order', () => {
  let reference: Record<string, string>;
  beforeAll(async () => {
    reference = await outputs(copy('repo', FILES.map((_, i) => i)));
  });

  it('the reference run has content in every format and no absolute path, time or pid', () => {
    for (const [k, v] of Object.entries(reference)) {
      expect(v.length, k).toBeGreaterThan(100);
      expect(v, k).not.toContain(tmpdir());
      expect(v, k).not.toMatch(/\b20\d\d-\d\d-\d\dT\d\d:\d\d/); // no timestamps
      expect(v, k).not.toMatch(/\x1b\[/); // colour off
    }
  });

  it('shuffled write order, directories named in other cases and lengths', async () => {
    const names = ['REPO', 'a-much-longer-directory-name-than-the-Ünïcödé-others'];
    const orders = fc.sample(fc.shuffledSubarray(FILES.map((_, i) => i), { minLength: FILES.length, maxLength: FILES.length }), { numRuns: names.length, seed: 11 });
    for (const [k, name] of names.entries()) {
      const got = await outputs(copy(name, orders[k]!));
      expect(got, `copy ${k} (${name})`).toEqual(reference);
    }
  });

  it('environment variations (NO_COLOR, TERM, LANG, LC_ALL) in-process', async () => {
    const dir = copy('repo', [...FILES.keys()].reverse());
    for (const env of [{ NO_COLOR: '1', TERM: 'dumb' }, { LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8', TZ: 'Pacific/Chatham' }]) {
      expect(await outputs(dir, env), JSON.stringify(env)).toEqual(reference);
    }
  });
});

describe('separate processes under different locales and time zones', () => {
  // Locale and time zone are fixed when a process starts: only a new process shows their effect.
  it.skipIf(!distIsFresh())('bin/pviommu.js gives the same bytes under every LANG / LC_ALL / TZ', () => {
    // a part of the repo (with findings): a process start costs more than checking it
    const dir = copy('repo', FILES.map((_, i) => i));
    const envs: NodeJS.ProcessEnv[] = [
      { LANG: 'C', LC_ALL: 'C', TZ: 'UTC' },
      { LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8', TZ: 'Europe/Istanbul' },
      // a process start costs ~1 s: the long run adds more
      ...(process.env.PVIOMMU_FUZZ === 'long'
        ? [{ LANG: 'sv_SE.UTF-8', LC_COLLATE: 'sv_SE.UTF-8', TZ: 'Pacific/Kiritimati' }, { LANG: 'ja_JP.UTF-8', LC_ALL: 'ja_JP.UTF-8', TZ: 'America/St_Johns' }]
        : []),
    ];
    for (const f of FORMATS) {
      const outs = envs.map((env) => {
        try {
          return execFileSync(process.execPath, [join(ROOT, 'bin', 'pviommu.js'), 'check', 'lab', 'fixtures/scenarios', 'fixtures/rules/dom0', '--format', f, '--no-color'], {
            cwd: dir,
            env: { PATH: process.env.PATH, ...env },
            encoding: 'utf8',
            maxBuffer: 64 << 20,
          });
        } catch (e) {
          return (e as { stdout: string }).stdout; // exit 1: findings
        }
      });
      expect(outs[0]!.length, f).toBeGreaterThan(100);
      for (const o of outs) expect(o, f).toBe(outs[0]);
    }
  });
});

describe('a copy is the same repo', () => {
  it('cpSync of the source tree gives the same output as the written copy', async () => {
    const parent = track(mkdtempSync(join(tmpdir(), 'pviommu-det-')));
    cpSync(join(ROOT, 'examples', 'lab'), join(parent, 'lab'), { recursive: true });
    const a = await run(['check', '.', '-f', 'json'], { cwd: join(parent, 'lab') });
    const b = await run(['check', '.', '-f', 'json'], { cwd: join(ROOT, 'examples', 'lab') });
    expect(a.stdout).toBe(b.stdout);
  });
});
