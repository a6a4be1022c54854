/**
 * `pviommu check` on xl.cfg files (issue 6): realistic configs check clean, deliberately broken
 * copies give the right finding at the right line of the .cfg, the host is resolved from
 * `--host`, a `# pviommu: host=` comment or the only Host, and `--xl` / explicit paths.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRepo } from '../../src/check.js';
import { autoDomid, looksLikeXlCfg } from '../../src/xl/load.js';
import { run, repo, ROOT, HOST, DOM0 } from '../cli/helpers.js';

interface JsonFinding {
  rule: string;
  severity: string;
  message: string;
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  host?: string;
  subject?: { kind: string; name: string };
  related?: { file: string; line: number; column: number; message: string }[];
}

async function checkJson(args: string[], cwd = ROOT) {
  const r = await run(['check', ...args, '--format', 'json'], { cwd });
  expect(r.stderr, r.stderr).not.toMatch(/internal error/);
  const report = r.code === 2 ? undefined : JSON.parse(r.stdout);
  return { ...r, report, findings: (report?.findings ?? []) as JsonFinding[] };
}

/** Every file under `dir` (relative, `/`-separated), hidden entries skipped. */
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

const rel = (p: string) => relative(ROOT, p).split('\\').join('/');

/** A minimal xl.cfg guest. */
const cfg = (name: string, extra = '') => `name = "${name}"\ntype = "pvh"\nmemory = 512\n${extra}`;

const HOST2 = HOST.replace('name: h1', 'name: h2');
const DOM0_H = (host: string) => DOM0.replace('name: dom0', `name: dom0\nhost: ${host}`);

