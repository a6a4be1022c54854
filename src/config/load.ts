/**
 * Loading: paths → files → YAML documents with positions.
 *
 * - discovery (`discoverFiles`): files, directories walked recursively, `-` for stdin;
 * - reading (`loadPaths`): a few files at a time, size and UTF-8 checks;
 * - parsing (`loadText`): YAML 1.2 documents, the input findings of SPEC §5.1 that belong to
 *   the text itself (`yaml/*`, an unsupported pviommu apiVersion, `suppression/invalid`), and
 *   a `DocSource` per pviommu document so later stages can point at nodes without the parser.
 *
 * Bad content never throws: it becomes findings. Only a tool failure (a path that does not
 * exist, a directory or file that cannot be read) throws a ToolError (exit 2).
 */
import { isUtf8 } from 'node:buffer';
import { closeSync, existsSync, fstatSync, openSync, promises as fsp, readdirSync, readSync } from 'node:fs';
import type { Dirent, Stats } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import ignore from 'ignore';
import { isMap, isScalar } from 'yaml';
import type { Document, LineCounter, YAMLError } from 'yaml';
import { ioReason, ToolError } from '../errors.js';
import type { Finding, Location } from '../policy/types.js';
import type { DocSource } from './source.js';
import { parseFast } from './yaml/fast.js';
import { findPair, spanOf } from './yaml/nodes.js';
import { parseYaml, MAX_NESTING, MAX_VALUES } from './yaml/parse.js';
import { YamlDocSource, YamlFileText, type DocParts } from './yaml/source.js';
import { lineIndex, mayHaveDirectives, parseSuppressions, type CommentToken } from './yaml/suppressions.js';
import { syntaxMessage } from './yaml/syntax.js';
import { checkDocument } from './yaml/walk.js';

/** One YAML document that declares `apiVersion: pviommu/v1`. */
export interface RawDoc {
  source: DocSource;
  /** The document as plain JS: mappings → objects (null prototype not required), integers → bigint. */
  value: unknown;
  /** Where it came from: a YAML document (default) or an xl.cfg file. */
  origin?: 'yaml' | 'xl';
}

/** `# pviommu-disable-next-line RULE[, RULE...] -- reason` */
export interface Suppression {
  file: string;
  /** Line of the comment itself. */
  line: number;
  column: number;
  /** The line whose findings it suppresses (the next non-blank, non-comment line). */
  targetLine: number;
  rules: string[];
  reason: string;
}

export interface LoadedFile {
  /** Display path (relative to cwd, `/` separators; `<stdin>` for `-`). */
  file: string;
  /** Number of YAML documents in the file, and how many of them are pviommu's. */
  documents: number;
  pviommu: number;
}

export interface LoadOptions {
  /** Globs (gitignore syntax) relative to `ignoreBase`, from `.pviommu.yaml` `ignore:`. */
  ignore?: string[];
  ignoreBase?: string;
  /** Follow symlinks that lead outside the walked tree (default false). */
  followSymlinks?: boolean;
  /** Reject files larger than this many bytes with a finding (default 16 MiB). */
  maxFileBytes?: number;
  /** Maximum alias expansions per document (billion-laughs guard), default 1000. */
  maxAliases?: number;
  /** Which files a directory walk picks up (default `*.yaml` / `*.yml`). */
  extensions?: RegExp;
  /** Files named explicitly are loaded whatever their extension, except those this rejects. */
  explicit?: (name: string) => boolean;
  /**
   * Stdin, when a path is `-` (the CLI reads it; the core does no process I/O): its bytes, checked
   * like a file's (UTF-8, size limit), or text already decoded.
   */
  stdinText?: string | Uint8Array;
  cwd?: string;
  /**
   * Threads to parse with, this one included (default 1: this thread only; see "parsing on
   * several threads" below). Worker threads are used for repos of 512 files or more, and only
   * from the compiled package.
   */
  threads?: number;
  /** Called as files are parsed: how many, of how many. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Keep only the documents (by value) this accepts: the others are counted in `dropped` and let
   * go as soon as their file is parsed, not held until the whole repo is read (a command that
   * works on one host of a fleet keeps that host's documents and every Host).
   */
  keepDoc?: (value: unknown) => boolean;
}

export interface LoadResult {
  files: LoadedFile[];
  /** pviommu documents, in file order then document order. */
  docs: RawDoc[];
  /** YAML documents without `apiVersion: pviommu/v1`. */
  skipped: number;
  /** yaml/syntax, yaml/duplicate-key, yaml/ambiguous-scalar, suppression/invalid … */
  findings: Finding[];
  suppressions: Suppression[];
  /** pviommu documents left out by `keepDoc` (not in `docs`). */
  dropped: number;
}

// ─── defaults ────────────────────────────────────────────────────────────────────────────────

