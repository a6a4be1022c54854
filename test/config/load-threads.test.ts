/**
 * Parsing on worker threads (load.ts, "parsing on several threads") gives exactly what parsing on
 * one thread gives: files, documents, values, positions, findings, suppressions.
 *
 * Workers run only from the compiled package (the worker is dist/config/load-worker.js), so this
 * test drives dist/ — `npm test` builds it first; the test is skipped when it is missing.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateFleet } from '../../bench/gen/fleet.mjs';

const DIST = join(__dirname, '..', '..', 'dist', 'config');
const built = existsSync(join(DIST, 'load-worker.js')) && existsSync(join(DIST, 'load.js'));

describe.skipIf(!built)('loadPaths on worker threads', () => {
  it('equals the single-threaded load of a 600-file repo, findings and positions included', async () => {
    const { loadPaths } = (await import(join(DIST, 'load.js'))) as typeof import('../../src/config/load.js');
    const dir = mkdtempSync(join(tmpdir(), 'pviommu-threads-'));
    generateFleet(dir, { hosts: 24, domainsPerHost: 20, faultRate: 0.3, seed: 5, extras: true });
    // input findings of several kinds, in files parsed by whichever thread
    writeFileSync(join(dir, 'hosts/host-0007/dup.yaml'), 'apiVersion: pviommu/v1\nkind: Domain\nname: d\nname: e\nhost: host-0007\ndomid: 99\ntype: pv\nmemory: 1GiB\nhap: yes\n');
    writeFileSync(join(dir, 'hosts/host-0019/sup.yaml'), 'apiVersion: pviommu/v1\nkind: Domain\nname: s\nhost: host-0019\ndomid: 98\ntype: pv\n# pviommu-disable-next-line memory/maxmem -- test\nmemory: 1GiB\n');
    writeFileSync(join(dir, 'hosts/host-0020/bad.yaml'), Buffer.from([0x61, 0x3a, 0x20, 0xff, 0x0a]));
    const one = await loadPaths(['.'], { cwd: dir, threads: 1 });
    const two = await loadPaths(['.'], { cwd: dir, threads: 2 });
    expect(one.files.length).toBeGreaterThanOrEqual(512);
    expect(two.files).toEqual(one.files);
    expect(two.skipped).toBe(one.skipped);
    expect(two.findings).toEqual(one.findings);
    expect(two.suppressions).toEqual(one.suppressions);
    expect(one.findings.map((f) => f.rule)).toEqual(expect.arrayContaining(['yaml/syntax', 'yaml/duplicate-key', 'yaml/ambiguous-scalar']));
    expect(two.docs.length).toBe(one.docs.length);
    const paths = [[], ['name'], ['memory'], ['pci', 0, 'dev'], ['calls', 1, 'bfn_of'], ['no', 'such']] as const;
    one.docs.forEach((d, i) => {
      const e = two.docs[i]!;
      expect(e.value).toEqual(d.value);
      expect([e.source.file, e.source.index]).toEqual([d.source.file, d.source.index]);
      if (i % 7 === 0) for (const p of paths) expect(e.source.locate(p, 'key')).toEqual(d.source.locate(p, 'key'));
    });
  }, 60_000);
});