describe('fixtures/xl-repo: realistic xl.cfg guests beside a Host and its Devices', () => {
  const dir = join(ROOT, 'fixtures', 'xl-repo');

  it('checks clean: exit 0, no findings at all', async () => {
    const r = await checkJson(['fixtures/xl-repo']);
    expect(r.findings).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.report.summary).toMatchObject({ hosts: 1, devices: 8, domains: 8, errors: 0, warnings: 0, infos: 0 });
    // the text report says so too
    const t = await run(['check', 'fixtures/xl-repo']);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/no problems/);
  });

  it('has the example guests the issue asks for', () => {
    const cfgs = walk(dir).filter((f) => f.endsWith('.cfg')).map((f) => readFileSync(f, 'utf8'));
    expect(cfgs.length).toBeGreaterThanOrEqual(5);
    expect(cfgs.some((t) => /^type = "hvm"/m.test(t) && !/^pci/m.test(t))).toBe(true); // xlexample.hvm
    expect(cfgs.some((t) => !/^type/m.test(t) && /^kernel/m.test(t))).toBe(true); // xlexample.pvlinux (pv by default)
    expect(cfgs.some((t) => /^type = "pvh"/m.test(t))).toBe(true); // xlexample.pvhlinux
    expect(cfgs.some((t) => /^pci = \[ '0000:03:10\.0/m.test(t))).toBe(true); // a VF
    expect(cfgs.some((t) => /^device_model_stubdomain_override = 1/m.test(t))).toBe(true); // stubdom
  });

  it('reads every .cfg as a Domain with xl semantics (host, domid, type, role, pci)', async () => {
    const { config, findings } = await loadRepo(['fixtures/xl-repo'], { cwd: ROOT });
    expect(findings).toEqual([]);
    const doms = Object.fromEntries(config.hosts[0]!.domains.map((d) => [d.name, d]));
    expect(Object.keys(doms).sort()).toEqual([
      'dom0',
      'example.hvm',
      'example.pvhlinux',
      'example.pvlinux',
      'legacy-stubdom',
      'net-dd',
      'web-vf',
      'win-gpu',
    ]);
    // header domids; the others get the automatic one derived from the name
    expect(doms['web-vf']!.domid).toBe(5);
    expect(doms['legacy-stubdom']!.domid).toBe(6);
    for (const n of ['example.hvm', 'example.pvlinux', 'example.pvhlinux', 'net-dd', 'win-gpu']) {
      expect(doms[n]!.domid, n).toBe(autoDomid(n));
    }
    expect(doms['example.pvlinux']!.type).toBe('pv'); // no type=: pv on x86
    expect(doms['legacy-stubdom']!.type).toBe('hvm'); // builder="hvm"
    expect(doms['net-dd']!.role).toBe('driver'); // driver_domain=1
    expect(doms['web-vf']!.pci.map((p) => p.dev)).toEqual(['0000:03:10.0']);
    expect(doms['legacy-stubdom']!.pci.map((p) => p.dev)).toEqual(['nic-vf2']); // name=LABEL
    expect(doms['win-gpu']!.pci.map((p) => p.dev)).toEqual(['0000:01:00.0', '0000:01:00.1']);
  });

  it('the Devices a .cfg assigns belong to its domain, not to dom0', async () => {
    const r = await run(['inspect', 'fixtures/xl-repo', '--host', 'lab-1', '--domain', 'web-vf', '--what', 'iommu']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/0000:03:10\.0\s+nic-vf1\s+web-vf\s+web-vf/);
    expect(r.stdout).toMatch(/domain web-vf \(domid 5, hvm, guest\)/);
  });
});

describe('fixtures/xl-repo-broken: each `# expect: RULE@LINE:COL` is found, and nothing else', () => {
  const dir = join(ROOT, 'fixtures', 'xl-repo-broken');
  const expected: string[] = [];
  for (const f of walk(dir)) {
    for (const m of readFileSync(f, 'utf8').matchAll(/^# expect: (\S+)@(\d+):(\d+)$/gm)) {
      expected.push(`${rel(f)} ${m[1]}@${m[2]}:${m[3]}`);
    }
  }

  it('the broken copies announce the findings of the issue', () => {
    const rules = expected.map((e) => e.split(' ')[1]!.split('@')[0]);
    for (const r of ['pci/multiple-owners', 'memory/maxmem', 'passthrough/disabled-with-devices', 'ref/unknown']) {
      expect(rules).toContain(r);
    }
    expect(expected.length).toBeGreaterThanOrEqual(15);
  });

  it('check finds exactly the announced findings, at the announced .cfg positions', async () => {
    const r = await checkJson(['fixtures/xl-repo-broken']);
    expect(r.code).toBe(1);
    const got = r.findings.map((f) => `${f.file} ${f.rule}@${f.line}:${f.column}`).sort();
    expect(got).toEqual([...expected].sort());
  });

  it('findings on a .cfg span text of the .cfg and name the domain', async () => {
    const r = await checkJson(['fixtures/xl-repo-broken']);
    for (const f of r.findings.filter((x) => x.file.endsWith('.cfg'))) {
      const lines = readFileSync(join(ROOT, f.file), 'utf8').split('\n');
      const text = lines[f.line - 1]!;
      expect(f.column, `${f.file}:${f.line}`).toBeLessThanOrEqual(text.length);
      expect(f.endLine).toBe(f.line);
      expect(f.endColumn).toBeGreaterThan(f.column);
      expect(f.endColumn).toBeLessThanOrEqual(text.length + 1);
      expect(f.subject?.kind).toBe('Domain');
    }
  });

  it('pci/multiple-owners points at the BDF inside the quoted string, with the other owner related', async () => {
    const r = await checkJson(['fixtures/xl-repo-broken']);
    const f = r.findings.find((x) => x.rule === 'pci/multiple-owners')!;
    const line = readFileSync(join(ROOT, f.file), 'utf8').split('\n')[f.line - 1]!;
    expect(line.slice(f.column - 1, f.endColumn - 1)).toBe('0000:03:10.0');
    expect(line[f.column - 2]).toBe("'");
    expect(f.message).toMatch(/web-vf and web-vf2/);
    expect(f.related).toEqual([
      expect.objectContaining({ file: 'fixtures/xl-repo-broken/guests/web-vf.cfg', line: 8, column: 10 }),
    ]);
  });

  it('memory/maxmem points at maxmem, passthrough/disabled-with-devices at passthrough', async () => {
    const r = await checkJson(['fixtures/xl-repo-broken']);
    const at = (rule: string) => {
      const f = r.findings.find((x) => x.rule === rule)!;
      return readFileSync(join(ROOT, f.file), 'utf8').split('\n')[f.line - 1]!;
    };
    expect(at('memory/maxmem')).toMatch(/^maxmem = 2048/);
    expect(at('passthrough/disabled-with-devices')).toMatch(/^passthrough = "disabled"/);
  });

  it('the text report lists .cfg findings as file, line:col, rule', async () => {
    const r = await run(['check', 'fixtures/xl-repo-broken']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/fixtures\/xl-repo-broken\/guests\/hvm-maxmem\.cfg/);
    expect(r.stdout).toMatch(/6:10\s+error\s+.*memory\/maxmem/);
  });

  it('a suppression by --rule works on .cfg findings like on YAML ones', async () => {
    const r = await checkJson(['fixtures/xl-repo-broken', '--rule', 'memory/maxmem=off']);
    expect(r.findings.some((f) => f.rule === 'memory/maxmem')).toBe(false);
    expect(r.findings.length).toBe(expected.length - 1);
  });
});

describe('the host of an xl.cfg domain', () => {
  const hostOf = async (dir: string, name: string, opts: { xlHost?: string } = {}) => {
    const { config } = await loadRepo(['.'], { cwd: dir, ...opts });
    return config.hosts.find((h) => h.domains.some((d) => d.name === name))?.host.name;
  };

  it('is the only Host of the repo when nothing names one', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 'guest.cfg': cfg('guest') });
    const r = await checkJson(['.'], dir);
    expect(r.findings).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.report.summary.domains).toBe(2);
    expect(await hostOf(dir, 'guest')).toBe('h1');
  });

  it('comes from a `# pviommu: host=NAME` comment', async () => {
    const dir = repo({
      'hosts.yaml': `${HOST}---\n${HOST2}---\n${DOM0_H('h1')}---\n${DOM0_H('h2')}`,
      'guest.cfg': `# pviommu: host=h2 domid=7\n${cfg('guest')}`,
    });
    const r = await checkJson(['.'], dir);
    expect(r.findings).toEqual([]);
    expect(await hostOf(dir, 'guest')).toBe('h2');
    const { config } = await loadRepo(['.'], { cwd: dir });
    expect(config.hosts.find((h) => h.host.name === 'h2')!.domains.find((d) => d.name === 'guest')!.domid).toBe(7);
  });

  it('comes from --host, which wins over the comment', async () => {
    const dir = repo({
      'hosts.yaml': `${HOST}---\n${HOST2}---\n${DOM0_H('h1')}---\n${DOM0_H('h2')}`,
      'a.cfg': cfg('a'),
      'b.cfg': `# pviommu: host=h1\n${cfg('b')}`,
    });
    const r = await checkJson(['.', '--host', 'h2'], dir);
    expect(r.findings).toEqual([]);
    expect(r.code).toBe(0);
    expect(await hostOf(dir, 'a', { xlHost: 'h2' })).toBe('h2');
    expect(await hostOf(dir, 'b', { xlHost: 'h2' })).toBe('h2');
    // --host applies to xl.cfg domains only: the YAML documents keep their hosts
    expect(await hostOf(dir, 'dom0', { xlHost: 'h2' })).toBeDefined();
  });

  it('several hosts and none named: ref/unknown at the .cfg, exit 1', async () => {
    const dir = repo({
      'hosts.yaml': `${HOST}---\n${HOST2}---\n${DOM0_H('h1')}---\n${DOM0_H('h2')}`,
      'guest.cfg': `# a guest\n${cfg('guest')}`,
    });
    const r = await checkJson(['.'], dir);
    expect(r.code).toBe(1);
    expect(r.findings.map((f) => [f.rule, f.severity, f.file, f.line])).toEqual([['ref/unknown', 'error', 'guest.cfg', 2]]);
    expect(r.findings[0]!.message).toMatch(/h1, h2/);
    // how an xl.cfg names its host (it has no `host:` key)
    expect(r.findings[0]!.message).toMatch(/has no host \(an xl\.cfg names it with a `# pviommu: host=NAME` comment, or check --host NAME\)/);
  });

  it('a host= that no Host defines is ref/unknown at the .cfg; a --host that none has is bad usage (exit 2: the option is wrong, not the file)', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 'guest.cfg': `# pviommu: host=h3\n${cfg('guest')}` });
    const a = await checkJson(['.'], dir);
    expect(a.code).toBe(1);
    expect(a.findings.map((f) => [f.rule, f.file, f.line, f.column])).toEqual([['ref/unknown', 'guest.cfg', 1, 17]]);
    const b = await checkJson(['.', '--host', 'h'], dir);
    expect([b.code, b.stdout]).toEqual([2, '']);
    expect(b.stderr).toMatch(/^pviommu: error: --host "h": no Host document has that name — did you mean `h1`\? \(hosts: h1\)/);
  });
});

