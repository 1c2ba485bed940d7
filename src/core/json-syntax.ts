/**
 * Where JSON text first goes wrong, as a line and column a person can find. JSON.parse in
 * Node 20 often names no position ("Unexpected token '}', ... is not valid JSON"), so the text
 * is scanned once more, only after JSON.parse has refused it.
 */

export interface JsonSyntaxError {
  /** What is wrong there: `unexpected "}"`, `unexpected end of text`. */
  readonly problem: string;
  readonly line: number;
  readonly column: number;
}

/** Undefined when `text` is valid JSON. */
export function jsonSyntaxError(text: string): JsonSyntaxError | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch {
    let offset: number;
    try {
      offset = firstError(text);
    } catch {
      // Nesting too deep to scan: say where the text ends.
      offset = text.length;
    }
    const before = text.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    const c = text[offset];
    return {
      problem: c === undefined ? 'unexpected end of text' : `unexpected ${JSON.stringify(c)}`,
      line,
      column,
    };
  }
}

class Stop extends Error {
  constructor(readonly at: number) {
    super(`invalid JSON at ${at}`);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** The offset of the first character that cannot continue valid JSON (the length: it ended). */
function firstError(text: string): number {
  let i = 0;
  const fail = (at: number): never => {
    throw new Stop(at);
  };
  const space = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] ?? '')) i++;
  };
  const expect = (c: string): void => {
    if (text[i] !== c) fail(i);
    i++;
  };
  const string = (): void => {
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) fail(i);
      else if (c === '"') {
        i++;
        return;
      } else if (c === '\\') {
        const next = text[i + 1] ?? '';
        if (next !== '' && '"\\/bfnrt'.includes(next)) i += 2;
        else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else fail(i + 1);
      } else if (c < ' ') fail(i);
      else i++;
    }
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] !== '"') fail(i);
        string();
        space();
        expect(':');
        value();
        space();
        if (text[i] === ',') i++;
        else {
          expect('}');
          return;
        }
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        space();
        if (text[i] === ',') i++;
        else {
          expect(']');
          return;
        }
      }
    }
    if (c === '"') {
      string();
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (c !== word[0]) continue;
      for (const letter of word) expect(letter);
      return;
    }
    NUMBER.lastIndex = i;
    if (c !== undefined && NUMBER.test(text)) {
      i = NUMBER.lastIndex;
      return;
    }
    fail(c === '-' ? i + 1 : i);
  };
  try {
    value();
    space();
    if (i < text.length) fail(i);
    return text.length;
  } catch (error) {
    if (error instanceof Stop) return error.at;
    throw error;
  }
}
