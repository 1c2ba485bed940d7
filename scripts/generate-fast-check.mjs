// Writes src/core/connector/fast-check.ts, a check of a definition generated from the connector
// schema (schema.ts) that needs no zod: reading a definition of the user's own on an empty
// home spent most of its time building the zod schema and running it (issue #20). Run by
// `npm run schema` (after the build); a test fails while the file differs from what this
// script makes of the schema, so a schema change cannot leave it behind.
//
// The generated check is sound, not complete: when it accepts a definition, zod accepts it too
// and gives the same value (defaults filled in, keys in the schema's order); anything it does
// not decide with certainty (a URL it cannot vouch for, a key outside the schema, a value of
// the wrong type...) is handed to the zod schema, whose issues make the error messages. Each
// piece answers a value, NO (zod surely refuses it: the same test as zod's, which lets a union
// try its next option) or UNSURE (only zod may decide). Anything in the schema this script
// does not know fails the generation, rather than being checked loosely.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The TypeScript source of the check of `schema` (a zod/mini schema). `predicates` are the
 * functions the schema's refinements call, by the name the generated code imports them by
 * from `predicatesModule`.
 */
export function generateFastCheck(
  schema,
  predicates,
  { predicatesModule, partsModule, typeName, typeModule },
) {
  const names = new Map();
  const usedParts = new Set(['failed']);
  /** A part of fast-check-parts.ts, imported by the generated file. */
  const part = (name) => {
    usedParts.add(name);
    return name;
  };
  const byExpression = new Map();
  const checks = [];
  const usedPredicates = new Set();

  const literal = (value) => {
    const json = JSON.stringify(value);
    if (json === undefined || JSON.stringify(JSON.parse(json)) !== json) {
      throw new Error(`fast-check: a value JSON cannot carry: ${String(value)}`);
    }
    return json;
  };
  const predicate = (fn) => {
    const found = Object.entries(predicates).find(([, candidate]) => candidate === fn);
    if (!found) throw new Error(`fast-check: a refinement that is not one of the shared predicates: ${fn}`);
    usedPredicates.add(found[0]);
    return found[0];
  };
  const regex = (pattern) => {
    if (pattern.global || pattern.sticky) throw new Error(`fast-check: a stateful pattern: ${pattern}`);
    return pattern.toString();
  };

  /**
   * The name of the check of `node`, generated on first use; one for the schemas that check
   * alike (a copy made to carry its own description, say). The connector schema has no
   * cycles, so a node's parts are declared before it.
   */
  const check = (node) => {
    const known = names.get(node);
    if (known) return known;
    const expression = generate(node);
    if (!byExpression.has(expression)) {
      byExpression.set(expression, `c${checks.length}`);
      checks.push(`const c${checks.length} = ${expression};`);
    }
    names.set(node, byExpression.get(expression));
    return byExpression.get(expression);
  };

  /** The tests of a value's checks (regex, lengths, bounds, refinements), as a list of functions. */
  const tests = (def) =>
    `[${(def.checks ?? [])
      .map((c) => {
        const d = c._zod.def;
        switch (d.check) {
          case 'string_format':
            if (d.format === 'regex') return `(s: string) => ${regex(d.pattern)}.test(s)`;
            if (d.format === 'starts_with') return `(s: string) => s.startsWith(${literal(d.prefix)})`;
            break;
          case 'min_length':
            return `(s: { length: number }) => s.length >= ${literal(d.minimum)}`;
          case 'greater_than':
            return `(n: number) => n ${d.inclusive ? '>=' : '>'} ${literal(d.value)}`;
          case 'less_than':
            return `(n: number) => n ${d.inclusive ? '<=' : '<'} ${literal(d.value)}`;
          case 'custom':
            if (d.when || d.abort) break;
            return predicate(d.fn);
        }
        throw new Error(`fast-check: a check it does not know: ${JSON.stringify({ ...d, fn: undefined })}`);
      })
      .join(', ')}]`;

  const generate = (node) => {
    const def = node._zod.def;
    switch (def.type) {
      case 'string':
        if (def.format === 'url') {
          if ('hostname' in def || 'normalize' in def)
            throw new Error('fast-check: a URL with hostname or normalize');
          return `${part('url')}(${'protocol' in def ? regex(def.protocol) : 'undefined'}, ${tests(def)})`;
        }
        if (def.format !== undefined)
          throw new Error(`fast-check: a string format it does not know: ${def.format}`);
        return `${part('string')}(${tests(def)})`;
      case 'number':
        if (def.format !== undefined && def.format !== 'safeint') {
          throw new Error(`fast-check: a number format it does not know: ${def.format}`);
        }
        return `${part('number')}(${def.format === 'safeint'}, ${tests(def)})`;
      case 'boolean':
        return part('boolean');
      case 'unknown':
        return part('unknown');
      case 'literal':
        return `${part('oneOf')}(${literal(def.values)})`;
      case 'enum':
        return `${part('oneOf')}(${literal(Object.values(def.entries))})`;
      case 'optional':
        return `${part('optional')}(${check(def.innerType)})`;
      case 'default':
        return `${part('withDefault')}(${check(def.innerType)}, () => (${literal(def.defaultValue)}))`;
      case 'array':
        return `${part('array')}(${check(def.element)}, ${tests(def)})`;
      case 'record':
        return `${part('record')}(${check(def.keyType)}, ${check(def.valueType)}, ${tests(def)})`;
      case 'object': {
        if (def.catchall?._zod.def.type !== 'never')
          throw new Error('fast-check: an object that is not strict');
        if (def.checks?.length) throw new Error('fast-check: checks on an object');
        // As zod's object: an absent optional key stays absent; any other is checked (a
        // default fills one in; a required one must be there).
        const fields = Object.entries(def.shape).map(
          ([key, child]) =>
            `[${literal(key)}, ${check(child)}, ${child._zod.optin === 'optional' && child._zod.optout === 'optional'}]`,
        );
        return `${part('object')}([${fields.join(', ')}])`;
      }
      case 'union': {
        if (def.discriminator === undefined)
          return `${part('union')}([${def.options.map(check).join(', ')}])`;
        if (def.unionFallback) throw new Error('fast-check: a discriminated union with a fallback');
        const cases = def.options.flatMap((option) => {
          const tag = option._zod.def.shape?.[def.discriminator]?._zod.def;
          if (tag?.type !== 'literal') throw new Error('fast-check: a union option without a literal tag');
          return tag.values.map((value) => `[${literal(value)}, ${check(option)}]`);
        });
        return `${part('tagged')}(${literal(def.discriminator)}, new Map<unknown, Check>([${cases.join(', ')}]))`;
      }
      default:
        throw new Error(`fast-check: a schema type it does not know: ${def.type}`);
    }
  };

  const root = check(schema);
  return `// Generated by scripts/generate-fast-check.mjs from schema.ts: do not edit. \`npm run schema\`
// makes it again (a test fails while it differs from what the script makes of the schema).
import { ${[...usedPredicates].sort().join(', ')} } from '${predicatesModule}';
import type { ${typeName} } from '${typeModule}';
import { ${[...usedParts].sort().join(', ')} } from '${partsModule}';
import type { Check } from '${partsModule}';

/**
 * The definition as the connector schema's \`safeParse\` makes it (defaults filled in), when
 * this check can tell that the schema accepts \`data\`; else undefined, and the schema decides
 * (and words its problems).
 */
export function fastCheck(data: unknown): ${typeName} | undefined {
  const r = ${root}(data);
  return failed(r) ? undefined : (r as ${typeName});
}

${checks.join('\n')}
`;
}

/** The generated file, formatted as the repository's other sources are. */
export async function fastCheckSource(schema, predicates) {
  const { format, resolveConfig } = await import('prettier');
  const target = join(import.meta.dirname, '..', 'src', 'core', 'connector', 'fast-check.ts');
  const source = generateFastCheck(schema, predicates, {
    predicatesModule: './names.js',
    partsModule: './fast-check-parts.js',
    typeName: 'ConnectorDefinition',
    typeModule: './schema.js',
  });
  return format(source, { ...(await resolveConfig(target)), filepath: target });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const root = join(import.meta.dirname, '..');
  const { ConnectorSchema } = await import('../dist/core/connector/schema.js');
  const predicates = await import('../dist/core/connector/names.js');
  writeFileSync(
    join(root, 'src', 'core', 'connector', 'fast-check.ts'),
    await fastCheckSource(ConnectorSchema, predicates),
  );
}
