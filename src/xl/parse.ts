/**
 * The xl.cfg(5) language, as libxlu reads it (tools/libs/util/libxlu_cfg_l.l, libxlu_cfg_y.y,
 * libxlu_cfg.c) — reimplemented here, never copied.
 *
 * Grammar (libxlu's bison grammar, in words):
 *
 *   file       := { stmt } [ assignment ]          a last setting needs no newline
 *   stmt       := assignment END | END              END is a newline (or a comment + newline) or ';'
 *   assignment := IDENT ( '=' | '+=' ) value
 *   value      := STRING | NUMBER | '[' nl* [ value nl* { ',' nl* value nl* } [ ',' nl* ] ] ']'
 *
 * Tokens (libxlu's flex lexer):
 *   IDENT    [a-z][._0-9a-z]*           keys are lower case
 *   NUMBER   [0-9][0-9a-fx]*            read later with strtol(…, 0): 0x… hex, 0… octal, else decimal
 *   STRING   "…" or '…' on one line     backslash escapes: \" \' \\ \a \b \f \n \r \t \v
 *   comment  # to the end of the line   (the lexer only knows a comment *with* its newline)
 *   blanks   space and tab; anything else (CR, upper case, '-', '(' …) is a lexical error.
 *
 * Deliberate departures, each reported as an error so nothing is silently accepted that xl
 * would refuse or misread:
 * - `\xHH` and octal `\NNN` escapes: libxlu's dequoting never stores the character (and rejects
 *   every `\x`). We decode them as C would, but record an error.
 * - A number token that strtol would not consume completely (`09`, `0x`, `1e3`) is a syntax error
 *   here; xl would only warn ("not a valid number") when the option is read.
 * - Carriage returns: xl rejects the whole file; we report the first one and read on as if it
 *   were a blank, so one DOS file does not drown the user in errors.
 *
 * `parseXl` never throws. After an error it drops the statement and resynchronises at the next
 * line that is outside any list (or at the next line that plainly starts a new `KEY=` setting,
 * so an unclosed `[` does not swallow the rest of the file).
 */

/** A 1-based span; `endColumn` is exclusive. */
export interface Span {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export type XlValue =
  | { kind: 'string'; value: string; span: Span; raw: string }
  | { kind: 'number'; value: bigint; span: Span; raw: string }
  | { kind: 'list'; value: XlValue[]; span: Span; raw: string };

export interface XlSetting {
  key: string;
  keySpan: Span;
  value: XlValue;
  /** `KEY+=VALUE`: appends to (concatenates with) the previous setting of KEY. */
  append?: boolean;
  /** From the key to the end of the value. */
  span: Span;
}

export interface XlComment {
  /** The comment text, starting with `#`, without the newline. */
  text: string;
  span: Span;
}

export interface XlParseError {
  message: string;
  span: Span;
}

export interface XlParseResult {
  settings: XlSetting[];
  errors: XlParseError[];
  comments: XlComment[];
}

// ---------------------------------------------------------------------------------------------
// Positions

/** Maps offsets in a text to 1-based line/column (columns count UTF-16 code units). */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }

  pos(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }

  span(start: number, end: number): Span {
    const a = this.pos(start);
    const b = this.pos(Math.max(start, end));
    return { line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  }
}

// ---------------------------------------------------------------------------------------------
// Strings

