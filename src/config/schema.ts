/**
 * zod schemas of the four document kinds (SPEC §2). Strict objects: unknown keys are errors.
 *
 * Input values come from YAML with integers as exact BigInts; `normalizeNumbers` turns those that
 * fit a double exactly into numbers and the rest into decimal strings, so that the unit parsers
 * (units.ts) can refuse them with an exact message instead of rounding.
 */
import { z } from 'zod';
import {
  parseBdf,
  parseFrame,
  parseFrameRange,
  parseSizePages,
  formatBdf,
  toBigInt,
  describe,
  within,
  type Parsed,
  type FrameRange,
} from './units.js';
import { parseStatus } from '../hypercalls/errno.js';

// ---------------------------------------------------------------------------------------------
// Unit types. Each carries the JSON Schema editors should see (its input form).

const jsonOf = new Map<z.ZodType, Record<string, unknown>>();

function unit<T>(json: Record<string, unknown>, parse: (v: unknown) => Parsed<T>) {
  const s = z.unknown().transform((v, ctx): T => {
    const r = parse(v);
    if (!r.ok) {
      if (r.at !== undefined) ctx.addIssue({ code: 'custom', message: r.error, path: r.at.path, params: { part: r.at.part } });
      else ctx.addIssue({ code: 'custom', message: r.error });
      return z.NEVER;
    }
    return r.value;
  });
  jsonOf.set(s, json);
  return s;
}

/** A JSON Schema pattern matching `word` in any case ("KiB" → "[Kk][Ii][Bb]"). */
function anyCase(word: string): string {
  return [...word].map((c) => `[${c.toUpperCase()}${c.toLowerCase()}]`).join('');
}

/** A frame number written as a string: decimal or `0x` hex, `_` allowed (as toBigInt reads it). */
const FRAME_TEXT = '(0[xX][0-9a-fA-F_]+|[0-9_]+)';
const HEX_OR_INT = [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: `^\\s*${FRAME_TEXT}\\s*$` }];
/** The forms of one frame range (parseFrameRange). */
const RANGE_FORMS = [
  { type: 'string', pattern: `^\\s*${FRAME_TEXT}(\\s*-\\s*${FRAME_TEXT})?\\s*$` },
  { type: 'integer', minimum: 0 },
  {
    type: 'object',
    properties: { start: { anyOf: HEX_OR_INT }, end: { anyOf: HEX_OR_INT }, pages: { type: 'integer', minimum: 1 } },
    required: ['start'],
    additionalProperties: false,
  },
];

export const frameSchema = unit(
  { description: 'frame number (4 KiB page): integer or "0x…" hex string', anyOf: HEX_OR_INT },
  parseFrame,
);

export const rangeSchema = unit<FrameRange>(
  {
    description: 'inclusive frame range: "0x100-0x1ff", "0x100", {start, end} or {start, pages}',
    anyOf: RANGE_FORMS,
  },
  parseFrameRange,
);

/** One range, or a list of ranges (`xen_mfns`). Errors name the offending entry. */
export const rangeListSchema = unit<FrameRange[]>(
  { description: 'a frame range or a list of frame ranges', anyOf: [...RANGE_FORMS, { type: 'array', items: { anyOf: RANGE_FORMS } }] },
  (v) => {
    if (!Array.isArray(v)) {
      const r = parseFrameRange(v);
      return r.ok ? { ok: true, value: [r.value] } : r;
    }
    const out: FrameRange[] = [];
    for (let i = 0; i < v.length; i++) {
      const r = parseFrameRange(v[i]);
      if (!r.ok) return within([i], r);
      out.push(r.value);
    }
    return { ok: true, value: out };
  },
);

export const sizeSchema = unit(
  {
    description: 'size with a binary unit ("512MiB", "4GiB", "1TiB") or a number of bytes; whole 4 KiB pages',
    // (units in any case, as the loader reads them: "256mib" is 256 MiB)
    anyOf: [{ type: 'string', pattern: `^\\s*\\d+(\\.\\d+)?\\s*(${['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'].map(anyCase).join('|')})?\\s*$` }, { type: 'integer', minimum: 0 }],
  },
  parseSizePages,
);

export const bdfSchema = unit(
  { description: 'PCI address "SSSS:BB:DD.F" or "BB:DD.F" (hex)', type: 'string', pattern: '^([0-9a-fA-F]{1,4}:)?[0-9a-fA-F]{1,2}:[0-9a-fA-F]{1,2}\\.[0-7]$' },
  (v) => {
    const r = parseBdf(v);
    return r.ok ? { ok: true, value: formatBdf(r.value) } : r;
  },
);

