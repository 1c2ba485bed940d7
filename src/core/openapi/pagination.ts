import { isObject } from './refs.js';
import type { Json, RefResolver } from './refs.js';
import { flatten, objectProperties, schemaType } from './schema-types.js';

/**
 * Guesses how an operation pages, from the names of its query params and the shape of its
 * response: a page token, a cursor, offset and limit, a next link in the body, or a Link header.
 * A guess is only a guess: the definition gets it with a "review" comment, and when it cannot be
 * completed (no array of items found) only the comment.
 */

export interface Detected {
  /** A `pagination:` block, when every field it needs was found. */
  readonly definition?: Json;
  readonly note: string;
}

interface Input {
  readonly method: string;
  readonly op: Json;
  readonly refs: RefResolver;
  /** The endpoint's params as mapped (key -> definition with `in` and maybe `name`). */
  readonly params: Json;
}

const squash = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '');

const TOKEN_PARAMS = [
  'pagetoken',
  'nextpagetoken',
  'continuationtoken',
  'nexttoken',
  'continuation',
  'token',
];
const TOKEN_FIELDS = [
  'nextpagetoken',
  'nexttoken',
  'continuationtoken',
  'pagetoken',
  'nextcontinuationtoken',
];
const CURSOR_PARAMS = ['cursor', 'after', 'startingafter', 'nextcursor', 'startcursor', 'pagecursor'];
const CURSOR_FIELDS = ['nextcursor', 'cursor', 'endcursor', 'after', 'next'];
const OFFSET_PARAMS = ['offset', 'skip', 'start', 'startindex', 'from'];
const LIMIT_PARAMS = ['limit', 'count', 'maxresults', 'pagesize', 'perpage', 'size', 'top', 'max', 'take'];
const NEXT_LINK_FIELDS = [
  'nextlink',
  'next',
  'nexturl',
  'nextpage',
  'odatanextlink',
  'nextpageurl',
  'nexthref',
];
const TOTAL_FIELDS = ['total', 'totalcount', 'totalresults', 'count', 'totalsize', 'totalitems'];

