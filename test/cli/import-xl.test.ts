/** `pviommu import-xl FILE.cfg [--host H] [--domid N] [--role R] [--output FILE]` end to end (SPEC §6). */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { autoDomid } from '../../src/xl/load.js';
import { run, repo, ROOT, HOST, DOM0 } from './helpers.js';

const WEB_VF = 'fixtures/xl-repo/guests/web-vf.cfg';
const PVLINUX = 'fixtures/xl-repo/guests/example-pvlinux.cfg';

describe('pviommu import-xl: a document check would reject is never handed over as fine', () => {
  it('schema findings of the converted Domain point into the .cfg and exit 1; the YAML is still printed', async () => {
    const dir = repo({
      'hdr.cfg': '# pviommu: domid=0x7ff0 host=h1\nname="a"\nmemory=512\n',
      'space.cfg': 'name="my vm"\nmemory=512\n',
      'iomem.cfg': 'name="io"\nbuilder="hvm"\nmemory=512\niomem=["fffffffffffff,2"]\n',
      'ok.cfg': 'name="ok"\nmemory=512\n',
    });
    const at = (r: { stderr: string }) => /^\s+(\d+:\d+)\s+error\s+.*schema\/invalid$/m.exec(r.stderr)?.[1];
    const hdr = await run(['import-xl', 'hdr.cfg'], { cwd: dir });
    expect([hdr.code, at(hdr)]).toEqual([1, '1:18']);
    expect(hdr.stdout).toContain('domid: 32752');
    const sp = await run(['import-xl', 'space.cfg'], { cwd: dir });
    expect([sp.code, at(sp)]).toEqual([1, '1:6']);
    const io = await run(['import-xl', 'iomem.cfg'], { cwd: dir });
    expect(io.code).toBe(1);
    expect(io.stderr).toMatch(/52-bit frame space/);
    const ok = await run(['import-xl', 'ok.cfg'], { cwd: dir });
    expect([ok.code, ok.stderr]).toEqual([0, '']);
  });

  it('a .cfg that is not UTF-8 is xl/syntax, in import-xl and in check', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 'u.cfg': '' });
    writeFileSync(join(dir, 'u.cfg'), Buffer.concat([Buffer.from('name="ok"\n# caf'), Buffer.from([0xe9]), Buffer.from('\nmemory=512\n')]));
    const r = await run(['import-xl', 'u.cfg'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/2:6 +error +file is not valid UTF-8; save it as UTF-8 +xl\/syntax/);
    const c = await run(['check', '.', '-f', 'json'], { cwd: dir });
    expect(JSON.parse(c.stdout).findings.map((f: { rule: string; file: string; line: number; column: number }) => `${f.rule} ${f.file}:${f.line}:${f.column}`)).toEqual(['xl/syntax u.cfg:2:6']);
  });
});

