/**
 * Whether a caller's path fits an endpoint's path template: each `{key}` stands for one or more
 * characters other than `?` and `#` (slashes included, as OneDrive's `root:/{path}:/content`
 * needs), the rest is literal, and one trailing slash is allowed.
 *
 * The path is the caller's and may be as long as a command line allows, so this runs in time
 * linear in its length and never through a backtracking regular expression: compiled to
 * `^…[^?#]+?…$`, a template with several placeholders tried every way of cutting a path that
 * does not fit (seconds for 10 KB).
 */
export function fitsTemplate(template: string, path: string): boolean {
  const compiled = compile(template);
  return fits(compiled, path) || (path.endsWith('/') && fits(compiled, path.slice(0, -1)));
}

/** Characters no placeholder takes; a path holds them only where the template's text does. */
const BARRIER = /[?#]/;

interface Compiled {
  /** The template's `?` and `#`, in order. */
  readonly barriers: string;
  /** Between barriers, the literal texts around the placeholders: `a{x}b{y}` is ["a", "b", ""]. */
  readonly sections: readonly (readonly string[])[];
}

function compile(template: string): Compiled {
  // The template comes from a connector definition, not from the caller; the same
  // placeholder syntax url.ts fills.
  const literals = template.split(/\{[^{}]+\}/);
  let barriers = '';
  const sections: string[][] = [[]];
  literals.forEach((literal) => {
    const parts = literal.split(/([?#])/);
    let current = sections[sections.length - 1] ?? [];
    current.push(parts[0] ?? '');
    for (let i = 1; i < parts.length; i += 2) {
      barriers += parts[i] ?? '';
      current = [parts[i + 1] ?? ''];
      sections.push(current);
    }
  });
  return { barriers, sections };
}

function fits(compiled: Compiled, path: string): boolean {
  // A placeholder never spans a barrier, so the path's barriers are the template's own, one
  // for one, and each stretch between them is matched on its own.
  let barriers = '';
  for (const c of path) if (c === '?' || c === '#') barriers += c;
  if (barriers !== compiled.barriers) return false;
  const stretches = path.split(BARRIER);
  return compiled.sections.every((literals, i) => fitsStretch(literals, stretches[i] ?? ''));
}

/**
 * `literals[0] + X1 + literals[1] + … + Xn + literals[n]` with each X non-empty: the first and
 * last literals anchor the ends, and each literal between is taken at its leftmost place after
 * the previous one (a later place never leaves more room for the rest), so every character is
 * looked at a bounded number of times.
 */
function fitsStretch(literals: readonly string[], text: string): boolean {
  const first = literals[0] ?? '';
  if (literals.length === 1) return text === first;
  const last = literals[literals.length - 1] ?? '';
  if (!text.startsWith(first) || !text.endsWith(last)) return false;
  const end = text.length - last.length;
  let at = first.length;
  for (let i = 1; i < literals.length - 1; i++) {
    const literal = literals[i] ?? '';
    const found = text.indexOf(literal, at + 1);
    if (found < 0 || found + literal.length >= end) return false;
    at = found + literal.length;
  }
  return at < end;
}
