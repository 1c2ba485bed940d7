import { isAlias, isMap, isNode, isPair, isScalar, LineCounter, parseDocument } from 'yaml';
import type { Document, Node as YamlNode } from 'yaml';
import * as z from 'zod';
import { closest } from '../suggest.js';
import { checkConnector, reservedKeys } from './checks.js';
import { toConnector } from './model.js';
import type { Connector, ConnectorSource } from './model.js';
import type { DefinitionProblem } from './problem.js';
import { ConnectorSchema } from './schema.js';

/**
 * Turns the text of a connector file into a Connector, or into problems that each name the
 * file, line, column, field path, what was expected and what was found — the way a compiler
 * reports, because a connector file is code the user writes.
 */

export type ParseResult =
  | { readonly ok: true; readonly connector: Connector }
  | { readonly ok: false; readonly problems: readonly DefinitionProblem[] };

export function parseConnector(text: string, source: ConnectorSource): ParseResult {
  const file = source.file;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): { line: number; column: number } => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };

  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        file,
        ...at(e.pos[0]),
        path: '',
        message: yamlMessage(e.code, e.message),
      })),
    };
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return {
      ok: false,
      problems: [
        {
          file,
          line: 1,
          column: 1,
          path: '',
          message: `expected a mapping with name, hosts, auth and endpoints; found ${describe(data)}`,
        },
      ],
    };
  }

  const locate = (path: readonly PropertyKey[], key?: string): { line: number; column: number } =>
    at(offsetOf(doc, path, key));
  const reserved = reservedKeys(data);
  if (reserved.length > 0) {
    return {
      ok: false,
      problems: reserved.map((p) => ({
        file,
        ...locate(p.path.slice(0, -1), String(p.path.at(-1))),
        path: formatPath(p.path),
        message: p.message,
      })),
    };
  }
  const parsed = ConnectorSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) =>
      describeIssue(issue).map(({ path, key, message }) => ({
        file,
        ...locate(path, key),
        path: formatPath(key === undefined ? path : [...path, key]),
        message,
      })),
    );
    return { ok: false, problems: sortProblems(problems) };
  }

  const semantic = checkConnector(parsed.data);
  if (semantic.length > 0) {
    return {
      ok: false,
      problems: sortProblems(
        semantic.map((p) => ({ file, ...locate(p.path), path: formatPath(p.path), message: p.message })),
      ),
    };
  }
  return { ok: true, connector: toConnector(parsed.data, source) };
}

function sortProblems(problems: DefinitionProblem[]): DefinitionProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

function yamlMessage(code: string, message: string): string {
  const text = message.replace(/ at line \d+, column \d+.*$/s, '');
  return code === 'DUPLICATE_KEY'
    ? `invalid YAML: ${text} (a name is defined twice)`
    : `invalid YAML: ${text}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i === 0 ? '' : '.'}${String(k)}`))
    .join('');
}

/** Source offset of the node at `path` (or of the key `key` inside it), else its nearest ancestor. */
function offsetOf(doc: Document, path: readonly PropertyKey[], key?: string): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  const steps = key === undefined ? path : [...path, key];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    // Anchored definitions (&name / *name) are shared: follow the alias to the anchored node.
    if (isAlias(node)) node = node.resolve(doc);
    if (!isMap(node) && !(isNode(node) && 'items' in node)) break;
    const items = (node as { items: unknown[] }).items;
    let next: unknown;
    if (isMap(node)) {
      const pair = items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(step));
      if (!isPair(pair)) break;
      // For an unknown or invalid key, point at the key itself; else at the value.
      const last = i === steps.length - 1;
      if (last && key !== undefined) return rangeStart(pair.key) ?? offset;
      next = pair.value ?? pair.key;
      offset = rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
    } else {
      next = typeof step === 'number' ? items[step] : undefined;
      if (next === undefined) break;
      offset = rangeStart(next) ?? offset;
    }
    node = next;
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  return isNode(node) ? (node as YamlNode).range?.[0] : undefined;
}

interface Described {
  path: readonly PropertyKey[];
  key?: string;
  message: string;
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

/** How a found value reads in a message: `"abc"`, `42`, `a list`, `nothing`. */
export function describe(value: unknown): string {
  if (value === undefined || value === null) return 'nothing';
  if (typeof value === 'string') {
    return value.length > 60 ? `${JSON.stringify(value.slice(0, 57))}...` : JSON.stringify(value);
  }
  if (typeof value === 'number')
    return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  if (typeof value === 'boolean') return `the boolean ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
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