const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_ALIASES = 1000;
/** Files read at once. */
const READ_CONCURRENCY = 16;
/** Directories listed at once. */
const WALK_CONCURRENCY = 8;
const STDIN_NAME = '<stdin>';
/** The project config; never a config document, even when named. */
const PROJECT_CONFIG_NAMES = new Set(['.pviommu.yaml', '.pviommu.yml']);
const YAML_EXT = /\.ya?ml$/;
const PVIOMMU_API = 'pviommu/v1';

// ─── text → documents ────────────────────────────────────────────────────────────────────────

export interface LoadTextResult {
  file: LoadedFile;
  docs: RawDoc[];
  skipped: number;
  findings: Finding[];
  suppressions: Suppression[];
  /** Documents left out by `keepDoc` (see `keptOnly`). */
  dropped?: number;
}

/** A finding about the file as a whole, at its first character. */
function fileFinding(file: string, rule: string, message: string, line = 1, column = 1): Finding {
  return { rule, severity: 'error', message, file, line, column, endLine: line, endColumn: column + 1 };
}

/** How a document's root declares itself: pviommu/v1, another pviommu version, or not pviommu. */
function apiVersionOf(root: unknown): { kind: 'v1' | 'other' | 'none'; node?: unknown; value?: string } {
  if (!isMap(root)) return { kind: 'none' };
  const pair = findPair(root, 'apiVersion');
  if (!pair || !isScalar(pair.value) || typeof pair.value.value !== 'string') return { kind: 'none' };
  const value = pair.value.value;
  if (value === PVIOMMU_API) return { kind: 'v1', node: pair.value, value };
  if (/^pviommu(\/|$)/i.test(value)) return { kind: 'other', node: pair.value, value };
  return { kind: 'none' };
}

function errorFinding(
  file: string,
  text: string,
  lc: LineCounter,
  err: YAMLError,
  severity: Finding['severity'],
): Finding {
  const max = Math.max(0, text.length - 1);
  const start = Math.min(err.pos[0], max);
  const end = Math.max(start + 1, Math.min(err.pos[1], text.length));
  const loc = spanOf(file, text, lc, start, end);
  if (loc.endLine === loc.line && loc.endColumn <= loc.column) loc.endColumn = loc.column + 1;
  return { rule: 'yaml/syntax', severity, message: syntaxMessage(err.code, err.message), ...loc };
}

/**
 * Parse one file's text (already decoded; a BOM is stripped here) into pviommu documents and
 * findings. `file` is the display path. Never throws for bad content.
 */
export function loadText(file: string, text: string, opts: LoadOptions = {}): LoadTextResult {
  return loadTextVia(file, text, opts, true);
}

/**
 * `loadText` without the fast path: always yaml's pipeline. For the tests that compare both
 * paths (test/config/fast-yaml.test.ts); not part of the API.
 */
export function loadTextSlow(file: string, text: string, opts: LoadOptions = {}): LoadTextResult {
  return loadTextVia(file, text, opts, false);
}

