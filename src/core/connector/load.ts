import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Alias, Document, Node as YamlNode, Pair, YAMLMap } from 'yaml';
import * as z from 'zod/mini';
import { messageOf } from '../errors.js';
import { closest } from '../suggest.js';
import { checkConnector, reservedKeys } from './checks.js';
import { toConnector } from './model.js';
import type { Connector, ConnectorSource } from './model.js';
import type { DefinitionProblem } from './problem.js';
import { ConnectorSchema } from './schema.js';
import type { ConnectorDefinition } from './schema.js';

/**
 * Turns the text of a connector file into a Connector, or into problems that each name the
 * file, line, column, field path, what was expected and what was found — the way a compiler
 * reports, because a connector file is code the user writes.
 */

export type ParseResult =
  | { readonly ok: true; readonly connector: Connector }
  | { readonly ok: false; readonly problems: readonly DefinitionProblem[] };

/**
 * The most values a file may expand to once its aliases are replaced by what they name. Anchors
 * reused by hundreds of endpoints stay far below it; an alias bomb ("billion laughs": aliases of
 * aliases, each level multiplying the last) passes it within a few levels and is refused before
 * anything walks the expanded tree.
 */
export const MAX_EXPANDED_VALUES = 1_000_000;

export function parseConnector(text: string, source: ConnectorSource): ParseResult {
  const file = source.file;
  const lineCounter = new LineCounter();
  const at = (offset: number): { line: number; column: number } => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const yamlProblem = (offset: number, message: string): DefinitionProblem => ({
    file,
    ...at(offset),
    path: '',
    message,
  });

  let doc: Document;
  let shape: Shape;
  let data: unknown;
  try {
    // Duplicate keys are found by inspect() in one pass: yaml's own check (uniqueKeys) scans
    // every earlier key of a mapping for each key, quadratic in the number of endpoints.
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
    shape = inspect(doc);
    const problems = [
      ...doc.errors.map((e) => yamlProblem(e.pos[0], yamlMessage(e.code, e.message))),
      ...shape.problems.map((p) => yamlProblem(p.offset, p.message)),
    ];
    if (problems.length > 0) return { ok: false, problems: sortProblems(problems) };
    data = doc.toJS({ maxAliasCount: MAX_EXPANDED_VALUES });
  } catch (error) {
    // Whatever the YAML parser throws (an alias it cannot resolve, its own alias limit, a
    // nesting too deep for the stack) is this file's problem, never the command's.
    return { ok: false, problems: [yamlProblem(0, `invalid YAML: ${messageOf(error)}`)] };
  }

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
    at(offsetOf(doc, shape, path, key));
  const rules = (def: ConnectorDefinition): DefinitionProblem[] =>
    checkConnector(def).map((p) => ({
      file,
      ...locate(p.path),
      path: formatPath(p.path),
      message: p.message,
    }));
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
  // jitless: a definition is checked once per file and run, so compiling zod's fast path (new
  // Function per object schema, never in a code cache) costs more than it saves (issue #20).
  const parsed = ConnectorSchema.safeParse(data, { reportInput: true, jitless: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) =>
      describeIssue(issue).map(({ path, key, message }) => ({
        file,
        ...locate(path, key),
        path: formatPath(key === undefined ? path : [...path, key]),
        message,
      })),
    );
    // The rules also run on the parts that are well-formed, so one pass shows both kinds.
    const wellFormed = salvage(data as Record<string, unknown>);
    let more: DefinitionProblem[] = [];
    try {
      if (wellFormed) more = rules(wellFormed);
    } catch {
      // A rule tripping over a half-formed part: the format problems already say what is wrong.
    }
    const seen = new Set(problems.map((p) => p.path));
    return { ok: false, problems: sortProblems([...problems, ...more.filter((p) => !seen.has(p.path))]) };
  }

  const semantic = rules(parsed.data);
  if (semantic.length > 0) return { ok: false, problems: sortProblems(semantic) };
  return { ok: true, connector: toConnector(parsed.data, source) };
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

