import { fitsType } from '../connector/checks.js';
import type { RefResolver } from './refs.js';
import { isObject } from './refs.js';
import type { Json } from './refs.js';

/**
 * What a param of the connector format can say about a JSON Schema (OpenAPI 3.0's schema object
 * or 3.1's JSON Schema 2020-12): a scalar type, an array of scalars, or JSON; enum, default,
 * bounds.
 */

export type Scalar = 'string' | 'integer' | 'number' | 'boolean';
export const SCALARS: readonly string[] = ['string', 'integer', 'number', 'boolean'];

export interface ParamShape {
  type: Scalar | 'array' | 'object';
  items?: Scalar;
  enum?: (string | number | boolean)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  /** Why something of the schema was left out. */
  dropped: string[];
}

/** The schema's type: 3.0's `type` string, 3.1's list of types without "null", or guessed. */
export function schemaType(schema: Json): string | undefined {
  const type = schema.type;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) {
    const types = type.filter((t): t is string => typeof t === 'string' && t !== 'null');
    if (types.length === 1) return types[0];
    if (types.length > 1) return 'mixed';
  }
  if (isObject(schema.properties)) return 'object';
  if (isObject(schema.items)) return 'array';
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    const kinds = new Set(schema.enum.filter((v) => v !== null).map((v) => typeof v));
    if (kinds.size === 1 && kinds.has('string')) return 'string';
  }
  return undefined;
}

/** A schema's own view once `$ref`s and a single-member allOf/anyOf/oneOf are looked through. */
export function flatten(schema: unknown, refs: RefResolver): Json {
  let node = refs.resolve(schema);
  for (let i = 0; i < 8 && isObject(node) && schemaType(node) === undefined; i++) {
    const current: Json = node;
    const member = COMBINATORS.map((k) => current[k]).find((v) => Array.isArray(v) && v.length === 1);
    if (!Array.isArray(member)) break;
    const inner = refs.resolve(member[0]);
    const rest: Json = {};
    for (const [k, v] of Object.entries(current)) if (!COMBINATORS.includes(k)) rest[k] = v;
    node = { ...(isObject(inner) ? inner : {}), ...rest };
  }
  return isObject(node) ? node : {};
}

const COMBINATORS: readonly string[] = ['allOf', 'anyOf', 'oneOf'];

export function paramShape(schemaIn: unknown, refs: RefResolver): ParamShape {
  const schema = flatten(schemaIn, refs);
  const dropped: string[] = [];
  const type = schemaType(schema);
  let shape: ParamShape;
  if (type !== undefined && SCALARS.includes(type)) {
    shape = { type: type as Scalar, dropped };
  } else if (type === 'array') {
    const items = flatten(schema.items, refs);
    const itemType = schemaType(items);
    if (itemType !== undefined && SCALARS.includes(itemType)) {
      shape = { type: 'array', items: itemType as Scalar, dropped };
    } else {
      shape = { type: 'object', dropped };
      if (itemType !== undefined) dropped.push(`an array of ${itemType} values is taken as JSON`);
    }
  } else if (type === 'object' || type === 'mixed' || type === undefined) {
    shape = { type: type === undefined && Object.keys(schema).length === 0 ? 'string' : 'object', dropped };
  } else {
    shape = { type: 'string', dropped };
  }
  const scalar: Scalar | undefined =
    shape.type === 'array' ? shape.items : shape.type === 'object' ? undefined : shape.type;
  const enumSource = shape.type === 'array' ? flatten(schema.items, refs).enum : schema.enum;
  if (Array.isArray(enumSource) && scalar) {
    const values = enumSource.filter(
      (v): v is string | number | boolean => v !== null && fitsType(v, scalar),
    );
    if (values.length > 0) shape.enum = values;
    if (values.length < enumSource.filter((v) => v !== null).length)
      dropped.push('enum values of another type');
  }
  if (schema.default !== undefined && schema.default !== null) {
    const d = schema.default;
    const ok =
      shape.type === 'object' ||
      (shape.type === 'array'
        ? Array.isArray(d) &&
          d.every(
            (v) =>
              scalar !== undefined &&
              fitsType(v, scalar) &&
              (!shape.enum || shape.enum.includes(v as string)),
          )
        : scalar !== undefined && fitsType(d, scalar) && (!shape.enum || shape.enum.includes(d as string)));
    if (ok) shape.default = d;
    else dropped.push(`default ${JSON.stringify(d)} does not fit the type`);
  }
  if (shape.type === 'integer' || shape.type === 'number') {
    if (typeof schema.minimum === 'number') shape.minimum = schema.minimum;
    if (typeof schema.maximum === 'number') shape.maximum = schema.maximum;
  }
  return shape;
}

/** The properties of an object schema, with allOf members merged, and its required names. */
export function objectProperties(
  schemaIn: unknown,
  refs: RefResolver,
): { properties: [string, Json][]; required: Set<string> } | undefined {
  const properties = new Map<string, Json>();
  const required = new Set<string>();
  const seen = { object: false };
  const visit = (s: unknown, depth: number): void => {
    const schema = refs.resolve(s);
    if (!isObject(schema) || depth > 8) return;
    if (isObject(schema.properties)) {
      seen.object = true;
      for (const [name, value] of Object.entries(schema.properties)) {
        const resolved = refs.resolve(value);
        if (!properties.has(name)) properties.set(name, isObject(resolved) ? resolved : {});
      }
    }
    if (Array.isArray(schema.required))
      for (const r of schema.required) if (typeof r === 'string') required.add(r);
    if (Array.isArray(schema.allOf)) for (const member of schema.allOf) visit(member, depth + 1);
  };
  visit(schemaIn, 0);
  if (!seen.object) return undefined;
  return { properties: [...properties.entries()], required };
}
