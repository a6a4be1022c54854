/** "Did you mean" suggestions: the closest candidate within a small edit distance. */

/**
 * Optimal string alignment distance (Levenshtein + adjacent transposition: "memroy" → "memory" is
 * 1). With `max`, the answer is only exact up to `max`: any distance above it may be returned as
 * `max + 1`, found as soon as a whole row of the table exceeds `max`.
 */
export function editDistance(a: string, b: string, max: number = Infinity): number {
  const m = a.length;
  const n = b.length;
  // Three rolling rows: no per-row allocation (this runs once per candidate per unknown key).
  let prev2 = new Int32Array(n + 1);
  let prev = new Int32Array(n + 1);
  let cur = new Int32Array(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    // No later cell can come back to `max`: a cell is at least the least of the row above, of
    // the row before that + 1 (a transposition), or its row number; and a row's least exceeds the
    // least of the row above by at most 1, so the row above's least was ≥ max too.
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

/**
 * Answers of `closest` already worked out, by word, each with the candidate list it was asked
 * with: a trace that names the same unknown caller or op on every line asks the same question a
 * million times. A list is compared element by element (the strings are mostly the very same
 * objects, so that is cheap; no key made of the whole list is built or hashed). Emptied when full.
 */
const answers = new Map<string, { candidates: readonly string[]; answer: string | undefined }[]>();
const MAX_ANSWERS = 256;
/** Candidate lists remembered per word. */
const MAX_LISTS_PER_WORD = 4;
/**
 * Longer words, and longer candidate lists, are not remembered (the map holds a copy of each):
 * at most 256 × 4 lists of 1,024 names.
 */
const MAX_REMEMBERED_WORD = 256;
const MAX_REMEMBERED_CANDIDATES = 1024;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The candidate closest to `word` (case-insensitive), if within ⌈len/3⌉ edits; ties → first. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > MAX_REMEMBERED_WORD || candidates.length > MAX_REMEMBERED_CANDIDATES) return nearest(word, candidates);
  const known = answers.get(word);
  if (known !== undefined) {
    for (const k of known) if (sameList(k.candidates, candidates)) return k.answer;
  }
  const answer = nearest(word, candidates);
  if (known === undefined) {
    if (answers.size >= MAX_ANSWERS) answers.clear();
    answers.set(word, [{ candidates: candidates.slice(), answer }]);
  } else {
    if (known.length >= MAX_LISTS_PER_WORD) known.shift();
    known.push({ candidates: candidates.slice(), answer });
  }
  return answer;
}

/**
 * Words longer than this get no suggestion: the table costs length² (a 100,000-character name
 * took minutes), and nobody mistypes a name that long by a few characters.
 */
const MAX_SUGGESTED_WORD = 1024;

function nearest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > MAX_SUGGESTED_WORD) return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  const w = word.toLowerCase();
  const limit = Math.max(1, Math.ceil(word.length / 3));
  for (const c of candidates) {
    if (c === word) continue;
    // The distance is at least the difference in length: skip what cannot be within the limit
    // (without this, a megabyte-long word costs a megabyte-sized table per candidate).
    if (Math.abs(w.length - c.length) > limit) continue;
    const d = editDistance(w, c.toLowerCase(), limit);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= limit ? best : undefined;
}
