import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { ResponseSerializationError, serializerCompiler as zodSerializer } from 'fastify-type-provider-zod';
import type { $ZodType, $ZodTypes } from 'zod/v4/core';
import { $ZodType as ZodTypeClass, safeParse } from 'zod/v4/core';

/**
 * Answers are checked against their route's zod schema and serialized. The type provider's
 * compiler encodes (zod's backward direction, for codecs): for a schema with checks it parses
 * each value twice, a canary pass then the checked one, and it has none of the fast paths of a
 * parse. Execute's answer took three times as long to check as to parse. For a schema that means
 * the same both ways (no codec, transform, pipe, default, catch or coercion anywhere in it, no
 * check on an object, array or record), parsing is the same check with the same result, so
 * it is parsed; any other schema is encoded by the type provider's own compiler, as before.
 */

type Schema = $ZodType | { properties: $ZodType };
type RouteSchema = Parameters<FastifySerializerCompiler<Schema>>[0];

export const serializerCompiler: FastifySerializerCompiler<Schema> = (route: RouteSchema) => {
  const schema = zodSchemaOf(route.schema);
  if (schema === undefined || !sameBothWays(schema)) return zodSerializer(route);
  return (data: unknown) => {
    const result = safeParse(schema, data);
    if (result.error) throw new ResponseSerializationError(route.method, route.url, { cause: result.error });
    return JSON.stringify(result.data);
  };
};

function zodSchemaOf(schema: Schema): $ZodType | undefined {
  if (schema instanceof ZodTypeClass) return schema;
  return schema.properties instanceof ZodTypeClass ? schema.properties : undefined;
}

/** Types whose parse leaves the value as it is: their checks see the same value either way. */
const LEAVES: ReadonlySet<string> = new Set([
  'string',
  'number',
  'int',
  'boolean',
  'bigint',
  'symbol',
  'null',
  'undefined',
  'void',
  'never',
  'any',
  'unknown',
  'date',
  'nan',
  'enum',
  'literal',
  'template_literal',
]);

const known = new WeakMap<$ZodType, boolean>();

/** Whether parsing and encoding `schema` accept the same values and give the same result. */
export function sameBothWays(schema: $ZodType, visiting = new Set<$ZodType>()): boolean {
  const cached = known.get(schema);
  if (cached !== undefined) return cached;
  // A recursive schema (z.lazy) is judged by its other parts.
  if (visiting.has(schema)) return true;
  visiting.add(schema);
  const result = judge(schema as $ZodTypes, (inner) => sameBothWays(inner, visiting));
  visiting.delete(schema);
  if (visiting.size === 0) known.set(schema, result);
  return result;
}

function judge(schema: $ZodTypes, same: (inner: $ZodType) => boolean): boolean {
  const def = schema._zod.def;
  if (LEAVES.has(def.type)) return !('coerce' in def && def.coerce);
  // A check on a container would see the input (extra keys kept) when encoding, the parsed
  // value when parsing.
  if ((def.checks?.length ?? 0) > 0) return false;
  switch (def.type) {
    case 'object':
      return Object.values(def.shape).every(same) && (def.catchall === undefined || same(def.catchall));
    case 'record':
      return same(def.keyType) && same(def.valueType);
    case 'array':
      return same(def.element);
    case 'tuple':
      return def.items.every(same) && (def.rest === null || same(def.rest));
    case 'union':
      // A discriminated union picks its option another way when encoding.
      return !('discriminator' in def) && def.options.every(same);
    case 'intersection':
      return same(def.left) && same(def.right);
    case 'nullable':
    case 'optional':
    case 'readonly':
      return same(def.innerType);
    case 'lazy':
      return same(def.getter());
    default:
      return false;
  }
}