/** Integer with bounds, refusing what would round. */
function intSchema(min: number, max: number, what: string) {
  // (a string is read as a number too, decimal or 0x hex: its range is the loader's to check)
  return unit<number>({ description: what, anyOf: [{ type: 'integer', minimum: min, maximum: max }, { type: 'string', pattern: `^\\s*${FRAME_TEXT}\\s*$` }] }, (v) => {
    const b = toBigInt(v);
    if (!b.ok) return { ok: false, error: `${what}: ${b.error}` };
    if (b.value < BigInt(min) || b.value > BigInt(max)) {
      return { ok: false, error: `${what} ${b.value} is out of range (${min}..${max === 0x7fef ? '0x7fef' : max})` };
    }
    return { ok: true, value: Number(b.value) };
  });
}

export const domidSchema = intSchema(0, 0x7fef, 'domid');

/** A domain named by its `name` or its domid. */
export const domainRefSchema = unit<string | number>(
  { description: 'domain name or domid', anyOf: [{ type: 'string' }, { type: 'integer', minimum: 0, maximum: 0x7fff }] },
  (v) => {
    if (typeof v === 'string' && !/^\s*(0x[0-9a-f]+|\d+)\s*$/i.test(v)) return { ok: true, value: v };
    const b = toBigInt(v);
    if (!b.ok) return { ok: false, error: `expected a domain name or domid, got ${describe(v)}` };
    if (b.value < 0n || b.value > 0x7fffn) return { ok: false, error: `domid ${b.value} is out of range` };
    return { ok: true, value: Number(b.value) };
  },
);

export const statusSchema = unit<number>(
  {
    description: 'status: errno name (EPERM), GNTST_* name, OK, or a negative number',
    anyOf: [{ type: 'string' }, { type: 'integer', maximum: 0 }],
  },
  (v) => {
    const s = parseStatus(v);
    return s === undefined
      ? { ok: false, error: `${describe(v)} is not an error code (write EPERM, -1, GNTST_bad_handle or OK)` }
      : { ok: true, value: s };
  },
);

// ---------------------------------------------------------------------------------------------
// Documents.

const common = {
  apiVersion: z.literal('pviommu/v1'),
  name: z.string().min(1).regex(/^[A-Za-z0-9_.:-]+$/, 'names use letters, digits, `_`, `.`, `:` and `-`'),
};

export const MEMORY_TYPES = ['ram', 'reserved', 'acpi', 'nvs', 'unusable', 'mmio'] as const;

export const HostSchema = z.strictObject({
  ...common,
  kind: z.literal('Host'),
  cpu_vendor: z.enum(['intel', 'amd']).default('intel'),
  ram: sizeSchema.optional(),
  memory_map: z.array(z.strictObject({ mfns: rangeSchema, type: z.enum(MEMORY_TYPES) })).optional(),
  xen_mfns: rangeListSchema.optional(),
  iommu: z
    .strictObject({
      enabled: z.boolean().default(true),
      address_width: intSchema(12, 64, 'address_width').default(48),
      dom0: z.enum(['relaxed', 'strict', 'passthrough']).default('relaxed'),
      map_reserved: z.boolean().default(true),
      sharept: z.boolean().default(true),
      quarantine: z.enum(['basic', 'scratch-page', 'none']).default('basic'),
      intremap: z.boolean().default(true),
    })
    .prefault({}),
  pv_iommu: z
    .strictObject({
      abi: z.enum(['none', 'xs', 'ta']).default('none'),
      foreign_offset: frameSchema.default(0x3e00000),
      elf_note: z.boolean().default(true),
    })
    .prefault({}),
});

export const DEVICE_CLASSES = ['display', 'network', 'storage', 'usb', 'bridge', 'other'] as const;

export const DeviceSchema = z.strictObject({
  ...common,
  kind: z.literal('Device'),
  host: z.string().optional(),
  bdf: bdfSchema,
  class: z.enum(DEVICE_CLASSES).default('other'),
  dma_bits: intSchema(12, 64, 'dma_bits').default(64),
  assignable: z.boolean().default(false),
  host_bridge: z.boolean().default(false),
  bridge: bdfSchema.optional(),
  phantom_stride: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(4)]).default(0),
  pf: bdfSchema.optional(),
  broken: z.boolean().default(false),
  rmrr: z.array(rangeSchema).default([]),
  mediated: z
    .strictObject({
      vgpus: z.array(z.string()).min(1),
      translation: z.enum(['gpa', 'mfn', 'pv-iommu']),
    })
    .optional(),
});

