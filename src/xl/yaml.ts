/**
 * The YAML text of a Domain document (for `pviommu import-xl`): deterministic key order
 * (apiVersion, kind, name, host, domid, type, role, then SPEC §2.3 order), integers written
 * exactly (bigint), and every string that a YAML 1.1 reader could take for something else
 * (`0000:00:02.0` is a YAML 1.1 sexagesimal float, `no` a boolean) double-quoted, so the
 * output never trips `yaml/ambiguous-scalar` when it is read back.
 */
import { Document, isScalar, visit } from 'yaml';

const DOMAIN_ORDER = [
  'apiVersion',
  'kind',
  'name',
  'host',
  'domid',
  'type',
  'role',
  'trusted',
  'device_model',
  'memory',
  'maxmem',
  'passthrough',
  'hap',
  'pci',
  'rdm',
  'rdm_mem_boundary',
  'mmio_hole',
  'iomem',
  'live_migration',
  'pv_iommu',
  'p2m',
];
const PCI_ORDER = ['dev', 'rdm_policy', 'permissive', 'seize', 'vslot', 'msitranslate', 'power_mgmt'];
const RDM_ORDER = ['strategy', 'policy'];
const P2M_ORDER = ['gfns', 'mfns', 'type'];

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function ordered(obj: Record<string, unknown>, order: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of order) if (k in obj && obj[k] !== undefined) out[k] = obj[k];
  for (const k of Object.keys(obj)) if (!(k in out) && obj[k] !== undefined) out[k] = obj[k];
  return out;
}

function arrange(value: Record<string, unknown>): Record<string, unknown> {
  const top = ordered(value, DOMAIN_ORDER);
  const sub = (k: string, order: readonly string[]) => {
    const v = top[k];
    if (Array.isArray(v)) top[k] = v.map((e) => (isPlainObject(e) ? ordered(e, order) : e));
    else if (isPlainObject(v)) top[k] = ordered(v, order);
  };
  sub('pci', PCI_ORDER);
  sub('rdm', RDM_ORDER);
  sub('p2m', P2M_ORDER);
  return top;
}

const YAML11_WORDS = /^(y|yes|n|no|true|false|on|off|null|~)$/i;
/** Strings safe to write plain: identifier-like words and sizes such as 512MiB. */
const PLAIN_SAFE = /^(?:[A-Za-z_][A-Za-z0-9_.\/-]*|[0-9]+(?:[KMGT]i)?B)$/;

/** YAML for a Domain document's value (as produced by `xlToDomain`). Deterministic. */
export function domainToYaml(value: Record<string, unknown>): string {
  const doc = new Document(arrange(value));
  visit(doc, {
    Scalar(key, node) {
      if (key === 'key') return;
      if (typeof node.value === 'string' && (!PLAIN_SAFE.test(node.value) || YAML11_WORDS.test(node.value))) {
        node.type = 'QUOTE_DOUBLE';
      }
    },
    Pair(_key, pair) {
      if (isScalar(pair.key)) pair.key.type = 'PLAIN';
    },
  });
  return doc.toString({ lineWidth: 0 });
}