export interface DecodedString {
  value: string;
  /**
   * For each character of `value`, the offset (relative to the start of the raw token, quote
   * included) of the source text that produced it; one more entry for the closing quote.
   */
  offsets: number[];
  errors: { message: string; start: number; end: number }[];
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  "'": "'",
  '\\': '\\',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** Decodes a complete quoted token (`"…"` or `'…'`) as libxlu's dequoting intends it to be read. */
export function decodeXlString(raw: string): DecodedString {
  const out: string[] = [];
  const offsets: number[] = [];
  const errors: DecodedString['errors'] = [];
  const stop = raw.length - 1; // the closing quote
  let p = 1;
  while (p < stop) {
    const c = raw[p]!;
    if (c !== '\\') {
      out.push(c);
      offsets.push(p);
      p++;
      continue;
    }
    const at = p;
    const nc = raw[p + 1] ?? '';
    if (nc in SIMPLE_ESCAPES) {
      out.push(SIMPLE_ESCAPES[nc]!);
      offsets.push(at);
      p += 2;
    } else if (nc === 'x') {
      const hex = /^[0-9a-fA-F]{1,2}/.exec(raw.slice(p + 2, stop))?.[0] ?? '';
      if (hex) {
        out.push(String.fromCharCode(parseInt(hex, 16)));
        offsets.push(at);
      }
      p += 2 + hex.length;
      errors.push({
        message:
          `xl cannot read the escape \`${raw.slice(at, p)}\`: libxlu rejects every \\x escape ` +
          '("invalid digit after backslash hex numerical character escape") and the whole file ' +
          'fails to parse; write the character itself',
        start: at,
        end: p,
      });
    } else if (nc >= '0' && nc <= '7') {
      const oct = /^[0-7]{1,3}/.exec(raw.slice(p + 1, stop))![0];
      out.push(String.fromCharCode(parseInt(oct, 8)));
      offsets.push(at);
      p += 1 + oct.length;
      errors.push({
        message:
          `xl does not decode the octal escape \`${raw.slice(at, p)}\`: libxlu drops the digits ` +
          'without storing any character (and rejects the whole file when the escape has fewer ' +
          'than three digits); ' +
          'write the character itself',
        start: at,
        end: p,
      });
    } else {
      p += 2;
      errors.push({
        message:
          `invalid escape \`\\${nc}\`: xl knows only \\" \\' \\\\ \\a \\b \\f \\n \\r \\t \\v ` +
          '("invalid character after backlash in quoted string"); double the backslash to keep it',
        start: at,
        end: p,
      });
    }
  }
  offsets.push(stop);
  return { value: out.join(''), offsets, errors };
}

// ---------------------------------------------------------------------------------------------
// Numbers

/**
 * Reads a NUMBER token the way `xlu_cfg_get_long` does (strtol with base 0), requiring the whole
 * token to be consumed. Returns the exact value, or why it is not a number.
 */
export function readXlNumber(text: string): { value: bigint } | { error: string } {
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) return { value: BigInt(text.toLowerCase()) };
  if (/^0[0-7]*$/.test(text)) return { value: text.length > 1 ? BigInt('0o' + text.slice(1)) : 0n };
  if (/^[1-9][0-9]*$/.test(text)) return { value: BigInt(text) };
  if (/^0[xX]$/.test(text)) return { error: `\`${text}\` has no hex digits after 0x` };
  if (/^0[0-9]+$/.test(text)) {
    return {
      error:
        `\`${text}\` has a leading 0, so xl reads it as octal, where 8 and 9 are not digits; ` +
        'drop the leading zero',
    };
  }
  return {
    error:
      `\`${text}\` is not a number: xl reads decimal, 0x-hex and 0-octal integers only ` +
      '(no units, exponents or fractions)',
  };
}

// ---------------------------------------------------------------------------------------------
// Lexer

type TokType =
  | 'ident'
  | 'number'
  | 'string'
  | '['
  | ']'
  | ','
  | '='
  | '+='
  | ';'
  | 'newline'
  | 'eof'
  | 'bad';

interface Tok {
  type: TokType;
  start: number;
  end: number;
  text: string;
  /** string: decoded value; number: exact value. */
  str?: string;
  num?: bigint;
  /** number tokens strtol would not read; bad tokens. */
  error?: string;
}

interface LexOut {
  toks: Tok[];
  comments: { start: number; end: number }[];
  errors: { message: string; start: number; end: number }[];
}

