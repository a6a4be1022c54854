/** `pviommu check` end to end: exit codes, formats, bad input (SPEC §6). */
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, repo, HOST, DOM0, labCopy } from './helpers.js';

describe('pviommu check', () => {
  it('the example repo checks clean (exit 0)', async () => {
    const r = await run(['check', 'examples/lab']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/no problems/);
    expect(r.code).toBe(0);
  });

  it('json output is SPEC §6.1 and byte-identical run to run', async () => {
    const a = await run(['check', 'examples/lab', '--format', 'json']);
    const b = await run(['check', 'examples/lab', '--format', 'json']);
    expect(a.stdout).toBe(b.stdout);
    const j = JSON.parse(a.stdout);
    expect(Object.keys(j)).toEqual(['version', 'tool', 'summary', 'findings']);
    expect(j.version).toBe(1);
    expect(j.tool.name).toBe('pviommu');
    expect(j.summary.hosts).toBe(1);
    expect(j.summary.domains).toBe(4);
    expect(j.summary.devices).toBe(5);
    expect(j.summary.scenarios).toBe(1);
    expect(j.findings).toEqual([]);
  });

  it('a failed expectation exits 1 whatever its severity, and says so; turned off or suppressed it does not', async () => {
    const dir = labCopy();
    const sc = join(dir, 'scenarios/xengt-pv-iommu.yaml');
    writeFileSync(sc, readFileSync(sc, 'utf8').replaceAll('expect: { done: 1 }', 'expect: { done: 7 }'));
    const plain = await run(['check', '.'], { cwd: dir });
    expect([plain.code, plain.stderr]).toEqual([1, '']);
    const warned = await run(['check', '.', '--rule', 'scenario/expectation-failed=warning'], { cwd: dir });
    expect(warned.code).toBe(1);
    expect(warned.stdout).toMatch(/0 errors, 2 warnings/);
    expect(warned.stderr).toBe('pviommu: 2 failed expectations (scenario/expectation-failed) fail the run whatever their severity; turn the rule off to accept them\n');
    const off = await run(['check', '.', '--rule', 'scenario/expectation-failed=off'], { cwd: dir });
    expect([off.code, off.stdout, off.stderr]).toEqual([0, '✔ no problems in 7 files, 11 documents\n', '']);
    // suppressed at the call: the same as off
    writeFileSync(sc, readFileSync(sc, 'utf8').replaceAll('    expect: { done: 7 }', '    # pviommu-disable-next-line scenario/expectation-failed -- known\n    expect: { done: 7 }'));
    const sup = await run(['check', '.', '--format', 'json'], { cwd: dir });
    expect([sup.code, JSON.parse(sup.stdout).summary.suppressed]).toEqual([0, 2]);
    // merge of a report where they are warnings decides as check does
    const json = join(repo({}), 'w.json');
    writeFileSync(sc, readFileSync(sc, 'utf8').replaceAll('    # pviommu-disable-next-line scenario/expectation-failed -- known\n', ''));
    writeFileSync(json, (await run(['check', '.', '-f', 'json', '--rule', 'scenario/expectation-failed=warning'], { cwd: dir })).stdout);
    expect((await run(['merge', json])).code).toBe(1);
  });

  it('a config on stdin that is not UTF-8 gets the same finding as such a file', async () => {
    const bytes = Buffer.concat([Buffer.from(HOST.replace('name: h1', 'name: h1 # caf')), Buffer.from([0xe9, 0x0a])]);
    const dir = repo({ 'h.yaml': '' });
    writeFileSync(join(dir, 'h.yaml'), bytes);
    const file = await run(['check', 'h.yaml', '-f', 'json'], { cwd: dir });
    const stdin = await run(['check', '-', '-f', 'json'], { cwd: dir, stdin: bytes });
    const rules = (r: { stdout: string }) => JSON.parse(r.stdout).findings.map((f: { rule: string; message: string }) => [f.rule, f.message]);
    expect(file.code).toBe(1);
    expect(rules(file)).toEqual([['yaml/syntax', 'file is not valid UTF-8; save it as UTF-8']]);
    expect([stdin.code, rules(stdin)]).toEqual([file.code, rules(file)]);
  });

  it('the document count includes pviommu documents that could not be loaded (a YAML error, another apiVersion)', async () => {
    const dir = repo({
      'a.yaml': HOST + '---\n' + DOM0 + '---\napiVersion: pviommu/v1\nkind: Domain\nname: vm1\ndomid: 1\ntype: hvm\nmemory: *nope\n',
      'b.yaml': 'apiVersion: pviommu/v2\nkind: Host\nname: h2\nram: 4GiB\n',
      'c.yaml': 'not: pviommu\n',
    });
    const r = await run(['check', '.', '-f', 'json'], { cwd: dir });
    expect(JSON.parse(r.stdout).summary).toMatchObject({ files: 3, documents: 4, skipped: 1 });
  });

  it('a `__proto__` key is a key like any other: an unknown argument, an expected output, an unknown rule id', async () => {
    const dir = labCopy();
    const sc = join(dir, 'scenarios/xengt-pv-iommu.yaml');
    const extra = '  - op: iommu.query_caps\n    __proto__: 1\n  - op: iommu.query_caps\n    expect: { __proto__: { status: -1 } }\n';
    writeFileSync(sc, readFileSync(sc, 'utf8') + extra);
    const r = await run(['check', '.', '-f', 'json'], { cwd: dir });
    const found = JSON.parse(r.stdout).findings.map((f: { rule: string; message: string }) => [f.rule, /__proto__/.test(f.message)]);
    expect(found).toEqual([
      ['schema/invalid', true],
      ['scenario/expectation-failed', true],
    ]);
    writeFileSync(join(dir, '.pviommu.yaml'), 'rules: { __proto__: "off" }\n');
    const p = await run(['check', '.'], { cwd: dir });
    expect([p.code, p.stderr]).toEqual([2, `pviommu: error: ${join(dir, '.pviommu.yaml')}: unknown rule id \`__proto__\` (see \`pviommu rules\`)\n`]);
  });

  it('a finding of severity error exits 1, with file:line:col and rule id', async () => {
    const dir = repo({
      'h.yaml': HOST,
      'd.yaml': DOM0 + '---\n' + 'apiVersion: pviommu/v1\nkind: Domain\nname: vm1\ndomid: 1\ntype: hvm\nmemroy: 1GiB\n',
    });
    const r = await run(['check', '.', '--format', 'json'], { cwd: dir });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    const f = j.findings.find((x: { rule: string; message: string }) => x.rule === 'schema/invalid' && /memroy/.test(x.message));
    expect(f).toMatchObject({ file: 'd.yaml', line: 14, column: 1, severity: 'error' });
    expect(f.message).toMatch(/did you mean `memory`/);
  });

  it('a path that does not exist is exit 2 with one line', async () => {
    const r = await run(['check', 'no/such/dir']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/path not found: no\/such\/dir/);
  });

  it('an empty folder is exit 2: never green when nothing was checked', async () => {
    const dir = repo({});
    const r = await run(['check', '.'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no pviommu document found/);
  });

  it('YAML that is not pviommu’s is skipped, counted, and exit 2', async () => {
    const dir = repo({ 'ci.yaml': 'on: push\njobs: {}\n', 'k8s.yaml': 'apiVersion: v1\nkind: Pod\n' });
    const r = await run(['check', '.'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/2 YAML documents skipped/);
  });

  it('broken YAML is a yaml/syntax finding (exit 1), not a skip', async () => {
    const dir = repo({ 'bad.yaml': 'apiVersion: pviommu/v1\nkind: Host\nname: [unclosed\n' });
    const r = await run(['check', '.', '--format', 'json'], { cwd: dir });
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.findings.map((f: { rule: string }) => f.rule)).toContain('yaml/syntax');
    expect(j.findings[0].file).toBe('bad.yaml');
  });

  it('bad usage is exit 2: unknown option, unknown format, unknown rule id', async () => {
    expect((await run(['check', '--nope'])).code).toBe(2);
    expect((await run(['check', '--format', 'xml'])).code).toBe(2);
    const r = await run(['check', 'examples/lab', '--rule', 'pci/nope=off']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown rule id `pci\/nope`/);
    expect((await run(['check', '--rule', 'pci/seize=loud'])).code).toBe(2);
    expect((await run(['frobnicate'])).code).toBe(2);
  });

  it('an unknown command is bad usage (exit 2, one line, a suggestion) even with --help or after help; help COMMAND works', async () => {
    for (const argv of [['bogus', '--help'], ['help', 'bogus'], ['chek', '.']]) {
      const r = await run(argv);
      expect({ argv, code: r.code, stdout: r.stdout, lines: r.stderr.split('\n').length }).toEqual({ argv, code: 2, stdout: '', lines: 2 });
      expect(r.stderr).toMatch(/^pviommu: error: unknown command '(bogus|chek)'/);
    }
    expect((await run(['chek', '.'])).stderr).toContain('did you mean `check`?');
    const h = await run(['help', 'check']);
    expect([h.code, h.stdout.startsWith('Usage: pviommu check')]).toEqual([0, true]);
    // an empty --what of inspect is bad usage, not "everything"
    expect((await run(['inspect', 'examples/lab', '--host', 'lab-1', '--what', ''])).code).toBe(2);
  });

  it('--help and --version exit 0; help lists every command', async () => {
    const h = await run(['--help']);
    expect(h.code).toBe(0);
    for (const c of ['check', 'emulate', 'translate', 'inspect', 'rules', 'explain', 'schema', 'import-xl', 'merge']) {
      expect(h.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    }
    expect(h.stdout).not.toMatch(/not built yet/);
    const v = await run(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('every command\'s --help ends with examples, and each example of a command reading the repo runs', async () => {
    for (const c of ['check', 'emulate', 'translate', 'inspect', 'rules', 'explain', 'schema', 'import-xl', 'merge']) {
      const h = await run([c, '--help']);
      expect({ c, code: h.code, examples: /\nExamples:\n {2}pviommu /.test(h.stdout) }).toEqual({ c, code: 0, examples: true });
    }
    // the ones that read only what the repo ships (no pipes, no files of the reader's own)
    for (const c of ['translate', 'inspect', 'explain', 'schema', 'import-xl']) {
      const lines = (await run([c, '--help'])).stdout.split('\nExamples:\n')[1]!.split('\n').filter((l) => l.startsWith('  pviommu '));
      for (const l of lines) {
        const argv = l.trim().split(/\s+/).slice(1);
        if (argv.some((a) => a === '|' || a === '-o' || a.startsWith('/'))) continue;
        expect({ l, code: (await run(argv)).code }).toEqual({ l, code: 0 });
      }
    }
  });

  it('reads stdin with -', async () => {
    const r = await run(['check', '-', '--format', 'json'], { stdin: HOST + '---\n' + DOM0 });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).summary.documents).toBe(2);
  });

  it('warnings fail only beyond --max-warnings', async () => {
    const dir = repo({ 'h.yaml': HOST.replace('dom0: strict', 'dom0: passthrough'), 'd.yaml': DOM0 });
    const plain = await run(['check', '.', '--format', 'json'], { cwd: dir });
    const j = JSON.parse(plain.stdout);
    expect(j.summary.errors).toBe(0);
    expect(j.summary.warnings).toBeGreaterThan(0);
    expect(plain.code).toBe(0);
    expect((await run(['check', '.', '--max-warnings', '0'], { cwd: dir })).code).toBe(1);
    expect((await run(['check', '.', '--max-warnings', String(j.summary.warnings)], { cwd: dir })).code).toBe(0);
  });

  it('--rule off drops a rule, --rule error raises it; .pviommu.yaml rules apply', async () => {
    const dir = repo({ 'h.yaml': HOST.replace('dom0: strict', 'dom0: passthrough'), 'd.yaml': DOM0 });
    const off = JSON.parse((await run(['check', '.', '--format', 'json', '--rule', 'dom0/passthrough=off'], { cwd: dir })).stdout);
    expect(off.findings.some((f: { rule: string }) => f.rule === 'dom0/passthrough')).toBe(false);
    const up = await run(['check', '.', '--format', 'json', '--rule', 'dom0/passthrough=error'], { cwd: dir });
    expect(up.code).toBe(1);
    writeFileSync(join(dir, '.pviommu.yaml'), 'rules:\n  dom0/passthrough: off\n');
    const cfg = JSON.parse((await run(['check', '.', '--format', 'json'], { cwd: dir })).stdout);
    expect(cfg.findings.some((f: { rule: string }) => f.rule === 'dom0/passthrough')).toBe(false);
  });

  it('inline suppression needs a reason; unused ones are reported', async () => {
    const host = HOST.replace('  dom0: strict', '  # pviommu-disable-next-line dom0/passthrough -- lab box, no guests\n  dom0: passthrough');
    const dir = repo({ 'h.yaml': host, 'd.yaml': DOM0.replace('memory: 2GiB', '# pviommu-disable-next-line pci/seize -- stale\nmemory: 2GiB') });
    const j = JSON.parse((await run(['check', '.', '--format', 'json'], { cwd: dir })).stdout);
    expect(j.summary.suppressed).toBe(1);
    expect(j.findings.some((f: { rule: string }) => f.rule === 'dom0/passthrough')).toBe(false);
    const unused = j.findings.filter((f: { rule: string }) => f.rule === 'suppression/unused');
    expect(unused).toHaveLength(1);
    expect(unused[0]).toMatchObject({ file: 'd.yaml', line: 7 });
  });

  it('ignore globs from .pviommu.yaml', async () => {
    const dir = repo({ 'h.yaml': HOST, 'd.yaml': DOM0, 'gen/bad.yaml': 'apiVersion: pviommu/v1\nkind: Nope\n', '.pviommu.yaml': 'ignore: ["gen/"]\n' });
    const r = await run(['check', '.'], { cwd: dir });
    expect(r.code).toBe(0);
  });

  it('a key given twice in .pviommu.yaml is exit 2, naming where (which value was meant cannot be told)', async () => {
    const dir = repo({ 'h.yaml': HOST, 'd.yaml': DOM0, '.pviommu.yaml': 'rules: { pci/seize: off }\nrules: { pci/seize: error }\n' });
    const r = await run(['check', '.'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^pviommu: error: \S*\.pviommu\.yaml is not valid YAML: line 2, column 1: duplicate key `rules` \(first defined at line 1\)/);
    expect(r.stderr.split('\n')).toHaveLength(2);
  });

  it('--output writes atomically and refuses to overwrite an input', async () => {
    const dir = repo({ 'h.yaml': HOST, 'd.yaml': DOM0 });
    const r = await run(['check', '.', '--format', 'sarif', '--output', 'out.sarif'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const sarif = JSON.parse(readFileSync(join(dir, 'out.sarif'), 'utf8'));
    expect(sarif.version).toBe('2.1.0');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const clobber = await run(['check', 'h.yaml', '--output', 'h.yaml'], { cwd: dir });
    expect(clobber.code).toBe(2);
    expect(readFileSync(join(dir, 'h.yaml'), 'utf8')).toBe(HOST);
    expect(existsSync(join(dir, 'h.yaml'))).toBe(true);
  });

  it('every format renders the same findings', async () => {
    const dir = repo({ 'h.yaml': HOST.replace('dom0: strict', 'dom0: passthrough'), 'd.yaml': DOM0 });
    const gh = await run(['check', '.', '--format', 'github'], { cwd: dir });
    expect(gh.stdout).toMatch(/^::warning file=h\.yaml,line=\d+,/m);
    const junit = await run(['check', '.', '--format', 'junit'], { cwd: dir });
    expect(junit.stdout).toMatch(/^<\?xml/);
    expect(junit.stdout).toMatch(/<testsuite name="d\.yaml"/);
    const text = await run(['check', '.'], { cwd: dir });
    expect(text.stdout).toMatch(/h\.yaml/);
    expect(text.stdout).not.toMatch(/\x1b\[/);
    const colored = await run(['check', '.'], { cwd: dir, env: { FORCE_COLOR: '1' } });
    expect(colored.stdout).toMatch(/\x1b\[/);
    const nocolor = await run(['check', '.'], { cwd: dir, env: { NO_COLOR: '1' }, tty: true });
    expect(nocolor.stdout).not.toMatch(/\x1b\[/);
  });

  it('a host whose domains all come from xl.cfg files gets an implicit Domain-0', async () => {
    const dir = repo({
      'host.yaml': HOST,
      'dev.yaml': 'apiVersion: pviommu/v1\nkind: Device\nname: vf1\nbdf: "0000:03:10.0"\nassignable: true\n',
      'vm1.cfg': 'name = "vm1"\ntype = "hvm"\nmemory = 1024\npci = [ "03:10.0" ]\n',
    });
    const r = await run(['check', '.', '--format', 'json'], { cwd: dir });
    expect(JSON.parse(r.stdout).findings).toEqual([]);
    expect(r.code).toBe(0);
    const insp = await run(['inspect', '.', '--what', 'pages', '--format', 'json'], { cwd: dir });
    const data = JSON.parse(insp.stdout);
    expect(data.domains.map((d: { name: string; domid: number; role: string }) => [d.name, d.domid, d.role])).toContainEqual(['Domain-0', 0, 'hardware']);
    // with a Domain document for dom0 there is no implicit one
    const withDom0 = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 'vm1.cfg': 'name = "vm1"\ntype = "hvm"\nmemory = 1024\n' });
    const d2 = JSON.parse((await run(['inspect', '.', '--format', 'json'], { cwd: withDom0 })).stdout);
    expect(d2.domains.map((d: { name: string }) => d.name)).not.toContain('Domain-0');
  });

  it('suppressions work in xl.cfg files too', async () => {
    const dir = repo({
      'host.yaml': HOST,
      'dom0.yaml': DOM0,
      'vm1.cfg': 'name = "vm1"\ntype = "hvm"\nmemory = 1024\n# pviommu-disable-next-line xl/unknown-option -- read by our own tooling\nfrobnicate = 1\n',
    });
    const j = JSON.parse((await run(['check', '.', '--format', 'json'], { cwd: dir })).stdout);
    expect(j.findings).toEqual([]);
    expect(j.summary.suppressed).toBe(1);
  });

  it('--output never replaces the .pviommu.yaml that applied', async () => {
    const dir = repo({ 'h.yaml': HOST, 'd.yaml': DOM0, '.pviommu.yaml': 'rules: {}\n' });
    const r = await run(['check', '.', '--output', '.pviommu.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(readFileSync(join(dir, '.pviommu.yaml'), 'utf8')).toBe('rules: {}\n');
  });
});

describe('input errors that leave config unchecked are not turned down', () => {
  const SUPPRESSED = '# pviommu-disable-next-line schema/invalid -- read by our inventory tool\nowner_team: gpu-infra\n';
  type F = { rule: string; severity: string; message: string };
  const json = async (dir: string, ...args: string[]) => {
    const r = await run(['check', '.', '-f', 'json', ...args], { cwd: dir });
    return { code: r.code, report: JSON.parse(r.stdout) as { findings: F[]; summary: { suppressed: number; errors: number } } };
  };

  it('a schema error that stops its host stays an error, whether suppressed or given another severity, and says so', async () => {
    const dir = labCopy();
    const vm2 = join(dir, 'domains/vm2.yaml');
    writeFileSync(vm2, readFileSync(vm2, 'utf8') + SUPPRESSED);
    for (const args of [[], ['--rule', 'schema/invalid=off'], ['--rule', 'schema/invalid=warning']]) {
      const { code, report } = await json(dir, ...args);
      expect(code, args.join(' ')).toBe(1);
      const f = report.findings.filter((x) => x.rule === 'schema/invalid');
      expect(f.map((x) => x.severity)).toEqual(['error']);
      expect(f[0]!.message).toMatch(/\(an input error that leaves config unchecked is not turned down or suppressed\)$/);
      // the comment aimed at it: not reported as unused, and nothing counted as suppressed
      expect(report.findings.filter((x) => x.rule === 'suppression/unused')).toEqual([]);
      expect(report.summary.suppressed).toBe(0);
    }
    // without a comment or an override aimed at it, the message is the plain one
    writeFileSync(vm2, readFileSync(vm2, 'utf8').replace(/^# pviommu-disable-next-line.*\n/m, ''));
    expect((await json(dir)).report.findings.find((x) => x.rule === 'schema/invalid')!.message).not.toMatch(/turned down/);
  });

  it('a YAML syntax error (a document not read at all) stays an error; an error in a document that was read is turned down as asked', async () => {
    const dir = labCopy();
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: pviommu/v1\nkind: Domain\nname: [unclosed\n');
    expect((await json(dir, '--rule', 'yaml/syntax=off')).report.findings.map((x) => `${x.severity} ${x.rule}`)).toEqual(['error yaml/syntax']);
    const dup = labCopy();
    const vm1 = join(dup, 'domains/vm1.yaml');
    writeFileSync(vm1, readFileSync(vm1, 'utf8') + 'memory: 8GiB\n');
    expect((await json(dup)).report.findings.map((x) => `${x.severity} ${x.rule}`)).toContain('error yaml/duplicate-key');
    const down = await json(dup, '--rule', 'yaml/duplicate-key=warning');
    expect(down.report.findings.map((x) => `${x.severity} ${x.rule}`)).toContain('warning yaml/duplicate-key');
  });
});
