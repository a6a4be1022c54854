/** Discovery and loadPaths over real directories (temp dirs). */
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { discoverFiles, loadPaths, readUpTo } from '../../src/config/load.js';
import { ToolError } from '../../src/errors.js';

const DOMAIN = (name: string): string => `apiVersion: pviommu/v1\nkind: Domain\nname: ${name}\n`;

let root: string;

function write(rel: string, text: string | Buffer): string {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

/** Display paths of the files `paths` name, seen from `cwd` (default: the temp root). */
async function discovered(paths: string[], opts: Parameters<typeof discoverFiles>[1] = {}): Promise<string[]> {
  const r = await loadPaths(paths, { cwd: root, stdinText: '', ...opts });
  return r.files.map((f) => f.file);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pviommu-load-'));
});

afterEach(() => {
  try {
    chmodSync(join(root, 'locked'), 0o755);
  } catch {
    /* not created by this test */
  }
  rmSync(root, { recursive: true, force: true });
});

describe('discovery', () => {
  beforeEach(() => {
    write('a.yaml', DOMAIN('a'));
    write('b.yml', DOMAIN('b'));
    write('B.yaml', DOMAIN('B'));
    write('a-b.yaml', DOMAIN('ab'));
    write('notes.txt', 'not yaml');
    write('a/x.yaml', DOMAIN('x'));
    write('a/deeper/y.yaml', DOMAIN('y'));
    write('.hidden/h.yaml', DOMAIN('h'));
    write('a/.h.yaml', DOMAIN('h2'));
    write('node_modules/pkg/m.yaml', DOMAIN('m'));
    write('.pviommu.yaml', 'ignore: []\n');
  });

  it('walks directories for *.yaml / *.yml, skipping hidden entries and node_modules', async () => {
    expect(await discovered(['.'])).toEqual(['B.yaml', 'a-b.yaml', 'a.yaml', 'a/deeper/y.yaml', 'a/x.yaml', 'b.yml']);
  });

  it('sorts by code unit, whatever the argument order', async () => {
    expect(await discovered(['b.yml', 'a', 'B.yaml', 'a-b.yaml'])).toEqual([
      'B.yaml',
      'a-b.yaml',
      'a/deeper/y.yaml',
      'a/x.yaml',
      'b.yml',
    ]);
  });

  it('returns absolute paths from discoverFiles', async () => {
    const files = await discoverFiles(['a'], { cwd: root });
    expect(files).toEqual([join(root, 'a/deeper/y.yaml'), join(root, 'a/x.yaml')]);
  });

  it('loads explicitly named files whatever their name, and walks named hidden dirs', async () => {
    expect(await discovered(['notes.txt', '.hidden', 'a/.h.yaml'])).toEqual(['.hidden/h.yaml', 'a/.h.yaml', 'notes.txt']);
    expect(await discovered(['node_modules'])).toEqual(['node_modules/pkg/m.yaml']);
  });

  it('never loads .pviommu.yaml, even when named', async () => {
    expect(await discovered(['.pviommu.yaml'])).toEqual([]);
  });

  it('loads each file once', async () => {
    expect(await discovered(['a', 'a/x.yaml', './a/x.yaml', join(root, 'a')])).toEqual(['a/deeper/y.yaml', 'a/x.yaml']);
  });

  it('display paths are relative to cwd, with ../ outside it', async () => {
    const r = await loadPaths([join(root, 'a.yaml'), join(root, 'a/x.yaml')], { cwd: join(root, 'a') });
    expect(r.files.map((f) => f.file)).toEqual(['../a.yaml', 'x.yaml']);
    expect(r.docs.map((d) => d.source.file)).toEqual(['../a.yaml', 'x.yaml']);
  });

  it('display paths stay right when a walk from outside cwd goes down into cwd', async () => {
    // walking the root from a/deeper: the root is ../.., a is .., a/deeper is cwd itself
    expect(await discovered([root], { cwd: join(root, 'a/deeper') })).toEqual([
      '../../B.yaml',
      '../../a-b.yaml',
      '../../a.yaml',
      '../../b.yml',
      '../x.yaml',
      'y.yaml',
    ]);
    // from a sibling: every path climbs out and comes back down
    write('c/z.yaml', DOMAIN('z'));
    expect(await discovered(['../a'], { cwd: join(root, 'c') })).toEqual(['../a/deeper/y.yaml', '../a/x.yaml']);
  });

  it('a missing path is a ToolError', async () => {
    await expect(loadPaths(['nope.yaml'], { cwd: root })).rejects.toThrow(ToolError);
    await expect(loadPaths(['a', 'nope/'], { cwd: root })).rejects.toThrow('path not found: nope/');
  });

  it('ignore globs (gitignore syntax, relative to ignoreBase) apply to walked entries', async () => {
    write('build/out.yaml', DOMAIN('o'));
    write('a/keep.tmp.yaml', DOMAIN('k'));
    write('a/drop.tmp.yaml', DOMAIN('d'));
    const opts = { ignore: ['build/', '*.tmp.yaml', '!keep.tmp.yaml', '/a/deeper'], ignoreBase: root };
    expect(await discovered(['.'], opts)).toEqual(['B.yaml', 'a-b.yaml', 'a.yaml', 'a/keep.tmp.yaml', 'a/x.yaml', 'b.yml']);
    // relative to ignoreBase, not to the cwd
    const fromA = await loadPaths(['.'], { cwd: join(root, 'a'), ignore: ['/a/deeper'], ignoreBase: root });
    expect(fromA.files.map((f) => f.file)).toEqual(['drop.tmp.yaml', 'keep.tmp.yaml', 'x.yaml']);
    // a file named explicitly is loaded even if a glob matches it
    expect(await discovered(['build/out.yaml'], opts)).toEqual(['build/out.yaml']);
  });
});