describe('domids of xl.cfg domains', () => {
  it('a .cfg without a domid gets a stable one derived from its name, unique in the repo', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 'a.cfg': cfg('alpha'), 'b.cfg': cfg('beta') });
    const r = await checkJson(['.'], dir);
    expect(r.findings).toEqual([]);
    const { config } = await loadRepo(['.'], { cwd: dir });
    const ids = Object.fromEntries(config.hosts[0]!.domains.map((d) => [d.name, d.domid]));
    expect(ids).toEqual({ dom0: 0, alpha: autoDomid('alpha'), beta: autoDomid('beta') });
    for (const id of [ids.alpha!, ids.beta!]) {
      expect(id).toBeGreaterThanOrEqual(0x1000);
      expect(id).toBeLessThan(0x7ff0);
    }
  });

  it('two names with the same automatic domid are told apart', async () => {
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const n = `vm-${i}`;
      const id = autoDomid(n);
      if (seen.has(id)) pair = [seen.get(id)!, n];
      else seen.set(id, n);
    }
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 'a.cfg': cfg(pair[0]), 'b.cfg': cfg(pair[1]) });
    const r = await checkJson(['.'], dir);
    expect(r.findings).toEqual([]);
    const { config } = await loadRepo(['.'], { cwd: dir });
    const ids = config.hosts[0]!.domains.map((d) => d.domid);
    expect(new Set(ids).size).toBe(3);
  });

  it('role=hardware in the header makes domid 0', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.cfg': `# pviommu: role=hardware\nname = "Domain-0"\ntype = "pvh"\nmemory = 2048\n` });
    const { config, findings } = await loadRepo(['.'], { cwd: dir });
    expect(findings).toEqual([]);
    expect(config.hosts[0]!.domains.map((d) => [d.name, d.domid, d.role])).toEqual([['Domain-0', 0, 'hardware']]);
  });
});

