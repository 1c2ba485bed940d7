/**
 * Tool-name globs (`--allow`/`--deny`, `?allow=`/`?deny=`) matched without regular expressions.
 * The globs come from whoever calls the daemon, and a glob compiled to a backtracking regular
 * expression (`*?*?*?…Z`) held the daemon's one thread for seconds per glob. Here a glob is
 * split at its stars into pieces of one-character tokens, and each piece is placed at the
 * leftmost position it fits: a piece placed leftmost never has to move, so nothing is ever
 * retried and a match costs at most name length × glob length steps.
 *
 * The syntax: `*` any run of characters (`**` is the same), `?` one character, `[abc]`, `[a-z]`
 * and `[!a-z]` one character of (or not of) a set, `{a,b}` one of alternatives (not nested), a
 * leading `!` matches the names the rest does not. Everything else is itself, case sensitive,
 * and the glob covers the whole name. A syntax character out of place (an unclosed `[` or `{`,
 * a `,` outside braces) is refused: tool names never hold one, so it can only be a mistake.
 */

/** How many globs a list may hold, each alternative of a `{…}` counting as one. */
export const MAX_GLOBS = 64;
/** The longest glob, in characters (a tool name is at most 128). */
export const MAX_GLOB_LENGTH = 200;

type Token =
  | { readonly kind: 'char'; readonly char: string }
  | { readonly kind: 'any' }
  | {
      readonly kind: 'set';
      readonly negated: boolean;
      readonly ranges: readonly (readonly [string, string])[];
    };

/** One alternative: the tokens between its stars. */
interface Pieces {
  /** The tokens before the first star (all of them when there is no star). */
  readonly head: readonly Token[];
  /** The tokens between stars, in order. */
  readonly middle: readonly (readonly Token[])[];
  /** The tokens after the last star; undefined when there is no star. */
  readonly tail: readonly Token[] | undefined;
}

export interface Glob {
  readonly negated: boolean;
  readonly alternatives: readonly Pieces[];
}

/** Why a glob is refused, for the caller's message. */
export class GlobSyntaxError extends Error {
  /** The glob stands for more alternatives than it was allowed. */
  readonly tooMany: boolean;
  constructor(message: string, tooMany = false) {
    super(message);
    this.tooMany = tooMany;
  }
}

/** A glob's text, read: runs of tokens and `{…}` groups of alternatives. */
type Part =
  | { readonly kind: 'tokens'; readonly tokens: readonly Unit[] }
  | { readonly kind: 'group'; readonly alternatives: readonly (readonly Unit[])[] };
/** A token, or a star between tokens until pieces() splits at it. */
type Unit = Token | { readonly kind: 'star' };

/** One glob, checked; its alternatives are bounded by `maxAlternatives` before they are built. */
export function compileGlob(glob: string, maxAlternatives = MAX_GLOBS): Glob {
  if (glob.length > MAX_GLOB_LENGTH)
    throw new GlobSyntaxError(
      `has ${glob.length} characters, at most ${MAX_GLOB_LENGTH} characters are allowed`,
    );
  let rest = glob;
  let negated = false;
  while (rest.startsWith('!')) {
    negated = !negated;
    rest = rest.slice(1);
  }
  if (rest === '') throw new GlobSyntaxError('is empty');
  const parts: Part[] = [];
  let count = 1;
  let i = 0;
  while (i < rest.length) {
    const end = nextOutsideSets(rest, i, '{');
    if (end > i) parts.push({ kind: 'tokens', tokens: parseTokens(rest.slice(i, end)) });
    if (end === rest.length) break;
    const close = nextOutsideSets(rest, end + 1, '}');
    if (close === rest.length) throw new GlobSyntaxError('has a { without its }');
    const inner = rest.slice(end + 1, close);
    if (nextOutsideSets(inner, 0, '{') < inner.length)
      throw new GlobSyntaxError('has a {…} inside a {…}, which is not supported');
    const alternatives = splitAlternatives(inner).map(parseTokens);
    count *= alternatives.length;
    // Checked before anything is built: `{a,b}{a,b}…` doubles with each group.
    if (count > maxAlternatives)
      throw new GlobSyntaxError(
        `stands for more than ${maxAlternatives} globs (each alternative of a {…} counts as one)`,
        true,
      );
    parts.push({ kind: 'group', alternatives });
    i = close + 1;
  }
  return { negated, alternatives: expand(parts).map(pieces) };
}

/** Whether a name matches the glob. */
export function globMatches(glob: Glob, name: string): boolean {
  return glob.alternatives.some((a) => piecesMatch(a, name)) !== glob.negated;
}

/** The position of the next `char` outside a `[…]` set, or the end. */
function nextOutsideSets(text: string, from: number, char: string): number {
  let i = from;
  while (i < text.length) {
    const at = text.charAt(i);
    if (at === char) return i;
    i = at === '[' ? setEnd(text, i) : i + 1;
  }
  return i;
}