export const P2M_TYPES = [
  'ram_rw',
  'ram_ro',
  'ram_logdirty',
  'mmio_direct',
  'mmio_dm',
  'grant_map_rw',
  'grant_map_ro',
  'map_foreign',
  'ram_shared',
  'ram_paged',
  'populate_on_demand',
  'ioreq_server',
  'ram_broken',
] as const;
export type P2mType = (typeof P2M_TYPES)[number];

export const PciEntrySchema = z.strictObject({
  dev: z.string().min(1),
  rdm_policy: z.enum(['strict', 'relaxed']).default('strict'),
  permissive: z.boolean().default(false),
  seize: z.boolean().default(false),
  msitranslate: z.boolean().default(false),
  power_mgmt: z.boolean().default(false),
  vslot: intSchema(0, 0x1f, 'vslot').optional(),
});

/** `"0xfed00-0xfed01"` or `"0xfed00-0xfed01@0x1000"` or `{mfns, gfn}`. */
const iomemSchema = unit<{ mfns: FrameRange; gfn?: number }>(
  {
    description: 'MFN range the domain may map, optionally "@GFN" where it appears (default 1:1)',
    anyOf: [
      { type: 'string', pattern: `^\\s*${FRAME_TEXT}(\\s*-\\s*${FRAME_TEXT})?\\s*(@\\s*${FRAME_TEXT}\\s*)?$` },
      { type: 'object', properties: { mfns: { anyOf: RANGE_FORMS }, gfn: { anyOf: HEX_OR_INT } }, required: ['mfns'], additionalProperties: false },
    ],
  },
  (v) => {
    if (typeof v === 'string') {
      const [r, g, ...rest] = v.split('@');
      if (rest.length) return { ok: false, error: `"${v}" has more than one @` };
      const mfns = parseFrameRange(r);
      if (!mfns.ok) return mfns;
      if (g === undefined) return { ok: true, value: { mfns: mfns.value } };
      const gfn = parseFrame(g);
      return gfn.ok ? { ok: true, value: { mfns: mfns.value, gfn: gfn.value } } : gfn;
    }
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const extra = Object.keys(o).filter((k) => k !== 'mfns' && k !== 'gfn');
      if (extra.length) return { ok: false, error: `unknown key \`${extra[0]}\` in an iomem entry (use mfns and gfn)`, at: { path: [extra[0]!], part: 'key' } };
      if (o.mfns === undefined) return { ok: false, error: 'an iomem entry needs `mfns`' };
      const mfns = parseFrameRange(o.mfns);
      if (!mfns.ok) return within(['mfns'], mfns);
      if (o.gfn === undefined) return { ok: true, value: { mfns: mfns.value } };
      const gfn = parseFrame(o.gfn);
      return gfn.ok ? { ok: true, value: { mfns: mfns.value, gfn: gfn.value } } : within(['gfn'], gfn);
    }
    return { ok: false, error: `expected an iomem range like "0xfed00-0xfed01", got ${describe(v)}` };
  },
);

const MiB = 256; // pages per MiB

/** A size xl accepts for the MMIO hole (its JSON: a size, described; the range is checked here). */
const mmioHoleSchema = sizeSchema.refine((p) => p >= 256 * MiB && p <= 3840 * MiB, 'mmio_hole must be between 256MiB and 3840MiB (xl refuses other values)');
jsonOf.set(mmioHoleSchema, { ...jsonOf.get(sizeSchema)!, description: 'size of the MMIO hole below 4 GiB, 256MiB to 3840MiB (xl mmio_hole=, in MiB there)' });

export const DomainSchema = z.strictObject({
  ...common,
  kind: z.literal('Domain'),
  host: z.string().optional(),
  domid: domidSchema,
  type: z.enum(['pv', 'pvh', 'hvm']),
  role: z.enum(['hardware', 'control', 'driver', 'guest']).default('guest'),
  trusted: z.boolean().optional(),
  device_model: domainRefSchema.optional(),
  memory: sizeSchema,
  maxmem: sizeSchema.optional(),
  passthrough: z.enum(['default', 'disabled', 'enabled', 'sync_pt', 'share_pt']).default('default'),
  hap: z.boolean().default(true),
  pci: z.array(PciEntrySchema).default([]),
  rdm: z
    .strictObject({ strategy: z.enum(['host', 'ignore']).optional(), policy: z.enum(['strict', 'relaxed']).optional() })
    .optional(),
  rdm_mem_boundary: sizeSchema.default(2048 * MiB),
  mmio_hole: mmioHoleSchema.default(256 * MiB),
  iomem: z.array(iomemSchema).default([]),
  live_migration: z.boolean().default(false),
  pv_iommu: z.boolean().default(false),
  p2m: z
    .array(
      z.strictObject({ gfns: rangeSchema, mfns: rangeSchema, type: z.enum(P2M_TYPES) }).superRefine((e, ctx) => {
        const g = e.gfns.end - e.gfns.start + 1;
        const m = e.mfns.end - e.mfns.start + 1;
        if (g !== m) {
          ctx.addIssue({
            code: 'custom',
            path: ['mfns'],
            message: `the extent maps ${g} gfn${g === 1 ? '' : 's'} onto ${m} mfn${m === 1 ? '' : 's'}; a p2m extent maps ranges of equal length`,
          });
        }
      }),
    )
    .optional(),
});

