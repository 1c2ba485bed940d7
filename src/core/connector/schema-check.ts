import * as z from 'zod/mini';
import { closest } from '../suggest.js';
import { describe } from './problem.js';
import { ConnectorSchema } from './schema.js';
import type { ConnectorDefinition } from './schema.js';

/**
 * A definition checked by the zod schema itself: what load.ts asks when the generated check
 * (fast-check.ts) cannot vouch for a definition, and so what words every problem of its form.
 * Kept apart from load.ts so that reading a valid definition never loads zod: the CLI's
 * definitions bundle loads this module's own bundle only when it is asked (scripts/bundle.mjs).
 */

export interface Described {
  readonly path: readonly PropertyKey[];
  readonly key?: string;
  readonly message: string;
}

export type SchemaCheck =
  | { readonly ok: true; readonly data: ConnectorDefinition }
  | {
      readonly ok: false;
      readonly issues: readonly Described[];
      /** The well-formed parts, for the rules to check too (see salvage). */
      readonly wellFormed: ConnectorDefinition | undefined;
    };

export function checkWithSchema(data: unknown): SchemaCheck {
  // jitless: a definition is checked once per file and run, so compiling zod's fast path (new
  // Function per object schema, never in a code cache) costs more than it saves (issue #20).
  const parsed = ConnectorSchema.safeParse(data, { reportInput: true, jitless: true });
  if (parsed.success) return { ok: true, data: parsed.data };
  return {
    ok: false,
    issues: parsed.error.issues.flatMap(describeIssue),
    wellFormed: salvage(data as Record<string, unknown>),
  };
}

/**
 * The well-formed parts of a definition that does not match the schema, for the rules to check:
 * the endpoints that match it (each alone), when the hosts and auth they refer to match it.
 * Fields the rules do not read get placeholders. Undefined when too little is well-formed.
 */
function salvage(data: Record<string, unknown>): ConnectorDefinition | undefined {
  const { hosts, auth, identity, endpoints } = ConnectorSchema.shape;
  const parsedHosts = hosts.safeParse(data.hosts);
  const parsedAuth = auth.safeParse(data.auth);
  if (!parsedHosts.success || !parsedAuth.success) return undefined;
  // A Map, then fromEntries: a name such as __proto__ stays an own key, never a prototype.
  const kept = new Map<string, unknown>();
  const raw = data.endpoints;
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
      if (endpoints.safeParse(Object.fromEntries([[name, value]])).success) kept.set(name, value);
    }
  }
  if (kept.size === 0) return undefined;
  const good = Object.fromEntries(kept);
  const parsedIdentity = identity.safeParse(data.identity);
  const keepIdentity =
    parsedIdentity.success &&
    parsedIdentity.data !== undefined &&
    Object.hasOwn(good, parsedIdentity.data.endpoint);
  const result = ConnectorSchema.safeParse({
    name: 'salvaged',
    display_name: 'salvaged',
    version: 1,
    docs_url: 'https://example.com',
    description: 'salvaged',
    hosts: data.hosts,
    auth: data.auth,
    ...(keepIdentity ? { identity: data.identity } : {}),
    endpoints: good,
  });
  return result.success ? result.data : undefined;
}