describe('symlinks', () => {
  it('terminates on a symlink cycle and loads each file once', async () => {
    write('repo/a.yaml', DOMAIN('a'));
    symlinkSync(join(root, 'repo'), join(root, 'repo/loop'));
    symlinkSync('..', join(root, 'repo/up'));
    mkdirSync(join(root, 'repo/sub'));
    symlinkSync(join(root, 'repo/sub'), join(root, 'repo/sub/self'));
    const files = await discovered(['repo']);
    expect(files).toEqual(['repo/a.yaml']);
  });

  it('does not follow links out of the walked tree unless asked to', async () => {
    write('outside/o.yaml', DOMAIN('o'));
    write('repo/a.yaml', DOMAIN('a'));
    symlinkSync(join(root, 'outside'), join(root, 'repo/ext'));
    symlinkSync(join(root, 'outside/o.yaml'), join(root, 'repo/o-link.yaml'));
    expect(await discovered(['repo'])).toEqual(['repo/a.yaml']);
    expect(await discovered(['repo'], { followSymlinks: true })).toEqual(['repo/a.yaml', 'repo/ext/o.yaml']);
  });

  it('follows links inside the tree (a linked file is loaded once) and skips dangling ones', async () => {
    write('repo/real/a.yaml', DOMAIN('a'));
    symlinkSync(join(root, 'repo/real/a.yaml'), join(root, 'repo/0-alias.yaml'));
    symlinkSync(join(root, 'repo/missing.yaml'), join(root, 'repo/dangling.yaml'));
    expect(await discovered(['repo'])).toEqual(['repo/0-alias.yaml']);
  });

  it('a named symlink is followed', async () => {
    write('outside/o.yaml', DOMAIN('o'));
    symlinkSync(join(root, 'outside'), join(root, 'link'));
    expect(await discovered(['link'])).toEqual(['link/o.yaml']);
  });
});

