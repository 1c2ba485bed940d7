import type { JsonPath } from './connector/schema.js';

/** The keys of a path: "a.b" -> [a, b]; a list is taken as is (for keys with dots). */
export function pathKeys(path: JsonPath): readonly string[] {
  return typeof path === 'string' ? path.split('.') : path;
}

/**
 * The value at `path` in a JSON document, or undefined. Only own properties count: `constructor`
 * or `__proto__` in a path never reach Object.prototype.
 */
export function getPath(value: unknown, path: JsonPath): unknown {
  let current = value;
  for (const key of pathKeys(path)) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * Sets `value` at `path`, creating objects on the way. Every key becomes an own property, even
 * `__proto__` (an assignment would change the prototype instead, or pollute Object.prototype).
 */
export function setPath(target: Record<string, unknown>, path: JsonPath, value: unknown): void {
  const keys = pathKeys(path);
  let current = target;
  keys.slice(0, -1).forEach((key) => {
    const next = Object.hasOwn(current, key) ? current[key] : undefined;
    if (next !== null && typeof next === 'object' && !Array.isArray(next)) {
      current = next as Record<string, unknown>;
      return;
    }
    const created: Record<string, unknown> = {};
    setOwn(current, key, created);
    current = created;
  });
  const last = keys[keys.length - 1];
  if (last !== undefined) setOwn(current, last, value);
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}
