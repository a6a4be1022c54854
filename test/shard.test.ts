/**
 * `check --shard INDEX/COUNT` and `pviommu merge` (issue 5): on a generated fleet, the merged
 * reports of COUNT shards are the unsharded report — same findings, byte for byte once
 * formatted, same summary — for COUNT 1..4, and every host is checked by exactly one shard.
 *
 * The fleet (bench/gen/fleet.mjs, seeded): 6 hosts with 8 domains each, five of them with an
 * injected mistake (a device assigned twice, memory > maxmem, a misspelt key, an unknown device),
 * plus a file that is not valid YAML and a Domain naming a host no document defines (findings
 * that belong to no host: shard 1 reports them).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { generateFleet } from '../bench/gen/fleet.mjs';
import { runCheck, shardFilter } from '../src/check.js';
import type { HostConfig } from '../src/config/validate.js';
import { labCopy, run } from './cli/helpers.js';

/** Hosts whose machine was built (static rules and scenarios build one per host and scenario). */
const built = vi.hoisted(() => ({ hosts: new Set<string>() }));
vi.mock('../src/model/build.js', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../src/model/build.js')>();
  return {
    ...mod,
    buildMachine: (hc: HostConfig) => {
      built.hosts.add(hc.host.name);
      return mod.buildMachine(hc);
    },
  };
});

interface Report {
  version: number;
  summary: Record<string, number>;
  findings: { rule: string; file: string; line: number; host?: string; severity: string }[];
}

const HOSTS = ['host-0000', 'host-0001', 'host-0002', 'host-0003', 'host-0004', 'host-0005'];
let repo: string;
let out: string;
let full: { code: number; stdout: string; report: Report };

beforeAll(async () => {
  repo = mkdtempSync(join(tmpdir(), 'pviommu-shard-'));
  out = mkdtempSync(join(tmpdir(), 'pviommu-shard-out-'));
  const fleet = generateFleet(repo, { hosts: 6, domainsPerHost: 8, faultRate: 0.5, seed: 9, extras: true });
  expect(fleet.faults.length).toBeGreaterThanOrEqual(4);
  const r = await run(['check', '.', '--format', 'json'], { cwd: repo });
  full = { code: r.code, stdout: r.stdout, report: JSON.parse(r.stdout) as Report };
});

/** Run every shard of COUNT, write their JSON reports, and merge them. */
async function shardsOf(count: number, cwd = repo) {
  const files: string[] = [];
  const reports: Report[] = [];
  for (let index = 1; index <= count; index++) {
    const r = await run(['check', '.', '--format', 'json', '--shard', `${index}/${count}`], { cwd });
    expect(r.stderr).toBe('');
    const file = join(out, `shard-${count}-${index}.json`);
    writeFileSync(file, r.stdout);
    files.push(file);
    reports.push(JSON.parse(r.stdout) as Report);
  }
  const merged = await run(['merge', ...files, '--format', 'json']);
  return { reports, merged: { code: merged.code, stdout: merged.stdout, report: JSON.parse(merged.stdout) as Report } };
}

