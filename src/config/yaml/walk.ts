/**
 * One pass over a pviommu document's nodes: duplicate keys and YAML 1.1-ambiguous scalars.
 *
 * An explicit-stack walk rather than yaml's `visit`: it visits every node exactly once, does not
 * allocate a frozen path array per collection as `visit` does, and cannot overflow the stack.
 * Aliases are not followed (the aliased node is checked where it is defined).
 */
import { isAlias, isMap, isPair, isScalar, isSeq, Scalar } from 'yaml';
import type { Alias, LineCounter, Node, Pair, YAMLMap } from 'yaml';
import type { Finding } from '../../policy/types.js';
import { ambiguityMessage } from './ambiguous.js';
import { INDEX_THRESHOLD, keyIndex, keyName, spanOf } from './nodes.js';

export interface DocCheck {
  findings: Finding[];
  /** The first alias node in document order, if any (where an alias-limit finding points). */
  firstAlias: Alias | null;
  /**
   * An alias inside the very node it refers to (`a: &a [*a]`): its value would be a cyclic
   * object graph, which no later stage could walk. The document must not be loaded.
   */
  cyclicAlias: Alias | null;
  /** An alias with no `&anchor` of that name before it (yaml's resolution rule). */
  unresolvedAlias: Alias | null;
}

export function checkDocument(
  root: unknown,
  file: string,
  text: string,
  lc: LineCounter,
): DocCheck {
  const findings: Finding[] = [];
  let firstAlias: Alias | null = null;
  let cyclicAlias: Alias | null = null;
  let unresolvedAlias: Alias | null = null;
  /** anchor name → the latest node defining it, in document order (as yaml resolves aliases) */
  let anchors: Map<string, Node> | null = null;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || node === undefined) continue;
    const anchor = (node as { anchor?: unknown }).anchor;
    if (typeof anchor === 'string' && anchor !== '') (anchors ??= new Map()).set(anchor, node as Node);
    if (isScalar(node)) {
      checkScalar(node, file, text, lc, findings);
    } else if (isMap(node)) {
      dedupeKeys(node, file, text, lc, findings);
      const items = node.items as Pair[];
      // push in reverse so that findings come out in document order
      for (let i = items.length - 1; i >= 0; i--) {
        const p = items[i]!;
        stack.push(p.value, p.key);
      }
    } else if (isSeq(node)) {
      const items = node.items;
      for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]);
    } else if (isPair(node)) {
      // a pair directly inside a flow sequence (`[a: 1]` in some yaml versions)
      stack.push(node.value, node.key);
    } else if (isAlias(node)) {
      firstAlias ??= node; // pre-order walk: the first alias met is the first in the text
      const target = anchors?.get(node.source);
      if (target === undefined) unresolvedAlias ??= node;
      else if (cyclicAlias === null && target.range && node.range) {
        if (node.range[0] > target.range[0] && node.range[0] < target.range[1]) cyclicAlias = node;
      }
    }
  }
  return { findings, firstAlias, cyclicAlias, unresolvedAlias };
}

function checkScalar(node: Scalar, file: string, text: string, lc: LineCounter, findings: Finding[]): void {
  if (node.type !== Scalar.PLAIN || node.tag !== undefined) return;
  const src = (node as Scalar & { source?: unknown }).source;
  if (typeof src !== 'string') return;
  const message = ambiguityMessage(src, node.value);
  if (message === null || !node.range) return;
  findings.push({
    rule: 'yaml/ambiguous-scalar',
    severity: 'warning',
    message,
    ...spanOf(file, text, lc, node.range[0], node.range[1]),
  });
}

/**
 * Report repeated keys at their second (third, …) occurrence and drop those pairs from the map.
 *
 * Policy: the FIRST value is kept. The duplicate is the one flagged as an error, and whatever
 * other findings the document gets then point at the definition the error message names as
 * "first defined at" rather than at a line already reported as wrong. (YAML 1.2 forbids
 * duplicate keys outright; PyYAML and most lenient readers keep the last one — either way the
 * config is an error until one is removed.)
 */
function dedupeKeys(map: YAMLMap, file: string, text: string, lc: LineCounter, findings: Finding[]): void {
  const items = map.items as Pair[];
  const n = items.length;
  if (n < 2) return;
  const drop: number[] = []; // indexes of the pairs to remove
  const report = (first: Pair, dup: Pair, name: string, index: number): void => {
    const keyNode = dup.key as Node;
    const firstNode = first.key as Node;
    if (!keyNode.range || !firstNode.range) return;
    const at = spanOf(file, text, lc, keyNode.range[0], keyNode.range[1]);
    const firstAt = spanOf(file, text, lc, firstNode.range[0], firstNode.range[1]);
    findings.push({
      rule: 'yaml/duplicate-key',
      severity: 'error',
      message:
        `duplicate key \`${name}\` (first defined at line ${firstAt.line}) — YAML keeps only one; ` +
        `remove one of them (pviommu uses the first)`,
      ...at,
      related: [{ file, line: firstAt.line, column: firstAt.column, message: `\`${name}\` first defined here` }],
    });
    drop.push(index);
  };
  if (n > INDEX_THRESHOLD) {
    const index = new Map<string, Pair>();
    for (let i = 0; i < n; i++) {
      const p = items[i]!;
      const name = keyName(p.key);
      if (name === null) continue;
      const first = index.get(name);
      if (first === undefined) index.set(name, p);
      else report(first, p, name, i);
    }
    keyIndex.set(map, index);
  } else {
    const names: (string | null)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const name = keyName(items[i]!.key);
      names[i] = name;
      if (name === null) continue;
      for (let j = 0; j < i; j++) {
        if (names[j] === name) {
          report(items[j]!, items[i]!, name, i);
          break;
        }
      }
    }
  }
  if (drop.length > 0) {
    const gone = new Set(drop);
    map.items = items.filter((_, i) => !gone.has(i));
  }
}