function describeIssue(issue: z.core.$ZodIssue): Described[] {
  const path = issue.path;
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) {
        return [{ path, message: `missing required field (expected ${typeName(issue.expected)})` }];
      }
      return [{ path, message: `expected ${typeName(issue.expected)}, found ${describe(issue.input)}` }];
    }
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const suggestion = closest(
          key,
          fieldsAt(path).filter((f) => f !== key),
        );
        return {
          path,
          key,
          message: `unknown field "${key}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
        };
      });
    case 'invalid_value':
      return [
        {
          path,
          message: `expected ${issue.values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${issue.values.map((v) => String(v)).join(', ')}`}, found ${describe(issue.input)}`,
        },
      ];
    case 'invalid_union': {
      if ('options' in issue && issue.discriminator !== undefined && Array.isArray(issue.options)) {
        const found = (issue.input as Record<string, unknown> | undefined)?.[issue.discriminator];
        return [
          {
            path,
            message: `expected one of ${issue.options.map(String).join(', ')}, found ${describe(found)}`,
          },
        ];
      }
      // The value has the shape of exactly one branch (a list where a list or a mapping may be):
      // that branch's own problems, deeper inside, say what is wrong.
      const shaped = issue.errors.filter((branch) => branch.every((e) => e.path.length > 0));
      if (shaped.length === 1 && shaped[0])
        return shaped[0].flatMap((inner) => describeIssue({ ...inner, path: [...path, ...inner.path] }));
      const expected = issue.errors
        .map((branch) => branch.find((e) => e.path.length === 0))
        .filter((e): e is z.core.$ZodIssue => e !== undefined)
        .map((e) => (e.code === 'invalid_type' ? typeName(e.expected) : e.message));
      const unique = [...new Set(expected)];
      return [
        {
          path,
          message: `expected ${unique.length ? unique.join(' or ') : 'a different value'}, found ${describe(issue.input)}`,
        },
      ];
    }
    case 'invalid_format':
      return [
        {
          path,
          message: `expected ${formatName(issue)}, found ${describe(issue.input)}`,
        },
      ];
    case 'invalid_key':
      return [{ path, message: `invalid name ${describe(issue.input)}: ${nameRule(issue.issues)}` }];
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const word = issue.code === 'too_small' ? 'at least' : 'at most';
      const what =
        issue.origin === 'array'
          ? `${word} ${String(bound)} item(s)`
          : issue.origin === 'string'
            ? `${word} ${String(bound)} character(s)`
            : `${word} ${String(bound)}`;
      return [{ path, message: `expected ${what}, found ${describe(issue.input)}` }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

function nameRule(issues: readonly z.core.$ZodIssue[]): string {
  const first = issues[0];
  if (first?.code === 'invalid_format') return `expected ${formatName(first)}`;
  return first?.message ?? 'not allowed here';
}

function typeName(expected: string): string {
  switch (expected) {
    case 'int':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'object':
    case 'record':
      return 'a mapping';
    case 'array':
      return 'a list';
    default:
      return expected;
  }
}

/** What a string format expects, in words: the schema's own wording for named patterns. */
function formatName(issue: z.core.$ZodIssueInvalidStringFormat): string {
  switch (issue.format) {
    case 'url':
      return 'an http(s) URL';
    case 'regex':
      return issue.message.startsWith('Invalid')
        ? `text matching ${issue.pattern ?? 'the pattern'}`
        : issue.message;
    case 'starts_with':
      return 'text starting with "/"';
    default:
      return `a ${issue.format}`;
  }
}

type JsonSchemaNode = Record<string, unknown>;
let jsonSchema: JsonSchemaNode | undefined;

/** The field names allowed at `path`, for "did you mean" on an unknown field. */
function fieldsAt(path: readonly PropertyKey[]): string[] {
  jsonSchema ??= z.toJSONSchema(ConnectorSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
  const child = (node: unknown, key: string): unknown =>
    node && typeof node === 'object' ? (node as JsonSchemaNode)[key] : undefined;
  // Unions offer the fields of every branch.
  const expand = (node: unknown): JsonSchemaNode[] => {
    const branches = child(node, 'anyOf') ?? child(node, 'oneOf');
    if (Array.isArray(branches)) return branches.flatMap(expand);
    return node && typeof node === 'object' ? [node as JsonSchemaNode] : [];
  };
  let nodes = expand(jsonSchema);
  for (const step of path) {
    nodes = nodes
      .flatMap((node): unknown[] => {
        if (typeof step === 'number') return [node.items];
        const named = child(node.properties, String(step));
        if (named) return [named];
        return typeof node.additionalProperties === 'object' ? [node.additionalProperties] : [];
      })
      .flatMap(expand);
  }
  return [...new Set(nodes.flatMap((node) => Object.keys((node.properties as object | undefined) ?? {})))];
}
