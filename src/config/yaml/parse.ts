/**
 * Text → YAML documents (eemeli/yaml), with the guards a linter of untrusted input needs.
 *
 * We drive yaml's Lexer → Parser → Composer pipeline ourselves instead of calling
 * `parseAllDocuments`, for two reasons:
 * - nesting depth: yaml's composer is recursive. Very deep input (10,000 `[`) overflows the
 *   stack, and in V8 an overflow can surface as a fatal out-of-memory in the RegExp compiler,
 *   which no try/catch survives. The parser keeps an explicit stack, so we watch its height
 *   after every lexeme and stop before the composer ever sees a pathological document.
 * - comments: the lexer already tells comments apart from scalar content; collecting them here
 *   (only in files that mention `pviommu-`) finds suppression directives without a second pass.
 */
import { Composer, Lexer, LineCounter, Parser } from 'yaml';
import type { Document, ScalarTag, Tags, YAMLError } from 'yaml';
import type { CommentToken } from './suppressions.js';

/**
 * Deepest nesting accepted, in parser stack entries (about one per collection level; a
 * document and its top-level collection take two). pviommu documents nest fewer than 10
 * levels; yaml's composer overflows somewhere past 700.
 */
export const MAX_NESTING = 256;

/**
 * Longest integer literal turned into a number. Exact integers are BigInts, and converting a
 * decimal literal to a BigInt (and back, for a message) takes time quadratic in its length: a
 * single 16 MiB number would keep the tool busy for minutes. No value pviommu accepts needs more
 * than about 20 digits; a longer literal is a syntax finding at the scalar.
 */
export const MAX_INT_LITERAL = 256;

/** The core schema's int tags, refusing literals longer than MAX_INT_LITERAL before converting them. */
function boundedInts(tags: Tags): Tags {
  return tags.map((t) => {
    const tag = t as ScalarTag;
    if (tag.tag !== 'tag:yaml.org,2002:int' || typeof tag.resolve !== 'function') return t;
    const resolve = tag.resolve;
    return {
      ...tag,
      resolve: (str: string, onError: (msg: string) => void, opt: Parameters<typeof resolve>[2]) => {
        if (str.length > MAX_INT_LITERAL) {
          onError(`integer of ${str.length} characters; pviommu reads numbers of at most ${MAX_INT_LITERAL}`);
          return str;
        }
        return resolve(str, onError, opt);
      },
    } as ScalarTag;
  });
}

/** Options every document is composed with: YAML 1.2 core schema, exact integers. */
export const COMPOSE_OPTIONS = {
  customTags: boundedInts,
  version: '1.2',
  // Forced even for documents that carry a `%YAML 1.1` directive: SPEC §2 reads YAML as 1.2.
  schema: 'core',
  merge: false,
  // `!!binary`, `!!set`, `!!omap`, `!!timestamp` would give Buffer/Set/Map/Date values that no
  // later stage expects; unresolved, they stay strings and get a warning.
  resolveKnownTags: false,
  intAsBigInt: true,
  // Duplicate keys are detected by us (yaml/duplicate-key) so that the document still loads.
  uniqueKeys: false,
  prettyErrors: false,
  strict: true,
  // Never print: yaml warns through process.emitWarning otherwise (e.g. collection keys).
  logLevel: 'silent',
} as const;

export interface ParsedYaml {
  lineCounter: LineCounter;
  docs: Document.Parsed[];
  /** Errors that belong to no document (an input with no document at all). */
  streamErrors: YAMLError[];
  /** Set when nesting exceeded MAX_NESTING: the offset where it did. Parsing stopped there. */
  tooDeepAt?: number;
  /** Set when the file holds more than MAX_VALUES values: the offset where it did. Parsing stopped there. */
  tooManyAt?: number;
  /** Comments, collected only when `collectComments` was true. */
  comments: CommentToken[];
}

const SCALAR_MARKER = '\x1f';

/**
 * Most values (scalars, collections, sequence entries) read from one file. yaml holds a few
 * hundred bytes per node and every later stage walks them again, so a 16 MiB file of `[1,1,1,…]`
 * (eight million values) would take minutes and more memory than the process has. Real config
 * files hold hundreds; the benchmark fleet's largest, a few thousand.
 */
export const MAX_VALUES = 200_000;

/** Lexemes → CST tokens, watching the nesting depth and picking out comments. */
function* tokens(
  text: string,
  parser: Parser,
  lineCounter: LineCounter,
  state: { tooDeepAt?: number; tooManyAt?: number; comments: CommentToken[] | null },
) {
  lineCounter.addNewLine(0);
  const lexer = new Lexer();
  let afterScalarMarker = false;
  let values = 0;
  for (const lexeme of lexer.lex(text)) {
    if (state.comments !== null && !afterScalarMarker && lexeme.charCodeAt(0) === 35 /* # */) {
      state.comments.push({ offset: parser.offset, source: lexeme });
    }
    afterScalarMarker = lexeme === SCALAR_MARKER;
    if (afterScalarMarker || lexeme === '[' || lexeme === '{' || lexeme === '-' || lexeme === '?') values++;
    if (values > MAX_VALUES) {
      state.tooManyAt = parser.offset;
      return; // as below: the unfinished document is dropped
    }
    yield* parser.next(lexeme);
    if (parser.stack.length > MAX_NESTING) {
      state.tooDeepAt = parser.offset;
      return; // leave the rest unparsed; the unfinished document is dropped
    }
  }
  yield* parser.end();
}

export function parseYaml(text: string, collectComments: boolean): ParsedYaml {
  const lineCounter = new LineCounter();
  const parser = new Parser(lineCounter.addNewLine);
  const composer = new Composer(COMPOSE_OPTIONS);
  const state: { tooDeepAt?: number; tooManyAt?: number; comments: CommentToken[] | null } = {
    comments: collectComments ? [] : null,
  };
  const docs = Array.from(composer.compose(tokens(text, parser, lineCounter, state))) as Document.Parsed[];
  const streamErrors = docs.length === 0 ? composer.streamInfo().errors : [];
  const result: ParsedYaml = { lineCounter, docs, streamErrors, comments: state.comments ?? [] };
  if (state.tooDeepAt !== undefined) result.tooDeepAt = state.tooDeepAt;
  if (state.tooManyAt !== undefined) result.tooManyAt = state.tooManyAt;
  return result;
}
