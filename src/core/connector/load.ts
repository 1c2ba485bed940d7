import { isAlias, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Alias, Document, Node as YamlNode, Pair, YAMLMap } from 'yaml';
import { messageOf } from '../errors.js';
import { checkConnector, reservedKeys } from './checks.js';
import { fastCheck } from './fast-check.js';
import { toConnector } from './model.js';
import type { Connector, ConnectorSource } from './model.js';
import { describe } from './problem.js';
import type { DefinitionProblem } from './problem.js';
import type { ConnectorDefinition } from './schema.js';
import { checkWithSchema } from './schema-check.js';
import { definitionVersion, fileNameVersion } from './versions.js';

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
  // The check generated from the schema answers most definitions without zod (building and
  // running the schema was most of reading a first definition, issue #20); what it cannot
  // vouch for goes to the schema, whose issues word the problems.
  const fast = fastCheck(data);
  const parsed = fast ? { ok: true as const, data: fast } : checkWithSchema(data);
  if (!parsed.ok) {
    const problems = parsed.issues.map(({ path, key, message }) => ({
      file,
      ...locate(path, key),
      path: formatPath(key === undefined ? path : [...path, key]),
      message,
    }));
    // The rules also run on the parts that are well-formed, so one pass shows both kinds.
    let more: DefinitionProblem[] = [];
    try {
      if (parsed.wellFormed) more = rules(parsed.wellFormed);
    } catch {
      // A rule tripping over a half-formed part: the format problems already say what is wrong.
    }
    const seen = new Set(problems.map((p) => p.path));
    return { ok: false, problems: sortProblems([...problems, ...more.filter((p) => !seen.has(p.path))]) };
  }

  const semantic = rules(parsed.data);
  const named = namedVersion(file, parsed.data.version);
  if (named) semantic.push({ file, ...locate(['version']), path: 'version', message: named });
  if (semantic.length > 0) return { ok: false, problems: sortProblems(semantic) };
  return { ok: true, connector: toConnector(parsed.data, source) };
}

/**
 * What is wrong with the version a file name carries (`gmail@2.yaml`), if anything: it must be
 * a version, and the one the file declares, or loading it would pin connections to a version
 * that is not what its file name tells the reader.
 */
function namedVersion(file: string, declared: ConnectorDefinition['version']): string | undefined {
  const named = fileNameVersion(file);
  if (named === undefined) return undefined;
  if (typeof named === 'object') return named.problem;
  const version = definitionVersion(declared);
  if (named === version) return undefined;
  return declared === undefined
    ? `the file name says version ${named} but the file declares no version (so 1); add \`version: ${named}\` or rename the file`
    : `the file name says version ${named} but the file declares version ${version}; make them agree`;
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
