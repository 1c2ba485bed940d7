import { RESERVED_FLAGS } from '../connector/checks.js';
import { defaultFlag } from '../connector/model.js';
import { RESERVED_NAMES } from '../connector/schema.js';

/**
 * Names for what an OpenAPI document calls operations, parameters and properties, under the
 * connector format's rules: endpoint and host keys are snake_case starting with a letter, param
 * keys are identifiers, none may name a member of every JavaScript object, and param flags may
 * not be connectr's own.
 */

/** `listPetsByOwner`, `list-pets`, `List Pets`, `HTTPServer` -> `list_pets_by_owner`, ..., `http_server`. */
export function snakeCase(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

/** A key matching `^[a-z][a-z0-9_]*$` that is not reserved; `fallback` when `text` has no letters. */
export function endpointKey(text: string, fallback: string): string {
  let name = snakeCase(text);
  if (name === '') name = snakeCase(fallback) || 'endpoint';
  if (!/^[a-z]/.test(name)) name = `op_${name}`;
  if (RESERVED_NAMES.includes(name)) name = `${name}_op`;
  return name;
}

/** A param key (`^[A-Za-z_][A-Za-z0-9_]*$`, not reserved) from a wire name such as `X-Request-ID` or `$top`. */
export function paramKey(wireName: string): string {
  let key = snakeCase(wireName);
  if (key === '') key = 'param';
  if (/^[0-9]/.test(key)) key = `p_${key}`;
  if (RESERVED_NAMES.includes(key)) key = `${key}_param`;
  return key;
}

/** `base`, or `base_2`, `base_3`, ... the first not in `taken`. */
export function unique(base: string, taken: ReadonlySet<string> | ReadonlyMap<string, unknown>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const candidate = `${base}_${i}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** The flag to set explicitly for `key`, when its default flag is one of connectr's own. */
export function flagFor(key: string, takenFlags: ReadonlySet<string>): string | undefined {
  const natural = defaultFlag(key);
  if (!RESERVED_FLAGS.includes(natural) && !takenFlags.has(natural)) return undefined;
  let flag = `${natural}-value`;
  for (let i = 2; RESERVED_FLAGS.includes(flag) || takenFlags.has(flag); i++) flag = `${natural}-value-${i}`;
  return flag;
}

/** The flag a param ends up with. */
export function effectiveFlag(key: string, flag: string | undefined): string {
  return flag ?? defaultFlag(key);
}

/** The connector name: lowercase letters, digits, `-`, `_`, starting with a letter. */
export function connectorName(title: string): string {
  let name = title
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/[-_]+$/, '');
  if (name.length > 40) name = name.slice(0, 40).replace(/[-_]+$/, '');
  return name || 'imported';
}