describe('which files are read as xl.cfg', () => {
  it('--xl FILE reads a file with another extension as xl.cfg', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 'xen/guest.hvm': cfg('guest'), 'xen/other.conf': cfg('other') });
    // a directory walk reads *.yaml and *.cfg only
    const a = await checkJson(['.'], dir);
    expect(a.code).toBe(0);
    expect(a.report.summary.domains).toBe(1);
    const b = await checkJson(['.', '--xl', 'xen/guest.hvm', '--xl', 'xen/other.conf'], dir);
    expect(b.findings).toEqual([]);
    expect(b.code).toBe(0);
    expect(b.report.summary.domains).toBe(3);
    expect(b.report.summary.files).toBe(4);
  });

  it('--xl findings point into that file', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 'guest.xl': 'name = "g"\nmemory = 4096\nmaxmem = 1024\n' });
    const r = await checkJson(['.', '--xl', 'guest.xl'], dir);
    expect(r.code).toBe(1);
    expect(r.findings.map((f) => `${f.file} ${f.rule}@${f.line}:${f.column}`)).toEqual(['guest.xl memory/maxmem@3:10']);
  });

  it('a non-.cfg file named in PATH without --xl is read as YAML', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 'a.hvm': 'name = "a"\nmemory = 1024\n', 'b.hvm': 'name = "b"\n# Memory (MiB)\nmemory = 1024\n' });
    // `name = "a" memory = 1024` is one YAML scalar: a document that is not pviommu's
    const a = await checkJson(['.', 'a.hvm'], dir);
    expect(a.findings).toEqual([]);
    expect(a.report.summary).toMatchObject({ domains: 1, skipped: 1 });
    // a comment between two settings ends the scalar: not YAML at all
    const b = await checkJson(['.', 'b.hvm'], dir);
    expect(b.code).toBe(1);
    expect(b.findings.map((f) => [f.rule, f.file])).toContainEqual(['yaml/syntax', 'b.hvm']);
  });

  it('a .cfg named explicitly in PATH is read as xl.cfg, not YAML', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 'vm/guest.cfg': cfg('guest') });
    const r = await checkJson(['host.yaml', 'dom0.yaml', 'vm/guest.cfg'], dir);
    expect(r.findings).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.report.summary).toMatchObject({ files: 3, domains: 2 });
    // even a .cfg that happens to be valid YAML
    const y = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 'odd.cfg': 'name = "odd"\n# apiVersion: pviommu/v1\n' });
    const s = await checkJson(['.', 'odd.cfg'], y);
    expect(s.findings).toEqual([]);
    expect(s.report.summary.domains).toBe(2);
  });

  it('a file named twice (walked and --xl) is one domain, not a duplicate', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 'guest.cfg': cfg('guest') });
    const r = await checkJson(['.', 'guest.cfg', '--xl', 'guest.cfg'], dir);
    expect(r.findings).toEqual([]);
    expect(r.report.summary.domains).toBe(2);
  });

  it('--xl DIR reads the *.cfg files under it as xl.cfg (never its YAML); one with none is exit 2', async () => {
    const dir = repo({ 'repo/host.yaml': HOST, 'repo/dom0.yaml': DOM0, 'xd/a.cfg': cfg('a'), 'xd/sub/b.cfg': cfg('b'), 'xd/c.yaml': 'apiVersion: pviommu/v1\nkind: Host\nname: hh\nram: 4GB\n', 'empty/notes.txt': 'x' });
    const r = await checkJson(['repo', '--xl', 'xd'], dir);
    expect(r.findings).toEqual([]);
    expect(r.report.summary).toMatchObject({ files: 4, domains: 3 });
    const none = await run(['check', 'repo', '--xl', 'empty'], { cwd: dir });
    expect([none.code, none.stderr]).toEqual([2, 'pviommu: error: --xl empty: no *.cfg file in that directory\n']);
  });

  it('--xl FILE that does not exist is exit 2', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0 });
    const r = await run(['check', '.', '--xl', 'missing.cfg'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing\.cfg/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("xl's parse-time rejections are error findings of check (exit 1)", async () => {
    const dir = repo({
      'host.yaml': HOST,
      'dom0.yaml': DOM0,
      'guest.cfg': 'name = "g"\ntype = "hvm"\nmemory = 1024\npci = [ "03:00.0,permissive=yes" ]\nmemroy = 5\n',
    });
    const r = await checkJson(['.'], dir);
    expect(r.code).toBe(1);
    const got = r.findings.filter((f) => f.rule.startsWith('xl/')).map((f) => `${f.rule} ${f.severity} ${f.line}:${f.column}`);
    expect(got).toEqual(['xl/pci-spec error 4:29', 'xl/unknown-option warning 5:1']);
  });

  it('a walked .cfg that is not an xl.cfg (INI, HAProxy, …) is skipped; named explicitly it is read', async () => {
    const dir = repo({
      'host.yaml': HOST,
      'dom0.yaml': DOM0,
      'setup.cfg': '[metadata]\nname = pviommu-tools\nversion = 1.0\n\n[flake8]\nmax-line-length = 100\n',
      'haproxy/haproxy.cfg': 'global\n    daemon\n    maxconn 256\n\nfrontend http-in\n    bind *:80\n',
      'empty.cfg': '# nothing here yet\n',
      'guest.cfg': cfg('guest'),
    });
    const r = await checkJson(['.'], dir);
    expect(r.findings).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.report.summary).toMatchObject({ domains: 2, files: 3 });
    // the user said so: read it, and report what xl would say
    const e = await checkJson(['.', 'setup.cfg'], dir);
    expect(e.code).toBe(1);
    expect(e.findings.some((f) => f.file === 'setup.cfg' && f.rule === 'xl/syntax')).toBe(true);
  });

  it('every fixture .cfg looks like an xl.cfg', () => {
    const all = [join(ROOT, 'fixtures', 'xl'), join(ROOT, 'fixtures', 'xl-repo'), join(ROOT, 'fixtures', 'xl-repo-broken')]
      .flatMap(walk)
      .filter((f) => f.endsWith('.cfg'));
    expect(all.length).toBeGreaterThan(60);
    for (const f of all) expect(looksLikeXlCfg(readFileSync(f, 'utf8')), rel(f)).toBe(true);
    // a list on a line of its own is not an INI section
    expect(looksLikeXlCfg('name = "a"\nirqs =\n[ 7 ]\ndisk =\n[ "x" ]\n')).toBe(true);
  });

  it('options of xm/xend (configs from before xl, old xen-tools templates) are info, not warnings', async () => {
    const dir = repo({
      'host.yaml': HOST,
      'dom0.yaml': DOM0,
      // in the manner of a xen-tools generated config: quoted numbers, pygrub, and xm leftovers
      'foo.cfg': [
        '#',
        '#  Kernel + memory size',
        '#',
        "bootloader  = 'pygrub'",
        "vcpus       = '1'",
        "memory      = '256'",
        "root        = '/dev/xvda2 ro'",
        'disk        = [',
        "                  'file:/srv/xen/domains/foo/disk.img,xvda2,w',",
        "                  'file:/srv/xen/domains/foo/swap.img,xvda1,w',",
        '              ]',
        "name        = 'foo.example.org'",
        "dhcp        = 'dhcp'",
        "vif         = [ 'mac=00:16:3E:12:34:56' ]",
        "on_poweroff = 'destroy'",
        "on_reboot   = 'restart'",
        "on_crash    = 'restart'",
        "on_xend_start = 'ignore'",
        '',
      ].join('\n'),
    });
    const r = await checkJson(['.'], dir);
    expect(r.code).toBe(0);
    expect(r.findings.map((f) => `${f.rule} ${f.severity} ${f.line}:${f.column}`)).toEqual([
      'xl/unknown-option info 13:1',
      'xl/unknown-option info 18:1',
    ]);
    expect(r.findings[0]!.message).toMatch(/xm\/xend/);
    expect(r.report.summary).toMatchObject({ domains: 2, warnings: 0, errors: 0 });
  });
});
