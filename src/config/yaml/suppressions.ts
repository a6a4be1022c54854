/**
 * Inline suppression comments:
 *
 *     # pviommu-disable-next-line pci/seize, pci/permissive -- vendor tool needs it (TICKET-12)
 *
 * Only real YAML comments count (the lexer tells us which `#` starts a comment, so a `#` inside
 * a quoted or block scalar is never taken for one). A directive without a rule id or without a
 * ` -- reason` is reported as `suppression/invalid` and suppresses nothing: a suppression must
 * say what it silences and why.
 */
import type { Finding } from '../../policy/types.js';
import type { Suppression } from '../load.js';

/** A comment as the lexer saw it: `source` starts with `#`, `offset` is its start in the text. */
export interface CommentToken {
  offset: number;
  source: string;
}

/** Cheap test run once per file before collecting comments at all. */
export function mayHaveDirectives(text: string): boolean {
  return text.includes('pviommu-');
}

const DIRECTIVE = /^#\s*(pviommu-(?:disable|enable)[\w-]*)(.*)$/;
const RULE_ID = /^[a-z0-9][a-z0-9-]*\/[a-z0-9][a-z0-9-]*$/;
const REASON_SEP = /(?:^|\s)--(?:\s|$)/;
const EXAMPLE = '`# pviommu-disable-next-line group/rule -- reason`';

export interface PositionFn {
  (offset: number): { line: number; col: number };
}

/**
 * Turn comment tokens into suppressions and `suppression/invalid` findings.
 * `lineStarts` are the offsets at which each line begins (LineCounter's), `text` the source.
 */
export function parseSuppressions(
  file: string,
  text: string,
  comments: readonly CommentToken[],
  linePos: PositionFn,
  lineStarts: readonly number[],
): { suppressions: Suppression[]; findings: Finding[] } {
  const suppressions: Suppression[] = [];
  const findings: Finding[] = [];
  // The last answer of nextContentLine: every line strictly between `from` and `to` is blank or a
  // comment, so a later directive in that span has the same target. Without it, a run of n
  // directive lines costs n² line scans.
  let last: { from: number; to: number | null } | undefined;
  for (const c of comments) {
    const m = DIRECTIVE.exec(c.source.trimEnd());
    if (!m) continue;
    const directive = m[1]!;
    const rest = m[2]!;
    const start = linePos(c.offset);
    const end = linePos(c.offset + c.source.trimEnd().length);
    const invalid = (message: string): void => {
      findings.push({
        rule: 'suppression/invalid',
        severity: 'warning',
        message,
        file,
        line: start.line,
        column: start.col,
        endLine: end.line,
        endColumn: end.col,
      });
    };
    if (directive !== 'pviommu-disable-next-line') {
      invalid(`unknown directive \`${directive}\`: only \`pviommu-disable-next-line\` is supported, as ${EXAMPLE}`);
      continue;
    }
    const sep = REASON_SEP.exec(rest);
    const rulesPart = (sep ? rest.slice(0, sep.index) : rest).trim();
    const reason = sep ? rest.slice(sep.index + sep[0].length).trim() : '';
    const rules = rulesPart.split(/[\s,]+/).filter((r) => r !== '');
    if (rules.length === 0) {
      invalid(`pviommu-disable-next-line names no rule; write ${EXAMPLE}`);
      continue;
    }
    const bad = rules.find((r) => !RULE_ID.test(r));
    if (bad !== undefined) {
      invalid(`\`${bad}\` is not a rule id: name each rule as group/name (for example pci/seize), as ${EXAMPLE}`);
      continue;
    }
    if (reason === '') {
      invalid(`pviommu-disable-next-line needs a reason after \` -- \`: ${EXAMPLE}`);
      continue;
    }
    const targetLine =
      last !== undefined && last.from < start.line && (last.to === null || start.line < last.to)
        ? last.to
        : nextContentLine(text, lineStarts, start.line);
    last = { from: start.line, to: targetLine };
    if (targetLine === null) {
      invalid('pviommu-disable-next-line is not followed by any line to apply to');
      continue;
    }
    suppressions.push({ file, line: start.line, column: start.col, targetLine, rules, reason });
  }
  return { suppressions, findings };
}

/**
 * The lines of `text` for `parseSuppressions`, for readers without a line counter of their own
 * (the fast YAML reader, the xl.cfg reader): counted as yaml's LineCounter counts them — a line
 * starts at 0 and after every `\n` — with its `linePos`.
 */
export function lineIndex(text: string): { lineStarts: number[]; linePos: PositionFn } {
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const linePos = (offset: number): { line: number; col: number } => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - lineStarts[lo]! + 1 };
  };
  return { lineStarts, linePos };
}

/** The first line after `line` (1-based) that is neither blank nor only a comment. */
function nextContentLine(text: string, lineStarts: readonly number[], line: number): number | null {
  for (let l = line + 1; l <= lineStarts.length; l++) {
    const from = lineStarts[l - 1]!;
    const to = l < lineStarts.length ? lineStarts[l]! : text.length;
    let i = from;
    while (i < to) {
      const ch = text.charCodeAt(i);
      if (ch !== 32 && ch !== 9 && ch !== 13 && ch !== 10) break;
      i++;
    }
    if (i === to) continue; // blank
    if (text.charCodeAt(i) === 35) continue; // only a comment
    return l;
  }
  return null;
}