describe('pviommu import-xl', () => {
  it('prints one YAML Domain document that parses, with apiVersion, kind and name', async () => {
    const r = await run(['import-xl', WEB_VF]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.stdout);
    expect(docs).toHaveLength(1);
    expect(docs[0]!.errors).toEqual([]);
    const d = docs[0]!.toJS();
    expect(d).toMatchObject({ apiVersion: 'pviommu/v1', kind: 'Domain', name: 'web-vf', host: 'lab-1', domid: 5, type: 'hvm' });
    expect(d.pci).toEqual([
      { dev: '0000:03:10.0', rdm_policy: 'strict', permissive: false, seize: false, vslot: 6, msitranslate: false, power_mgmt: false },
    ]);
    // the key order of SPEC §2.3, starting with the identity
    expect(Object.keys(d).slice(0, 7)).toEqual(['apiVersion', 'kind', 'name', 'host', 'domid', 'type', 'role']);
    // and says where it came from
    expect(r.stdout.split('\n')[0]).toBe(`# imported from ${WEB_VF} by pviommu import-xl`);
  });

  it('the same input gives byte-identical output', async () => {
    const a = await run(['import-xl', WEB_VF]);
    const b = await run(['import-xl', WEB_VF]);
    expect(a.stdout).toBe(b.stdout);
  });

  it('a .cfg without a domid gets the one check gives it, with a note', async () => {
    const r = await run(['import-xl', PVLINUX]);
    expect(r.code).toBe(0);
    const d = parse(r.stdout);
    expect(d.name).toBe('example.pvlinux');
    expect(d.domid).toBe(autoDomid('example.pvlinux'));
    expect(d.host).toBeUndefined(); // the only Host of the repo it is checked in
    expect(r.stdout).toMatch(/^# domid: xl\.cfg does not set one/m);
  });

  it('--host, --domid and --role win over the `# pviommu:` header', async () => {
    const r = await run(['import-xl', WEB_VF, '--host', 'lab-9', '--domid', '12', '--role', 'driver']);
    expect(r.code).toBe(0);
    expect(parse(r.stdout)).toMatchObject({ host: 'lab-9', domid: 12, role: 'driver' });
    expect(r.stdout).not.toMatch(/^# domid:/m);
  });

  it('--output writes the file (and nothing to stdout)', async () => {
    const dir = repo({ 'vm.cfg': readFileSync(join(ROOT, WEB_VF), 'utf8') });
    const r = await run(['import-xl', 'vm.cfg', '--output', 'out/vm.yaml'], { cwd: dir });
    // a directory that does not exist is the tool failing, not a finding
    expect(r.code).toBe(2);
    const ok = await run(['import-xl', 'vm.cfg', '-o', 'vm.yaml'], { cwd: dir });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('');
    expect(ok.stderr).toBe('');
    const written = readFileSync(join(dir, 'vm.yaml'), 'utf8');
    const direct = await run(['import-xl', 'vm.cfg'], { cwd: dir });
    expect(written).toBe(direct.stdout);
    expect(parse(written).name).toBe('web-vf');
  });

  it('the imported document checks like the .cfg: clean in, clean out', async () => {
    const dir = repo({ 'host.yaml': HOST, 'dom0.yaml': DOM0, 'guest.cfg': 'name = "g"\ntype = "hvm"\nmemory = 1024\nmaxmem = 1024\n' });
    const i = await run(['import-xl', 'guest.cfg', '-o', 'guest.yaml'], { cwd: dir });
    expect(i.code).toBe(0);
    const c = await run(['check', 'host.yaml', 'dom0.yaml', 'guest.yaml'], { cwd: dir });
    expect(c.stdout).toMatch(/no problems/);
    expect(c.code).toBe(0);
  });

  it('an invalid config: exit 1, the findings on stderr with line:col and rule, the YAML still printed', async () => {
    const dir = repo({ 'bad.cfg': 'name = "bad"\ntype = "hvm"\nmemory = 1024\npci = [ "03:00.0,permissive=yes", "0000:03:20.0" ]\n' });
    const r = await run(['import-xl', 'bad.cfg'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.cfg/);
    expect(r.stderr).toMatch(/4:29\s+error\s+.*xl\/pci-spec/);
    expect(r.stderr).toMatch(/4:44\s+error\s+device 0x20 is out of range.*xl\/pci-spec/); // the device number itself
    expect(r.stderr).toMatch(/2 problems \(2 errors/);
    expect(r.stdout).toMatch(/^kind: Domain$/m);
    expect(parse(r.stdout).name).toBe('bad');
  });

  it('a syntax error: exit 1 with xl/syntax', async () => {
    const dir = repo({ 'bad.cfg': 'name = "bad"\nmemory = 1024\ndisk = [ "/dev/vg/bad,raw,xvda,rw"\n' });
    const r = await run(['import-xl', 'bad.cfg'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/3:8\s+error\s+.*xl\/syntax/);
  });

  it('warnings only (an unknown option): exit 0, the warning on stderr', async () => {
    const dir = repo({ 'w.cfg': 'name = "w"\nmemory = 512\npci_permisive = 1\n' });
    const r = await run(['import-xl', 'w.cfg'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/3:1\s+warning\s+.*did you mean `pci_permissive`.*xl\/unknown-option/);
    expect(parse(r.stdout).name).toBe('w');
  });

  it('a missing file is exit 2 with one line and no stack trace', async () => {
    const r = await run(['import-xl', 'no/such/file.cfg']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toBe('pviommu: error: cannot read no/such/file.cfg: no such file or directory (ENOENT)\n');
  });

  it('a directory instead of a file is exit 2', async () => {
    const r = await run(['import-xl', 'fixtures/xl-repo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('pviommu: error: cannot read fixtures/xl-repo: illegal operation on a directory (EISDIR)\n');
  });

  it('bad usage is exit 2: no file, an unknown role, a domid out of range, an unknown option', async () => {
    for (const args of [[], [WEB_VF, '--role', 'boss'], [WEB_VF, '--domid', '32752'], [WEB_VF, '--domid', '0x7ff0'], [WEB_VF, '--domid', '99999999999999999999'], [WEB_VF, '--domid', '-1'], [WEB_VF, '--domid', '0x'], [WEB_VF, '--bogus']]) {
      const r = await run(['import-xl', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr, args.join(' ')).toMatch(/pviommu import-xl: error/);
    }
    const top = await run(['import-xl', WEB_VF, '--domid', '32751']);
    expect(top.code).toBe(0);
    // hex as everywhere else a domid is written
    const hex = await run(['import-xl', WEB_VF, '--domid', '0x10']);
    expect([hex.code, /^domid: 16$/m.test(hex.stdout)]).toEqual([0, true]);
  });

  it('is listed in the help', async () => {
    const r = await run(['import-xl', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--host <name>/);
    expect(r.stdout).toMatch(/--output <file>/);
    expect(r.stdout).toMatch(/--role <role>/);
  });
});
