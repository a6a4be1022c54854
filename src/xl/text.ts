/**
 * The text of an xl.cfg atom as xl reads it, with a way back to the source columns of any part
 * of it — so a finding about `rdm_policy=relaxed` inside `pci=["01:00.0,rdm_policy=relaxed"]`
 * can point at exactly those characters inside the quotes.
 */
import { decodeXlString, type Span, type XlValue } from './parse.js';

export interface TextRef {
  /** The text xl sees: a string's decoded value, or a number's digits as written. */
  readonly text: string;
  /** The whole atom (quotes included). */
  readonly whole: Span;
  /** The source span of `text.slice(start, end)`. */
  spanOf(start: number, end: number): Span;
}

type Atom = Extract<XlValue, { kind: 'string' } | { kind: 'number' }>;

/** Source columns (absolute) of each character of the atom's text, plus one past the end. */
function columns(v: Atom): number[] {
  if (v.kind === 'number') {
    return Array.from({ length: v.raw.length + 1 }, (_, i) => v.span.column + i);
  }
  return decodeXlString(v.raw).offsets.map((o) => v.span.column + o);
}

/** A TextRef for one atom. Atoms never span lines (xl strings cannot contain a newline). */
export function textOf(v: Atom): TextRef {
  const text = v.kind === 'string' ? v.value : v.raw;
  let cols: number[] | undefined;
  return {
    text,
    whole: v.span,
    spanOf(start: number, end: number): Span {
      cols ??= columns(v);
      const a = Math.max(0, Math.min(start, text.length));
      const b = Math.max(a, Math.min(end, text.length));
      return { line: v.span.line, column: cols[a]!, endLine: v.span.line, endColumn: cols[b]! };
    },
  };
}

/** The text of `KEY+=` concatenations of several atoms (libxlu joins strings with `+=`). */
export function concatText(parts: Atom[]): TextRef {
  if (parts.length === 1) return textOf(parts[0]!);
  const refs = parts.map(textOf);
  const starts: number[] = [];
  let acc = 0;
  for (const r of refs) {
    starts.push(acc);
    acc += r.text.length;
  }
  const first = refs[0]!.whole;
  const last = refs[refs.length - 1]!.whole;
  const whole: Span = { line: first.line, column: first.column, endLine: last.endLine, endColumn: last.endColumn };
  const pieceAt = (off: number, preferLeft: boolean): number => {
    for (let i = refs.length - 1; i >= 0; i--) {
      const s = starts[i]!;
      if (off > s || (off === s && (!preferLeft || i === 0))) return i;
    }
    return 0;
  };
  return {
    text: refs.map((r) => r.text).join(''),
    whole,
    spanOf(start: number, end: number): Span {
      const i = pieceAt(start, false);
      const j = pieceAt(end, true);
      const a = refs[i]!.spanOf(start - starts[i]!, start - starts[i]!);
      const b = refs[j]!.spanOf(end - starts[j]!, end - starts[j]!);
      return { line: a.line, column: a.column, endLine: b.endLine, endColumn: b.endColumn };
    },
  };
}
