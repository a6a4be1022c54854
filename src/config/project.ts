/**
 * `.pviommu.yaml`: the project's own settings (not a config document).
 *
 * ```yaml
 * ignore: ["generated/**", "old/*.yaml"]     # gitignore-style, relative to this file
 * rules:
 *   dom0/relaxed-iommu: error                # off | info | warning | error
 * limits:
 *   max_file_bytes: 16777216
 *   max_aliases: 1000
 * ```
 * Found by looking in the first PATH (its directory, for a file) and then in each parent
 * directory up to the file-system root; `--config FILE` names one explicitly.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseYaml } from './yaml/parse.js';
import { checkDocument } from './yaml/walk.js';
import { copyProtoKey, normalizeNumbers } from './schema.js';
import { z } from 'zod';
import type { SeverityOrOff } from '../policy/types.js';
import { ioReason, ToolError } from '../errors.js';

export const PROJECT_FILE = '.pviommu.yaml';

/** The most `limits.max_file_bytes` may be raised to (256 MiB). */
export const MAX_FILE_BYTES_CEILING = 256 * 1024 * 1024;
/** The most `limits.max_aliases` may be raised to. */
export const MAX_ALIASES_CEILING = 1_000_000;
/** A project file is a few lines. */
const MAX_PROJECT_FILE_BYTES = 1024 * 1024;

const ProjectSchema = z.strictObject({
  // each walked path is matched against every glob: a bounded list keeps that bounded
  ignore: z.array(z.string()).max(10_000).default([]),
  rules: z.record(z.string(), z.enum(['off', 'info', 'warning', 'error'])).default({}),
  limits: z
    .strictObject({
      // Hard ceilings: a repo's own .pviommu.yaml must not lift the resource limits without bound
      // (V8 cannot hold a string of more than 512 MiB; the alias expansion is also size-capped).
      max_file_bytes: z.number().int().positive().max(MAX_FILE_BYTES_CEILING).optional(),
      max_aliases: z.number().int().positive().max(MAX_ALIASES_CEILING).optional(),
    })
    .default({}),
});

export interface ProjectConfig {
  /** Absolute path of the file, when one was found. */
  file?: string;
  /** Directory ignore globs are relative to. */
  dir: string;
  ignore: string[];
  rules: Record<string, SeverityOrOff>;
  limits: { max_file_bytes?: number; max_aliases?: number };
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

export async function findProjectConfig(paths: string[], cwd: string, explicit?: string): Promise<ProjectConfig> {
  if (explicit) {
    const file = resolve(cwd, explicit);
    if (!(await exists(file))) throw new ToolError(`config file not found: ${explicit}`);
    return readProjectConfig(file);
  }
  const first = paths.find((p) => p !== '-');
  let dir = resolve(cwd, first ?? '.');
  try {
    if (!(await stat(dir)).isDirectory()) dir = dirname(dir);
  } catch {
    dir = cwd;
  }
  for (;;) {
    const candidate = join(dir, PROJECT_FILE);
    if (await exists(candidate)) return readProjectConfig(candidate);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return { dir: cwd, ignore: [], rules: {}, limits: {} };
}

async function readProjectConfig(file: string): Promise<ProjectConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ToolError(`cannot read ${file}: ${ioReason(e)}`);
  }
  let value: unknown;
  try {
    // The repo's own file is input like any other: read with the same guards (nesting depth,
    // number of values, number length) as the config documents. yaml's recursive composer could
    // otherwise overflow the stack on deep nesting.
    if (Buffer.byteLength(text, 'utf8') > MAX_PROJECT_FILE_BYTES) throw new Error(`larger than ${MAX_PROJECT_FILE_BYTES} bytes`);
    const parsed = parseYaml(text, false);
    if (parsed.tooDeepAt !== undefined) throw new Error('nested too deeply');
    if (parsed.tooManyAt !== undefined) throw new Error('too many values');
    if (parsed.docs.length > 1) throw new Error('it holds more than one document');
    const doc = parsed.docs[0];
    const err = doc?.errors[0] ?? parsed.streamErrors[0];
    if (err) throw new Error(err.message);
    // a key given twice is an error here as in any config document (which value was meant?)
    const dup = doc ? checkDocument(doc.contents, file, text, parsed.lineCounter).findings.find((f) => f.rule === 'yaml/duplicate-key') : undefined;
    if (dup) throw new Error(`line ${dup.line}, column ${dup.column}: ${dup.message}`);
    value = normalizeNumbers(doc?.toJS({ maxAliasCount: 100 }) ?? {}) ?? {};
  } catch (e) {
    throw new ToolError(`${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const r = ProjectSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ToolError(`${file}: ${i.path.join('.') || '(top level)'}: ${i.message}`);
  }
  // (a `__proto__` rule id, lost in zod's copy, is put back: the rule-id check reports it)
  copyProtoKey((value as { rules?: unknown } | null)?.rules, r.data.rules);
  return { file, dir: dirname(file), ...r.data };
}
