/**
 * A fast path for the plain YAML that config repos are made of.
 *
 * yaml's Lexer → Parser → Composer pipeline (parse.ts) reads ~2 MB/s and is most of the time of
 * `check` on a large repo. Almost every real config file uses a small, regular part of YAML:
 * block mappings and sequences, one scalar per line, comments, a few single-line flow
 * collections. `parseFast` reads exactly that part, line by line, and gives for each document
 * what the slow path gives for a clean one: the JS value (as `doc.toJS()` under COMPOSE_OPTIONS:
 * YAML 1.2 core schema, integers as BigInt), the document's range, the span of its root (what
 * `YamlDocSource` points at for `locate([])`) and whether it is a pviommu/v1 document.
 *
 * Accepted (anything else declines):
 * - documents separated by `---` lines (a leading one too; only blanks or a comment after it);
 * - a `...` line (blanks or a comment after it) ending a document's content; the next document
 *   starts with `---` or with its first content line;
 * - one `%YAML 1.1` or `%YAML 1.2` directive (a comment after it) before the `---` of a document
 *   at the start of the text or after a `...` (the yaml pipeline reads either as 1.2, no finding);
 * - a root that is a block mapping or sequence at column 0, or a flow collection (JSON);
 * - block mappings whose keys are single-line plain or quoted scalars, block sequences (`- item`,
 *   `- key: v` compact mappings, `- - x`, a sequence at the indentation of its parent key);
 * - single-line plain, 'single-quoted' and "double-quoted" scalars (the escapes of YAML 1.2);
 * - as a value in a block collection, the same scalars over several lines (folded as YAML 1.2
 *   does: PyYAML writes long strings so), their lines after the first indented more than the
 *   collection: plain ones whose lines start with no indicator and hold no `: ` or ` #`, and
 *   quoted ones, double-quoted with escaped line breaks (`\` at the end of a line) too;
 * - block scalars as values in a block collection: `|` and `>`, with a `-` or `+` chomping
 *   indicator or none, and a comment after the header;
 * - flow sequences and mappings, nested (`[a, "b"]`, `{ start: 0x1, pages: 2 }`, `[]`, `{}`),
 *   without trailing commas, empty values, or `:` or `#` inside plain scalars; over several
 *   lines only where the lines break after `[`, `{` or `,` or before `,`, `]` or `}`, indented
 *   more than the block collection they are in;
 * - anchors and aliases as values in a block collection, as PyYAML writes them (`&id001` on the
 *   first use of a shared object, `*id001` on the others) and configs do: `key: &a value` and
 *   `- &a value` (a single-line plain or quoted scalar or flow collection), `key: &a` or `- &a`
 *   followed by a block collection on the next lines (more indented, or a sequence at the key's
 *   indentation), `key: *a` and `- *a`, a comment after each; names of [A-Za-z0-9_-]. An alias
 *   gives its anchor's value — a collection's very object, as yaml's toJS does — anchors are per
 *   document and a later one replaces an earlier one. The anchored scalar's ambiguity warning is
 *   reported once, where it is written (yaml's walk does not follow aliases); `<<` is a plain key
 *   (COMPOSE_OPTIONS: `merge: false`). An alias counts as a value, and as the values of its node
 *   towards MAX_VALUES (yaml's loader refuses documents that aliases expand too far);
 * - comment lines and ` # comments` after a value, blank lines, LF or CRLF line ends; tabs in
 *   comments. The comments that may be suppressions (`# pviommu-…`) are handed to the caller, who
 *   reads them with the pipeline's `parseSuppressions` (their findings are the pipeline's too).
 * Declined, among others: tabs outside comments, other control characters anywhere, other
 * directives (`%TAG`, other versions, two of them, one without a `---` after it or inside a
 * document), `...` with no document content before it or text after it, tags, anchors and
 * aliases in flow collections, on or as keys (`&a key: v`, `- &a key: v`), on the root, before a
 * block or multi-line scalar, an alias or another anchor or on nothing (an anchored null), other
 * anchor names, an alias to an anchor not defined before it, an alias inside an anchored
 * collection (cyclic, or nested expansion that yaml's alias limit
 * counts otherwise), an anchor used by more aliases than MAX_ALIAS_USES or the caller's limit
 * (`parseFast`), an alias as the root's `apiVersion` (yaml's loader reads no pviommu document
 * there), explicit keys (`?`), multi-line keys, multi-line scalars
 * in flow collections or with a comment line inside or after their first line, a blank line
 * after an escaped line break, block scalars with an indentation indicator (`|2`), empty ones,
 * ones with a blank line holding more blanks than their content's indentation, folded ones with
 * more-indented lines, content on a `---` line, an indented root, a scalar root, integer
 * literals longer than MAX_INT_LITERAL, more than MAX_VALUES values, nesting deeper than
 * MAX_DEPTH, comments after a document's last value when it is empty (`key:`) or a keep block
 * scalar that takes in blank lines, an `apiVersion` of another pviommu version (a finding),
 * a `#` followed by blanks and `pviommu-` that is not the start of a comment read here (inside a
 * scalar or a longer comment: no suppression either way), and, unless the caller collects them
 * (`parseFast`'s `comments`), files that may hold suppression comments at all, and pviommu/v1
 * documents with a duplicate key or a key that is not a string (or is `__proto__`), each a
 * finding. A plain scalar that a YAML 1.1 reader reads differently is the one finding read
 * here: its `yaml/ambiguous-scalar` warning is returned with the document (`ambiguous`), as the
 * slow path's walk reports it (a multi-line one never is: it holds a space or a line break).
 * Other documents are not checked for any of this by the slow path either: they are only
 * counted as skipped, so they are accepted (their value is not used).
 *
 * Why declining is safe: `undefined` sends the whole file down the slow path, which is what ran
 * before this existed. What must hold is the other direction — whenever this returns a result,
 * it is the slow path's result: the same documents, positions and findings. The rules above are therefore
 * conservative (when in doubt, decline), and test/config/fast-yaml.test.ts and
 * test/fuzz/fast-yaml.fuzz.test.ts compare both paths on real, generated, hand-written and
 * mutated files.
 */
import { ambiguityMessage } from './ambiguous.js';
import { MAX_INT_LITERAL, MAX_VALUES } from './parse.js';
import { mayHaveDirectives, type CommentToken } from './suppressions.js';

/** One document, as the fast path read it. */
export interface FastDoc {
  /** `doc.toJS()` for a `v1` document; for others, only what tells their `apiVersion`. */
  value: unknown;
  /** `v1`: declares `apiVersion: pviommu/v1`; `none`: not a pviommu document. */
  api: 'v1' | 'none';
  /** As the slow path's `doc.range[0..1]` (set for `v1` documents only). */
  docRange: [number, number];
  /** The root's span, 1-based, trailing blanks trimmed (set for `v1` documents only). */
  root: { line: number; column: number; endLine: number; endColumn: number };
  /**
   * `yaml/ambiguous-scalar` warnings of a `v1` document (plain scalars a YAML 1.1 reader reads
   * differently), in document order: the message and the scalar's span.
   */
  ambiguous: { message: string; line: number; column: number; endLine: number; endColumn: number }[];
}

