/**
 * The parts the check generated from the connector schema (fast-check.ts, by
 * scripts/generate-fast-check.mjs) is composed of, one per kind of zod schema. Each answers the
 * value as zod makes it, NO when zod surely refuses the value (the same test as zod's, which
 * lets a union try its next option) or UNSURE when only zod may decide: the generated check
 * accepts a definition only when zod would, and with zod's value; what it does not decide goes
 * to the schema itself (schema-check.ts).
 */

/** zod surely refuses the value (the same test as zod's). */
export const NO = Symbol('no');
/** Only zod may decide. */
export const UNSURE = Symbol('unsure');

/** A value as zod's schema makes it, or NO or UNSURE. */
export type Check = (v: unknown) => unknown;
export type Test<T> = (value: T) => boolean;

export const failed = (r: unknown): boolean => r === NO || r === UNSURE;
const passes = <T>(value: T, tests: readonly Test<T>[]): boolean => tests.every((test) => test(value));
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function string(tests: readonly Test<string>[]): Check {
  return (v) => (typeof v !== 'string' ? NO : passes(v, tests) ? v : NO);
}

/**
 * A URL zod's url() takes as it is: nothing for it to trim or strip, of the protocol asked
 * for (written with "//", which zod requires of http and https); else zod decides.
 */
export function url(protocol: RegExp | undefined, tests: readonly Test<string>[]): Check {
  const plain = (v: string): boolean => {
    if (v !== v.trim() || /[\t\n\r]/.test(v)) return false;
    if (protocol === undefined) return URL.canParse(v);
    if (!/^https?:\/\//i.test(v)) return false;
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      return false;
    }
    return protocol.test(parsed.protocol.endsWith(':') ? parsed.protocol.slice(0, -1) : parsed.protocol);
  };
  return (v) => (typeof v !== 'string' ? NO : !plain(v) ? UNSURE : passes(v, tests) ? v : NO);
}

export function number(safeInteger: boolean, tests: readonly Test<number>[]): Check {
  return (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return NO;
    if (safeInteger && !Number.isSafeInteger(v)) return UNSURE;
    return passes(v, tests) ? v : NO;
  };
}

export const boolean: Check = (v) => (typeof v === 'boolean' ? v : NO);
export const unknown: Check = (v) => v;

export function oneOf(values: readonly unknown[]): Check {
  return (v) => (values.includes(v) ? v : NO);
}

export function optional(inner: Check): Check {
  return (v) => (v === undefined ? undefined : inner(v));
}

export function withDefault(inner: Check, value: () => unknown): Check {
  return (v) => (v === undefined ? value() : inner(v));
}

export function array(element: Check, tests: readonly Test<unknown[]>[]): Check {
  return (v) => {
    if (!Array.isArray(v)) return NO;
    const out: unknown[] = [];
    for (const item of v) {
      const r = element(item);
      if (failed(r)) return r;
      out.push(r);
    }
    return passes(out, tests) ? out : NO;
  };
}

export function record(key: Check, value: Check, tests: readonly Test<object>[]): Check {
  return (v) => {
    if (!isObject(v)) return NO;
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return UNSURE;
    const out: Record<string, unknown> = {};
    for (const name of Reflect.ownKeys(v)) {
      if (typeof name !== 'string' || name === '__proto__') return UNSURE;
      if (!Object.prototype.propertyIsEnumerable.call(v, name) || key(name) !== name) return UNSURE;
      const r = value(v[name]);
      if (failed(r)) return r;
      out[name] = r;
    }
    return passes(out, tests) ? out : NO;
  };
}

/** A strict object: its fields as [key, check, optional], in the schema's order. */
export function object(fields: readonly (readonly [string, Check, boolean])[]): Check {
  const keys = new Set(fields.map(([key]) => key));
  return (v) => {
    if (!isObject(v)) return NO;
    for (const key in v) if (!keys.has(key)) return UNSURE;
    const out: Record<string, unknown> = {};
    for (const [key, field, optional] of fields) {
      if (optional && !(key in v)) continue;
      const r = field(v[key]);
      if (failed(r)) return r;
      if (r === undefined && !optional) return UNSURE;
      out[key] = r;
    }
    return out;
  };
}

/** zod answers the first option that accepts; an option this check cannot decide leaves the union to zod. */
export function union(options: readonly Check[]): Check {
  return (v) => {
    for (const option of options) {
      const r = option(v);
      if (r !== NO) return r;
    }
    return NO;
  };
}

export function tagged(tag: string, options: ReadonlyMap<unknown, Check>): Check {
  return (v) => {
    if (!isObject(v)) return NO;
    const option = options.get(v[tag]);
    return option ? option(v) : UNSURE;
  };
}