function loadTextVia(file: string, text: string, opts: LoadOptions, tryFast: boolean): LoadTextResult {
  const maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const maxAliases = opts.maxAliases ?? DEFAULT_MAX_ALIASES;
  const loaded: LoadedFile = { file, documents: 0, pviommu: 0 };
  const result: LoadTextResult = { file: loaded, docs: [], skipped: 0, findings: [], suppressions: [] };
  const findings = result.findings;

  if (text.length * 3 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes) {
    findings.push(tooLarge(file, Buffer.byteLength(text, 'utf8'), maxBytes));
    return result;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // A CR alone is a line break in YAML 1.2 (old Mac files), which yaml's lexer does not take:
  // it becomes a LF, one character for one, so every offset and position stays the same.
  if (text.includes('\r')) text = text.replace(/\r(?!\n)/g, '\n');

  // Plain files (nearly all of a repo) take the fast path, which gives the same documents and
  // findings as the pipeline below for the files it takes — those whose only possible findings
  // are yaml/ambiguous-scalar warnings — and declines everything else (yaml/fast.ts).
  if (tryFast) {
    // (the alias limit too: a document over it is a finding, which only the pipeline gives)
    const comments: CommentToken[] = [];
    const fast = parseFast(text, maxAliases, comments);
    if (fast !== undefined) {
      loaded.documents = fast.length;
      let fileText: YamlFileText | undefined;
      fast.forEach((d, index) => {
        if (d.api !== 'v1') {
          result.skipped++;
          return;
        }
        loaded.pviommu++;
        for (const a of d.ambiguous) {
          const { message, ...at } = a;
          findings.push({ rule: 'yaml/ambiguous-scalar', severity: 'warning', message, file, ...at });
        }
        fileText ??= new YamlFileText(text);
        const rootLoc: Location = { file, ...d.root };
        result.docs.push({ source: new YamlDocSource(file, index, fileText, d.docRange, rootLoc), value: d.value });
      });
      if (comments.length > 0) {
        // suppression comments, placed as the pipeline places them
        const { linePos, lineStarts } = lineIndex(text);
        const s = parseSuppressions(file, text, comments, linePos, lineStarts);
        result.suppressions = s.suppressions;
        findings.push(...s.findings);
      }
      return result;
    }
  }

  let parsed: ReturnType<typeof parseYaml>;
  try {
    parsed = parseYaml(text, mayHaveDirectives(text));
  } catch (e) {
    findings.push(fileFinding(file, 'yaml/syntax', `could not parse this file: ${describeError(e)}`));
    return result;
  }
  const lc = parsed.lineCounter;
  const fileText = new YamlFileText(text);

  parsed.docs.forEach((doc, index) => {
    loaded.documents++;
    const root = doc.contents;
    const api = apiVersionOf(root);
    if (doc.errors.length > 0) {
      // Input the user meant to check (whatever its apiVersion): report, load nothing.
      for (const err of doc.errors) findings.push(errorFinding(file, text, lc, err, 'error'));
      if (api.kind !== 'none') loaded.pviommu++;
      return;
    }
    if (api.kind === 'none') {
      result.skipped++;
      return;
    }
    loaded.pviommu++;
    if (api.kind === 'other') {
      const r = (api.node as { range?: [number, number] }).range ?? [0, 0];
      findings.push({
        rule: 'schema/invalid',
        severity: 'error',
        message: `unsupported apiVersion \`${api.value}\`: this pviommu reads ${PVIOMMU_API}`,
        ...spanOf(file, text, lc, r[0], r[1]),
      });
      return;
    }
    // yaml's warnings (an unresolved tag, …) are yaml/syntax too, at its one severity (SPEC §5.1: error)
    for (const w of doc.warnings) findings.push(errorFinding(file, text, lc, w, 'error'));
    const source = loadDocument(doc, index, file, fileText, lc, maxAliases, findings);
    if (source) result.docs.push(source);
  });

  for (const err of parsed.streamErrors) findings.push(errorFinding(file, text, lc, err, 'error'));
  // Parsing stopped at a limit: one more (unfinished) document, a finding at that offset.
  const stopped = (offset: number, message: string): void => {
    loaded.documents++;
    const at = spanOf(file, text, lc, Math.min(offset, Math.max(0, text.length - 1)), offset + 1);
    findings.push({ rule: 'yaml/syntax', severity: 'error', message, ...at, endLine: at.line, endColumn: at.column + 1 });
  };
  if (parsed.tooDeepAt !== undefined) {
    stopped(parsed.tooDeepAt, `nested too deeply (more than ${MAX_NESTING - 6} levels); the rest of the file was not read`);
  }
  if (parsed.tooManyAt !== undefined) {
    stopped(parsed.tooManyAt, `more than ${MAX_VALUES} values in one file; the rest of the file was not read — split it into smaller files`);
  }

  if (parsed.comments.length > 0) {
    const s = parseSuppressions(file, text, parsed.comments, lc.linePos, lc.lineStarts);
    result.suppressions = s.suppressions;
    findings.push(...s.findings);
  }
  return result;
}

/** Checks, then the plain-JS value, of one pviommu/v1 document without syntax errors. */
function loadDocument(
  doc: Document.Parsed,
  index: number,
  file: string,
  fileText: YamlFileText,
  lc: LineCounter,
  maxAliases: number,
  findings: Finding[],
): RawDoc | null {
  const text = fileText.text;
  const root = doc.contents;
  const check = checkDocument(root, file, text, lc);
  findings.push(...check.findings);
  const badAlias = check.unresolvedAlias ?? check.cyclicAlias;
  if (badAlias !== null) {
    const r = badAlias.range ?? doc.range;
    const name = badAlias.source;
    findings.push({
      rule: 'yaml/syntax',
      severity: 'error',
      message:
        badAlias === check.unresolvedAlias
          ? `alias \`*${name}\` has no \`&${name}\` anchor before it; define the anchor first, or write the value out`
          : `alias \`*${name}\` is inside the node it refers to, which makes the data infinitely deep; ` +
            'replace the alias with the values it should hold',
      ...spanOf(file, text, lc, r[0], r[1]),
    });
    return null;
  }
  let value: unknown;
  try {
    // yaml counts the anchored node itself as one use, times the nesting of aliases inside it:
    // +1 makes `maxAliases` the number of alias expansions allowed (a negative value: no limit).
    value = doc.toJS({ maxAliasCount: maxAliases < 0 ? -1 : maxAliases + 1 });
  } catch (e) {
    const msg = describeError(e);
    const at = check.firstAlias?.range ?? doc.range;
    const loc = spanOf(file, text, lc, at[0], at[1]);
    let message: string;
    if (/alias count|Alias resolution is disabled/i.test(msg)) {
      message = `too many alias expansions (more than ${maxAliases}); the document is not loaded — expand the aliases or reduce their nesting`;
    } else if (e instanceof RangeError) {
      message = 'the document is nested too deeply to load';
    } else {
      message = `could not load this document: ${msg}`;
    }
    findings.push({ rule: 'yaml/syntax', severity: 'error', message, ...loc });
    return null;
  }
  if (check.firstAlias !== null && expandsBeyond(value, MAX_EXPANDED_VALUES)) {
    const at = check.firstAlias.range ?? doc.range;
    findings.push({
      rule: 'yaml/syntax',
      severity: 'error',
      message: `the aliases of this document expand it to more than ${MAX_EXPANDED_VALUES} values; the document is not loaded — write the values out, or alias smaller nodes`,
      ...spanOf(file, text, lc, at[0], at[1]),
    });
    return null;
  }
  const range: [number, number] = [doc.range[0], doc.range[1]];
  // The source keeps the text, not the node tree (positions are looked up again when needed).
  return { source: new YamlDocSource(file, index, fileText, range, { root, lc }), value };
}

/**
 * Values a document may expand to through aliases. yaml's alias limit counts alias uses, not their
 * size: 1000 uses of an anchored list of a million items pass it, and every later stage (which
 * copies or walks the data as a tree) would then handle a billion values. Only documents with
 * aliases are measured; without them the size is bounded by the file's.
 */
const MAX_EXPANDED_VALUES = 1_000_000;

/** Whether `value`, with shared references counted once per use, holds more than `budget` values. */
function expandsBeyond(value: unknown, budget: number): boolean {
  const stack: unknown[] = [value];
  let n = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (++n > budget) return true;
    if (Array.isArray(v)) {
      for (const x of v) if (x !== null && typeof x === 'object') stack.push(x);
      n += v.length;
    } else if (v !== null && typeof v === 'object') {
      for (const k in v) {
        const x = (v as Record<string, unknown>)[k];
        n++;
        if (x !== null && typeof x === 'object') stack.push(x);
      }
    }
  }
  return n > budget;
}

