import { ConnectrError } from '../core/errors.js';
import type { Env } from '../core/paths.js';

/**
 * A whole-number setting from the server's environment (a size, a time in ms): the fallback
 * when unset or empty, else a whole number of at least `min`. Anything else stops the start
 * with an error naming the variable, rather than running with a value nobody chose.
 */
export function wholeNumberSetting(env: Env, name: string, fallback: number, min = 1): number {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    const what = min === 0 ? 'a whole number (0 or more)' : `a whole number of at least ${min}`;
    throw new ConnectrError('invalid_input', `${name} must be ${what} (found "${text}")`, {
      hint: `set ${name} to a number such as ${fallback}, or unset it for the default (${fallback})`,
    });
  }
  return value;
}
