/**
 * Safe I/O, reading side (issue 7): a directory walk stays inside the tree it was given. Symlinks
 * that lead out of it (to a file, a directory, `..`, `/`) are not followed unless
 * `--follow-symlinks`; links inside the tree are read once; loops end; special files (FIFOs,
 * devices, sockets) are never opened by a walk.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/check.js';
import { run, HOST, DOM0 } from '../cli/helpers.js';
import { removeTemps, track } from '../fuzz/harness.js';

afterAll(() => removeTemps());

/** A repo with links in and out of it. `slash`: also a link to `/` (never with --follow-symlinks: it walks the whole disk). */
function tree(slash = true): { root: string; repo: string; outside: string } {
  const root = track(mkdtempSync(join(tmpdir(), 'pviommu-walk-')));
  const repo = join(root, 'repo');
  const outside = join(root, 'outside');
  mkdirSync(join(repo, 'sub'), { recursive: true });
  mkdirSync(join(outside, 'dir'), { recursive: true });
  writeFileSync(join(repo, 'host.yaml'), HOST);
  writeFileSync(join(repo, 'sub', 'dom0.yaml'), DOM0);
  // outside the tree: a document with an error, so reading it shows in the findings
  const stray = 'apiVersion: pviommu/v1\nkind: Device\nname: stray\nhost: h1\nbdf: "00:1f.0"\nsecret: 1\n';
  writeFileSync(join(outside, 'secret.yaml'), stray);
  writeFileSync(join(outside, 'dir', 'deep.yaml'), stray.replace('stray', 'deep').replace('1f.0', '1e.0'));
  symlinkSync(join(outside, 'secret.yaml'), join(repo, 'link-file.yaml'));
  symlinkSync(join(outside, 'dir'), join(repo, 'link-dir'));
  symlinkSync('..', join(repo, 'sub', 'up')); // inside: back to the repo root (a cycle)
  symlinkSync('../..', join(repo, 'sub', 'upup')); // outside: the parent of the repo
  if (slash) symlinkSync('/', join(repo, 'root'));
  symlinkSync('host.yaml', join(repo, 'alias.yaml')); // inside: the same file again
  symlinkSync('nowhere.yaml', join(repo, 'dangling.yaml'));
  symlinkSync('loop.yaml', join(repo, 'loop.yaml'));
  return { root, repo, outside };
}

describe('directory walking does not leave the given tree', () => {
  it('symlinks out of the tree are skipped; inside ones are read once; loops end', async () => {
    const { repo } = tree();
    const r = await runCheck(['.'], { cwd: repo });
    // host.yaml and its in-tree alias are one real file: read once, under the first name
    expect(r.files).toEqual(['alias.yaml', 'sub/dom0.yaml']);
    expect(r.report.findings).toEqual([]);
  });

  it('--follow-symlinks follows links out of the tree (still each real file once, no loop)', async () => {
    const { repo } = tree(false);
    const r = await runCheck(['.'], { cwd: repo, followSymlinks: true });
    expect(r.files).toContain('link-file.yaml');
    expect(r.files).toContain('link-dir/deep.yaml');
    expect(r.files.filter((f) => f.endsWith('secret.yaml') || f.endsWith('link-file.yaml'))).toHaveLength(1);
    expect(r.report.findings.map((f) => f.message).join('\n')).toMatch(/unknown key `secret`/);
  });

  it('the CLI: the same, end to end', async () => {
    const { repo } = tree();
    const plain = await run(['check', '.', '--format', 'json'], { cwd: repo });
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout).summary.files).toBe(2);
    const { repo: repo2 } = tree(false);
    const follow = await run(['check', '.', '--format', 'json', '--follow-symlinks'], { cwd: repo2 });
    expect(follow.code).toBe(1);
    expect(follow.stdout).toMatch(/unknown key `secret`/);
  });

  it('a walk started from a symlinked directory stays inside the directory it points to', async () => {
    const { root, repo } = tree();
    symlinkSync(repo, join(root, 'repo-link'));
    const r = await runCheck(['repo-link'], { cwd: root });
    expect(r.files).toEqual(['repo-link/alias.yaml', 'repo-link/sub/dom0.yaml']);
  });

  it('hard links are read once (by real path) and hidden / node_modules entries are skipped', async () => {
    const { repo } = tree();
    linkSync(join(repo, 'host.yaml'), join(repo, 'hard.yaml'));
    mkdirSync(join(repo, '.hidden'));
    mkdirSync(join(repo, 'node_modules'));
    writeFileSync(join(repo, '.hidden', 'x.yaml'), 'apiVersion: pviommu/v1\nkind: Nope\n');
    writeFileSync(join(repo, 'node_modules', 'x.yaml'), 'apiVersion: pviommu/v1\nkind: Nope\n');
    const r = await runCheck(['.'], { cwd: repo });
    expect(r.files.filter((f) => f.includes('hidden') || f.includes('node_modules'))).toEqual([]);
    // a hard link is another name of the same inode; loading it twice would give ref/duplicate
    expect(r.report.findings.filter((f) => f.rule === 'ref/duplicate').length).toBeLessThanOrEqual(1);
  });

  it('FIFOs and devices inside the tree are never opened by a walk (no hang)', async () => {
    const { repo } = tree(false);
    try {
      execFileSync('mkfifo', [join(repo, 'fifo.yaml')]);
    } catch {
      return; // no mkfifo here
    }
    try {
      execFileSync('mknod', [join(repo, 'zero.yaml'), 'c', '1', '5']); // /dev/zero: endless
    } catch {
      // not permitted: the FIFO alone still tests it
    }
    symlinkSync('/dev/zero', join(repo, 'devzero.yaml'));
    const r = await runCheck(['.'], { cwd: repo, followSymlinks: true });
    expect(r.files).not.toContain('fifo.yaml');
    expect(r.files).not.toContain('zero.yaml');
    expect(r.files).not.toContain('devzero.yaml');
  });
});