describe('check --shard + merge', () => {
  it('the fleet has what the property is about: findings of several hosts, and of none', () => {
    const { findings, summary } = full.report;
    const hosts = new Set(findings.map((f) => f.host).filter((h) => h !== undefined));
    expect(hosts.size).toBeGreaterThanOrEqual(2);
    expect(findings.some((f) => f.file === 'broken.yaml' && f.rule === 'yaml/syntax')).toBe(true);
    expect(findings.some((f) => f.file === 'strays/orphan.yaml' && f.rule === 'ref/unknown')).toBe(true);
    expect(summary.hosts).toBe(6);
    expect(summary.errors).toBeGreaterThan(0);
    expect(full.code).toBe(1);
  });

  it.each([1, 2, 3, 4])('the union of %i shard(s) is the unsharded run, exactly', async (count) => {
    const { reports, merged } = await shardsOf(count);
    expect(merged.report.findings).toEqual(full.report.findings);
    expect(merged.report.summary).toEqual(full.report.summary);
    // identical findings and summary: identical document
    expect(merged.stdout).toBe(full.stdout);
    expect(merged.code).toBe(full.code);
    // a partition: no finding is reported by two shards
    expect(reports.reduce((n, r) => n + r.findings.length, 0)).toBe(full.report.findings.length);
    reports.forEach((r, i) => {
      const mine = shardFilter(HOSTS, { index: i + 1, count });
      for (const f of r.findings) {
        // (a host no document defines is no shard's: its findings are shard 1's, as those of no host)
        if (f.host === undefined || !HOSTS.includes(f.host)) expect(i, `${f.rule} ${f.file}: findings of no host belong to shard 1`).toBe(0);
        else expect(mine(f.host), `${f.rule} of ${f.host} reported by shard ${i + 1}/${count}`).toBe(true);
      }
    });
  });

  it.each([1, 2, 3, 4])('with %i shard(s), every host is checked by exactly one shard', async (count) => {
    const checked: Set<string>[] = [];
    for (let index = 1; index <= count; index++) {
      built.hosts.clear();
      await runCheck(['.'], { cwd: repo, shard: { index, count } });
      checked.push(new Set(built.hosts));
    }
    built.hosts.clear();
    await runCheck(['.'], { cwd: repo });
    const unsharded = new Set(built.hosts);
    expect(unsharded.size).toBeGreaterThanOrEqual(2); // hosts with input errors are not built
    for (const h of HOSTS) {
      const by = checked.flatMap((s, i) => (s.has(h) ? [i + 1] : []));
      if (unsharded.has(h)) expect(by, `${h} with ${count} shards`).toHaveLength(1);
      else expect(by, `${h} (input errors) is checked by no shard`).toHaveLength(0);
      // …and by the shard shardFilter deals it to
      if (by.length) expect(shardFilter(HOSTS, { index: by[0]!, count })(h)).toBe(true);
    }
    // each shard deals out a disjoint share, and together all hosts
    const dealt = HOSTS.map((h) => [1, 2, 3, 4].slice(0, count).filter((i) => shardFilter(HOSTS, { index: i, count })(h)).length);
    expect(dealt).toEqual(HOSTS.map(() => 1));
  });

  // Suppressions apply on every shard; an unused one is reported by the shard that owns its line.
  it("a suppression comment on a host of shard 2 suppresses there too", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pviommu-shard-sup-'));
    generateFleet(dir, { hosts: 4, domainsPerHost: 6, faultRate: 0, seed: 1 });
    const file = join(dir, 'hosts/host-0003/domains/vm01.yaml'); // host-0003: shard 2 of 2
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('  - dev: nic-vf00\n');
    writeFileSync(
      file,
      text.replace('  - dev: nic-vf00\n', '  - dev: nic-vf00\n    # pviommu-disable-next-line pci/permissive -- trusted tenant\n    permissive: true\n'),
    );
    const one = JSON.parse((await run(['check', '.', '--format', 'json'], { cwd: dir })).stdout) as Report;
    expect(one.summary.suppressed).toBe(1);
    const { merged } = await shardsOf(2, dir);
    expect(merged.report.findings).toEqual(one.findings);
    expect(merged.report.summary).toEqual(one.summary);
  });
});

