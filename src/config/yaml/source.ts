/**
 * `DocSource` over a yaml document: path → span, walking the document's node tree.
 *
 * A lookup costs O(depth): one step per path segment, each a sequence index or a key lookup in a
 * mapping (a short scan, or a hash lookup for mappings larger than INDEX_THRESHOLD).
 *
 * Fallbacks, so a finding always has a position:
 * - The path ends at an alias (`maxmem: *mem`), or goes through one: the alias's own span. The
 *   alias is what this document says at that path; the anchored node may sit elsewhere.
 * - A key or index is missing from a mapping or sequence that is the value of a key: that key's
 *   span (`iommu:` for a missing `iommu.address_width`).
 * - A key is missing from the document's top-level mapping: the `name` value if there is one
 *   (the line that says which object this is), else the first key.
 * - A key is missing from a mapping that is a sequence item (`pci: [{vslot: 5}]` lacks `dev`):
 *   that mapping's span.
 * - The path continues below a scalar: the scalar's span.
 * - The value is empty (`memory:` with nothing after it): the key's span, not a zero-width one.
 *
 * `part: 'key'` / `'pair'` apply when the node was reached through a mapping key; otherwise (a
 * sequence item, the root) the value span is returned.
 *
 * Memory: a composed yaml node tree costs about 12 KB per small document, and a fleet repo has
 * tens of thousands of documents, of which only the few with findings are ever located. So a
 * source keeps only the file's text (shared by its documents) and its index in the file; its first
 * `locate` parses the text again (the same text through the same parser: the same nodes and
 * offsets). A small cache of the most recently re-parsed files keeps findings that cluster in a
 * file cheap; a clean document is never parsed twice.
 * Duplicate keys need no replay: the loader drops the later pairs of a duplicated key, and a
 * lookup in the re-parsed tree finds the first pair of a name anyway — the same pair.
 */
import { isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { LineCounter, Node, Pair } from 'yaml';
import type { Location } from '../../policy/types.js';
import type { DocSource, NodePart, PathSeg } from '../source.js';
import { findPair, spanOf } from './nodes.js';
import { parseYaml } from './parse.js';

/** One file's text, shared by the sources of its documents, with its parsed trees while cached. */
export class YamlFileText {
  /** Roots of the file's documents (by index) and its line counter, while held. */
  trees: { roots: unknown[]; lc: LineCounter } | null = null;
  constructor(readonly text: string) {}

  /** The parsed trees, re-parsing the text when they were released. */
  parsed(): { roots: unknown[]; lc: LineCounter } {
    if (this.trees === null) {
      const p = parseYaml(this.text, false);
      this.trees = { roots: p.docs.map((d) => d.contents), lc: p.lineCounter };
      remember(this);
    }
    return this.trees;
  }
}

/** Files whose trees were re-parsed for a lookup, most recent last. */
const reparsed: YamlFileText[] = [];
const REPARSED_KEEP = 16;
/**
 * ...and at most this much text among them (the latest file is always kept): a tree costs a few
 * hundred bytes per node, so sixteen files near the size limit would hold gigabytes.
 */
const REPARSED_KEEP_CHARS = 4 * 1024 * 1024;
let reparsedChars = 0;

function remember(f: YamlFileText): void {
  reparsed.push(f);
  reparsedChars += f.text.length;
  while (reparsed.length > REPARSED_KEEP || (reparsed.length > 1 && reparsedChars > REPARSED_KEEP_CHARS)) {
    const old = reparsed.shift()!;
    old.trees = null;
    reparsedChars -= old.text.length;
  }
}

function rangeOf(node: unknown): [number, number] | null {
  const r = (node as Node | null | undefined)?.range;
  return r ? [r[0], r[1]] : null;
}

/** An empty value: `key:` with nothing after it (a null scalar of zero width). */
function isEmptyValue(node: unknown): boolean {
  if (node === null || node === undefined) return true;
  if (!isScalar(node)) return false;
  const r = node.range;
  return !r || r[0] === r[1];
}

/** A YamlDocSource as plain data (to send it between threads): all it holds besides its file's text. */
export interface DocParts {
  index: number;
  docRange: [number, number];
  rootLoc: Location;
}

export class YamlDocSource implements DocSource {
  /** The tree of the document while one `locate` runs. */
  private root: unknown;
  private lc!: LineCounter;
  private readonly text: string;

  /** Where `locate([])` points (asked for every scenario): computed while the tree is at hand. */
  private rootLoc: Location;

  constructor(
    readonly file: string,
    readonly index: number,
    /** The file's text, shared with the file's other documents. */
    readonly fileText: YamlFileText,
    /** Span of the whole document, for a root that is not a collection. */
    private readonly docRange: [number, number],
    /** The document's tree and line counter, at load time (not kept); or its root span. */
    tree: { root: unknown; lc: LineCounter } | Location,
  ) {
    this.text = fileText.text;
    if ('lc' in tree) {
      this.root = tree.root;
      this.lc = tree.lc;
      this.rootLoc = this.walk([], 'value');
      this.root = undefined;
      this.lc = undefined as unknown as LineCounter;
    } else {
      this.rootLoc = tree;
    }
  }

  toParts(): DocParts {
    return { index: this.index, docRange: this.docRange, rootLoc: this.rootLoc };
  }

  static fromParts(file: string, fileText: YamlFileText, parts: DocParts): YamlDocSource {
    return new YamlDocSource(file, parts.index, fileText, parts.docRange, parts.rootLoc);
  }

  locate(path: readonly PathSeg[], part: NodePart = 'value'): Location {
    if (path.length === 0) return { ...this.rootLoc };
    const t = this.fileText.parsed();
    this.root = t.roots[this.index];
    this.lc = t.lc;
    try {
      return this.walk(path, part);
    } finally {
      this.root = undefined;
      this.lc = undefined as unknown as LineCounter;
    }
  }

  private walk(path: readonly PathSeg[], part: NodePart): Location {
    let node: unknown = this.root;
    let viaPair: Pair | null = null;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      if (isAlias(node)) return this.nodeSpan(node, viaPair);
      if (isMap(node)) {
        const pair = findPair(node, String(seg));
        if (pair === undefined) return this.missingIn(node, viaPair);
        viaPair = pair;
        node = pair.value;
      } else if (isSeq(node)) {
        const item = typeof seg === 'number' && Number.isInteger(seg) && seg >= 0 ? node.items[seg] : undefined;
        if (item === undefined) return this.missingIn(node, viaPair);
        viaPair = null;
        node = item;
      } else {
        // a scalar (or an empty value) where the path expects a collection
        return this.nodeSpan(node, viaPair);
      }
    }
    if (viaPair !== null && part === 'key') return this.keySpan(viaPair);
    if (viaPair !== null && part === 'pair') {
      const k = rangeOf(viaPair.key);
      const v = isEmptyValue(viaPair.value) ? null : rangeOf(viaPair.value);
      if (k) return this.span(k[0], v ? v[1] : k[1]);
    }
    return this.nodeSpan(node, viaPair);
  }

  private span(start: number, end: number): Location {
    return spanOf(this.file, this.text, this.lc, start, end);
  }

  private keySpan(pair: Pair): Location {
    const k = rangeOf(pair.key);
    return k ? this.span(k[0], k[1]) : this.nodeSpan(pair.value, null);
  }

  /** The value span of `node`; for an empty value reached through a key, the key's span. */
  private nodeSpan(node: unknown, viaPair: Pair | null): Location {
    if (viaPair !== null && isEmptyValue(node)) return this.keySpan(viaPair);
    const r = rangeOf(node);
    if (r) return this.span(r[0], r[1]);
    return this.span(this.docRange[0], this.docRange[1]);
  }

  /** A path segment is missing from `container` (reached through `viaPair`, if any). */
  private missingIn(container: unknown, viaPair: Pair | null): Location {
    if (viaPair !== null) return this.keySpan(viaPair);
    if (container === this.root && isMap(container)) {
      const name = findPair(container, 'name');
      if (name && !isEmptyValue(name.value)) return this.nodeSpan(name.value, name);
      const first = container.items[0] as Pair | undefined;
      if (first) return this.keySpan(first);
    }
    return this.nodeSpan(container, null);
  }
}
