/**
 * Names in each language's style for generated code: the words of a definition's name
 * (`list_messages`, `get-item`, `maxResults`, `$top`) joined as camelCase, PascalCase or
 * snake_case, and a reserved word made safe by a trailing underscore.
 */

/** The words of a name: split at `_`, `-`, `.`, `$`, spaces and lower-to-upper case changes. */
export function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word.toLowerCase());
}

const capital = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);

/** A name that must start with a letter gets a leading underscore-free prefix instead. */
function startWithLetter(text: string, prefix: string): string {
  return /^[0-9]/.test(text) ? `${prefix}${text}` : text;
}

export function camel(name: string): string {
  const [first = '', ...rest] = wordsOf(name);
  return startWithLetter(first + rest.map(capital).join(''), '_');
}

export function pascal(name: string): string {
  return startWithLetter(wordsOf(name).map(capital).join(''), 'X');
}

export function snake(name: string): string {
  return startWithLetter(wordsOf(name).join('_'), '_');
}

export function kebab(name: string): string {
  return wordsOf(name).join('-');
}

export function constant(name: string): string {
  return startWithLetter(wordsOf(name).join('_').toUpperCase(), '_');
}

const words = (text: string): readonly string[] => text.split(/\s+/).filter(Boolean);

/** Reserved words (and names a generated module must not shadow) per built-in language. */
export const KEYWORDS: Readonly<Record<string, readonly string[]>> = {
  typescript: words(`
    break case catch class const continue debugger default delete do else enum export
    extends false finally for function if import in instanceof new null return super switch
    this throw true try typeof var void while with as implements interface let package
    private protected public static yield any boolean constructor declare get module require
    number set string symbol type from of await async
  `),
  python: words(`
    False None True and as assert async await break class continue def del elif else except
    finally for from global if import in is lambda nonlocal not or pass raise return try
    while with yield match case type self cls client options
  `),
  go: words(`
    break case chan const continue default defer else fallthrough for func go goto if import
    interface map package range return select struct switch type var ctx err c params opts
  `),
};

/** `name` unless it is reserved in the list, then `name_` (the usual escape in each language). */
export function safeName(name: string, keywords: readonly string[]): string {
  return keywords.includes(name) ? `${name}_` : name;
}