/** Deepest nesting of collections read here (pviommu documents nest fewer than 10 levels). */
export const MAX_DEPTH = 64;
/** Longest key (yaml requires the `:` of an implicit key within 1024 characters). */
const MAX_KEY = 1000;

const DECLINE: unique symbol = Symbol('decline');

/** The one directive read here: `%YAML 1.1` or `%YAML 1.2`, then blanks or a comment (group 1). */
const YAML_DIRECTIVE = /^%YAML +1\.[12](?: *$| +(#.*)$)/;

/** Why the last text was declined (for tests and for looking into a repo that declines). */
let declined = '';

function decline(why: string): never {
  declined = why;
  throw DECLINE;
}

/** Why the last call of `parseFast` that returned undefined declined. */
export function lastDecline(): string {
  return declined;
}

const SP = 32;
const TAB = 9;
const CR = 13;
const HASH = 35;
const DASH = 45;
const DOT = 46;
const COLON = 58;
const SQ = 39;
const DQ = 34;
const BSL = 92;
const PCT = 37;
const COMMA = 44;
const PLUS = 43;
const GT = 62;
const PIPE = 124;
const LBRACK = 91;
const RBRACK = 93;
const LBRACE = 123;
const RBRACE = 125;
const AMP = 38;
const STAR = 42;
const BANG = 33;

/**
 * Most aliases of one anchor taken by default. yaml's toJS refuses a document where an anchor
 * is used more than `maxAliasCount` allows (load.ts: `limits.max_aliases`, 1000 by default, at
 * least 1); more uses than the caller's limit, or than this, decline.
 */
export const MAX_ALIAS_USES = 50;

/** An anchor name read here (yaml takes more: any characters but blanks and flow indicators). */
function isAnchorChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === DASH;
}

/** An anchor of the current document: its node's JS value, its uses, and how many values it holds. */
interface Anchor {
  value: unknown;
  uses: number;
  size: number;
  /** Its place among the document's anchors, in document order (FastParser.anchorsSeen). */
  seq: number;
}

/**
 * Characters declined anywhere in the text: controls but the tab, BOMs, Unicode line breaks, lone
 * CRs. (Tabs are declined everywhere but in comments: see `comment`.)
 */
const FORBIDDEN = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|\r(?!\n)/;

/** ASCII characters a plain scalar may not start with here (YAML indicators). */
const BAD_START = new Uint8Array(128);
for (const c of '-?:,[]{}#&*!|>\'"%@`') BAD_START[c.charCodeAt(0)] = 1;

function badStart(c: number): boolean {
  return c < 128 && BAD_START[c] === 1;
}

function isFlowIndicator(c: number): boolean {
  return c === COMMA || c === LBRACK || c === RBRACK || c === LBRACE || c === RBRACE;
}

// The core schema's scalar tests (yaml/dist/schema/core), in its order.
const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** The value of a plain scalar under the core schema, integers as BigInt (as COMPOSE_OPTIONS). */
function resolvePlain(s: string): unknown {
  const c = s.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 43 || c === DASH || c === DOT) {
    if (INT.test(s) || INT_HEX.test(s) || INT_OCT.test(s)) {
      if (s.length > MAX_INT_LITERAL) decline('integer literal too long');
      return BigInt(s);
    }
    if (FLOAT_NAN.test(s)) {
      return s.slice(-3).toLowerCase() === 'nan' ? NaN : c === DASH ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    if (FLOAT_EXP.test(s) || FLOAT.test(s)) return parseFloat(s);
    return s;
  }
  if (c === 126 /* ~ */ || c === 110 /* n */ || c === 78 /* N */) return NULL.test(s) ? null : s;
  if (c === 116 /* t */ || c === 84 /* T */ || c === 102 /* f */ || c === 70 /* F */) {
    return BOOL.test(s) ? c === 116 || c === 84 : s;
  }
  return s;
}

/** Double-quoted escapes (yaml's table, without the tab, which is declined anyway). */
const ESCAPES: Record<string, string> = {
  '0': '\0',
  a: '\x07',
  b: '\b',
  e: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  N: '\u0085',
  _: '\u00a0',
  L: '\u2028',
  P: '\u2029',
  ' ': ' ',
  '"': '"',
  '/': '/',
  '\\': '\\',
};
const HEX = /^[0-9a-fA-F]+$/;

const hasOwn = Object.prototype.hasOwnProperty;

const enum Kind {
  Content,
  DocStart,
  /** A `...` line after a document's content. */
  DocEnd,
  End,
}

class FastParser {
  private readonly n: number;
  // the current line (a content line, a `---` line, or the end of the text)
  private kind = Kind.End;
  private ls = 0;
  private le = 0;
  private nextLs = 0;
  private ind = 0;
  private cs = 0;
  private lineNo = 0;
  // the last content line left
  private lastLs = 0;
  private lastLe = 0;
  private lastNext = 0;
  private lastLine = 0;
  /** The last content line ended in an empty value (`key:`, `-`), and whether a comment followed it. */
  private emptyValue = false;
  /** That empty value is a sequence item's (`-`), not a key's. */
  private emptyItem = false;
  private lineComment = false;
  /** Comment lines came right before the current content line. */
  private commentsBefore = false;
  /**
   * Set when the last value is a keep (`|+`, `>+`) block scalar with blank lines after its last
   * line: they are part of it, and it ends here (after them), not where its last line does.
   */
  private keepEnd = 0;
  /** The last value is a block scalar: comment lines after it do not extend it (endDoc). */
  private blockValue = false;
  /** Comment lines since the last content line: their indentation and the offset after each. */
  private tcN = 0;
  private readonly tcInd: number[] = [];
  private readonly tcNext: number[] = [];
  /** Indentation of the block collections open on the current line, outermost first. */
  private readonly open: number[] = [];
  /** Set when a document's last line has been left: where its root ends (yaml's `range[1]`). */
  private rootEnd = 0;
  /**
   * The document has an ambiguous scalar, a duplicate key or a key that is not a string: findings
   * if it is a pviommu document (declined then); nothing for another document, which is not checked.
   */
  private issue = false;
  /** The current document's ambiguous plain scalars, in document order. */
  private ambiguous: FastDoc['ambiguous'] = [];
  private values = 0;
  /** Set by the scalar and flow readers: the offset after what they read. */
  private pos = 0;
  /** Set by keyAt: the key read (null: a key that is not a string, which the document does not keep). */
  private key: string | null = '';
  /** Set by lineEnd: the offset after the line break of the line it looked at. */
  private after = 0;
  /** A document has begun (a `---` or content) and not been ended by `...`. */
  private docOpen = false;
  /** `%YAML` directives read since the last document (the next line must be a `---`). */
  private directives = 0;
  /**
   * Offsets of the text's tabs, and how many of them (in text order) have been found inside a
   * comment. A tab anywhere else (indentation, a scalar, before a comment) declines, at the latest
   * when the text has been read.
   */
  private readonly tabs: number[] = [];
  private tabsSeen = 0;
  /** The current document's anchors by name (a later one replaces an earlier one). */
  private anchors: Map<string, Anchor> | null = null;
  /** Anchored collections being read: an alias inside one declines (nested or cyclic aliases). */
  private anchoring = 0;
  /** Anchors met in the document so far. */
  private anchorsSeen = 0;
  /** Values the aliases of the text stand for (each use counts its node's values). */
  private expanded = 0;

  /** With `collectComments`: the offset of every comment's `#`, in text order. */
  readonly commentStarts: number[] | null;

  constructor(
    private readonly t: string,
    private readonly maxAliasUses: number,
    collectComments = false,
  ) {
    this.commentStarts = collectComments ? [] : null;
    this.n = t.length;
    for (let i = t.indexOf('\t'); i >= 0; i = t.indexOf('\t', i + 1)) this.tabs.push(i);
  }

  parse(): FastDoc[] {
    const docs: FastDoc[] = [];
    this.advance();
    while (this.kind !== Kind.End) {
      const start = this.ls;
      if (this.kind === Kind.DocEnd) {
        // `...` ends the document: another may follow, with or without `---`
        this.advance();
        continue;
      }
      if (this.kind === Kind.DocStart) {
        this.advance();
        if ((this.kind as Kind) === Kind.DocEnd) decline('empty document ended by ...');
        if ((this.kind as Kind) !== Kind.Content) {
          docs.push({ value: null, api: 'none', docRange: [0, 0], root: { line: 0, column: 0, endLine: 0, endColumn: 0 }, ambiguous: [] });
          continue;
        }
      }
      if (this.ind !== 0) decline('indented root');
      const rootLine = this.lineNo;
      this.issue = false;
      this.ambiguous = [];
      this.anchors = null;
      this.anchorsSeen = 0;
      let value: unknown;
      let root: FastDoc['root'];
      const c = this.t.charCodeAt(this.cs);
      if (c === LBRACK || c === LBRACE) {
        // a flow collection as the root: its span ends at its closing bracket, the document after
        // the rest of that line (blanks, a comment, the line break)
        value = this.flow(this.cs, 0);
        const e = this.pos;
        const i = this.skipSp(e);
        if (i < this.le) {
          if (i === e || this.t.charCodeAt(i) !== HASH) decline('text after a flow root');
          this.comment(i, this.le);
        }
        root = { line: rootLine, column: 1, endLine: this.lineNo, endColumn: e - this.ls + 1 };
        this.rootEnd = this.nextLs;
        this.advance();
      } else {
        value = this.blockNode(0);
        root = { line: rootLine, column: 1, ...this.endOf(this.rootEnd) };
      }
      if (this.kind === Kind.Content) decline('unparsed content after the root');
      let api: FastDoc['api'] = 'none';
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const v = (value as Record<string, unknown>)['apiVersion'];
        if (typeof v === 'string') {
          if (v === 'pviommu/v1') api = 'v1';
          else if (/^pviommu(\/|$)/i.test(v)) decline('another pviommu apiVersion');
        }
      }
      if (api === 'v1' && this.issue) decline('finding in a pviommu document');
      docs.push({
        value,
        api,
        docRange: [start, this.rootEnd],
        root,
        ambiguous: api === 'v1' ? this.ambiguous : [],
      });
    }
    if (this.tabsSeen < this.tabs.length) decline('tab outside a comment');
    return docs;
  }

  /**
   * A comment from `h` (its `#`) to `le`, the end of its line: the tabs in it are harmless. The
   * parser meets comments in text order, so a tab before this one that no comment took is not in
   * a comment.
   */
  private comment(h: number, le: number): void {
    if (this.commentStarts !== null) this.commentStarts.push(h);
    const tabs = this.tabs;
    while (this.tabsSeen < tabs.length && tabs[this.tabsSeen]! < le) {
      if (tabs[this.tabsSeen]! < h) decline('tab outside a comment');
      this.tabsSeen++;
    }
  }

  /** Move to the next content line, `---` line, or the end, skipping blank and comment lines. */
  private advance(): void {
    const t = this.t;
    const n = this.n;
    if (this.kind === Kind.Content) {
      this.lastLs = this.ls;
      this.lastLe = this.le;
      this.lastNext = this.nextLs;
      this.lastLine = this.lineNo;
    }
    if (this.values > MAX_VALUES) decline('too many values');
    let p = this.nextLs;
    let lineNo = this.lineNo;
    for (;;) {
      if (p >= n) {
        if (this.directives > 0) decline('directive without ---');
        this.kind = Kind.End;
        this.lineNo = lineNo;
        this.endDoc(n);
        return;
      }
      lineNo++;
      const nl = t.indexOf('\n', p);
      const next = nl < 0 ? n : nl + 1;
      let le = nl < 0 ? n : nl;
      if (le > p && t.charCodeAt(le - 1) === CR) le--;
      let i = p;
      while (i < le && t.charCodeAt(i) === SP) i++;
      if (i === le) {
        p = next;
        continue;
      }
      const c = t.charCodeAt(i);
      if (c === HASH) {
        this.comment(i, le);
        this.tcInd[this.tcN] = i - p;
        this.tcNext[this.tcN] = next;
        this.tcN++;
        p = next;
        continue;
      }
      this.ls = p;
      this.le = le;
      this.nextLs = next;
      this.ind = i - p;
      this.cs = i;
      this.lineNo = lineNo;
      if (i === p) {
        if (
          (c === DASH || c === DOT) &&
          le - p >= 3 &&
          t.charCodeAt(p + 1) === c &&
          t.charCodeAt(p + 2) === c &&
          (le === p + 3 || t.charCodeAt(p + 3) === SP)
        ) {
          // (`...` ends a document's content; with no document open it is left to the yaml pipeline)
          if (c === DOT && (!this.docOpen || this.kind === Kind.DocStart)) decline('document end marker without a document');
          let j = p + 3;
          while (j < le && t.charCodeAt(j) === SP) j++;
          if (j < le) {
            if (t.charCodeAt(j) !== HASH) decline(c === DOT ? 'content on a ... line' : 'content on a --- line');
            this.comment(j, le);
          }
          this.kind = c === DOT ? Kind.DocEnd : Kind.DocStart;
          this.docOpen = c === DASH;
          this.directives = 0;
          this.endDoc(p);
          this.tcN = 0;
          return;
        }
        if (c === PCT) {
          // `%YAML 1.1` or `%YAML 1.2` (which the yaml pipeline reads as 1.2, without a finding), once,
          // before the `---` of a document; any other directive, or one inside a document, declines.
          if (this.docOpen || this.directives > 0) decline('directive');
          const m = YAML_DIRECTIVE.exec(t.slice(p, le));
          if (m === null) decline('directive');
          if (m[1] !== undefined) this.comment(p + m.index + m[0].length - m[1].length, le);
          this.directives++;
          p = next;
          continue;
        }
      }
      if (this.directives > 0) decline('directive without ---');
      this.kind = Kind.Content;
      this.docOpen = true;
      this.commentsBefore = this.tcN > 0;
      this.tcN = 0;
      return;
    }
  }

  /**
   * The end of the document's root (yaml's `root.range[1]`), when the text after the document's
   * last content line up to `trailEnd` (a `---` line or the end) holds only blanks and comments.
   * Comments there may belong to the root in yaml's parser:
   * - after a value (scalar but a block scalar, or flow collection), a comment line indented more
   *   than the innermost collection, with only blank lines before it, extends that value;
   * - the other comment lines form a trailing item of the innermost collection that moves out to
   *   its parent when all of its comments are indented less than the collection, or when the
   *   collection is at column 0; if it stays in a collection other than the root, the root ends
   *   where the document's text does.
   * After an empty value (`key:`, `-`) comments are part of the empty node, with rules of their
   * own: declined. So are comments after a keep block scalar that takes in blank lines after its
   * last line (it ends after them).
   */
  private endDoc(trailEnd: number): void {
    const open = this.open;
    if (open.length === 0) return; // not inside a document
    if (this.keepEnd > 0) {
      if (this.tcN > 0) decline('comment after a last keep block scalar');
      this.rootEnd = this.keepEnd;
      return;
    }
    if (this.emptyValue) {
      if (this.lineComment || this.tcN > 0) decline('comment after a last empty value');
      // (yaml takes comment lines right before a last empty `-` into its node, which then ends
      // where the text does, or not, by rules of its own)
      if (this.emptyItem && this.commentsBefore) decline('comment line before a last empty item');
      this.rootEnd = this.lastLe;
      return;
    }
    let end = this.lastNext;
    let k = 0;
    const inner = open[open.length - 1]!;
    if (!this.blockValue) while (k < this.tcN && this.tcInd[k]! > inner) end = this.tcNext[k++]!;
    if (k < this.tcN) {
      let most = 0;
      for (let j = k; j < this.tcN; j++) most = Math.max(most, this.tcInd[j]!);
      for (const indent of open) {
        if (indent > 0 && most >= indent) {
          end = trailEnd;
          break;
        }
      }
    }
    this.rootEnd = end;
  }

  /** Line and column (1-based) of `end` with the blanks before it trimmed, as spanOf does. */
  private endOf(end: number): { endLine: number; endColumn: number } {
    const t = this.t;
    let e = end;
    while (e > this.lastLs) {
      const c = t.charCodeAt(e - 1);
      if (c !== SP && c !== TAB && c !== 10 && c !== CR) break;
      e--;
    }
    let line = this.lastLine;
    let ls = this.lastLs;
    for (let i = t.indexOf('\n', ls); i >= 0 && i < e; i = t.indexOf('\n', i + 1)) {
      line++;
      ls = i + 1;
    }
    return { endLine: line, endColumn: e - ls + 1 };
  }

  private skipSp(i: number): number {
    const t = this.t;
    const le = this.le;
    while (i < le && t.charCodeAt(i) === SP) i++;
    return i;
  }

  /** `-` followed by a blank or the end of the line: a block sequence entry. */
  private isDash(p: number): boolean {
    return this.t.charCodeAt(p) === DASH && (p + 1 === this.le || this.t.charCodeAt(p + 1) === SP);
  }

  /** A block mapping or sequence starting on the current line (its indentation is `this.ind`). */
  private blockNode(depth: number): unknown {
    const cs = this.cs;
    if (this.isDash(cs)) return this.blockSeq(this.ind, cs, depth);
    const after = this.keyAt(cs);
    if (after < 0) decline('root is not a collection');
    return this.blockMap(this.ind, after, depth);
  }

  /**
   * A block mapping at `indent` whose first key was just read by keyAt (`this.key`; `after` is
   * the offset after its `:`), on the current line.
   */
  private blockMap(indent: number, after: number, depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) decline('too deep');
    this.values++;
    this.open.push(indent);
    const obj: Record<string, unknown> = {};
    for (;;) {
      let key = this.key;
      // yaml/duplicate-key: the first pair is kept (as the slow path does)
      if (key !== null && hasOwn.call(obj, key)) {
        this.issue = true;
        key = null;
      }
      let q = this.skipSp(after);
      let value: unknown;
      const c = this.t.charCodeAt(q);
      if (c === STAR && q < this.le) {
        value = this.alias(q);
        // (the value of `apiVersion` tells a pviommu document: yaml's loader reads no alias there)
        if (depth === 0 && key === 'apiVersion') decline('alias as the apiVersion');
        this.advance();
        if (this.kind === Kind.Content && this.ind > indent) decline('more-indented line after a value');
      } else {
        const anchor = c === AMP && q < this.le ? this.anchorName(q) : null;
        const v0 = this.values;
        const seq = this.anchorsSeen++;
        if (anchor !== null) q = this.pos;
        if (q === this.le || this.t.charCodeAt(q) === HASH) {
          this.emptyLine(q, false);
          if (anchor !== null) this.anchoring++;
          if (this.kind === Kind.Content && this.ind > indent) value = this.blockNode(depth + 1);
          else if (this.kind === Kind.Content && this.ind === indent && this.isDash(this.cs)) {
            value = this.blockSeq(indent, this.cs, depth + 1);
          } else if (anchor !== null) decline('anchored empty value');
          else value = null;
          if (anchor !== null) this.anchoring--;
        } else {
          value = anchor !== null ? this.anchoredInline(q, depth + 1) : this.inline(q, depth + 1);
          this.advance();
          if (this.kind === Kind.Content && this.ind > indent) decline('more-indented line after a value');
        }
        if (anchor !== null) this.setAnchor(anchor, value, this.values - v0, seq);
      }
      if (key !== null) obj[key] = value;
      if (this.kind !== Kind.Content || this.ind < indent) {
        this.open.pop();
        return obj;
      }
      if (this.ind > indent) decline('bad indentation');
      if (this.isDash(this.cs)) decline('sequence entry in a mapping');
      after = this.keyAt(this.cs);
      if (after < 0) decline('line is not a key');
    }
  }

  /**
   * A block sequence at `indent` whose first `-` is at `p` on the current line (the line's start,
   * or after the `- ` of an enclosing sequence: `- - x`).
   */
  private blockSeq(indent: number, p: number, depth: number): unknown[] {
    if (depth > MAX_DEPTH) decline('too deep');
    const t = this.t;
    this.values++;
    this.open.push(indent);
    const arr: unknown[] = [];
    for (;;) {
      this.values++;
      let q = this.skipSp(p + 1);
      let item: unknown;
      const c0 = q < this.le ? t.charCodeAt(q) : -1;
      const anchor = c0 === AMP ? this.anchorName(q) : null;
      const v0 = this.values;
      const seq = this.anchorsSeen++;
      if (anchor !== null) q = this.pos;
      if (c0 === STAR) {
        item = this.alias(q);
        this.advance();
        if (this.kind === Kind.Content && this.ind > indent) decline('more-indented line after a value');
      } else if (q === this.le || t.charCodeAt(q) === HASH) {
        this.emptyLine(q, true);
        if (anchor !== null) {
          if (this.kind !== Kind.Content || this.ind <= indent) decline('anchored empty value');
          this.anchoring++;
          item = this.blockNode(depth + 1);
          this.anchoring--;
        } else item = this.kind === Kind.Content && this.ind > indent ? this.blockNode(depth + 1) : null;
      } else if (anchor !== null) {
        // (`- &a key: v` anchors the key, not a mapping: anchoredInline declines it)
        item = this.anchoredInline(q, depth + 1);
        this.advance();
        if (this.kind === Kind.Content && this.ind > indent) decline('more-indented line after a value');
      } else {
        const c = t.charCodeAt(q);
        const after = c === LBRACK || c === LBRACE || (c === DASH && this.isDash(q)) ? -1 : this.keyAt(q);
        if (c === DASH && this.isDash(q)) {
          item = this.blockSeq(q - this.ls, q, depth + 1); // `- - x`
        } else if (after >= 0) {
          item = this.blockMap(q - this.ls, after, depth + 1);
        } else {
          item = this.inline(q, depth + 1);
          this.advance();
          if (this.kind === Kind.Content && this.ind > indent) decline('more-indented line after a value');
        }
      }
      if (anchor !== null) this.setAnchor(anchor, item, this.values - v0, seq);
      arr.push(item);
      if (this.kind !== Kind.Content || this.ind < indent || (this.ind === indent && !this.isDash(this.cs))) {
        this.open.pop();
        return arr;
      }
      if (this.ind > indent) decline('bad indentation');
      p = this.cs;
    }
  }

  /**
   * Whether the current line holds an implicit key at `p`: if so, reads it into `this.key` and
   * returns the offset after its `:`, else -1. Declines keys outside the subset.
   */
  private keyAt(p: number): number {
    const t = this.t;
    const le = this.le;
    const c = t.charCodeAt(p);
    if (c === DQ || c === SQ) {
      if (!this.closesOnLine(p)) return -1; // (a value over lines: `- "a…`)
      const v = c === DQ ? this.doubleQuoted(p, false) : this.singleQuoted(p, false);
      const e = this.pos;
      if (e < le && t.charCodeAt(e) === COLON && (e + 1 === le || t.charCodeAt(e + 1) === SP)) {
        if (e - p > MAX_KEY) decline('long key');
        this.values++;
        this.key = this.stringKey(v);
        return e + 1;
      }
      return -1;
    }
    for (let i = p; i < le; i++) {
      const ch = t.charCodeAt(i);
      if (ch === COLON) {
        if (i + 1 === le || t.charCodeAt(i + 1) === SP) {
          let end = i;
          while (end > p && t.charCodeAt(end - 1) === SP) end--;
          if (i - p > MAX_KEY) decline('long key');
          this.key = this.plainKey(t.slice(p, end), p);
          return i + 1;
        }
      } else if (ch === SP && t.charCodeAt(i + 1) === HASH) {
        return -1;
      }
    }
    return -1;
  }

  /** Whether the quoted scalar at `p` closes on the current line. */
  private closesOnLine(p: number): boolean {
    const t = this.t;
    const quote = t.charCodeAt(p);
    for (let i = p + 1; i < this.le; i++) {
      const ch = t.charCodeAt(i);
      if (ch === BSL && quote === DQ) i++;
      else if (ch === quote) {
        if (quote === DQ || t.charCodeAt(i + 1) !== SQ) return true;
        i++;
      }
    }
    return false;
  }

  /** A plain scalar used as a key: null (an issue) unless it is a string. */
  private plainKey(src: string, start: number): string | null {
    const c = src.charCodeAt(0);
    // `-x` starts a plain scalar (the `- ` of an entry never reaches here)
    if (src.length === 0 || (badStart(c) && !(c === DASH && src.length > 1 && src.charCodeAt(1) !== SP))) {
      decline('plain key start');
    }
    return this.stringKey(this.plain(src, start));
  }

  /** A key's value as a property name; null (an issue) for keys that are not strings, and `__proto__`. */
  private stringKey(v: unknown): string | null {
    if (typeof v === 'string' && v !== '__proto__') return v;
    this.issue = true;
    return null;
  }

  /**
   * The value of a plain scalar at `start` on the current line (also counts it, and notes the
   * `yaml/ambiguous-scalar` warning of an ambiguous one, as the yaml path's walk would).
   */
  private plain(src: string, start: number): unknown {
    this.values++;
    const v = resolvePlain(src);
    const message = ambiguityMessage(src, v);
    if (message !== null) {
      const column = start - this.ls + 1;
      this.ambiguous.push({ message, line: this.lineNo, column, endLine: this.lineNo, endColumn: column + src.length });
    }
    return v;
  }

  /**
   * A value in block context at `q` (a comment may follow it). It ends the current line, or is a
   * scalar that goes on over more lines (then the current line is its last one): a plain or
   * quoted scalar whose next lines are indented more than the block collection it is in, or a
   * block scalar.
   */
  private inline(q: number, depth: number): unknown {
    const t = this.t;
    const c = t.charCodeAt(q);
    this.emptyValue = false;
    this.keepEnd = 0;
    this.blockValue = false;
    let v: unknown;
    if (c === LBRACK || c === LBRACE) v = this.flow(q, depth);
    else if (c === DQ) {
      this.values++;
      v = this.doubleQuoted(q, true);
    } else if (c === SQ) {
      this.values++;
      v = this.singleQuoted(q, true);
    } else if (c === PIPE || c === GT) {
      this.values++;
      return this.blockScalar(q);
    } else {
      const le = this.le;
      if (c === DASH ? q + 1 === le || t.charCodeAt(q + 1) === SP : badStart(c)) decline('plain scalar start');
      // a plain scalar: up to ` #` or the end of the line
      const end = this.plainEnd(q + 1);
      if (this.pos < le) {
        this.comment(this.pos, le);
        return this.plain(t.slice(q, end), q);
      }
      if (!this.goesOn()) return this.plain(t.slice(q, end), q);
      this.values++;
      return this.plainLines(t.slice(q, end));
    }
    // after a flow collection or a quoted scalar (on the line where it ends): blanks, then the
    // end of the line or a comment
    const e = this.pos;
    const i = this.skipSp(e);
    if (i < this.le) {
      if (i === e || t.charCodeAt(i) !== HASH) decline('text after a quoted scalar or flow collection');
      this.comment(i, this.le);
    }
    return v;
  }

  /**
   * A key or `-` (`item`) with nothing after it on its line but blanks or a comment from `q`: the
   * value is on the next lines, or empty. Moves to the next line.
   */
  private emptyLine(q: number, item: boolean): void {
    this.emptyValue = true;
    this.emptyItem = item;
    this.keepEnd = 0;
    this.blockValue = false;
    this.lineComment = q < this.le;
    if (this.lineComment) this.comment(q, this.le);
    this.advance();
  }

  /**
   * The name of the anchor `&name` at `q` on the current line; sets `this.pos` to what follows it
   * (after the blanks: the end of the line, a comment, or its node). Declines names outside
   * [A-Za-z0-9_-]+ and an anchor not followed by a blank or the end of the line.
   */
  private anchorName(q: number): string {
    const t = this.t;
    const le = this.le;
    let e = q + 1;
    while (e < le && isAnchorChar(t.charCodeAt(e))) e++;
    if (e === q + 1 || (e < le && t.charCodeAt(e) !== SP)) decline('anchor name');
    this.pos = this.skipSp(e);
    return t.slice(q + 1, e);
  }

  /**
   * An anchored value on the current line at `q`: a single-line scalar or flow collection (not a
   * key: `&a key: v` anchors the key, which plainEnd and inline decline).
   */
  private anchoredInline(q: number, depth: number): unknown {
    const c = this.t.charCodeAt(q);
    if (c === AMP || c === STAR || c === BANG || c === PIPE || c === GT) decline('anchor before this node');
    const line = this.lineNo;
    const v = this.inline(q, depth);
    if (this.lineNo !== line) decline('anchored multi-line value');
    return v;
  }

  /**
   * Note the anchor `name` (the `seq`th of the document) of a node just read: its value, and the
   * values it holds. An anchor of the same name inside the node comes later in document order:
   * the aliases after the node refer to that one (yaml's rule: the last anchor before the alias).
   */
  private setAnchor(name: string, value: unknown, size: number, seq: number): void {
    const anchors = (this.anchors ??= new Map());
    const inner = anchors.get(name);
    if (inner === undefined || inner.seq < seq) anchors.set(name, { value, uses: 0, size, seq });
  }

  /**
   * The alias `*name` at `q`, the value on the rest of the current line (a comment may follow):
   * its anchor's value — for a collection the same object, as yaml's toJS gives. Declined: an
   * unknown anchor, an alias inside an anchored collection (to it: a cycle; to another: nested
   * expansion, which yaml's alias limit counts differently), more than `maxAliasUses` uses of an
   * anchor, and aliases that stand for too many values.
   */
  private alias(q: number): unknown {
    const t = this.t;
    const le = this.le;
    let e = q + 1;
    while (e < le && isAnchorChar(t.charCodeAt(e))) e++;
    if (e === q + 1) decline('alias name');
    const i = this.skipSp(e);
    if (i < le) {
      if (i === e || t.charCodeAt(i) !== HASH) decline('text after an alias');
      this.comment(i, le);
    }
    const a = this.anchors?.get(t.slice(q + 1, e));
    if (a === undefined) decline('unknown alias');
    if (this.anchoring > 0) decline('alias inside an anchored collection');
    if (++a.uses > this.maxAliasUses) decline('too many aliases');
    this.expanded += a.size;
    this.values++;
    if (this.values + this.expanded > MAX_VALUES) decline('aliases expand to too many values');
    this.emptyValue = false;
    this.keepEnd = 0;
    this.blockValue = false;
    return a.value;
  }

  /**
   * The end of the plain scalar text on the current line from `i` (its last non-blank character,
   * plus one); sets `this.pos` to the `#` of a comment after it, or to the end of the line.
   */
  private plainEnd(i: number): number {
    const t = this.t;
    const le = this.le;
    let end = i;
    for (; i < le; i++) {
      const ch = t.charCodeAt(i);
      if (ch === SP) {
        if (t.charCodeAt(i + 1) === HASH) {
          this.pos = i + 1;
          return end;
        }
      } else {
        // `a: b: c`, `a: b:` — a nested mapping on one line is an error
        if (ch === COLON && (i + 1 === le || t.charCodeAt(i + 1) === SP)) decline('colon in a plain scalar');
        end = i + 1;
      }
    }
    this.pos = le;
    return end;
  }

  /**
   * Whether the plain scalar that ends the current line goes on: the next line that is not blank
   * is indented more than the innermost block collection and is not a comment line (yaml's
   * lexer: a comment ends a plain scalar; a line indented less ends it; blank lines are inside).
   */
  private goesOn(): boolean {
    const t = this.t;
    const min = this.open[this.open.length - 1]!;
    // (asked after most values: only the blanks at the start of the next lines are looked at)
    for (let p = this.nextLs; p < this.n; ) {
      let j = p;
      while (t.charCodeAt(j) === SP) j++;
      const c = t.charCodeAt(j);
      if (c === 10 || c === CR) {
        p = j + (c === CR ? 2 : 1); // a blank line (a CR is always followed by a LF here)
        continue;
      }
      return j < this.n && j - p > min && c !== HASH;
    }
    return false;
  }

  /**
   * A plain scalar whose first line is `first` (from its start to its last non-blank character)
   * and that goes on (goesOn) over the next lines, folded as yaml does (YAML 1.2 line folding): a
   * line break between two lines becomes a space, each blank line between them a line break,
   * and every line loses its leading and trailing blanks. The value holds a space or a line
   * break, which none of the core schema's patterns (nor YAML 1.1's) take: a string, never
   * ambiguous. The current line becomes its last line.
   */
  private plainLines(first: string): string {
    const t = this.t;
    const min = this.open[this.open.length - 1]!;
    let out = first;
    let breaks = 0;
    let lineNo = this.lineNo;
    for (let p = this.nextLs; p < this.n; ) {
      const le = this.lineEnd(p);
      const next = this.after;
      let j = p;
      while (j < le && t.charCodeAt(j) === SP) j++;
      lineNo++;
      if (j === le) {
        breaks++;
        p = next;
        continue;
      }
      if (j - p <= min || t.charCodeAt(j) === HASH) break;
      this.enter(p, le, next, j, lineNo);
      // indicators, `key: v`, comments: what yaml makes of these is not worth knowing here
      if (badStart(t.charCodeAt(j))) decline('plain scalar line start');
      const end = this.plainEnd(j + 1);
      if (this.pos < le) decline('comment in a plain scalar');
      out += (breaks === 0 ? ' ' : '\n'.repeat(breaks)) + t.slice(j, end);
      breaks = 0;
      p = next;
    }
    return out;
  }

  /**
   * A block scalar (`|` literal or `>` folded, with an optional `-` strip or `+` keep chomping
   * indicator) whose header is at `q`, read as yaml does: its content lines are those indented at
   * least as much as its first line that is not blank (which must be indented more than the
   * block collection), and the blank lines among and after them. The current line becomes its
   * last line that is not blank. Declined: an explicit indentation indicator, an empty block
   * scalar, blank lines with more blanks than the content's indentation, more-indented lines in a
   * folded scalar (the folding rules around them).
   */
  private blockScalar(q: number): string {
    const t = this.t;
    const folded = t.charCodeAt(q) === GT;
    this.blockValue = true;
    let i = q + 1;
    const chomp = t.charCodeAt(i);
    if (chomp === DASH || chomp === PLUS) i++;
    const h = this.skipSp(i);
    if (h < this.le) {
      if (h === i || t.charCodeAt(h) !== HASH) decline('block scalar header');
      this.comment(h, this.le);
    }
    const min = this.open[this.open.length - 1]!;
    let indent = -1;
    let lead = 0; // the most blanks of a blank line before the first content line
    let out = '';
    let breaks = 0;
    let lineNo = this.lineNo;
    let p = this.nextLs;
    while (p < this.n) {
      const le = this.lineEnd(p);
      const next = this.after;
      let j = p;
      while (j < le && t.charCodeAt(j) === SP) j++;
      if (j === le) {
        // more blanks than the content's indentation: a content line of blanks, or an error
        if (indent < 0) lead = Math.max(lead, j - p);
        else if (j - p > indent) decline('more-indented blank line in a block scalar');
        breaks++;
        lineNo++;
        p = next;
        continue;
      }
      if (indent < 0) {
        if (j - p <= min) decline('empty block scalar');
        if (lead > j - p) decline('more-indented blank line in a block scalar');
        indent = j - p;
        out = '\n'.repeat(breaks) + t.slice(j, le);
      } else {
        if (j - p < indent) break;
        if (folded && j - p > indent) decline('more-indented line in a folded block scalar');
        // folded: lines fold into spaces, each blank line is a line break; literal: all kept
        const sep = folded ? (breaks === 0 ? ' ' : '\n'.repeat(breaks)) : '\n'.repeat(breaks + 1);
        out += sep + t.slice(p + indent, le);
      }
      lineNo++;
      this.enter(p, le, next, j, lineNo);
      breaks = 0;
      p = next;
    }
    if (indent < 0) decline('empty block scalar');
    if (chomp === DASH) return out;
    if (chomp !== PLUS) return out + '\n';
    // keep: a line break for each line end after the last content line (at least one); the
    // scalar takes in the blank lines up to `p`
    let ends = 0;
    for (let k = this.le; k < p; k++) if (t.charCodeAt(k) === 10) ends++;
    if (p > this.nextLs) {
      // (blanks on a last line without a line break: yaml's document ends before them)
      if (t.charCodeAt(p - 1) !== 10) decline('keep block scalar before a last line of blanks');
      this.keepEnd = p;
    }
    return out + '\n'.repeat(Math.max(1, ends));
  }

  /**
   * A flow sequence or mapping at `p`; sets `this.pos` after its closing bracket (on the current
   * line, which it may have moved to: a flow collection may go on over lines where blanks are
   * allowed, except between a key and its value; see flowSkip). A plain scalar at the end of a
   * line is followed by a `,` or closing bracket on the next: it cannot go on there.
   */
  private flow(p: number, depth: number): unknown {
    if (depth > MAX_DEPTH) decline('too deep');
    this.values++;
    const t = this.t;
    let i = this.flowSkip(p + 1);
    if (t.charCodeAt(p) === LBRACK) {
      const arr: unknown[] = [];
      if (t.charCodeAt(i) === RBRACK) {
        this.pos = i + 1;
        return arr;
      }
      for (;;) {
        arr.push(this.flowItem(i, depth));
        i = this.flowSkip(this.pos);
        const c = t.charCodeAt(i);
        if (c === RBRACK) {
          this.pos = i + 1;
          return arr;
        }
        if (c !== COMMA) decline('flow sequence syntax');
        i = this.flowSkip(i + 1);
      }
    }
    const obj: Record<string, unknown> = {};
    if (t.charCodeAt(i) === RBRACE) {
      this.pos = i + 1;
      return obj;
    }
    for (;;) {
      let key = this.flowKey(i);
      if (key !== null && hasOwn.call(obj, key)) {
        this.issue = true;
        key = null;
      }
      const v = this.flowItem(this.skipSp(this.pos), depth);
      if (key !== null) obj[key] = v;
      i = this.flowSkip(this.pos);
      const c = t.charCodeAt(i);
      if (c === RBRACE) {
        this.pos = i + 1;
        return obj;
      }
      if (c !== COMMA) decline('flow mapping syntax');
      i = this.flowSkip(i + 1);
    }
  }

  /** Blanks from `i` inside a flow collection; at the end of the line, the next line's content. */
  private flowSkip(i: number): number {
    i = this.skipSp(i);
    if (i < this.le) return i;
    const t = this.t;
    const p = this.nextLs;
    if (p >= this.n) decline('unclosed flow collection');
    const le = this.lineEnd(p);
    let j = p;
    while (j < le && t.charCodeAt(j) === SP) j++;
    const open = this.open;
    // inside a block collection, lines must be indented more than it; a root flow collection
    // (JSON, say) may have lines at any indentation, but not ones that could be `---` or `...`
    const min = open.length > 0 ? open[open.length - 1]! : -1;
    const c = t.charCodeAt(j);
    // blank and comment lines inside a flow collection, and too little indentation: declined
    if (j === le || j - p <= min || c === HASH || (j === p && (c === DASH || c === DOT || c === PCT))) {
      decline('flow collection line');
    }
    this.enter(p, le, this.after, j, this.lineNo + 1);
    return j;
  }

  /** The end of the line at `p` (before its line break: LF or CR LF); sets `this.after`. */
  private lineEnd(p: number): number {
    const t = this.t;
    const nl = t.indexOf('\n', p);
    this.after = nl < 0 ? this.n : nl + 1;
    const le = nl < 0 ? this.n : nl;
    return le > p && t.charCodeAt(le - 1) === CR ? le - 1 : le;
  }

  /** Make the line at `p` (ending at `le`, the next at `next`, content at `cs`) the current one. */
  private enter(p: number, le: number, next: number, cs: number, lineNo: number): void {
    this.ls = p;
    this.le = le;
    this.nextLs = next;
    this.ind = cs - p;
    this.cs = cs;
    this.lineNo = lineNo;
  }

  /**
   * Move into a quoted scalar's next line that is not blank, past the end of the current one;
   * returns how many blank lines were skipped. yaml's lexer ends the scalar (an error) at a line
   * indented no more than the block collection, and at the end of the text.
   */
  private quotedLine(): number {
    const t = this.t;
    const min = this.open[this.open.length - 1]!;
    let breaks = 0;
    let lineNo = this.lineNo;
    for (let p = this.nextLs; p < this.n; p = this.after) {
      const le = this.lineEnd(p);
      let j = p;
      while (j < le && t.charCodeAt(j) === SP) j++;
      lineNo++;
      if (j < le) {
        if (j - p <= min) decline('quoted scalar line not indented');
        this.enter(p, le, this.after, j, lineNo);
        return breaks;
      }
      breaks++;
    }
    decline('unclosed quoted scalar');
  }

  /**
   * A quoted scalar's text from `from` to the end of its line `le` (trailing blanks dropped) and
   * the fold into its next line that is not blank, which becomes the current one: a space, or a
   * line break for each blank line between.
   */
  private foldQuoted(from: number, le: number): string {
    const t = this.t;
    let e = le;
    while (e > from && t.charCodeAt(e - 1) === SP) e--;
    const breaks = this.quotedLine();
    return t.slice(from, e) + (breaks === 0 ? ' ' : '\n'.repeat(breaks));
  }

  /** A value inside a flow collection at `i`; sets `this.pos` after it. */
  private flowItem(i: number, depth: number): unknown {
    const t = this.t;
    const le = this.le;
    if (i >= le) decline('multi-line flow');
    const c = t.charCodeAt(i);
    if (c === LBRACK || c === LBRACE) return this.flow(i, depth + 1);
    if (c === DQ) {
      this.values++;
      return this.doubleQuoted(i, false);
    }
    if (c === SQ) {
      this.values++;
      return this.singleQuoted(i, false);
    }
    if (c === DASH) {
      if (i + 1 >= le) decline('flow dash');
      const c1 = t.charCodeAt(i + 1);
      if (c1 === SP || isFlowIndicator(c1)) decline('flow dash');
    } else if (badStart(c)) decline('flow plain start');
    if (this.values > MAX_VALUES) decline('too many values');
    let end = i + 1;
    let j = i + 1;
    for (; j < le; j++) {
      const ch = t.charCodeAt(j);
      if (isFlowIndicator(ch)) break;
      if (ch === COLON || ch === HASH) decline('colon or # in a flow scalar');
      if (ch !== SP) end = j + 1;
    }
    // at the end of the line, the caller requires a `,` or closing bracket on the next one
    this.pos = end;
    return this.plain(t.slice(i, end), i);
  }

  /** A key of a flow mapping at `i`, followed by `: `; sets `this.pos` after the `:`. */
  private flowKey(i: number): string | null {
    const t = this.t;
    const le = this.le;
    if (i >= le) decline('multi-line flow');
    const c = t.charCodeAt(i);
    if (c === DQ || c === SQ) {
      const v = c === DQ ? this.doubleQuoted(i, false) : this.singleQuoted(i, false);
      const e = this.pos;
      if (e + 1 >= le || t.charCodeAt(e) !== COLON || t.charCodeAt(e + 1) !== SP) decline('flow key syntax');
      if (e - i > MAX_KEY) decline('long key');
      this.values++;
      this.pos = e + 1;
      return this.stringKey(v);
    }
    let end = i;
    for (let j = i; j < le; j++) {
      const ch = t.charCodeAt(j);
      if (ch === COLON) {
        if (j + 1 >= le || t.charCodeAt(j + 1) !== SP || j - i > MAX_KEY) decline('flow key syntax');
        this.pos = j + 1;
        return this.plainKey(t.slice(i, end), i);
      }
      if (ch === HASH || isFlowIndicator(ch)) decline('flow key syntax');
      if (ch !== SP) end = j + 1;
    }
    decline('multi-line flow');
  }

  /**
   * A double-quoted scalar at `p`; sets `this.pos` after it. It closes on this line, or with
   * `multiLine` (a value in block context) on a later one, which becomes the current line: a line
   * break folds as in a plain scalar (quotedLine; the blanks around it go), an escaped one (`\` at
   * the end of a line) joins the lines without a space.
   */
  private doubleQuoted(p: number, multiLine: boolean): string {
    const t = this.t;
    let le = this.le;
    let i = p + 1;
    let start = i;
    let out = '';
    for (;;) {
      if (i >= le) {
        if (!multiLine) decline('multi-line quoted scalar');
        out += this.foldQuoted(start, le);
        le = this.le;
        i = start = this.cs;
        continue;
      }
      const ch = t.charCodeAt(i);
      if (ch === DQ) break;
      if (ch !== BSL) {
        i++;
        continue;
      }
      out += t.slice(start, i);
      if (i + 1 >= le) {
        if (!multiLine) decline('multi-line quoted scalar');
        // yaml skips the blanks after an escaped line break, but not blank lines (it then folds
        // their line breaks, where YAML 1.2 keeps them): declined
        if (this.quotedLine() > 0) decline('blank line after an escaped line break');
        le = this.le;
        i = start = this.cs;
        continue;
      }
      const e = t[i + 1]!;
      const code = ESCAPES[e];
      if (code !== undefined && hasOwn.call(ESCAPES, e)) {
        out += code;
        i += 2;
      } else if (e === 'x' || e === 'u' || e === 'U') {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = t.slice(i + 2, i + 2 + len);
        if (i + 2 + len > le || !HEX.test(hex)) decline('escape');
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) decline('escape');
        out += String.fromCodePoint(cp);
        i += 2 + len;
      } else {
        decline('escape');
      }
      start = i;
    }
    this.pos = i + 1;
    return out + t.slice(start, i);
  }

  /**
   * A single-quoted scalar at `p`; sets `this.pos` after it. It closes on this line, or with
   * `multiLine` on a later one, folded as a double-quoted scalar without escapes.
   */
  private singleQuoted(p: number, multiLine: boolean): string {
    const t = this.t;
    let le = this.le;
    let i = p + 1;
    let out = '';
    let j = p;
    for (;;) {
      // (a quote some lines on is looked for once, not again on each line before it)
      if (j < i) j = t.indexOf("'", i);
      if (j < 0) decline('unclosed quoted scalar');
      if (j >= le) {
        if (!multiLine) decline('multi-line quoted scalar');
        out += this.foldQuoted(i, le);
        le = this.le;
        i = this.cs;
        continue;
      }
      if (j + 1 < le && t.charCodeAt(j + 1) === SQ) {
        out += t.slice(i, j + 1);
        i = j + 2;
        continue;
      }
      this.pos = j + 1;
      return out + t.slice(i, j);
    }
  }
}

