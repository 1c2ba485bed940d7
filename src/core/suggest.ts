import { ConnectrError } from './errors.js';

/** Typo suggestions ("did you mean") for names a user typed. */

/**
 * The one error for a name that does not exist (connector, endpoint, account): code not_found
 * (exit 1 in the CLI), the nearest known name as a "did you mean" or, when none is near, the
 * known names themselves, then `where` (how to see them all, or how to create one).
 */
export function unknownName(
  message: string,
  name: string,
  known: readonly string[],
  where: string,
): ConnectrError {
  const suggestion = closest(name, known);
  const lead = suggestion
    ? `did you mean "${suggestion}"?`
    : known.length
      ? `known: ${known.join(', ')}.`
      : '';
  return new ConnectrError('not_found', message, { hint: [lead, where].filter(Boolean).join(' ') });
}

/**
 * The candidate nearest to `word` by edit distance, if it is near enough to be a typo: at most
 * one edit per three letters typed (one for a short word), and more of the longer name kept
 * than changed. A short word is otherwise two edits from every other short name (`zz` and `q`
 * were taken for `nb`).
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    const longer = Math.max(word.length, candidate.length);
    if (d < bestDistance && (longer - d) / longer > 0.4) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Edits from `a` to `b`, a swap of two neighbouring letters counting as one (optimal string
 * alignment): "gmial" is one edit from "gmail", so it is not taken for "gcal", two away.
 */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, (before[j - 2] ?? 0) + 1);
      current[j] = d;
    }
    before = previous;
    previous = current;
  }
  return previous[b.length] ?? 0;
}
