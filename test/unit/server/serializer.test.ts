import {
  isResponseSerializationError,
  serializerCompiler as typeProviderSerializer,
} from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ErrorEnvelopeSchema } from '../../../src/server/errors.js';
import { sameBothWays, serializerCompiler } from '../../../src/server/plugins/serializer.js';

/**
 * The answer serializer (src/server/plugins/serializer.ts): a schema that means the same parsed
 * or encoded is parsed, faster; every answer must come out exactly as the type provider's own
 * compiler (which encodes) makes it, or be refused as it refuses it.
 */

const route = (schema: z.ZodType) => ({ schema, method: 'GET', url: '/x', httpStatus: '200' });

/** What each compiler makes of `value`: the JSON text, or the error's name and issues. */
function both(schema: z.ZodType, value: unknown): [unknown, unknown] {
  const run = (compile: typeof serializerCompiler): unknown => {
    try {
      return compile(route(schema))(value);
    } catch (error) {
      if (!isResponseSerializationError(error)) throw error;
      return { refused: true, issues: error.cause.issues };
    }
  };
  return [run(serializerCompiler), run(typeProviderSerializer)];
}

const Answer = z.object({
  status: z.number().int(),
  headers: z.record(z.string(), z.string()),
  content_type: z.string().nullable(),
  encoding: z.enum(['json', 'text', 'base64', 'none']),
  body: z.unknown(),
  result: z.unknown().optional(),
  tags: z.array(z.string().min(1).max(5)).optional(),
  pair: z.tuple([z.literal('a'), z.number()]).optional(),
  either: z.union([z.string(), z.boolean()]).optional(),
});

describe('answer serializer', () => {
  it('parses the schemas of the answers sent on every request (execute, the error envelope)', () => {
    expect(sameBothWays(Answer)).toBe(true);
    expect(sameBothWays(ErrorEnvelopeSchema)).toBe(true);
  });

  it('gives what encoding gives for valid, extra-keyed and invalid values alike', () => {
    const good = {
      status: 200,
      headers: { 'content-type': 'application/json' },
      content_type: 'application/json',
      encoding: 'json',
      body: { id: 1, nested: { __proto__: 'kept as data' } },
      tags: ['a', 'bb'],
      pair: ['a', 2],
      either: true,
    };
    const values: unknown[] = [
      good,
      // Extra keys are dropped: nothing but the schema's fields leaves the server.
      { ...good, secret: 'never sent', headers: { a: 'b' } },
      { ...good, status: 200.5 },
      { ...good, headers: { a: 1 } },
      { ...good, encoding: 'binary' },
      { ...good, tags: ['toolong'] },
      { ...good, pair: ['b', 2] },
      { ...good, either: 3 },
      { ...good, content_type: undefined },
      null,
      'text',
    ];
    for (const value of values) {
      const [ours, theirs] = both(Answer, value);
      expect(ours).toEqual(theirs);
    }
    expect(both(Answer, { ...good, secret: 'never sent' })[0]).not.toContain('never sent');
    expect(both(Answer, { ...good, status: 'x' })[0]).toMatchObject({ refused: true });
  });

  it('leaves a schema that differs when encoded (codec, transform, default, coercion, container check) to encoding', () => {
    const codec = z.codec(z.string(), z.number(), {
      decode: (text) => Number(text),
      encode: (n) => String(n),
    });
    const differing: z.ZodType[] = [
      z.object({ n: codec }),
      z.object({ n: z.string().transform((s) => s.length) }),
      z.object({ n: z.string().default('x') }),
      z.object({ n: z.coerce.string() }),
      z.object({ n: z.string() }).refine((o) => Object.keys(o).length === 1),
      z.array(z.string()).max(1),
      z.discriminatedUnion('kind', [z.object({ kind: z.literal('a') })]),
      z.object({ n: z.string().pipe(z.string()) }),
      z.object({ n: z.string().catch('x') }),
    ];
    for (const schema of differing) expect(sameBothWays(schema)).toBe(false);
    const [ours, theirs] = both(z.object({ n: codec }), { n: 5 });
    expect(ours).toBe('{"n":"5"}');
    expect(ours).toEqual(theirs);
  });

  it('judges a recursive schema by its parts', () => {
    interface Tree {
      name: string;
      children: Tree[];
    }
    const Tree: z.ZodType<Tree> = z.lazy(() => z.object({ name: z.string(), children: z.array(Tree) }));
    expect(sameBothWays(Tree)).toBe(true);
    const value = { name: 'a', children: [{ name: 'b', children: [], extra: 1 }] };
    const [ours, theirs] = both(Tree, value);
    expect(ours).toBe('{"name":"a","children":[{"name":"b","children":[]}]}');
    expect(ours).toEqual(theirs);
  });
});