function lex(text: string): LexOut {
  const toks: Tok[] = [];
  const comments: LexOut['comments'] = [];
  const errors: LexOut['errors'] = [];
  let crReported = false;
  let p = 0;
  const n = text.length;
  const push = (type: TokType, start: number, end: number, extra: Partial<Tok> = {}) =>
    toks.push({ type, start, end, text: text.slice(start, end), ...extra });

  while (p < n) {
    const c = text[p]!;
    if (c === ' ' || c === '\t') {
      p++;
    } else if (c === '\r') {
      if (!crReported) {
        crReported = true;
        errors.push({
          message:
            'carriage return (DOS line ending): xl\'s lexer rejects it and the whole file fails to ' +
            'parse; convert the file to Unix line endings (e.g. dos2unix)',
          start: p,
          end: p + 1,
        });
      }
      p++;
    } else if (c === '\n') {
      push('newline', p, p + 1);
      p++;
    } else if (c === '#') {
      let e = text.indexOf('\n', p);
      const atEof = e < 0;
      if (atEof) e = n;
      let ce = e;
      while (ce > p && text[ce - 1] === '\r') ce--;
      comments.push({ start: p, end: ce });
      if (atEof) {
        errors.push({
          message:
            'the comment on the last line has no newline after it: xl\'s lexer only accepts a ' +
            'comment that ends with a newline (lexical error); end the file with a newline',
          start: p,
          end: ce,
        });
        p = n;
      } else {
        push('newline', p, e + 1);
        p = e + 1;
      }
    } else if (c === '"' || c === "'") {
      let q = p + 1;
      let closed = false;
      while (q < n) {
        const d = text[q]!;
        if (d === '\n') break;
        if (d === '\\') {
          if (q + 1 >= n || text[q + 1] === '\n') break;
          q += 2;
          continue;
        }
        if (d === c) {
          closed = true;
          break;
        }
        q++;
      }
      if (!closed) {
        let e = q;
        while (e > p && (text[e - 1] === '\r' || text[e - 1] === ' ' || text[e - 1] === '\t')) e--;
        push('bad', p, Math.max(e, p + 1), {
          error:
            `unterminated string: the closing ${c} is missing (xl strings cannot span lines ` +
            'or end in a lone backslash)',
        });
        p = q;
      } else {
        const raw = text.slice(p, q + 1);
        const d = decodeXlString(raw);
        for (const err of d.errors) errors.push({ ...err, start: p + err.start, end: p + err.end });
        push('string', p, q + 1, { str: d.value });
        p = q + 1;
      }
    } else if (c >= 'a' && c <= 'z') {
      let q = p + 1;
      while (q < n && /[._0-9a-z]/.test(text[q]!)) q++;
      push('ident', p, q);
      p = q;
    } else if (c >= '0' && c <= '9') {
      let q = p + 1;
      while (q < n && /[0-9a-fx]/.test(text[q]!)) q++;
      const r = readXlNumber(text.slice(p, q));
      if ('value' in r) push('number', p, q, { num: r.value });
      else push('number', p, q, { error: `malformed number: ${r.error}` });
      p = q;
    } else if (c === '[' || c === ']' || c === ',' || c === '=' || c === ';') {
      push(c, p, p + 1);
      p++;
    } else if (c === '+' && text[p + 1] === '=') {
      push('+=', p, p + 2);
      p += 2;
    } else {
      // libxlu: BEGIN(lexerr) and swallow up to the next blank or newline.
      let q = p + 1;
      while (q < n && !/[ \t\r\n]/.test(text[q]!)) q++;
      const bad = text.slice(p, q);
      let hint: string;
      if (/[A-Za-z]/.test(c) && /[0-9]/.test(text[p - 1] ?? '')) {
        hint = 'numbers take no unit suffix: memory sizes are plain MiB, e.g. memory = 512';
      } else if (/[A-Z]/.test(c)) {
        hint = 'keys are lower case, and words used as values must be quoted';
      } else if (c === '-' && /[0-9]/.test(text[p + 1] ?? '')) {
        hint = 'a negative number must be written as a quoted string';
      } else if ('+-.():'.includes(c)) {
        hint = 'this looks like Python, which xl no longer accepts';
      } else {
        hint = 'values are "strings", numbers or [lists]';
      }
      push('bad', p, q, {
        error: `lexical error near \`${bad}\`: xl's lexer does not accept \`${c}\` here (${hint})`,
      });
      p = q;
    }
  }
  push('eof', n, n);
  return { toks, comments, errors };
}

// ---------------------------------------------------------------------------------------------
// Parser

/** Deepest list nesting read (xl's own options nest at most two levels). */
const MAX_LIST_DEPTH = 64;