/**
 * Whether a comment of `text` may be a `# pviommu-…` directive: some line has a `#` before a
 * `pviommu-`. (A host or device named `pviommu-…` elsewhere does not send the file down the
 * slow path; a directive is a comment, and a comment starts with `#`.)
 */
function mayHoldDirective(text: string): boolean {
  if (!mayHaveDirectives(text)) return false;
  for (let i = text.indexOf('pviommu-'); i >= 0; i = text.indexOf('pviommu-', i + 1)) {
    const hash = text.lastIndexOf('#', i);
    if (hash >= 0 && text.lastIndexOf('\n', i) < hash) return true;
  }
  return false;
}

/**
 * The comments that may be suppressions (`#`, blanks, `pviommu-`: what parseSuppressions looks
 * at; it ignores every other comment) pushed to `out` as the yaml pipeline gives them — the
 * offset of the `#` and the text to the end of its line — in text order. False (decline) when such
 * a `#` is not the start of a comment the parser read: inside a scalar, or in a comment
 * that starts before it (neither is a suppression), or a comment this reader did not see.
 */
function directiveComments(text: string, starts: readonly number[], out: CommentToken[]): boolean {
  let k = 0;
  for (const m of text.matchAll(MAY_BE_DIRECTIVE)) {
    const h = m.index;
    while (k < starts.length && starts[k]! < h) k++;
    if (starts[k] !== h) return false;
    const nl = text.indexOf('\n', h);
    out.push({ offset: h, source: text.slice(h, nl < 0 ? text.length : nl) });
  }
  return true;
}
/** Where a suppression comment may start (blanks as parseSuppressions' `\s`, on one line). */
const MAY_BE_DIRECTIVE = /#[^\S\n]*pviommu-/g;