describe('reading', () => {
  it('aggregates files, documents, skipped counts and findings in order', async () => {
    write('b.yaml', DOMAIN('b') + 'memory: 1GiB\nmemory: 2GiB\n---\nkind: ConfigMap\n');
    write('a.yaml', DOMAIN('a') + '---\n' + DOMAIN('a2') + 'hap: yes\n');
    write('c.yml', 'foo: [\n');
    const r = await loadPaths(['.'], { cwd: root });
    expect(r.files).toEqual([
      { file: 'a.yaml', documents: 2, pviommu: 2 },
      { file: 'b.yaml', documents: 2, pviommu: 1 },
      { file: 'c.yml', documents: 1, pviommu: 0 },
    ]);
    expect(r.docs.map((d) => (d.value as { name: string }).name)).toEqual(['a', 'a2', 'b']);
    expect(r.skipped).toBe(1);
    expect(r.findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.rule}`)).toEqual([
      'a.yaml:8:6 yaml/ambiguous-scalar',
      'b.yaml:5:1 yaml/duplicate-key',
      expect.stringMatching(/^c\.yml:\d+:\d+ yaml\/syntax$/),
    ]);
  });

  it('reads stdin text for -', async () => {
    write('a.yaml', DOMAIN('a'));
    const r = await loadPaths(['-', 'a.yaml'], { cwd: root, stdinText: '\uFEFF' + DOMAIN('s') + 'x: on\n' });
    expect(r.files.map((f) => f.file)).toEqual(['<stdin>', 'a.yaml']);
    expect(r.docs[0]!.source.file).toBe('<stdin>');
    expect(r.findings).toMatchObject([{ file: '<stdin>', line: 4, column: 4, rule: 'yaml/ambiguous-scalar' }]);
    expect(await discoverFiles(['-', '-'], { cwd: root })).toEqual(['-']);
    await expect(loadPaths(['-'], { cwd: root })).rejects.toThrow(ToolError);
  });

  it('reports a file that is not UTF-8 at the first bad byte', async () => {
    write('latin1.yaml', Buffer.concat([Buffer.from(DOMAIN('a') + 'note: caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    const r = await loadPaths(['latin1.yaml'], { cwd: root });
    expect(r.docs).toEqual([]);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ rule: 'yaml/syntax', severity: 'error', file: 'latin1.yaml', line: 4, column: 10 });
    expect(r.findings[0]!.message).toBe('file is not valid UTF-8; save it as UTF-8');
  });

  it('rejects files larger than maxFileBytes without parsing them', async () => {
    write('big.yaml', DOMAIN('a') + '# ' + 'x'.repeat(2000) + '\n');
    const r = await loadPaths(['big.yaml'], { cwd: root, maxFileBytes: 1024 });
    expect(r.docs).toEqual([]);
    expect(r.findings).toMatchObject([{ rule: 'yaml/syntax', severity: 'error', file: 'big.yaml', line: 1, column: 1 }]);
    expect(r.findings[0]!.message).toBe(`file is too large (${DOMAIN('a').length + 2003} bytes; the limit is 1024); split it, or raise the limit`);
  });

  it('a device named as a config is read only to one byte past the limit', async () => {
    if (!existsSync('/dev/zero')) return; // (not on this platform)
    const r = await loadPaths(['/dev/zero'], { cwd: root, maxFileBytes: 4096 });
    expect(r.docs).toEqual([]);
    expect(r.findings.map((f) => f.message)).toEqual(['file is too large (more than the limit of 4096 bytes); split it, or raise the limit']);
  });

  it('reads files of every size around its 64 KiB first buffer whole, and stops one byte past the limit', () => {
    const KiB = 1024;
    for (const size of [0, 1, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 200 * KiB + 7, 3 * 1024 * KiB]) {
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 7 + (i >> 10)) & 0xff;
      const p = write(`f${size}.bin`, bytes);
      const fd = openSync(p, 'r');
      try {
        expect(readUpTo(fd, 8 * 1024 * KiB).equals(bytes)).toBe(true);
      } finally {
        closeSync(fd);
      }
      for (const max of [0, 10, 64 * KiB, 100 * KiB]) {
        const fd2 = openSync(p, 'r');
        try {
          const got = readUpTo(fd2, max);
          expect(got.equals(bytes.subarray(0, Math.min(size, max + 1)))).toBe(true);
        } finally {
          closeSync(fd2);
        }
      }
    }
  });

  it('an unreadable directory is a ToolError', async () => {
    if (process.getuid?.() === 0) return; // root reads everything
    write('locked/a.yaml', DOMAIN('a'));
    chmodSync(join(root, 'locked'), 0o000);
    await expect(loadPaths(['.'], { cwd: root })).rejects.toThrow(/cannot read directory locked/);
  });

  it('many files load in parallel, in order', async () => {
    for (let i = 0; i < 300; i++) write(`d${i % 7}/f${String(i).padStart(3, '0')}.yaml`, DOMAIN(`vm${i}`));
    const r = await loadPaths(['.'], { cwd: root });
    expect(r.docs).toHaveLength(300);
    const names = r.files.map((f) => f.file);
    expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });
});
