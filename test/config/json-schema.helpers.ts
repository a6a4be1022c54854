/**
 * A validator for the draft-07 keywords `pviommu schema` emits (no library for it in the
 * dependencies): enough to check that the schema an editor uses accepts what `check` accepts and
 * rejects what it rejects. It throws on a keyword it does not know, so the schema cannot grow one
 * these tests silently ignore.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set([
  '$schema', 'title', 'description', 'default',
  'anyOf', 'type', 'properties', 'required', 'additionalProperties', 'propertyNames', 'items',
  'const', 'enum', 'pattern', 'minLength', 'minimum', 'maximum', 'minItems',
]);

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case 'object':
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    case 'null':
      return v === null;
    default:
      throw new Error(`unknown type ${type}`);
  }
}

/** Whether `v` (a parsed YAML/JSON value: numbers as numbers) is valid under `s`. */
export function conforms(s: Schema | boolean, v: unknown): boolean {
  if (s === true) return true;
  if (s === false) return false;
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) throw new Error(`keyword ${k} is not handled by this validator`);
  if (s.anyOf && !(s.anyOf as Schema[]).some((x) => conforms(x, v))) return false;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    if (!types.some((t) => typeOk(t, v))) return false;
  }
  if ('const' in s && s.const !== v) return false;
  if (s.enum && !(s.enum as unknown[]).includes(v)) return false;
  if (typeof v === 'string') {
    if (s.pattern !== undefined && !new RegExp(s.pattern as string, 'u').test(v)) return false;
    if (s.minLength !== undefined && [...v].length < (s.minLength as number)) return false;
  }
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < (s.minimum as number)) return false;
    if (s.maximum !== undefined && v > (s.maximum as number)) return false;
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < (s.minItems as number)) return false;
    if (s.items !== undefined && !v.every((x) => conforms(s.items as Schema, x))) return false;
  }
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const r of (s.required ?? []) as string[]) if (!(r in o)) return false;
    for (const [k, x] of Object.entries(o)) {
      if (s.propertyNames !== undefined && !conforms(s.propertyNames as Schema, k)) return false;
      if (k in props) {
        if (!conforms(props[k]!, x)) return false;
      } else if (s.additionalProperties !== undefined && !conforms(s.additionalProperties as Schema | boolean, x)) return false;
    }
  }
  return true;
}