/**
 * The documents of `text` (BOM already removed), or undefined when the text is outside the subset
 * read here or would give any finding: then the caller parses it with yaml. `maxAliasUses`: the
 * caller's alias limit (load.ts's `maxAliases`, `limits.max_aliases`; negative: none): more uses
 * of one anchor decline (at most MAX_ALIAS_USES are taken anyway). A text that may hold
 * suppression comments (`# pviommu-…`) is declined unless `comments` is given: the comments that
 * may be suppressions are then pushed to it, for `parseSuppressions`.
 */
export function parseFast(text: string, maxAliasUses = MAX_ALIAS_USES, comments?: CommentToken[]): FastDoc[] | undefined {
  const directives = mayHoldDirective(text);
  if (directives && comments === undefined) {
    declined = 'may hold suppression comments';
    return undefined;
  }
  if (FORBIDDEN.test(text)) {
    declined = 'control character';
    return undefined;
  }
  try {
    // (a negative limit is none)
    const parser = new FastParser(text, maxAliasUses < 0 ? MAX_ALIAS_USES : Math.min(maxAliasUses, MAX_ALIAS_USES), directives);
    const docs = parser.parse();
    if (directives && !directiveComments(text, parser.commentStarts!, comments!)) {
      declined = 'a `# pviommu-` that is not a comment read here';
      return undefined;
    }
    return docs;
  } catch (e) {
    if (e === DECLINE) return undefined;
    if (e instanceof RangeError) {
      declined = 'too large'; // e.g. a string too long to build
      return undefined;
    }
    throw e;
  }
}
