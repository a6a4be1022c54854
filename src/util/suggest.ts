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
 * Answers of `closest` already worked out, by word and candidate list: a trace that names the
 * same unknown caller on every line asks the same question a million times. Emptied when full.
 */
const answers = new Map<string, string | null>();
const MAX_ANSWERS = 1024;
/** Words longer than this are not remembered (a key holds the word). */
const MAX_REMEMBERED_WORD = 256;

/** The candidate closest to `word` (case-insensitive), if within ⌈len/3⌉ edits; ties → first. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const remember = word.length <= MAX_REMEMBERED_WORD;
  const key = remember ? JSON.stringify([word, candidates]) : '';
  if (remember) {
    const known = answers.get(key);
    if (known !== undefined) return known ?? undefined;
  }
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
  const answer = bestD <= limit ? best : undefined;
  if (remember) {
    if (answers.size >= MAX_ANSWERS) answers.clear();
    answers.set(key, answer ?? null);
  }
  return answer;
}
