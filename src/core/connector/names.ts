/**
 * The names a definition may not use, and the rules of the connector schema that are code
 * rather than data (its refinements). They live apart from schema.ts, without zod, because the
 * check generated from the schema (fast-check.ts) calls the same functions: one rule, two
 * readers.
 */

/**
 * Names that would reach Object.prototype if they became object keys (a body field
 * `__proto__.polluted` once polluted every object): refused wherever a definition names a key.
 */
export const RESERVED_NAMES: readonly string[] = ['__proto__', 'constructor', 'prototype'];

export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** A name that is not one of RESERVED_NAMES. */
export function isUnreserved(name: string): boolean {
  return !RESERVED_NAMES.includes(name);
}

/** A dotted JSON path none of whose keys is one of RESERVED_NAMES. */
export function hasNoReservedKey(path: string): boolean {
  return !path.split('.').some((key) => RESERVED_NAMES.includes(key));
}

/** A mapping with at least one entry. */
export function isNonEmpty(record: object): boolean {
  return Object.keys(record).length > 0;
}