/** Alternatives split at commas outside `[…]` sets. */
function splitAlternatives(inner: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < inner.length) {
    const char = inner.charAt(i);
    if (char === ',') {
      out.push(inner.slice(start, i));
      start = i + 1;
      i += 1;
    } else i = char === '[' ? setEnd(inner, i) : i + 1;
  }
  out.push(inner.slice(start));
  return out;
}

/** The position just past the `]` of the set that opens at `open`. */
function setEnd(text: string, open: number): number {
  let i = open + 1;
  if (text.charAt(i) === '!') i += 1;
  // A `]` first in the set is one of its characters.
  if (text.charAt(i) === ']') i += 1;
  const close = text.indexOf(']', i);
  if (close < 0) throw new GlobSyntaxError('has a [ without its ]');
  return close + 1;
}

/** The tokens and stars of a text that holds no `{…}`. */
function parseTokens(text: string): Unit[] {
  const out: Unit[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text.charAt(i);
    if (char === '*') {
      out.push(STAR);
      i += 1;
    } else if (char === '?') {
      out.push(ANY);
      i += 1;
    } else if (char === '[') {
      const end = setEnd(text, i);
      out.push(parseSet(text.slice(i + 1, end - 1)));
      i = end;
    } else if (char === ']' || char === '}' || char === ',' || char === '!' || char === '{') {
      throw new GlobSyntaxError(`has a "${char}" out of place`);
    } else {
      out.push({ kind: 'char', char });
      i += 1;
    }
  }
  return out;
}

function parseSet(body: string): Token {
  const negated = body.startsWith('!');
  const chars = negated ? body.slice(1) : body;
  const ranges: [string, string][] = [];
  let i = 0;
  while (i < chars.length) {
    const from = chars.charAt(i);
    // `a-z` is a range; a `-` first or last is itself.
    if (chars.charAt(i + 1) === '-' && i + 2 < chars.length) {
      const to = chars.charAt(i + 2);
      if (to < from) throw new GlobSyntaxError(`has a range [${from}-${to}] that is backwards`);
      ranges.push([from, to]);
      i += 3;
    } else {
      ranges.push([from, from]);
      i += 1;
    }
  }
  if (ranges.length === 0) throw new GlobSyntaxError('has an empty [] set');
  return { kind: 'set', negated, ranges };
}

const ANY: Token = { kind: 'any' };
const STAR: Unit = { kind: 'star' };

/** Every alternative as one list (their count was bounded before). */
function expand(parts: readonly Part[]): Unit[][] {
  let out: Unit[][] = [[]];
  for (const part of parts) {
    const choices = part.kind === 'group' ? part.alternatives : [part.tokens];
    out = out.flatMap((prefix) => choices.map((choice) => [...prefix, ...choice]));
  }
  return out;
}

function pieces(units: readonly Unit[]): Pieces {
  const split: Token[][] = [[]];
  for (const unit of units) {
    if (unit.kind === 'star') {
      // `**`, or `a*{*,b}` expanded: stars side by side are one.
      if (split.length > 1 && split.at(-1)?.length === 0) continue;
      split.push([]);
    } else split.at(-1)?.push(unit);
  }
  if (split.length === 1) return { head: split[0] ?? [], middle: [], tail: undefined };
  return { head: split[0] ?? [], middle: split.slice(1, -1), tail: split.at(-1) ?? [] };
}

function tokenMatches(token: Token, char: string): boolean {
  switch (token.kind) {
    case 'char':
      return token.char === char;
    case 'any':
      return true;
    case 'set':
      return token.ranges.some(([from, to]) => char >= from && char <= to) !== token.negated;
  }
}

/** Whether the tokens match the name at `at` (the caller checked that they fit). */
function fitsAt(tokens: readonly Token[], name: string, at: number): boolean {
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k];
    if (token === undefined || !tokenMatches(token, name.charAt(at + k))) return false;
  }
  return true;
}

function piecesMatch(glob: Pieces, name: string): boolean {
  const { head, middle, tail } = glob;
  if (tail === undefined) return name.length === head.length && fitsAt(head, name, 0);
  // The head at the start and the tail at the end are fixed; the middle pieces go between,
  // each at the leftmost place it fits: a later place would only leave less room after it.
  const end = name.length - tail.length;
  if (end < head.length || !fitsAt(head, name, 0) || !fitsAt(tail, name, end)) return false;
  let at = head.length;
  for (const piece of middle) {
    let found = -1;
    for (let p = at; p + piece.length <= end; p++) {
      if (fitsAt(piece, name, p)) {
        found = p;
        break;
      }
    }
    if (found < 0) return false;
    at = found + piece.length;
  }
  return true;
}