/** `bytes`: the file's size; undefined for a FIFO or device, read only to one byte past `max`. */
function tooLarge(file: string, bytes: number | undefined, max: number): Finding {
  return fileFinding(
    file,
    'yaml/syntax',
    bytes === undefined
      ? `file is too large (more than the limit of ${max} bytes); split it, or raise the limit`
      : `file is too large (${bytes} bytes; the limit is ${max}); split it, or raise the limit`,
  );
}

function describeError(e: unknown): string {
  if (e instanceof RangeError) return 'nested too deeply';
  return e instanceof Error ? e.message : String(e);
}

// ─── discovery ───────────────────────────────────────────────────────────────────────────────

interface Entry {
  /** Absolute path, or `-` for stdin. */
  abs: string;
  display: string;
  /** Real path (after symlinks), to load each file once; `-` for stdin. */
  real: string;
}

function toDisplay(abs: string, cwd: string): string {
  const rel = path.relative(cwd, abs);
  const p = rel === '' ? '.' : path.isAbsolute(rel) ? abs : rel;
  return path.sep === '/' ? p : p.split(path.sep).join('/');
}

/** `dir` + `name` without `path.join`'s normalising: `dir` is already normal, and a listed name holds no separator. */
function childPath(dir: string, name: string): string {
  return dir.endsWith(path.sep) ? dir + name : dir + path.sep + name;
}

function isInside(child: string, root: string): boolean {
  if (child === root) return true;
  return child.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException | null)?.code ?? 'unknown error';
}

/** Run `fn` over a queue that may grow while it runs, `limit` at a time; the first error wins. */
async function drain<T>(queue: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let head = 0;
  let active = 0;
  let failure: { error: unknown } | null = null;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (failure === null && active < limit && head < queue.length) {
        const item = queue[head++]!;
        active++;
        fn(item).then(
          () => {
            active--;
            pump();
          },
          (error: unknown) => {
            active--;
            failure ??= { error };
            pump();
          },
        );
      }
      if (active === 0 && (failure !== null || head >= queue.length)) resolve();
    };
    pump();
  });
  if (failure !== null) throw (failure as { error: unknown }).error;
}

