/**
 * Small helpers over yaml's node tree shared by the checks (walk.ts) and positions (source.ts).
 */
import { isScalar } from 'yaml';
import type { LineCounter, Pair, YAMLMap } from 'yaml';
import type { Location } from '../../policy/types.js';

/**
 * The name a mapping key gets in the plain-JS value (what `toJS` would use): scalars by their
 * string form, so `1`, `"1"` and `0x1` are all the key "1". Null for non-scalar keys (flow
 * collections, aliases), which no pviommu schema uses and which we never match or compare.
 */
export function keyName(key: unknown): string | null {
  if (!isScalar(key)) return null;
  const v = key.value;
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  return String(v);
}

/** Maps with more entries than this get a key → pair index (built once, while checking them). */
export const INDEX_THRESHOLD = 12;

/** Key index of large mappings; duplicates removed, so each name maps to the pair kept. */
export const keyIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

/** The pair of `map` whose key is `name`, or undefined. O(1) for indexed maps, else a short scan. */
export function findPair(map: YAMLMap, name: string): Pair | undefined {
  const idx = keyIndex.get(map);
  if (idx) return idx.get(name);
  for (const item of map.items as Pair[]) {
    if (keyName(item.key) === name) return item;
  }
  return undefined;
}

/**
 * A span from offset `start` to `end` (exclusive), as a Location. Trailing blanks and line
 * breaks inside the range (yaml includes the final newline of block collections) are trimmed.
 */
export function spanOf(
  file: string,
  text: string,
  lc: LineCounter,
  start: number,
  end: number,
): Location {
  let e = Math.min(end, text.length);
  while (e > start) {
    const ch = text.charCodeAt(e - 1);
    if (ch !== 32 && ch !== 9 && ch !== 10 && ch !== 13) break;
    e--;
  }
  const s = lc.linePos(start);
  const t = e > start ? lc.linePos(e) : s;
  return { file, line: s.line, column: s.col, endLine: t.line, endColumn: t.col };
}
