/** Rules, docs and package metadata stay in line mechanically. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES, docsPath } from '../src/policy/registry.js';
import { VERSION } from '../src/version.js';

const ROOT = join(__dirname, '..');

function docFiles(dir = join(ROOT, 'docs', 'rules'), prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...docFiles(p, `${prefix}${e}/`));
    else if (e.endsWith('.md') && e !== 'TEMPLATE.md') out.push(`${prefix}${e.slice(0, -3)}`);
  }
  return out.sort();
}

describe('rule registry and docs', () => {
  it('every rule id is group/name and unique', () => {
    const ids = RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z0-9]+\/[a-z0-9-]+$/);
  });

  it('every registered rule has a docs page whose title and severity match', () => {
    for (const r of RULES) {
      const text = readFileSync(join(ROOT, docsPath(r.id)), 'utf8');
      expect(text.split('\n')[0], r.id).toBe(`# ${r.id}`);
      expect(text, r.id).toMatch(new RegExp(`Severity: \\*\\*${r.severity}\\*\\*`));
      expect(r.description.length, r.id).toBeGreaterThan(10);
    }
  });

  it('every docs page belongs to a registered rule', () => {
    const ids = new Set(RULES.map((r) => r.id));
    for (const d of docFiles()) expect(ids.has(d), `docs/rules/${d}.md has no rule`).toBe(true);
  });

  it('has every rule id of SPEC §5', () => {
    // copied from SPEC §5 (the ids are promises to users)
    const specIds = ['yaml/syntax', 'yaml/duplicate-key', 'yaml/ambiguous-scalar', 'schema/invalid', 'ref/unknown', 'ref/duplicate', 'ref/no-hardware-domain', 'pci/multiple-owners', 'pci/not-assignable', 'pci/bridge-split', 'pci/orphan-vf', 'pci/broken', 'pci/host-bridge', 'pci/permissive', 'pci/seize', 'passthrough/disabled-with-devices', 'passthrough/no-iommu', 'passthrough/share-pt-invalid', 'passthrough/pvh', 'passthrough/pod', 'passthrough/live-migration', 'memory/maxmem', 'memory/overcommit', 'memory/mfn-alias', 'memory/gfn-overlap', 'rdm/conflict', 'rdm/shared-rmrr', 'rdm/global-policy-ignored', 'iomem/shared', 'iomem/untrusted', 'iomem/overlaps-ram', 'iommu/address-width', 'iommu/quarantine-off', 'dom0/relaxed-iommu', 'dom0/passthrough', 'dom0/pvh-not-strict', 'pviommu/window-overlap', 'pviommu/window-beyond-dma', 'pviommu/unusable', 'mediated/gpa-aliasing', 'mediated/mfn-strict-dom0', 'mediated/mfn-unreferenced', 'scenario/expectation-failed', 'hypercall/raw-mfn-exposed', 'dma/fault', 'dma/permission', 'dma/wrong-page', 'dma/isolation', 'dma/address-wrap', 'mapping/dangling', 'mapping/leaked-pin'];
    const ids = new Set(RULES.map((r) => r.id));
    expect(specIds.filter((id) => !ids.has(id))).toEqual([]);
  });

  it('VERSION matches package.json', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});
