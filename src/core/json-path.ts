import type { JsonPath } from './connector/schema.js';

/** The keys of a path: "a.b" -> [a, b]; a list is taken as is (for keys with dots). */
export function pathKeys(path: JsonPath): readonly string[] {
  return typeof path === 'string' ? path.split('.') : path;
}

/** The value at `path` in a JSON document, or undefined. */
export function getPath(value: unknown, path: JsonPath): unknown {
  let current = value;
  for (const key of pathKeys(path)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Sets `value` at `path`, creating objects on the way. */
export function setPath(target: Record<string, unknown>, path: JsonPath, value: unknown): void {
  const keys = pathKeys(path);
  let current = target;
  keys.slice(0, -1).forEach((key) => {
    const next = current[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) current[key] = {};
    current = current[key] as Record<string, unknown>;
  });
  const last = keys[keys.length - 1];
  if (last !== undefined) current[last] = value;
}
