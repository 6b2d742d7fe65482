/**
 * "Did you mean" suggestions for misspelled keys, modules, roles, hosts and groups.
 * Optimal-string-alignment distance (Levenshtein plus adjacent transposition), because the
 * commonest typos are swapped letters (`nmae`) and a dropped or doubled letter (`hostz`, `childrens`).
 */

/** Edit distance where insert, delete, substitute and swapping two neighbours each cost 1. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  // three rolling rows are enough: the transposition looks two rows back
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length];
}

/**
 * How many edits still look like a typo rather than a different word: one per three letters,
 * at least one. Short words get one edit so `prt` finds `port` but `foo` does not find `bar`.
 */
function threshold(word: string): number {
  return Math.max(1, Math.floor(word.length / 3));
}

/**
 * The candidate closest to `word`, or undefined when none is close enough to be a plausible typo.
 * Case is ignored for the distance. On a tie the earlier candidate wins, so callers list the
 * likelier ones first. A word that is a prefix of a longer candidate (`identity` for
 * `identity_file`) is suggested when nothing is within the edit threshold.
 */
export function nearest(word: string, candidates: Iterable<string>, maxDistance = threshold(word)): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  let prefixMatch: string | undefined;
  for (const c of candidates) {
    if (c === word) continue;
    const lc = c.toLowerCase();
    const d = editDistance(w, lc);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
    if (prefixMatch === undefined && w.length >= 4 && (lc.startsWith(w) || w.startsWith(lc)) && lc.length >= 4) prefixMatch = c;
  }
  if (best !== undefined && bestDistance <= maxDistance) return best;
  return prefixMatch;
}

/** "did you mean `x`?" for the nearest candidate, or undefined. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const n = nearest(word, candidates);
  return n === undefined ? undefined : `did you mean \`${n}\`?`;
}
