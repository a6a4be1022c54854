/**
 * xl.cfg files as Domain documents: `*.cfg` found while walking the paths (or named
 * explicitly), plus files given with `--xl`. Each becomes a RawDoc whose source points into
 * the .cfg, so every rule reports at the right line of the file the user keeps.
 */
import { readFile, stat } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { isUtf8 } from 'node:buffer';
import { discoverFiles, notUtf8Finding, type RawDoc, type Suppression } from '../config/load.js';
import { lineIndex, mayHaveDirectives, parseSuppressions } from '../config/yaml/suppressions.js';
import { parseXl } from './parse.js';
import type { Finding } from '../policy/types.js';
import { ioReason, ToolError } from '../errors.js';
import { xlToDomain } from './to-domain.js';

export const XL_EXT = /\.cfg$/;
const MAX_XL_BYTES = 1024 * 1024;

/** The automatic domids: 0x1000..0x7fef, above the small ids people write by hand. */
const AUTO_DOMID_BASE = 0x1000;
const AUTO_DOMID_SPAN = 0x7ff0 - AUTO_DOMID_BASE;

/**
 * The domid of an xl.cfg domain that names none. xl.cfg cannot say it (Xen picks one at
 * `xl create`), but every Domain document needs a unique one and the model lays domains out in
 * domid order. So it is derived from the name alone (FNV-1a), the same for `check` and
 * `import-xl`: converting a repo file by file gives the documents `check` builds. Two names
 * that hash alike are told apart by `loadXlFiles` (the next free id, in file order).
 */
export function autoDomid(name: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(name)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return AUTO_DOMID_BASE + (h % AUTO_DOMID_SPAN);
}

export interface XlLoadOptions {
  cwd: string;
  ignore?: string[];
  ignoreBase?: string;
  /** `--host`: the host every xl.cfg domain belongs to (else `# pviommu: host=…`, else the only Host). */
  host?: string;
  followSymlinks?: boolean;
}

/**
 * Whether a `.cfg` found by walking a directory is an xl.cfg at all. `.cfg` is a common
 * extension (Python's setup.cfg, HAProxy, Nagios, …), so a walked file is read as a domain only
 * if it has at least one `KEY = VALUE` line and no INI `[section]` header (a line that is a
 * bracketed word is never valid xl.cfg). Files named explicitly or with `--xl` are always read.
 */
export function looksLikeXlCfg(text: string): boolean {
  if (/^[ \t]*\[[ \t]*[A-Za-z][\w. :-]*\][ \t]*(?:[#;].*)?\r?$/m.test(text)) return false;
  return /^[ \t]*[a-z][._0-9a-z]*[ \t]*\+?=/m.test(text);
}

export async function loadXlFiles(
  paths: string[],
  extra: string[],
  opts: XlLoadOptions,
): Promise<{ docs: RawDoc[]; files: string[]; findings: Finding[]; suppressions: Suppression[] }> {
  const walked = await discoverFiles(
    paths.filter((p) => p !== '-'),
    { ...opts, extensions: XL_EXT, explicit: (name) => XL_EXT.test(name) },
  );
  // --xl: a file is read whatever its name; a directory is walked for *.cfg, and must hold one
  const named: string[] = [];
  for (const p of extra) {
    const found = await discoverFiles([p], { ...opts, extensions: XL_EXT, explicit: () => true });
    if (found.length === 0) throw new ToolError(`--xl ${p}: no *.cfg file in that directory`);
    named.push(...found);
  }
  const all = [...new Set([...walked, ...named])];
  const explicit = new Set([...named, ...paths.filter((p) => p !== '-').map((p) => resolve(opts.cwd, p))]);
  const docs: RawDoc[] = [];
  const files: string[] = [];
  const findings: Finding[] = [];
  const suppressions: Suppression[] = [];
  for (const abs of all) {
    const display = relative(opts.cwd, abs).split(sep).join('/') || abs;
    let buf: Buffer;
    try {
      // the size first: a huge .cfg in the repo is refused without being read into memory
      const st = await stat(abs);
      buf = st.isFile() && st.size > MAX_XL_BYTES ? Buffer.alloc(0) : await readFile(abs);
      if (st.isFile() && st.size > MAX_XL_BYTES) {
        files.push(display);
        findings.push({ rule: 'xl/syntax', severity: 'error', message: `${display} is ${st.size} bytes; an xl.cfg file over 1 MiB is not a domain config`, file: display, line: 1, column: 1, endLine: 1, endColumn: 1 });
        continue;
      }
    } catch (e) {
      throw new ToolError(`cannot read ${display}: ${ioReason(e)}`);
    }
    if (buf.length > MAX_XL_BYTES) {
      files.push(display);
      findings.push({ rule: 'xl/syntax', severity: 'error', message: `${display} is ${buf.length} bytes; an xl.cfg file over 1 MiB is not a domain config`, file: display, line: 1, column: 1, endLine: 1, endColumn: 1 });
      continue;
    }
    const { text, notUtf8 } = decodeXl(display, buf);
    if (!explicit.has(abs) && !looksLikeXlCfg(text)) continue;
    files.push(display);
    if (notUtf8) findings.push(notUtf8);
    const d = xlToDomain(display, text, opts.host !== undefined ? { host: opts.host } : {});
    findings.push(...d.findings);
    docs.push({ source: d.source, value: d.value, origin: 'xl' });
    if (mayHaveDirectives(text)) {
      const sup = xlSuppressions(display, text);
      suppressions.push(...sup.suppressions);
      findings.push(...sup.findings);
    }
  }
  // Domains without a domid get the automatic one; a finding about it points at the name.
  const taken = new Set(docs.map((d) => (d.value as { domid?: bigint }).domid).filter((x) => x !== undefined).map(Number));
  for (const d of docs) {
    const v = d.value as { name: string; domid?: bigint };
    if (v.domid !== undefined) continue;
    let id = autoDomid(v.name);
    while (taken.has(id)) id = id + 1 >= 0x7ff0 ? AUTO_DOMID_BASE : id + 1;
    taken.add(id);
    v.domid = BigInt(id);
    const src = d.source;
    d.source = { ...src, locate: (path, part) => src.locate(path[0] === 'domid' ? ['name'] : path, part) };
  }
  files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { docs, files, findings, suppressions };
}

/**
 * An xl.cfg file's text. Bytes that are not UTF-8 are read as U+FFFD (so the rest of the file is
 * still checked), with an xl/syntax finding at the first of them, as a YAML file gets.
 */
export function decodeXl(display: string, buf: Buffer): { text: string; notUtf8?: Finding } {
  const text = buf.toString('utf8');
  return isUtf8(buf) ? { text } : { text, notUtf8: notUtf8Finding(display, buf, 'xl/syntax') };
}

/** `# pviommu-disable-next-line RULE -- reason` comments of an xl.cfg file (same rules as YAML). */
function xlSuppressions(file: string, text: string): { suppressions: Suppression[]; findings: Finding[] } {
  const { lineStarts, linePos } = lineIndex(text);
  const comments = parseXl(text).comments.map((c) => ({ offset: lineStarts[c.span.line - 1]! + c.span.column - 1, source: c.text }));
  return parseSuppressions(file, text, comments, linePos, lineStarts);
}
