/**
 * Where a loaded document came from, and how to find a node in it.
 *
 * Later stages (schema validation, rules, the emulator) never see the YAML parser: they hold a
 * `DocSource` and ask it for the span of a path such as `['pci', 0, 'dev']`.
 */
import type { Location } from '../policy/types.js';

/** A step in a path through a document: a mapping key or a sequence index. */
export type PathSeg = string | number;

/**
 * Which part of a mapping entry to point at:
 * - `value`: the node's value (default);
 * - `key`: the key itself (unknown keys, duplicate keys);
 * - `pair`: from the key to the end of the value.
 */
export type NodePart = 'value' | 'key' | 'pair';

export interface DocSource {
  /** Display path of the file, relative to the cwd with `/` separators (`-` → `<stdin>`). */
  readonly file: string;
  /** 0-based index of the document in its file. */
  readonly index: number;
  /**
   * The span of the node at `path`. When the path does not exist (a missing field), the span of
   * the deepest existing ancestor is returned, so a finding always has a position.
   */
  locate(path: readonly PathSeg[], part?: NodePart): Location;
  /** Comment lines directly attached above `line` (used for inline suppressions). */
}

/** A source with fixed position, for findings about a whole file (e.g. YAML syntax). */
export function fixedSource(file: string, loc: Omit<Location, 'file'>, index = 0): DocSource {
  return {
    file,
    index,
    locate: () => ({ file, ...loc }),
  };
}
