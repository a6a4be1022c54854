import { chmod, link, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ToolError } from '../../src/errors.js';
import { writeOutputAtomic } from '../../src/report/write.js';

// Lets a test make the final rename or a write fail, to exercise the clean-up path.
const faults = vi.hoisted(() => ({ rename: false, write: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    rename: async (from: string, to: string) => {
      if (faults.rename) throw Object.assign(new Error('EXDEV: cross-device link not permitted, rename'), { code: 'EXDEV' });
      return real.rename(from, to);
    },
  };
});

// The temp file (a regular file) is written with writeSync.
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const writeSync = ((...args: Parameters<typeof real.writeSync>) => {
    if (faults.write) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return real.writeSync(...args);
  }) as typeof real.writeSync;
  return { ...real, default: { ...real, writeSync }, writeSync };
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pviommu-write-'));
  faults.rename = false;
  faults.write = false;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeOutputAtomic', () => {
  it('creates a new file', async () => {
    const out = path.join(dir, 'report.json');
    await writeOutputAtomic(out, '{"ok":true}\n', []);
    expect(await readFile(out, 'utf8')).toBe('{"ok":true}\n');
    expect(await readdir(dir)).toEqual(['report.json']);
  });

  it('replaces an existing file and keeps its permission bits', async () => {
    const out = path.join(dir, 'report.sarif');
    await writeFile(out, 'old');
    await chmod(out, 0o640);
    await writeOutputAtomic(out, 'new', [path.join(dir, 'input.yaml')]);
    expect(await readFile(out, 'utf8')).toBe('new');
    expect((await stat(out)).mode & 0o777).toBe(0o640);
    expect(await readdir(dir)).toEqual(['report.sarif']);
  });

  it('accepts a relative path', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      await writeOutputAtomic('rel.txt', 'x', []);
    } finally {
      process.chdir(cwd);
    }
    expect(await readFile(path.join(dir, 'rel.txt'), 'utf8')).toBe('x');
  });

  it('writes through a symlink to the file it points to', async () => {
    const real = path.join(dir, 'real.txt');
    const alias = path.join(dir, 'alias.txt');
    await writeFile(real, 'old');
    await symlink(real, alias);
    await writeOutputAtomic(alias, 'new', []);
    expect(await readFile(real, 'utf8')).toBe('new');
    expect((await import('node:fs')).lstatSync(alias).isSymbolicLink()).toBe(true);
  });

  describe('refuses to overwrite an input file', () => {
    let input: string;
    beforeEach(async () => {
      input = path.join(dir, 'vm1.yaml');
      await writeFile(input, 'kind: Domain\n');
    });

    async function refused(target: string): Promise<void> {
      await expect(writeOutputAtomic(target, 'REPORT', [path.join(dir, 'other.yaml'), input])).rejects.toThrow(
        ToolError,
      );
      expect(await readFile(input, 'utf8')).toBe('kind: Domain\n');
      expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    }

    it('by the same path', () => refused(input));
    it('by a path with .. in it', async () => {
      await mkdir(path.join(dir, 'sub'));
      await refused(path.join(dir, 'sub', '..', 'vm1.yaml'));
    });
    it('through a symlink to it', async () => {
      const alias = path.join(dir, 'alias.yaml');
      await symlink(input, alias);
      await refused(alias);
    });
    it('through a symlinked directory', async () => {
      const linkDir = path.join(dir, 'linkdir');
      await symlink(dir, linkDir);
      await refused(path.join(linkDir, 'vm1.yaml'));
    });
    it('through a hard link', async () => {
      const hard = path.join(dir, 'hard.yaml');
      await link(input, hard);
      await refused(hard);
    });
    it('with a message that says why', async () => {
      await expect(writeOutputAtomic(input, 'x', [input])).rejects.toThrow(/input file/);
    });
  });

  it('refuses a directory as the output', async () => {
    await expect(writeOutputAtomic(dir, 'x', [])).rejects.toThrow(ToolError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('fails with a ToolError when the directory does not exist', async () => {
    await expect(writeOutputAtomic(path.join(dir, 'missing', 'out.json'), 'x', [])).rejects.toThrow(
      /cannot write output to .*out\.json: no such file or directory \(ENOENT\)/,
    );
  });

  it('leaves the old file and no temp file when the rename fails', async () => {
    const out = path.join(dir, 'report.xml');
    await writeFile(out, 'old');
    faults.rename = true;
    await expect(writeOutputAtomic(out, 'new', [])).rejects.toThrow(/cross-device link not permitted \(EXDEV\)/);
    expect(await readFile(out, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['report.xml']);
  });

  it('leaves the old file and no temp file when writing fails', async () => {
    const out = path.join(dir, 'report.xml');
    await writeFile(out, 'old');
    faults.write = true;
    await expect(writeOutputAtomic(out, 'new', [])).rejects.toThrow(ToolError);
    expect(await readFile(out, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['report.xml']);
  });

  it('leaves nothing behind when a new file cannot be written', async () => {
    const out = path.join(dir, 'fresh.json');
    faults.rename = true;
    await expect(writeOutputAtomic(out, 'new', [])).rejects.toThrow(ToolError);
    expect(await readdir(dir)).toEqual([]);
  });
});
