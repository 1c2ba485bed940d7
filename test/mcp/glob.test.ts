import { describe, expect, it } from 'vitest';
import { GlobSyntaxError, MAX_GLOBS, MAX_GLOB_LENGTH, compileGlob, globMatches } from '../../src/mcp/glob.js';

/** What a tool-name glob matches (src/mcp/glob.ts): the syntax docs/mcp.md promises. */

const matches = (glob: string, name: string): boolean => globMatches(compileGlob(glob), name);

describe('tool-name globs', () => {
  it('cover the whole name, case sensitive: *, ? and literal characters', () => {
    const cases: [string, string, boolean][] = [
      ['gmail_*', 'gmail_send_message', true],
      ['gmail_*', 'gmail_', true],
      ['gmail_*', 'xgmail_send', false],
      ['gmail_*', 'Gmail_send', false],
      ['GMAIL_*', 'gmail_send', false],
      ['gmail', 'gmail_send', false],
      ['send', 'gmail_send', false],
      ['*send', 'gmail_send', true],
      ['*send', 'gmail_send_x', false],
      ['*_delete_*', 'gmail_delete_message', true],
      ['*_delete_*', 'dropbox_delete', false],
      ['*delete*', 'dropbox_delete', true],
      ['**', 'gmail_x', true],
      ['*', 'a', true],
      ['gmail_?et_*', 'gmail_get_profile', true],
      ['gmail_?et_*', 'gmail_gget_profile', false],
      ['gmail_?et_*', 'gmail_et_profile', false],
      ['a.b', 'a.b', true],
      ['a.b', 'axb', false],
      ['a-b', 'a-b', true],
      // Pieces between stars never overlap, and the last one sits at the end.
      ['*a*b*c', 'xaybzc', true],
      ['*a*b*c', 'xaybzcx', false],
      ['a*a*a', 'aaa', true],
      ['a*a*a', 'aa', false],
      ['ab*ba', 'aba', false],
      ['ab*ba', 'abba', true],
      ['*ab', 'aab', true],
      ['*?*?*?Z', 'gmail_send', false],
      ['*?*?*?d', 'gmail_send', true],
    ];
    for (const [glob, name, expected] of cases)
      expect(matches(glob, name), `${glob} ~ ${name}`).toBe(expected);
  });

  it('[…] sets, {…} alternatives and a leading ! as before', () => {
    const cases: [string, string, boolean][] = [
      ['[a-c]x', 'bx', true],
      ['[a-c]x', 'dx', false],
      ['[abc]x', 'cx', true],
      ['[!a-c]x', 'dx', true],
      ['[!a-c]x', 'ax', false],
      ['[-a]x', '-x', true],
      ['[a-]x', '-x', true],
      ['[]a]x', ']x', true],
      ['[*]x', '*x', true],
      ['[*]x', 'ax', false],
      ['gmail_{get,list}_*', 'gmail_get_profile', true],
      ['gmail_{get,list}_*', 'gmail_list_labels', true],
      ['gmail_{get,list}_*', 'gmail_send_message', false],
      ['gmail_{,batch}_x', 'gmail__x', true],
      ['gmail_{,batch}_x', 'gmail_batch_x', true],
      ['{gmail,dropbox}_*{delete,trash}*', 'dropbox_delete_batch', true],
      ['{gmail,dropbox}_*{delete,trash}*', 'slack_delete', false],
      ['a*{*,b}', 'axyz', true],
      ['{[ab],c}x', 'bx', true],
      ['!gmail_*', 'dropbox_list', true],
      ['!gmail_*', 'gmail_send', false],
      ['!!gmail_*', 'gmail_send', true],
      ['!{gmail,dropbox}_*', 'dropbox_x', false],
      ['!{gmail,dropbox}_*', 'slack_x', true],
    ];
    for (const [glob, name, expected] of cases)
      expect(matches(glob, name), `${glob} ~ ${name}`).toBe(expected);
  });

  it('agrees with a regular expression on every short glob and name (the reference, bounded here)', () => {
    // A fixed pseudo-random sequence: the same cases on every run.
    let seed = 21;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const parts = ['a', 'b', '_', '*', '?', '[ab]', '[!a]', '{a,b_}', '{,a}'];
    const toRegExp = (glob: string): RegExp =>
      new RegExp(
        `^(?:${glob
          .replace(/\*+/g, '%')
          .replace(/\?/g, '.')
          .replace(/\[!/g, '[^')
          .replace(/\{([^}]*)\}/g, (_, inner: string) => `(?:${inner.split(',').join('|')})`)
          .replace(/%/g, '.*')})$`,
      );
    let checked = 0;
    for (let g = 0; g < 400; g++) {
      const glob = Array.from({ length: 1 + next(6) }, () => parts[next(parts.length)]).join('');
      const reference = toRegExp(glob);
      const compiled = compileGlob(glob);
      for (let n = 0; n < 40; n++) {
        const name = Array.from({ length: next(8) }, () => 'ab_'.charAt(next(3))).join('');
        expect(globMatches(compiled, name), `${glob} ~ ${name}`).toBe(reference.test(name));
        checked++;
      }
    }
    expect(checked).toBe(16_000);
  });

  it('refuses what can only be a mistake, and what is over the bounds, saying why', () => {
    const refused: [string, RegExp][] = [
      ['gmail_[', /\[ without its \]/],
      ['gmail_[]', /\[ without its \]/],
      ['{gmail,dropbox', /\{ without its \}/],
      ['gmail}_*', /"\}" out of place/],
      ['gmail_*,dropbox_*', /"," out of place/],
      ['gmail_]', /"\]" out of place/],
      ['gm!ail', /"!" out of place/],
      ['{a,{b,c}}', /inside a \{…\}/],
      ['[z-a]', /backwards/],
      ['!', /empty/],
      ['x'.repeat(MAX_GLOB_LENGTH + 1), new RegExp(`at most ${MAX_GLOB_LENGTH} characters`)],
      ['{a,b,c,d,e,f,g,h,i}{a,b,c,d,e,f,g,h,i}', new RegExp(`more than ${MAX_GLOBS} globs`)],
    ];
    for (const [glob, why] of refused) {
      let caught: unknown;
      try {
        compileGlob(glob);
      } catch (error) {
        caught = error;
      }
      expect(caught, glob).toBeInstanceOf(GlobSyntaxError);
      expect((caught as Error).message, glob).toMatch(why);
    }
    // At the bounds, accepted.
    expect(compileGlob('x'.repeat(MAX_GLOB_LENGTH)).alternatives).toHaveLength(1);
    expect(compileGlob('{a,b,c,d,e,f,g,h}{a,b,c,d,e,f,g,h}').alternatives).toHaveLength(MAX_GLOBS);
  });
});
