import { Document, isMap, isScalar } from 'yaml';
import type { Node, YAMLMap } from 'yaml';
import { ConnectrError, messageOf } from '../errors.js';
import { mapDocument } from './map.js';
import type { Mapped } from './map.js';
import { RefResolver, isObject } from './refs.js';
import { parseText, readSource } from './source.js';
import type { FetchOptions } from './source.js';

/**
 * `connectr connectors import openapi`: read an OpenAPI 3.0/3.1 document, check it (its
 * `$ref`s here, the rest against the specification by @readme/openapi-parser), map it, and
 * render the connector definition as YAML with review notes as comments. The result is
 * validated with the same parser `connectors validate` uses before anyone writes it.
 */

export interface ImportOptions extends FetchOptions {
  readonly name?: string | undefined;
}

export interface ImportResult {
  readonly name: string;
  readonly yaml: string;
  readonly operations: number;
  readonly endpoints: number;
  readonly unmapped: readonly string[];
  readonly review: readonly string[];
}

/** Longest the specification check may take on one document. */
const VALIDATE_TIMEOUT_MS = 120_000;
/** Errors of the specification check shown at most. */
const SHOWN_ERRORS = 5;

export async function importOpenApi(source: string, options: ImportOptions = {}): Promise<ImportResult> {
  if (options.name !== undefined && !/^[a-z][a-z0-9_-]*$/.test(options.name)) {
    throw new ConnectrError('usage', `--name "${options.name}" is not a connector name`, {
      hint: 'use lowercase letters, digits, "-" and "_", starting with a letter',
    });
  }
  const { text, url } = await readSource(source, options);
  const data = parseText(text, source);
  const doc = checkVersion(data, source);
  const refs = new RefResolver(doc);
  refs.check();
  await checkSpecification(doc, source);
  const mapped = mapDocument(doc, refs, { name: options.name, documentUrl: url });
  const yaml = render(mapped, source);
  const { parseConnector } = await import('../connector/load.js');
  const parsed = parseConnector(yaml, { file: 'imported', origin: 'extra' });
  if (!parsed.ok) {
    throw new ConnectrError('internal', 'the imported definition does not validate (a bug in the importer)', {
      details: parsed.problems.slice(0, 10).map((p) => `${p.line}:${p.column}: ${p.path}: ${p.message}`),
      hint: 'please report it with the OpenAPI document',
    });
  }
  return {
    name: parsed.connector.name,
    yaml,
    operations: mapped.operations,
    endpoints: parsed.connector.endpoints.length,
    unmapped: mapped.unmapped,
    review: mapped.review,
  };
}

function checkVersion(data: unknown, source: string): Record<string, unknown> {
  if (!isObject(data)) {
    throw new ConnectrError('invalid_input', `${source} is not an OpenAPI document (not a mapping)`);
  }
  if (typeof data.swagger === 'string') {
    throw new ConnectrError(
      'invalid_input',
      `${source} is Swagger ${data.swagger}; connectr imports OpenAPI 3.0 and 3.1`,
      {
        hint: 'convert it first (e.g. with swagger2openapi)',
      },
    );
  }
  const version = data.openapi;
  if (typeof version !== 'string' || !/^3\.[01]\.\d+/.test(version)) {
    throw new ConnectrError(
      'invalid_input',
      `${source}: "openapi" is ${typeof version === 'string' ? `"${version}"` : 'missing'}; connectr imports OpenAPI 3.0 and 3.1`,
      { hint: 'check that it is an OpenAPI document' },
    );
  }
  return data;
}

async function checkSpecification(doc: Record<string, unknown>, source: string): Promise<void> {
  const { validate } = await import('@readme/openapi-parser');
  let result;
  try {
    // A copy: the check dereferences what it is given. External references are never followed
    // (they were refused already); recursive schemas are left as they are.
    result = await validate(structuredClone(doc) as Parameters<typeof validate>[0], {
      resolve: { external: false, file: false },
      dereference: { circular: 'ignore' },
      timeoutMs: VALIDATE_TIMEOUT_MS,
    });
  } catch (error) {
    throw new ConnectrError(
      'invalid_input',
      `${source} is not a valid OpenAPI document: ${messageOf(error)}`,
    );
  }
  if (result.valid) return;
  const errors = result.errors.map((e) => e.message.split('\n').find((l) => l.trim()) ?? e.message);
  throw new ConnectrError(
    'invalid_input',
    `${source} is not a valid OpenAPI document (${errors.length} problem(s))`,
    {
      details: [
        ...errors.slice(0, SHOWN_ERRORS),
        ...(errors.length > SHOWN_ERRORS ? [`... and ${errors.length - SHOWN_ERRORS} more`] : []),
      ],
      hint: 'fix the document; an OpenAPI validator (e.g. @readme/openapi-parser, redocly lint) shows every place',
    },
  );
}

/** The definition as YAML: a header that lists what was not mapped, review notes before keys. */
function render(mapped: Mapped, source: string): string {
  const document = new Document(mapped.connector);
  const header = [
    ` Imported from ${oneLine(source)} by connectr connectors import openapi.`,
    ` ${mapped.operations} operation(s), ${countEndpoints(mapped)} endpoint(s). Lines marked "review:" are guesses to check.`,
  ];
  if (mapped.unmapped.length > 0) {
    header.push(` Not mapped (${mapped.unmapped.length}):`);
    for (const line of mapped.unmapped) header.push(`   - ${oneLine(line)}`);
  }
  if (mapped.review.length > 0) {
    header.push(` To review (${mapped.review.length}):`);
    for (const line of mapped.review) header.push(`   - ${oneLine(line)}`);
  }
  document.commentBefore = header.join('\n');
  for (const [key, lines] of mapped.comments) {
    const path = key.split('\u0000');
    const parentPath = path.slice(0, -1);
    const parent = parentPath.length === 0 ? document.contents : document.getIn(parentPath, true);
    if (!isMap(parent)) continue;
    const pair = (parent as YAMLMap<Node, Node>).items.find(
      (p) => isScalar(p.key) && p.key.value === path[path.length - 1],
    );
    if (!pair || !isScalar(pair.key)) continue;
    pair.key.commentBefore = lines.map((l) => ` ${oneLine(l)}`).join('\n');
  }
  return document.toString({ lineWidth: 0, singleQuote: true });
}

function countEndpoints(mapped: Mapped): number {
  const endpoints = mapped.connector.endpoints;
  return isObject(endpoints) ? Object.keys(endpoints).length : 0;
}

/** Comment text on one line, without control characters. */
function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
}