async function discover(paths: string[], opts: LoadOptions): Promise<Entry[]> {
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const ignoreBase = path.resolve(cwd, opts.ignoreBase ?? cwd);
  const ig = opts.ignore && opts.ignore.length > 0 ? ignore().add(opts.ignore) : null;
  const follow = opts.followSymlinks === true;
  const entries: Entry[] = [];
  /** Real paths of directories already listed: no directory is walked twice, no cycle loops. */
  const seenDirs = new Set<string>();

  const isIgnored = (abs: string, isDir: boolean): boolean => {
    if (ig === null) return false;
    const rel = path.relative(ignoreBase, abs);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return false;
    const posix = path.sep === '/' ? rel : rel.split(path.sep).join('/');
    return ig.ignores(isDir ? posix + '/' : posix);
  };

  interface DirJob {
    abs: string;
    real: string;
    /** Real path of the directory named on the command line this walk started from. */
    root: string;
    /**
     * Display path of the directory (`` for cwd itself): its files' display paths are this +
     * name, without a `path.relative` per file.
     */
    display: string;
    /** Whether the directory lies inside cwd (or is cwd), where its subdirectories' display paths compose too. */
    insideCwd: boolean;
  }
  const inCwd = (abs: string): string | undefined => {
    if (abs === cwd) return '';
    const rel = path.relative(cwd, abs);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? (path.sep === '/' ? rel : rel.split(path.sep).join('/')) : undefined;
  };
  const childDisplay = (job: DirJob, name: string): string => (job.display === '' ? name : `${job.display}/${name}`);
  /**
   * A subdirectory's job. Outside cwd its display path is worked out again: the walk may go down
   * into an ancestor of cwd, where `../..` + name would be wrong. A file's display path always
   * composes (a file is never an ancestor of cwd).
   */
  const dirJob = (abs: string, real: string, root: string, parent?: DirJob, name?: string): DirJob => {
    if (parent !== undefined && parent.insideCwd) return { abs, real, root, display: childDisplay(parent, name!), insideCwd: true };
    const d = inCwd(abs);
    return d !== undefined ? { abs, real, root, display: d, insideCwd: true } : { abs, real, root, display: toDisplay(abs, cwd), insideCwd: false };
  };
  const walk = async (job: DirJob, queue: DirJob[]): Promise<void> => {
    if (seenDirs.has(job.real)) return;
    seenDirs.add(job.real);
    let list: Dirent[];
    try {
      // synchronous: listing a directory is short, and a round trip through libuv's pool per
      // directory costs more than the listing on a repo of many small directories
      list = readdirSync(job.abs, { withFileTypes: true });
    } catch (e) {
      throw new ToolError(`cannot read directory ${toDisplay(job.abs, cwd)}: ${ioReason(e)}`);
    }
    for (const d of list) {
      const name = d.name;
      if (name.startsWith('.') || name === 'node_modules') continue;
      const abs = childPath(job.abs, name);
      let isDir = d.isDirectory();
      let isFile = d.isFile();
      let real = childPath(job.real, name);
      if (d.isSymbolicLink()) {
        try {
          real = await fsp.realpath(abs);
          const st = await fsp.stat(abs);
          isDir = st.isDirectory();
          isFile = st.isFile();
        } catch {
          continue; // dangling link, or a link cycle (ELOOP)
        }
        if (!follow && !isInside(real, job.root)) continue;
      } else if (!isDir && !isFile && !d.isFIFO() && !d.isSocket() && !d.isCharacterDevice() && !d.isBlockDevice()) {
        // file system that does not report entry types
        let st: Stats;
        try {
          st = await fsp.stat(abs);
        } catch {
          continue;
        }
        isDir = st.isDirectory();
        isFile = st.isFile();
      }
      if (isDir) {
        if (!isIgnored(abs, true)) {
          queue.push(dirJob(abs, real, job.root, job, name));
        }
      } else if (isFile && (opts.extensions ?? YAML_EXT).test(name) && !isIgnored(abs, false)) {
        entries.push({ abs, display: childDisplay(job, name), real });
      }
    }
  };

  for (const p of paths) {
    if (p === '-') {
      entries.push({ abs: '-', display: STDIN_NAME, real: '-' });
      continue;
    }
    const abs = path.resolve(cwd, p);
    let st: Stats;
    try {
      st = await fsp.stat(abs);
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') throw new ToolError(`path not found: ${p}`);
      throw new ToolError(`cannot access ${p}: ${ioReason(e)}`);
    }
    let real: string;
    try {
      real = await fsp.realpath(abs);
    } catch (e) {
      throw new ToolError(`cannot access ${p}: ${ioReason(e)}`);
    }
    if (st.isDirectory()) {
      const queue: DirJob[] = [dirJob(abs, real, real)];
      await drain(queue, WALK_CONCURRENCY, (job) => walk(job, queue));
    } else if (!PROJECT_CONFIG_NAMES.has(path.basename(abs)) && (opts.explicit?.(path.basename(abs)) ?? true)) {
      // named explicitly: loaded whatever its extension, hidden or ignored
      entries.push({ abs, display: toDisplay(abs, cwd), real });
    }
  }

  entries.sort((a, b) => (a.display < b.display ? -1 : a.display > b.display ? 1 : 0));
  const seenFiles = new Set<string>();
  return entries.filter((e) => {
    if (seenFiles.has(e.real)) return false;
    seenFiles.add(e.real);
    return true;
  });
}

/**
 * The files `paths` name, as absolute paths (`-` for stdin) in load order: sorted by display
 * path with plain code-unit comparison, each real file once.
 */
export async function discoverFiles(paths: string[], opts: LoadOptions = {}): Promise<string[]> {
  return (await discover(paths, opts)).map((e) => e.abs);
}

// ─── files → documents ───────────────────────────────────────────────────────────────────────

