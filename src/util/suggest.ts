/** "Did you mean" suggestions: the closest candidate within a small edit distance. */

export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  // Optimal string alignment distance (Levenshtein + adjacent transposition: "memroy" → "memory" is 1),
  // over three rolling rows: no per-row allocation (this runs once per candidate per unknown key).
  let prev2 = new Int32Array(n + 1);
  let prev = new Int32Array(n + 1);
  let cur = new Int32Array(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2]! + 1);
      cur[j] = v;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n]!;
}

/** The candidate closest to `word` (case-insensitive), if within ⌈len/3⌉ edits; ties → first. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const w = word.toLowerCase();
  const limit = Math.max(1, Math.ceil(word.length / 3));
  for (const c of candidates) {
    if (c === word) continue;
    // The distance is at least the difference in length: skip what cannot be within the limit
    // (without this, a megabyte-long word costs a megabyte-sized table per candidate).
    if (Math.abs(w.length - c.length) > limit) continue;
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= limit ? best : undefined;
}
