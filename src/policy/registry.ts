/** Every rule pviommu knows, by id. Groups follow SPEC §5 (and xl/ for xl.cfg input). */
import type { Rule, StaticRule } from './rule.js';
import yaml from './rules/yaml/index.js';
import schema from './rules/schema/index.js';
import ref from './rules/ref/index.js';
import suppression from './rules/suppression/index.js';
import xl from './rules/xl/index.js';
import pci from './rules/pci/index.js';
import passthrough from './rules/passthrough/index.js';
import memory from './rules/memory/index.js';
import rdm from './rules/rdm/index.js';
import iomem from './rules/iomem/index.js';
import iommu from './rules/iommu/index.js';
import dom0 from './rules/dom0/index.js';
import pviommu from './rules/pviommu/index.js';
import mediated from './rules/mediated/index.js';
import scenario from './rules/scenario/index.js';
import hypercall from './rules/hypercall/index.js';
import dma from './rules/dma/index.js';
import mapping from './rules/mapping/index.js';

export const RULES: readonly Rule[] = [
  ...yaml,
  ...schema,
  ...ref,
  ...suppression,
  ...xl,
  ...pci,
  ...passthrough,
  ...memory,
  ...rdm,
  ...iomem,
  ...iommu,
  ...dom0,
  ...pviommu,
  ...mediated,
  ...scenario,
  ...hypercall,
  ...dma,
  ...mapping,
].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

const BY_ID = new Map(RULES.map((r) => [r.id, r]));

export function getRule(id: string): Rule | undefined {
  return BY_ID.get(id);
}

export function staticRules(): StaticRule[] {
  return RULES.filter((r): r is StaticRule => r.phase === 'static');
}

/** docs/rules/<group>/<name>.md, relative to the package root. */
export function docsPath(id: string): string {
  return `docs/rules/${id}.md`;
}