describe('merge of --quiet reports', () => {
  it('counts what the shards counted but did not list (warnings, infos): the summary and --max-warnings decide as the unsharded run', async () => {
    const shardsQuiet = async (cwd: string, extra: string[] = []) => {
      const files: string[] = [];
      for (const index of [1, 2]) {
        const r = await run(['check', '.', '--format', 'json', '--quiet', '--shard', `${index}/2`], { cwd });
        const file = join(out, `quiet-${index}.json`);
        writeFileSync(file, r.stdout);
        files.push(file);
      }
      return run(['merge', ...files, '--format', 'json', ...extra]);
    };
    // the fleet: errors and warnings
    const whole = JSON.parse((await run(['check', '.', '--format', 'json', '--quiet'], { cwd: repo })).stdout) as Report;
    expect(whole.summary.warnings).toBeGreaterThan(0);
    expect(whole.findings.every((f) => f.severity === 'error')).toBe(true);
    expect((JSON.parse((await shardsQuiet(repo)).stdout) as Report).summary).toEqual(whole.summary);
    // warnings only: --max-warnings alone decides
    const dir = labCopy();
    const sc = join(dir, 'scenarios/xengt-pv-iommu.yaml');
    writeFileSync(sc, readFileSync(sc, 'utf8').replace('    gfn: 0x100\n', '    gfn: 0x1_00\n'));
    expect((await run(['check', '.', '--quiet', '--max-warnings', '0'], { cwd: dir })).code).toBe(1);
    const strict = await shardsQuiet(dir, ['--max-warnings', '0']);
    expect([strict.code, (JSON.parse(strict.stdout) as Report).summary.warnings]).toEqual([1, 1]);
    expect((await shardsQuiet(dir, ['--max-warnings', '1'])).code).toBe(0);
  });
});

describe('merge: inputs it cannot take are exit 2 with one line naming the file and why', () => {
  it('a missing file, a file that is not JSON, JSON that is not a report', async () => {
    const bad = join(out, 'not-json.json');
    writeFileSync(bad, '{"version": 1,');
    const other = join(out, 'other.json');
    writeFileSync(other, '{"version": 2, "findings": []}');
    const cases: [string, string][] = [
      [join(out, 'missing.json'), `cannot read ${join(out, 'missing.json')}: no such file or directory (ENOENT)`],
      [out, `cannot read ${out}: illegal operation on a directory (EISDIR)`],
      [bad, `${bad} is not JSON: `],
      [other, `${other} is not a pviommu JSON report (expected {"version": 1, "summary": …, "findings": […]})`],
    ];
    for (const [file, message] of cases) {
      const r = await run(['merge', file]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(2); // one line, then the final newline
      expect(r.stderr.startsWith(`pviommu: error: ${message}`)).toBe(true);
    }
  });

  it('a finding without a place, of an unknown severity, or not a finding at all: exit 2 in every format, naming where', async () => {
    const ok = { rule: 'dma/fault', severity: 'error', message: 'm', file: 'a.yaml', line: 1, column: 1 };
    const cases: [unknown, string][] = [
      [{ ...ok, file: undefined }, 'findings[0].file'],
      [null, 'findings[0]'],
      [{ ...ok, severity: 'fatal' }, 'findings[0].severity'],
      [{}, 'findings[0].rule'],
      [{ ...ok, message: 5 }, 'findings[0].message'],
      [{ ...ok, related: [null] }, 'findings[0].related[0]'],
      [{ ...ok, related: 'x' }, 'findings[0].related'],
      [{ ...ok, line: '7', column: -1 }, 'findings[0].line'],
    ];
    for (const [finding, where] of cases) {
      const file = join(out, 'odd.json');
      writeFileSync(file, JSON.stringify({ version: 1, summary: {}, findings: [finding] }));
      for (const format of ['text', 'github', 'json']) {
        const r = await run(['merge', file, '--format', format]);
        expect({ where, format, code: r.code, stdout: r.stdout }).toEqual({ where, format, code: 2, stdout: '' });
        expect(r.stderr).toMatch(new RegExp(`^pviommu: error: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not a pviommu JSON report: ${where.replace(/[.[\]]/g, '\\$&')}: `));
      }
    }
    // the same finding whole merges; without its end (a hand-made report) it ends where it starts
    writeFileSync(join(out, 'ok.json'), JSON.stringify({ version: 1, summary: { files: 1 }, findings: [ok] }));
    expect((await run(['merge', join(out, 'ok.json')])).code).toBe(1);
    const gh = await run(['merge', join(out, 'ok.json'), '--format', 'github']);
    expect(gh.stdout).toBe('::error file=a.yaml,line=1,col=1,endLine=1,endColumn=1,title=dma/fault::m\n');
    expect(JSON.parse((await run(['merge', join(out, 'ok.json'), '--format', 'json'])).stdout).findings).toEqual([{ ...ok, endLine: 1, endColumn: 1 }]);
  });
});