class ParseFail {
  constructor(
    readonly message: string,
    readonly start: number,
    readonly end: number,
    /** Token index where the error was found (resync starts here). */
    readonly at: number,
    /** List depth at the error. */
    readonly depth: number,
    /** Resume parsing exactly at this token (an unclosed list followed by a new setting). */
    readonly resumeAt?: number,
  ) {}
}

function describe(t: Tok): string {
  switch (t.type) {
    case 'eof':
      return 'the end of the file';
    case 'newline':
      return t.text.startsWith('#') ? 'a comment' : 'the end of the line';
    case 'string':
      return `the string ${t.text}`;
    case 'number':
      return `the number ${t.text}`;
    case 'ident':
      return `\`${t.text}\``;
    default:
      return `\`${t.text}\``;
  }
}

class Parser {
  private i = 0;
  readonly settings: XlSetting[] = [];
  readonly errors: { message: string; start: number; end: number }[] = [];

  constructor(
    private readonly toks: Tok[],
    private readonly index: LineIndex,
  ) {}

  private peek(k = 0): Tok {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }

  private fail(message: string, t: Tok, depth: number, at = this.i, resumeAt?: number): never {
    // A newline token is reported as an empty span where the line ends (or the comment starts).
    const end = t.type === 'newline' ? t.start : t.end;
    throw new ParseFail(message, t.start, end, at, depth, resumeAt);
  }

  /** An identifier that is the first token on its line and is followed by `=` / `+=`. */
  private startsSetting(j: number): boolean {
    const t = this.toks[j];
    const next = this.toks[j + 1];
    if (!t || t.type !== 'ident' || !next || (next.type !== '=' && next.type !== '+=')) return false;
    return j === 0 || this.toks[j - 1]!.type === 'newline';
  }

  run(): void {
    for (;;) {
      const t = this.peek();
      if (t.type === 'eof') return;
      if (t.type === 'newline' || t.type === ';') {
        this.i++;
        continue;
      }
      try {
        this.statement();
      } catch (e) {
        if (!(e instanceof ParseFail)) throw e;
        this.errors.push({ message: e.message, start: e.start, end: e.end });
        this.i = e.resumeAt ?? this.resync(e.at, e.depth);
      }
    }
  }

  private resync(from: number, depth: number): number {
    let d = depth;
    let j = from;
    for (;;) {
      const t = this.toks[j]!;
      if (t.type === 'eof') return j;
      if (t.type === '[') d++;
      else if (t.type === ']') d = Math.max(0, d - 1);
      else if (t.type === 'newline') {
        if (d === 0 || this.startsSetting(j + 1)) return j + 1;
      }
      j++;
    }
  }

  private statement(): void {
    const k = this.peek();
    if (k.type === 'bad') this.fail(k.error!, k, 0);
    if (k.type !== 'ident') {
      this.fail(`expected a setting KEY=VALUE, found ${describe(k)}`, k, 0);
    }
    this.i++;
    const op = this.peek();
    if (op.type !== '=' && op.type !== '+=') {
      if (op.type === 'bad') this.fail(op.error!, op, 0);
      this.fail(`expected \`=\` after \`${k.text}\`, found ${describe(op)}`, op, 0);
    }
    this.i++;
    const value = this.value(0, op);
    const end = this.peek();
    if (end.type === 'newline' || end.type === ';') this.i++;
    else if (end.type !== 'eof') {
      if (end.type === 'bad') this.fail(end.error!, end, 0);
      if (value.kind === 'number' && end.type === 'ident' && end.start === this.spanEnd(value)) {
        this.fail(
          `\`${value.raw}${end.text}\`: xl numbers take no unit suffix (memory sizes are plain MiB, e.g. memory = 512)`,
          end,
          0,
        );
      }
      this.fail(
        `expected the end of the line or \`;\` after the value of \`${k.text}\`, found ${describe(end)}`,
        end,
        0,
      );
    }
    const setting: XlSetting = {
      key: k.text,
      keySpan: this.index.span(k.start, k.end),
      value,
      span: this.index.span(k.start, this.spanEnd(value)),
    };
    if (op.type === '+=') setting.append = true;
    this.settings.push(setting);
  }

  private valueEnd = new WeakMap<XlValue, number>();

  private spanEnd(v: XlValue): number {
    return this.valueEnd.get(v)!;
  }