/**
 * Source offset of the node at `path` (or of the key `key` inside it), else its nearest ancestor.
 * Each step is a map lookup, so locating every problem of a large file stays linear in its size.
 */
function offsetOf(doc: Document, shape: Shape, path: readonly PropertyKey[], key?: string): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  const steps = key === undefined ? path : [...path, key];
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    // Anchored definitions (&name / *name) are shared: follow the alias to the anchored node.
    if (isAlias(node)) node = shape.aliases.get(node);
    let next: unknown;
    if (isMap(node)) {
      const pair = shape.keys.get(node)?.get(String(step));
      if (pair === undefined) break;
      // For an unknown or invalid key, point at the key itself; else at the value.
      const last = i === steps.length - 1;
      if (last && key !== undefined) return rangeStart(pair.key) ?? offset;
      next = pair.value ?? pair.key;
      offset = rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
    } else if (isSeq(node)) {
      next = typeof step === 'number' ? node.items[step] : undefined;
      if (next === undefined) break;
      offset = rangeStart(next) ?? offset;
    } else break;
    node = next;
  }
  return offset;
}

/** What one pass over the parsed document learns, for locating problems in constant time. */
interface Shape {
  /** Each alias and the node it names. */
  readonly aliases: Map<Alias, YamlNode>;
  /** Each mapping's pairs by key (the first of duplicates). */
  readonly keys: Map<YAMLMap, Map<string, Pair>>;
  /** Duplicate keys, unresolved or self-containing aliases, alias bombs. */
  readonly problems: { offset: number; message: string }[];
}

class TooLarge extends Error {}

/**
 * Walks the document once, in source order: resolves aliases as YAML does (the last anchor of
 * that name before the alias), indexes every mapping's keys, reports duplicate keys, and counts
 * the values the document expands to (an alias counts as the whole node it names, remembered
 * per node, so counting stays linear) to refuse alias bombs before anything expands them.
 */
function inspect(doc: Document): Shape {
  const shape: Shape = { aliases: new Map(), keys: new Map(), problems: [] };
  const anchors = new Map<string, YamlNode>();
  const sizes = new Map<YamlNode, number>();
  let total = 0;

  const walk = (node: unknown): number => {
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      const offset = rangeStart(node) ?? 0;
      if (target === undefined) {
        shape.problems.push({
          offset,
          message: `invalid YAML: alias *${node.source} names no anchor defined before it (&${node.source})`,
        });
        return 1;
      }
      shape.aliases.set(node, target);
      const size = sizes.get(target);
      if (size === undefined) {
        shape.problems.push({
          offset,
          message: `invalid YAML: alias *${node.source} is inside the node it names`,
        });
        return 1;
      }
      total += size;
      if (total > MAX_EXPANDED_VALUES) {
        shape.problems.push({
          offset,
          message: `invalid YAML: the aliases expand this file to more than ${MAX_EXPANDED_VALUES.toLocaleString('en')} values (an alias bomb?); repeat fewer nodes through anchors`,
        });
        throw new TooLarge();
      }
      return size;
    }
    if (!isNode(node)) return 0;
    if (node.anchor !== undefined) anchors.set(node.anchor, node);
    let size = 1;
    total += 1;
    if (isMap(node)) {
      const byKey = new Map<string, Pair>();
      shape.keys.set(node, byKey);
      for (const pair of node.items) {
        size += walk(pair.key) + walk(pair.value);
        if (!isScalar(pair.key)) continue;
        const name = String(pair.key.value);
        if (byKey.has(name)) {
          shape.problems.push({
            offset: rangeStart(pair.key) ?? 0,
            message: yamlMessage('DUPLICATE_KEY', 'Map keys must be unique'),
          });
        } else byKey.set(name, pair);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) size += walk(item);
    }
    sizes.set(node, size);
    return size;
  };
  try {
    walk(doc.contents);
  } catch (error) {
    if (!(error instanceof TooLarge)) throw error;
  }
  return shape;
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