/** The finding for a file (or stdin) whose bytes are not UTF-8: `rule`, at the first bad byte. */
export function notUtf8Finding(file: string, buf: Buffer, rule: string): Finding {
  const at = firstInvalidUtf8(buf);
  return fileFinding(file, rule, 'file is not valid UTF-8; save it as UTF-8', at.line, at.column);
}

/** Where the first invalid UTF-8 sequence is: 1-based line and column. */
function firstInvalidUtf8(buf: Buffer): { line: number; column: number } {
  let i = 0;
  let lineStart = 0;
  let line = 1;
  const n = buf.length;
  while (i < n) {
    const b = buf[i]!;
    if (b === 0x0a) {
      line++;
      i++;
      lineStart = i;
      continue;
    }
    let len = 0;
    let min = 0;
    if (b < 0x80) len = 1;
    else if (b >= 0xc2 && b <= 0xdf) (len = 2), (min = 0x80);
    else if (b >= 0xe0 && b <= 0xef) (len = 3), (min = 0x800);
    else if (b >= 0xf0 && b <= 0xf4) (len = 4), (min = 0x10000);
    let ok = len > 0 && i + len <= n;
    let cp = len === 2 ? b & 0x1f : len === 3 ? b & 0x0f : b & 0x07;
    for (let k = 1; ok && k < len; k++) {
      const c = buf[i + k]!;
      if ((c & 0xc0) !== 0x80) ok = false;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && len > 1 && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (!ok) break;
    i += len;
  }
  const column = buf.subarray(lineStart, i).toString('utf8').length + 1;
  return { line, column };
}

/** Where config files are read first (most are a few KiB): one buffer, copied out at the file's size. */
const READ_SCRATCH = Buffer.allocUnsafe(64 * 1024);

/**
 * The bytes of `fd` from its current offset to its end, but no more than `max` + 1 (enough to tell
 * it is over the limit; a FIFO or a device is not read to its end). No fstat: a regular file
 * small enough for the scratch buffer is an open, two reads and a close.
 */
export function readUpTo(fd: number, max: number): Buffer {
  const limit = max + 1;
  let total = 0;
  // Into the scratch buffer while it holds everything (most files).
  for (;;) {
    const room = Math.min(READ_SCRATCH.length, limit) - total;
    if (room <= 0) break;
    const n = readSync(fd, READ_SCRATCH, total, room, null);
    if (n === 0) return Buffer.from(READ_SCRATCH.subarray(0, total));
    total += n;
  }
  // Larger: chunks of doubling size up to the limit.
  const chunks: Buffer[] = [Buffer.from(READ_SCRATCH.subarray(0, total))];
  let size = READ_SCRATCH.length;
  while (total < limit) {
    size = Math.min(size * 2, 16 * 1024 * 1024);
    const chunk = Buffer.allocUnsafe(Math.min(size, limit - total));
    let got = 0;
    while (got < chunk.length) {
      const n = readSync(fd, chunk, got, chunk.length - got, null);
      if (n === 0) break;
      got += n;
    }
    chunks.push(got === chunk.length ? chunk : chunk.subarray(0, got));
    total += got;
    if (got < chunk.length) break; // end of file
  }
  return Buffer.concat(chunks, total);
}

function loadEntry(e: Entry, opts: LoadOptions): LoadTextResult {
  const maxBytes = opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const empty = (): LoadTextResult => ({
    file: { file: e.display, documents: 0, pviommu: 0 },
    docs: [],
    skipped: 0,
    findings: [],
    suppressions: [],
  });
  if (e.abs === '-') {
    const s = opts.stdinText;
    if (s === undefined) throw new ToolError('`-` (stdin) was given but no stdin text was read');
    if (typeof s === 'string') return loadText(STDIN_NAME, s, opts);
    if (s.length > maxBytes) {
      const r = empty();
      r.findings.push(tooLarge(e.display, s.length, maxBytes));
      return r;
    }
    return loadBytes(e, Buffer.from(s.buffer, s.byteOffset, s.byteLength), opts, empty);
  }
  // Synchronous reads: config files are small and usually in the page cache, where one
  // open/fstat/read/close in a row costs far less than four round trips through libuv's pool
  // (measured: about a third of the load time of a 10,000-file repo on 2 cores).
  let buf: Buffer;
  let fd: number | undefined;
  try {
    fd = openSync(e.abs, 'r');
    buf = readUpTo(fd, maxBytes);
    if (buf.length > maxBytes) {
      // (A regular file's size; a FIFO or a device has none.)
      const st = fstatSync(fd);
      const r = empty();
      r.findings.push(tooLarge(e.display, st.isFile() ? Math.max(st.size, buf.length) : undefined, maxBytes));
      return r;
    }
  } catch (err) {
    throw new ToolError(`cannot read ${e.display}: ${ioReason(err)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return loadBytes(e, buf, opts, empty);
}

/** A config's bytes (of a file or stdin, within the size limit): a finding unless they are UTF-8. */
function loadBytes(e: Entry, buf: Buffer, opts: LoadOptions, empty: () => LoadTextResult): LoadTextResult {
  if (!isUtf8(buf)) {
    const r = empty();
    r.findings.push(notUtf8Finding(e.display, buf, 'yaml/syntax'));
    return r;
  }
  return loadText(e.display, buf.toString('utf8'), opts);
}

/**
 * Discover, read and parse everything `paths` name. Files in discovery order, documents in file
 * order then document order.
 */
export async function loadPaths(paths: string[], opts: LoadOptions = {}): Promise<LoadResult> {
  const entries = await discover(paths, opts);
  const results: LoadTextResult[] = new Array(entries.length);
  const workers = parseWorkers(entries.length, opts);
  if (workers > 0) {
    await loadParallel(entries, results, opts, workers);
  } else {
    const queue = entries.map((entry, i) => ({ entry, i }));
    await drain(queue, READ_CONCURRENCY, async ({ entry, i }) => {
      results[i] = keptOnly(loadEntry(entry, opts), opts.keepDoc);
      opts.onProgress?.(i + 1, entries.length);
    });
  }
  const out: LoadResult = { files: [], docs: [], skipped: 0, findings: [], suppressions: [], dropped: 0 };
  for (const r of results) {
    out.files.push(r.file);
    for (const d of r.docs) out.docs.push(d);
    out.skipped += r.skipped;
    out.dropped += r.dropped ?? 0;
    for (const f of r.findings) out.findings.push(f);
    for (const s of r.suppressions) out.suppressions.push(s);
  }
  return out;
}

/** `r` without the documents `keep` rejects (counted in `dropped`); `r` itself when there is no `keep`. */
function keptOnly(r: LoadTextResult, keep: ((value: unknown) => boolean) | undefined): LoadTextResult {
  if (keep === undefined) return r;
  const docs = r.docs.filter((d) => keep(d.value));
  if (docs.length === r.docs.length) return r;
  const dropped = r.docs.length - docs.length;
  if (r.findings.length === 0) return { ...r, docs, dropped };
  // The findings of reading a document left out go with it (they are another host's).
  const gone = r.docs.filter((d) => !keep(d.value)).map((d) => d.source.locate([]));
  const findings = r.findings.filter((f) => !gone.some((l) => l.file === f.file && f.line >= l.line && f.line <= l.endLine));
  return { ...r, docs, findings, dropped };
}

// ─── parsing on several threads ──────────────────────────────────────────────────────────────
//
// Parsing is independent per file. Asked for `threads` (and from PARALLEL_MIN_FILES files on),
// the main thread and `threads - 1` worker threads (load-worker.ts) take chunks of files from one
// queue (so a thread that hits big files simply takes fewer chunks). A worker sends its
// results back as plain data — the documents' values, findings and suppressions, and for
// positions the file's text plus each document's index, span and root span (a DocSource holds
// nothing else, see yaml/source.ts) — and the main thread puts them at their files' places:
// the outcome is the same as parsing everything in order on one thread, errors included (the
// failure of the first file in load order wins).
//
// Off unless asked for (`threads`): on 2 CPUs a worker never paid — it parses each file slower
// than the warm main thread (its own JIT warm-up, sending the results back), and V8's GC and
// compiler threads of two isolates share the two cores. Since most files take the fast reader
// (yaml/fast.ts), reading a 10,000-domain repo costs ~0.25 s on one thread, and two threads took
// as long or longer (docs/performance-log.md, "Parsing on worker threads").

/** Fewer files than this are parsed on the main thread (a worker costs ~50 ms to start). */
const PARALLEL_MIN_FILES = 512;
/** Files per chunk handed to a thread. */
const CHUNK_FILES = 48;
const MAX_WORKERS = 3;
const WORKER_URL = new URL('./load-worker.js', import.meta.url);

function parseWorkers(files: number, opts: LoadOptions): number {
  const threads = opts.threads ?? 1;
  if (threads < 2 || files < PARALLEL_MIN_FILES) return 0;
  // Only from the compiled package (the worker is a .js file next to this one).
  if (WORKER_URL.protocol !== 'file:' || !existsSync(fileURLToPath(WORKER_URL))) return 0;
  return Math.min(MAX_WORKERS, threads - 1);
}

/** What a worker needs of the load options (plain data). */
export interface WorkerLoadOptions {
  maxFileBytes?: number;
  maxAliases?: number;
}

/** One file's outcome as sent between threads. */
export type WireResult =
  | {
      i: number;
      file: LoadedFile;
      text: string | null;
      docs: { value: unknown; parts: DocParts }[];
      skipped: number;
      findings: Finding[];
      suppressions: Suppression[];
    }
  | { i: number; error: { message: string; tool: boolean; stack?: string } };

/** A chunk of files handed to a worker. */
export interface WireChunk {
  entries: { i: number; abs: string; display: string; real: string }[];
}

/** Parse a chunk (in a worker), results as plain data. */
export function loadChunk(chunk: WireChunk, opts: WorkerLoadOptions): WireResult[] {
  const out: WireResult[] = [];
  for (const e of chunk.entries) {
    let r: LoadTextResult;
    try {
      r = loadEntry(e, opts);
    } catch (err) {
      const tool = err instanceof ToolError;
      const message = err instanceof Error ? err.message : String(err);
      out.push({ i: e.i, error: { message, tool, ...(err instanceof Error && err.stack ? { stack: err.stack } : {}) } });
      continue;
    }
    const first = r.docs[0]?.source as YamlDocSource | undefined;
    out.push({
      i: e.i,
      file: r.file,
      text: first ? first.fileText.text : null,
      docs: r.docs.map((d) => ({ value: d.value, parts: (d.source as YamlDocSource).toParts() })),
      skipped: r.skipped,
      findings: r.findings,
      suppressions: r.suppressions,
    });
  }
  return out;
}

function fromWire(w: Exclude<WireResult, { error: unknown }>): LoadTextResult {
  const fileText = w.text === null ? null : new YamlFileText(w.text);
  return {
    file: w.file,
    docs: w.docs.map((d) => ({ value: d.value, source: YamlDocSource.fromParts(w.file.file, fileText!, d.parts) })),
    skipped: w.skipped,
    findings: w.findings,
    suppressions: w.suppressions,
  };
}

async function loadParallel(entries: Entry[], results: LoadTextResult[], opts: LoadOptions, nWorkers: number): Promise<void> {
  const n = entries.length;
  let head = 0;
  let done = 0;
  const failures: { i: number; error: unknown }[] = [];
  const take = (): number | null => {
    if (head >= n) return null;
    const s = head;
    head = Math.min(n, head + CHUNK_FILES);
    return s;
  };
  /** Run [s, s + CHUNK) on this thread (also what happens to a chunk whose worker died). */
  const runHere = (s: number, end = Math.min(n, s + CHUNK_FILES)): void => {
    for (let i = s; i < end; i++) {
      if (results[i] !== undefined) continue;
      try {
        results[i] = keptOnly(loadEntry(entries[i]!, opts), opts.keepDoc);
      } catch (error) {
        failures.push({ i, error });
      }
      done++;
    }
    opts.onProgress?.(done, n);
  };
  const wireOpts: WorkerLoadOptions = {};
  if (opts.maxFileBytes !== undefined) wireOpts.maxFileBytes = opts.maxFileBytes;
  if (opts.maxAliases !== undefined) wireOpts.maxAliases = opts.maxAliases;
  const orphaned: number[] = [];

  const runWorker = (): Promise<void> =>
    new Promise<void>((resolve) => {
      let current: number | null = null;
      let finished = false;
      const w = new Worker(WORKER_URL, { workerData: { opts: wireOpts } });
      const give = (): void => {
        current = take();
        if (current === null) {
          finished = true;
          void w.terminate();
          return;
        }
        const end = Math.min(n, current + CHUNK_FILES);
        const chunk: WireChunk = { entries: [] };
        for (let i = current; i < end; i++) {
          const e = entries[i]!;
          // stdin has no file: that one is read here
          if (e.abs !== '-') chunk.entries.push({ i, abs: e.abs, display: e.display, real: e.real });
        }
        w.postMessage(chunk);
      };
      w.on('message', (batch: WireResult[]) => {
        for (const r of batch) {
          if ('error' in r) {
            const err = r.error.tool ? new ToolError(r.error.message) : Object.assign(new Error(r.error.message), r.error.stack ? { stack: r.error.stack } : {});
            failures.push({ i: r.i, error: err });
          } else {
            results[r.i] = keptOnly(fromWire(r), opts.keepDoc);
          }
          done++;
        }
        if (current !== null) {
          // entries of the chunk the worker skipped (stdin) are done here
          const end = Math.min(n, current + CHUNK_FILES);
          for (let i = current; i < end; i++) if (results[i] === undefined && entries[i]!.abs === '-') runHere(i, i + 1);
        }
        opts.onProgress?.(done, n);
        give();
      });
      const lost = (): void => {
        if (finished) return;
        finished = true;
        if (current !== null) orphaned.push(current);
        resolve();
      };
      w.on('error', lost);
      w.on('exit', () => {
        lost();
        resolve();
      });
      give();
    });

  const running: Promise<void>[] = [];
  for (let k = 0; k < nWorkers; k++) running.push(runWorker());
  // The main thread takes chunks too; between two it lets the workers' messages in.
  for (let s = take(); s !== null; s = take()) {
    runHere(s);
    await new Promise<void>((r) => setImmediate(r));
  }
  await Promise.all(running);
  for (const s of orphaned) runHere(s);
  if (failures.length) {
    failures.sort((a, b) => a.i - b.i);
    throw failures[0]!.error;
  }
}