export function detectPagination(input: Input): Detected | undefined {
  if (input.method !== 'GET') return undefined;
  const { refs } = input;
  const query = Object.entries(input.params).filter(
    (entry): entry is [string, Json] => isObject(entry[1]) && entry[1].in === 'query',
  );
  const queryParam = (names: readonly string[]): string | undefined =>
    query.find(([key, p]) => names.includes(squash(typeof p.name === 'string' ? p.name : key)))?.[0];
  const response = successSchema(input.op, refs);
  const body = flatten(response.schema, refs);
  const topArray = schemaType(body) === 'array';
  const fields = topArray ? [] : fieldsOf(body, refs);
  const field = (names: readonly string[]): (string | string[]) | undefined =>
    fields.find((f) => names.includes(squash(f.path[f.path.length - 1] ?? '')) && f.kind !== 'array')
      ?.jsonPath;
  const arrays = fields.filter((f) => f.kind === 'array' && f.path.length === 1);
  const items = arrays.length === 1 ? arrays[0]?.jsonPath : undefined;
  const itemsNote =
    items === undefined
      ? ' (no single array of items found in the response: complete items_path by hand)'
      : '';

  // A Link header with rel="next" (RFC 8288), as GitHub pages.
  if (response.linkHeader) {
    const definition: Json = { style: 'link_header', rel: 'next' };
    if (!topArray && items !== undefined) definition.items_path = items;
    return {
      definition,
      note: `pagination by the Link header (the response declares one)${topArray ? '' : itemsNote}`,
    };
  }
  // A token the answer gives and the next request sends back: by its name, or a cursor by its.
  const pageToken = (param: string, response: string | string[], note: string): Detected =>
    items === undefined
      ? { note: note + itemsNote }
      : {
          definition: {
            style: 'page_token',
            request_param: param,
            response_path: response,
            items_path: items,
          },
          note,
        };
  const token = queryParam(TOKEN_PARAMS);
  const tokenField = field(TOKEN_FIELDS);
  if (token && tokenField !== undefined)
    return pageToken(
      token,
      tokenField,
      `pagination by page token guessed from the param "${token}" and the response field ${show(tokenField)}`,
    );
  const cursor = queryParam(CURSOR_PARAMS);
  const cursorField = field(CURSOR_FIELDS);
  if (cursor && cursorField !== undefined)
    return pageToken(
      cursor,
      cursorField,
      `cursor pagination guessed from the param "${cursor}" and the response field ${show(cursorField)} (sent back as a page token)`,
    );
  const offset = queryParam(OFFSET_PARAMS);
  const limit = queryParam(LIMIT_PARAMS);
  if (offset && limit) {
    const definition: Json = { style: 'offset', offset_param: offset, limit_param: limit };
    if (!topArray && items !== undefined) definition.items_path = items;
    const total = field(TOTAL_FIELDS);
    if (total !== undefined) definition.total_path = total;
    const note = `offset pagination guessed from the params "${offset}" and "${limit}"`;
    return !topArray && items === undefined ? { note: note + itemsNote } : { definition, note };
  }
  const next = fields.find(
    (f) => NEXT_LINK_FIELDS.includes(squash(f.path[f.path.length - 1] ?? '')) && f.kind === 'string',
  )?.jsonPath;
  if (next !== undefined) {
    const note = `next-link pagination guessed from the response field ${show(next)}`;
    return items === undefined
      ? { note: note + itemsNote }
      : { definition: { style: 'next_link', next_path: next, items_path: items }, note };
  }
  const page = queryParam(['page', 'pagenumber', 'pageindex']);
  if (page) {
    return {
      note: `the param "${page}" looks like page-number pagination, which connectr's --all does not follow; page with --${page.replace(/_/g, '-')}`,
    };
  }
  if (token || cursor) {
    const name = token ?? cursor ?? '';
    return {
      note: `the param "${name}" looks like a page token, but no next token was found in the response; set pagination by hand`,
    };
  }
  return undefined;
}

function show(path: string | string[]): string {
  return Array.isArray(path) ? JSON.stringify(path) : path;
}

interface Field {
  readonly path: string[];
  /** Dotted, or a list of keys when a key holds a dot (the connector format's JSON paths). */
  readonly jsonPath: string | string[];
  readonly kind: string;
}

/** The fields of a response object, two levels deep (`response_metadata.next_cursor`). */
function fieldsOf(schema: Json, refs: RefResolver): Field[] {
  const fields: Field[] = [];
  const visit = (s: unknown, prefix: string[]): void => {
    const object = objectProperties(s, refs);
    if (!object) return;
    for (const [name, value] of object.properties) {
      const path = [...prefix, name];
      const flat = flatten(value, refs);
      const kind = schemaType(flat) ?? 'unknown';
      const jsonPath = path.some((p) => p.includes('.')) ? path : path.join('.');
      fields.push({ path, jsonPath, kind });
      if (kind === 'object' && prefix.length === 0) visit(flat, path);
    }
  };
  visit(schema, []);
  return fields;
}

function successSchema(op: Json, refs: RefResolver): { schema: unknown; linkHeader: boolean } {
  const responses = isObject(op.responses) ? op.responses : {};
  const code = ['200', '2XX', '2xx', '206'].find((c) => Object.hasOwn(responses, c));
  const response = code ? refs.resolve(responses[code]) : undefined;
  if (!isObject(response)) return { schema: undefined, linkHeader: false };
  const headers = isObject(response.headers) ? Object.keys(response.headers) : [];
  const linkHeader = headers.some((h) => h.toLowerCase() === 'link');
  const content = isObject(response.content) ? response.content : {};
  const jsonType = Object.keys(content).find((t) => /json/i.test(t));
  const media = jsonType ? content[jsonType] : undefined;
  return { schema: isObject(media) ? media.schema : undefined, linkHeader };
}