/** A scenario call: `op`, `caller`, `expect`, and the op's own arguments (checked by the emulator). */
export const CallSchema = z.looseObject({
  op: z.string().min(1),
  caller: domainRefSchema.optional(),
  expect: z.record(z.string(), z.unknown()).optional(),
});

export const ScenarioSchema = z.strictObject({
  ...common,
  kind: z.literal('Scenario'),
  host: z.string().optional(),
  abi: z.enum(['none', 'xs', 'ta']).optional(),
  description: z.string().optional(),
  calls: z.array(CallSchema),
});

export const KIND_SCHEMAS = {
  Host: HostSchema,
  Device: DeviceSchema,
  Domain: DomainSchema,
  Scenario: ScenarioSchema,
} as const;
export type Kind = keyof typeof KIND_SCHEMAS;
export const KINDS = Object.keys(KIND_SCHEMAS) as Kind[];

export type HostInput = z.output<typeof HostSchema>;
export type DeviceInput = z.output<typeof DeviceSchema>;
export type DomainInput = z.output<typeof DomainSchema>;
export type ScenarioInput = z.output<typeof ScenarioSchema>;
export type CallInput = z.output<typeof CallSchema>;
export type PciEntry = z.output<typeof PciEntrySchema>;

/** Integers that fit a double exactly become numbers; larger ones decimal strings (never rounded). */
/**
 * Give `obj` an own, enumerable `__proto__` key holding `value` (`obj.__proto__ = value` would
 * set its prototype instead, and the key would vanish from every check).
 */
export function keepProtoKey(obj: object, value: unknown): void {
  Object.defineProperty(obj, '__proto__', { value, enumerable: true, writable: true, configurable: true });
}

/**
 * `to` gets `from`'s own `__proto__` key, if it has one: what zod's copy of an open mapping (a
 * record, a loose object) loses, since it assigns keys.
 */
export function copyProtoKey(from: unknown, to: unknown): void {
  if (from === null || typeof from !== 'object' || to === null || typeof to !== 'object' || !Object.hasOwn(from, '__proto__')) return;
  keepProtoKey(to, (from as Record<string, unknown>)['__proto__']);
}

export function normalizeNumbers(v: unknown): unknown {
  if (typeof v === 'bigint') {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  if (Array.isArray(v)) return v.map(normalizeNumbers);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // `out.__proto__ = x` would make x the prototype: its keys would then pass the strict
      // schemas unseen, as inherited values. Keep `__proto__` an own key, reported as unknown.
      if (k === '__proto__') keepProtoKey(out, normalizeNumbers(x));
      else out[k] = normalizeNumbers(x);
    }
    return out;
  }
  return v;
}

/** JSON Schema of one kind, or of any pviommu document (editors: yaml-language-server). */
export function jsonSchema(kind?: Kind): Record<string, unknown> {
  const override = (ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }) => {
    const j = jsonOf.get(ctx.zodSchema as z.ZodType);
    if (j) {
      for (const k of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[k];
      Object.assign(ctx.jsonSchema, structuredClone(j));
    }
  };
  const opts = { io: 'input' as const, unrepresentable: 'any' as const, override, target: 'draft-07' as const };
  if (kind) {
    const s = z.toJSONSchema(KIND_SCHEMAS[kind], opts) as Record<string, unknown>;
    return { ...s, title: `pviommu ${kind}` };
  }
  const union = z.union(KINDS.map((k) => KIND_SCHEMAS[k]) as unknown as [z.ZodType, z.ZodType, ...z.ZodType[]]);
  return { ...(z.toJSONSchema(union, opts) as Record<string, unknown>), title: 'pviommu config document' };
}
