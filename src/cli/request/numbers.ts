import { ConnectrError } from '../../core/errors.js';

/** The whole-number flags of call and api (--max-pages, --limit, --retries), refused when malformed. */

export function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new ConnectrError('invalid_input', `${flag} "${value}" is not a positive whole number`);
  return n;
}

export function nonNegative(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new ConnectrError('invalid_input', `${flag} "${value}" is not a whole number`);
  return n;
}
