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
export function generateFastCheck(schema, predicates, { predicatesModule, typeName, typeModule }) {
  const names = new Map();
  const byBody = new Map();
  const functions = [];
  const constants = [];
  const byCode = new Map();
  const usedPredicates = new Set();

  const constant = (code) => {
    if (!byCode.has(code)) {
      byCode.set(code, `K${constants.length}`);
      constants.push(`const K${constants.length} = ${code};`);
    }
    return byCode.get(code);
  };
  const literal = (value) => {
    if (value === undefined) return 'undefined';
    const json = JSON.stringify(value);
    if (json === undefined || JSON.stringify(JSON.parse(json)) !== json) {
      throw new Error(`fast-check: a value JSON cannot carry: ${String(value)}`);
    }
    return json;
  };
  const member = (object, key) =>
    /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${object}.${key}` : `${object}[${literal(key)}]`;
  const predicate = (fn) => {
    const found = Object.entries(predicates).find(([, candidate]) => candidate === fn);
    if (!found) throw new Error(`fast-check: a refinement that is not one of the shared predicates: ${fn}`);
    usedPredicates.add(found[0]);
    return found[0];
  };
  const regex = (pattern) => {
    if (pattern.global || pattern.sticky) throw new Error(`fast-check: a stateful pattern: ${pattern}`);
    return constant(pattern.toString());
  };

  /**
   * The name of the function that checks `node`, generated on first use; one function for
   * the schemas that check alike (a copy made to carry its own description, say). The
   * connector schema has no cycles, so a node's parts are generated before it.
   */
  const fn = (node) => {
    const known = names.get(node);
    if (known) return known;
    const body = generate(node);
    if (!byBody.has(body)) {
      byBody.set(body, `c${functions.length}`);
      functions.push(`function c${functions.length}(v: unknown): unknown {\n${body}\n}`);
    }
    names.set(node, byBody.get(body));
    return byBody.get(body);
  };

  const checksOf = (def, subject) =>
    (def.checks ?? []).map((check) => {
      const c = check._zod.def;
      switch (c.check) {
        case 'string_format':
          if (c.format === 'regex') return `if (!${regex(c.pattern)}.test(${subject})) return NO;`;
          if (c.format === 'starts_with')
            return `if (!${subject}.startsWith(${literal(c.prefix)})) return NO;`;
          break;
        case 'min_length':
          return `if (${subject}.length < ${literal(c.minimum)}) return NO;`;
        case 'greater_than':
          return `if (!(${subject} ${c.inclusive ? '>=' : '>'} ${literal(c.value)})) return NO;`;
        case 'less_than':
          return `if (!(${subject} ${c.inclusive ? '<=' : '<'} ${literal(c.value)})) return NO;`;
        case 'custom':
          if (c.when || c.abort) break;
          return `if (!${predicate(c.fn)}(${subject})) return NO;`;
      }
      throw new Error(`fast-check: a check it does not know: ${JSON.stringify({ ...c, fn: undefined })}`);
    });

  const generate = (node) => {
    const def = node._zod.def;
    switch (def.type) {
      case 'string': {
        const lines = [`if (typeof v !== 'string') return NO;`];
        if (def.format === 'url') {
          if ('hostname' in def || 'normalize' in def)
            throw new Error('fast-check: a URL with hostname or normalize');
          lines.push(
            `if (!isUrl(v, ${'protocol' in def ? regex(def.protocol) : 'undefined'})) return UNSURE;`,
          );
        } else if (def.format !== undefined)
          throw new Error(`fast-check: a string format it does not know: ${def.format}`);
        return [...lines, ...checksOf(def, 'v'), 'return v;'].join('\n');
      }
      case 'number': {
        const lines = [`if (typeof v !== 'number' || !Number.isFinite(v)) return NO;`];
        if (def.format === 'safeint') lines.push(`if (!Number.isSafeInteger(v)) return UNSURE;`);
        else if (def.format !== undefined)
          throw new Error(`fast-check: a number format it does not know: ${def.format}`);
        return [...lines, ...checksOf(def, 'v'), 'return v;'].join('\n');
      }
      case 'boolean':
        return `return typeof v === 'boolean' ? v : NO;`;
      case 'unknown':
        return `return v;`;
      case 'literal':
        return `return ${def.values.map((value) => `v === ${literal(value)}`).join(' || ')} ? v : NO;`;
      case 'enum':
        return `return ${constant(`new Set<unknown>(${literal(Object.values(def.entries))})`)}.has(v) ? v : NO;`;
      case 'optional':
        return `return v === undefined ? undefined : ${fn(def.innerType)}(v);`;
      case 'default':
        return `return v === undefined ? ${literal(def.defaultValue)} : ${fn(def.innerType)}(v);`;
      case 'array':
        return [
          `if (!Array.isArray(v)) return NO;`,
          `const out: unknown[] = [];`,
          `for (const item of v) {`,
          `  const r = ${fn(def.element)}(item);`,
          `  if (r === NO || r === UNSURE) return r;`,
          `  out.push(r);`,
          `}`,
          ...checksOf(def, 'out'),
          `return out;`,
        ].join('\n');
      case 'record':
        return [
          `if (!isObject(v)) return NO;`,
          `if (!isPlain(v)) return UNSURE;`,
          `const out: Record<string, unknown> = {};`,
          `for (const key of Reflect.ownKeys(v)) {`,
          `  if (typeof key !== 'string' || key === '__proto__' || !Object.prototype.propertyIsEnumerable.call(v, key)) return UNSURE;`,
          `  if (${fn(def.keyType)}(key) !== key) return UNSURE;`,
          `  const r = ${fn(def.valueType)}(v[key]);`,
          `  if (r === NO || r === UNSURE) return r;`,
          `  out[key] = r;`,
          `}`,
          ...checksOf(def, 'out'),
          `return out;`,
        ].join('\n');
      case 'object': {
        if (def.catchall?._zod.def.type !== 'never')
          throw new Error('fast-check: an object that is not strict');
        if (def.checks?.length) throw new Error('fast-check: checks on an object');
        const keys = Object.keys(def.shape);
        const lines = [
          `if (!isObject(v)) return NO;`,
          `for (const key in v) if (!${constant(`new Set(${literal(keys)})`)}.has(key)) return UNSURE;`,
          `const out: Record<string, unknown> = {};`,
        ];
        keys.forEach((key, i) => {
          const child = def.shape[key];
          const check = `const r${i} = ${fn(child)}(${member('v', key)});\nif (r${i} === NO || r${i} === UNSURE) return r${i};`;
          // As zod's object: an absent optional key stays absent; a default fills one in; a
          // required one must be there (its check refuses undefined, or zod is asked).
          if (child._zod.optin === 'optional' && child._zod.optout === 'optional') {
            lines.push(`if (${literal(key)} in v) {\n${check}\n${member('out', key)} = r${i};\n}`);
          } else {
            lines.push(`${check}\nif (r${i} === undefined) return UNSURE;\n${member('out', key)} = r${i};`);
          }
        });
        return [...lines, 'return out;'].join('\n');
      }
      case 'union': {
        if (def.discriminator === undefined) {
          // zod answers the first option that accepts; an option this check cannot decide
          // leaves the union to zod.
          return [
            ...def.options.map(
              (option, i) => `const r${i} = ${fn(option)}(v);\nif (r${i} !== NO) return r${i};`,
            ),
            `return NO;`,
          ].join('\n');
        }
        if (def.unionFallback) throw new Error('fast-check: a discriminated union with a fallback');
        const cases = def.options.map((option) => {
          const tag = option._zod.def.shape?.[def.discriminator]?._zod.def;
          if (tag?.type !== 'literal') throw new Error('fast-check: a union option without a literal tag');
          return `${tag.values.map((value) => `case ${literal(value)}:`).join(' ')} return ${fn(option)}(v);`;
        });
        return [
          `if (!isObject(v)) return NO;`,
          `switch (${member('v', def.discriminator)}) {`,
          ...cases,
          `default: return UNSURE;`,
          `}`,
        ].join('\n');
      }
      default:
        throw new Error(`fast-check: a schema type it does not know: ${def.type}`);
    }
  };

  const root = fn(schema);
  return `// Generated by scripts/generate-fast-check.mjs from schema.ts: do not edit. \`npm run schema\`
// makes it again (a test fails while it differs from what the script makes of the schema).
import { ${[...usedPredicates].sort().join(', ')} } from '${predicatesModule}';
import type { ${typeName} } from '${typeModule}';

/** zod surely refuses the value (the same test as zod's). */
const NO = Symbol('no');
/** Only zod may decide. */
const UNSURE = Symbol('unsure');

/**
 * The definition as the connector schema's \`safeParse\` makes it (defaults filled in), when
 * this check can tell that the schema accepts \`data\`; else undefined, and the schema decides
 * (and words its problems).
 */
export function fastCheck(data: unknown): ${typeName} | undefined {
  const r = ${root}(data);
  return r === NO || r === UNSURE ? undefined : (r as ${typeName});
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPlain(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A URL zod's url() takes as it is: nothing for it to trim or strip, of the protocol asked
 * for (written with "//", which zod requires of http and https); else zod decides.
 */
function isUrl(v: string, protocol: RegExp | undefined): boolean {
  if (v !== v.trim() || /[\\t\\n\\r]/.test(v)) return false;
  if (protocol === undefined) return URL.canParse(v);
  if (!/^https?:\\/\\//i.test(v)) return false;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return false;
  }
  return protocol.test(url.protocol.endsWith(':') ? url.protocol.slice(0, -1) : url.protocol);
}

${constants.join('\n')}

${functions.join('\n\n')}
`;
}

/** The generated file, formatted as the repository's other sources are. */
export async function fastCheckSource(schema, predicates) {
  const { format, resolveConfig } = await import('prettier');
  const target = join(import.meta.dirname, '..', 'src', 'core', 'connector', 'fast-check.ts');
  const source = generateFastCheck(schema, predicates, {
    predicatesModule: './names.js',
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
