/**
 * yaml's parse errors, worded for people: yaml's own message (it is specific) plus a hint at
 * the usual cause and fix, per error code.
 */
import type { ErrorCode } from 'yaml';

const HINTS: Partial<Record<ErrorCode, string>> = {
  BAD_INDENT: 'check that this line is indented like its siblings (spaces only)',
  TAB_AS_INDENT: 'YAML indentation must use spaces, not tabs',
  BLOCK_AS_IMPLICIT_KEY: 'put the nested mapping on its own indented lines, or quote a value that contains ": "',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line: a `:` is probably missing, or a quote or bracket on an earlier line is not closed',
  UNEXPECTED_TOKEN: 'look for a stray character, a missing `:` or a wrong indentation',
  BAD_SCALAR_START: 'quote the value',
  BAD_DQ_ESCAPE: 'inside double quotes a backslash starts an escape; use single quotes or write `\\\\`',
  BLOCK_IN_FLOW: 'inside [ ] or { } write values inline, or turn the collection into block style',
  BAD_ALIAS: 'an alias is `*name` and refers to an earlier `&name` anchor',
  ALIAS_PROPS: 'an alias cannot have an anchor or tag of its own',
  MULTIPLE_ANCHORS: 'give a node at most one `&anchor`',
  MULTIPLE_TAGS: 'give a node at most one tag',
  BAD_PROP_ORDER: 'write the anchor and tag before the value',
  KEY_OVER_1024_CHARS: 'implicit keys are limited to 1024 characters; shorten or quote the key',
  BAD_DIRECTIVE: 'pviommu reads YAML 1.2; remove the directive',
  TAG_RESOLVE_FAILED: 'pviommu documents need no tags; remove it',
  RESOURCE_EXHAUSTION: 'the document is nested too deeply',
  MULTIPLE_DOCS: 'separate documents with a `---` line',
};

/** Hints for particular messages, tried before the per-code hint. */
const MESSAGE_HINTS: [RegExp, string][] = [
  [/Implicit map keys need to be followed by map values/i, 'add `:` after the key, or indent this line under the key it belongs to'],
  [/Missing , or : between flow map items/i, 'separate the entries of `{ }` with commas'],
  [/closing|must end with|end with a/i, 'a quote, bracket or brace is probably not closed'],
  [/^integer of \d+ characters/, 'no frame, size or id needs that many digits; shorten the number'],
];

/** `message` with its trailing period removed and a hint appended. */
export function syntaxMessage(code: ErrorCode | string, message: string): string {
  const text = message
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\.$/, '')
    .replace(/tag:yaml\.org,2002:/g, '!!');
  const hint = MESSAGE_HINTS.find(([re]) => re.test(text))?.[1] ?? HINTS[code as ErrorCode];
  return hint ? `${text}; ${hint}` : text;
}