  private value(depth: number, after: Tok): XlValue {
    const t = this.peek();
    switch (t.type) {
      case 'string': {
        this.i++;
        const v: XlValue = { kind: 'string', value: t.str!, span: this.index.span(t.start, t.end), raw: t.text };
        this.valueEnd.set(v, t.end);
        return v;
      }
      case 'number': {
        if (t.error !== undefined) this.fail(t.error, t, depth);
        this.i++;
        const v: XlValue = { kind: 'number', value: t.num!, span: this.index.span(t.start, t.end), raw: t.text };
        this.valueEnd.set(v, t.end);
        return v;
      }
      case '[':
        return this.list(depth);
      case 'ident': {
        const yes = ['true', 'yes', 'on', 'y'].includes(t.text);
        const no = ['false', 'no', 'off', 'n'].includes(t.text);
        this.fail(
          yes || no
            ? `\`${t.text}\` is not an xl value: booleans are numbers, write ${yes ? 1 : 0}`
            : `unquoted word \`${t.text}\`: xl needs strings in quotes, write "${t.text}"`,
          t,
          depth,
        );
        break;
      }
      case 'bad':
        this.fail(t.error!, t, depth);
        break;
      case 'newline':
      case 'eof':
        if (after.type === '=' || after.type === '+=') {
          this.fail(`missing value after \`${after.text}\``, after, depth);
        }
        this.fail(`expected a value, found ${describe(t)}`, t, depth);
        break;
      default:
        this.fail(`expected a value ("string", number or [list]), found ${describe(t)}`, t, depth);
    }
    throw new Error('unreachable');
  }

  private skipNewlines(): void {
    while (this.peek().type === 'newline') this.i++;
  }

  private list(depth: number): XlValue {
    const open = this.peek();
    const openAt = this.i;
    // The parser recurses once per level: 100,000 `[` would overflow the stack.
    if (depth >= MAX_LIST_DEPTH) this.fail(`lists nested more than ${MAX_LIST_DEPTH} deep; xl.cfg lists hold strings, or lists of strings`, open, depth);
    this.i++;
    const items: XlValue[] = [];
    const unclosed = (why: string, resumeAt?: number): never =>
      this.fail(
        `this list is not closed: ${why}; add the missing \`]\``,
        open,
        depth,
        openAt,
        resumeAt,
      );
    this.skipNewlines();
    const close = (t: Tok): XlValue => {
      this.i++;
      const v: XlValue = {
        kind: 'list',
        value: items,
        span: this.index.span(open.start, t.end),
        raw: this.index.text.slice(open.start, t.end),
      };
      this.valueEnd.set(v, t.end);
      return v;
    };
    if (this.peek().type === ']') return close(this.peek());
    for (;;) {
      if (this.peek().type === 'eof') unclosed('the file ends first');
      if (this.startsSetting(this.i)) unclosed(`the setting \`${this.peek().text}\` starts first`, this.i);
      items.push(this.value(depth + 1, open));
      this.skipNewlines();
      const t = this.peek();
      if (t.type === ',') {
        this.i++;
        this.skipNewlines();
        if (this.peek().type === ']') return close(this.peek());
        continue;
      }
      if (t.type === ']') return close(t);
      if (t.type === 'eof') unclosed('the file ends first');
      if (this.startsSetting(this.i)) unclosed(`the setting \`${t.text}\` starts first`, this.i);
      if (t.type === 'bad') this.fail(t.error!, t, depth + 1);
      this.fail(`expected \`,\` or \`]\` in the list, found ${describe(t)}`, t, depth + 1);
    }
  }
}

/** Parses xl.cfg text. Never throws; errors carry positions. */
export function parseXl(text: string): XlParseResult {
  const index = new LineIndex(text);
  const lexed = lex(text);
  const parser = new Parser(lexed.toks, index);
  parser.run();
  const raw = [...lexed.errors, ...parser.errors].sort((a, b) => a.start - b.start || a.end - b.end);
  return {
    settings: parser.settings,
    errors: raw.map((e) => ({ message: e.message, span: index.span(e.start, e.end) })),
    comments: lexed.comments.map((c) => ({ text: text.slice(c.start, c.end), span: index.span(c.start, c.end) })),
  };
}
