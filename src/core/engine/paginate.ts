import { createHash } from 'node:crypto';
import { findEndpoint } from '../connector/model.js';
import type { JsonPath, PaginationDefinition } from '../connector/schema.js';
import { ConnectrError } from '../errors.js';
import { getPath } from '../json-path.js';
import type { ParamValue, ParamValues } from './params.js';
import { buildRequest } from './request.js';
import type { BuildOptions, PreparedRequest } from './request.js';
import { header, isErrorAnswer, upstreamError } from './response.js';
import { send, textBody } from './send.js';
import type { HttpResponse, SendDeps, SendOptions } from './send.js';

/**
 * Follows an endpoint's declared pagination and yields the items of every page, one by one:
 * page tokens (Gmail), cursors with a continue endpoint (Dropbox), next-link URLs (Graph),
 * Link headers (GitHub) and offsets. Stops at the last page, or at --max-pages / --limit.
 */
export interface PageLimits {
  readonly maxPages?: number | undefined;
  readonly limit?: number | undefined;
  /**
   * Told the status of each page's answer (after its retries, an error answer included), as a
   * single call returns one: the daemon counts them in its metrics.
   */
  readonly onPage?: ((status: number) => void) | undefined;
}

export async function* paginate(
  first: PreparedRequest,
  values: ParamValues,
  build: BuildOptions,
  deps: SendDeps,
  options: SendOptions,
  limits: PageLimits = {},
): AsyncGenerator {
  const pagination = requirePagination(first);
  let request: PreparedRequest | undefined = first;
  let current = values;
  let pages = 0;
  let count = 0;
  // Every page request sent so far: a server that hands out the same token, cursor or link
  // again would otherwise be followed for ever.
  const sent = new Set<string>();
  // A server that ignores the offset answers the same page at every offset.
  let previousPage: string | undefined;
  while (request) {
    const key = requestKey(request);
    if (sent.has(key)) throw loopError(request, pagination.style, pages);
    sent.add(key);
    const response = await send(request, deps, options);
    limits.onPage?.(response.status);
    if (isErrorAnswer(response)) throw await upstreamError(request.connector, request.endpoint, response);
    const text = await response.body.text(PAGE_LIMIT);
    pages++;
    const json = parsePage(request, text, pages);
    const digest = createHash('sha256').update(text).digest('hex');
    if (pagination.style === 'offset' && digest === previousPage)
      throw loopError(request, 'offset', pages - 1);
    previousPage = digest;
    const items = itemsOf(json, pagination.items_path);
    for (const item of items) {
      yield item;
      if (limits.limit !== undefined && ++count >= limits.limit) return;
    }
    if (limits.maxPages !== undefined && pages >= limits.maxPages) return;
    const next = nextPage(pagination, request, current, json, items.length, response, build);
    request = next?.request;
    current = next?.values ?? current;
  }
}

/** One page read whole, and where the next one is (undefined: the last page). */
export interface Page {
  /** The answer, its body offered again to the next reader; an error answer is left unread. */
  readonly response: HttpResponse;
  readonly json?: unknown;
  readonly next?: PagePosition | undefined;
}

/**
 * One page of a paginated request (the first, or one `requestAt` built): what a caller that
 * pages by itself, one call at a time (an MCP tool with a cursor), needs instead of every item.
 */
export async function onePage(
  at: { readonly request: PreparedRequest; readonly values: ParamValues },
  deps: SendDeps,
  options: SendOptions,
): Promise<Page> {
  const pagination = requirePagination(at.request);
  const response = await send(at.request, deps, options);
  if (isErrorAnswer(response)) return { response };
  const text = await response.body.text(PAGE_LIMIT);
  const json = parsePage(at.request, text, 1);
  const count = itemsOf(json, pagination.items_path).length;
  return {
    response: { ...response, body: textBody(text) },
    json,
    next: nextPosition(pagination, at.request, at.values, json, count, response),
  };
}

/** The endpoint's pagination; a usage error for an endpoint that returns a single page. */
export function requirePagination(request: PreparedRequest): PaginationDefinition {
  const pagination = request.endpoint.pagination;
  if (pagination) return pagination;
  throw new ConnectrError(
    'usage',
    `${request.connector.name} ${request.endpoint.name} returns a single page; drop --all`,
  );
}

/** The largest page read into memory under --all. */
export const PAGE_LIMIT = 32 * 1024 * 1024;

/** What makes two page requests the same: method, URL and body. */
function requestKey(request: PreparedRequest): string {
  const body = request.body.kind === 'json' || request.body.kind === 'form' ? request.body.text : '';
  return `${request.method} ${request.url.href}\n${body}`;
}

function loopError(
  request: PreparedRequest,
  style: PaginationDefinition['style'],
  pages: number,
): ConnectrError {
  const what =
    style === 'page_token'
      ? 'page token'
      : style === 'cursor'
        ? 'cursor'
        : style === 'offset'
          ? 'offset'
          : 'next-page link';
  const repeated =
    style === 'offset'
      ? `answered the same page at a new offset, after ${pages} page(s)`
      : `sent a ${what} it had already sent, after ${pages} page(s)`;
  return new ConnectrError(
    'upstream',
    `${request.connector.displayName} ${repeated}; --all stopped instead of looping for ever`,
    {
      hint: 'the items of the pages before were printed; the API is at fault (try again later), or stop earlier with --max-pages',
    },
  );
}

function parsePage(request: PreparedRequest, text: string, page: number): unknown {
  if (!text.trim()) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConnectrError(
      'upstream',
      `${request.connector.displayName} answered page ${page} of ${request.endpoint.name} with invalid JSON: ${error instanceof Error ? error.message : String(error)}`,
      { hint: 'the items of the pages before were printed; try again later' },
    );
  }
}

function itemsOf(json: unknown, path: JsonPath | undefined): unknown[] {
  const value = path === undefined ? json : getPath(json, path);
  if (Array.isArray(value)) return value as unknown[];
  // No items path and a page that is no list (`connectr api --paginate` on an undeclared
  // path): the page itself is the one item, never silently nothing.
  if (path === undefined && value !== null && typeof value === 'object') return [value];
  return [];
}

/**
 * Where the next page is, as plain data a caller may hand back later (an MCP tool's cursor):
 * new values of the first request's page param (page_token, offset), a continue cursor
 * (cursor), or the URL the API gave (next_link, link_header).
 */
export type PagePosition =
  | { readonly kind: 'values'; readonly values: Readonly<Record<string, string | number>> }
  | { readonly kind: 'continue'; readonly cursor: string }
  | { readonly kind: 'link'; readonly url: string };

/** Where the page after this one is; undefined on the last page. */
export function nextPosition(
  pagination: PaginationDefinition,
  request: PreparedRequest,
  values: ParamValues,
  json: unknown,
  count: number,
  response: Pick<HttpResponse, 'headers'>,
): PagePosition | undefined {
  switch (pagination.style) {
    case 'page_token': {
      const token = getPath(json, pagination.response_path);
      return typeof token === 'string' && token
        ? { kind: 'values', values: { [pagination.request_param]: token } }
        : undefined;
    }
    case 'cursor': {
      if (getPath(json, pagination.has_more_path) !== true) return undefined;
      const cursor = getPath(json, pagination.cursor_path);
      return typeof cursor === 'string' ? { kind: 'continue', cursor } : undefined;
    }
    case 'next_link': {
      const link = getPath(json, pagination.next_path);
      return typeof link === 'string' && link ? { kind: 'link', url: link } : undefined;
    }
    case 'link_header': {
      const link = parseLinkHeader(header(response, 'link') ?? '').get(pagination.rel);
      return link ? { kind: 'link', url: new URL(link, request.url).toString() } : undefined;
    }
    case 'offset': {
      if (count === 0) return undefined;
      const offset = Number(values.get(pagination.offset_param) ?? 0) + count;
      const total =
        pagination.total_path === undefined ? undefined : Number(getPath(json, pagination.total_path));
      if (total !== undefined && Number.isFinite(total) && offset >= total) return undefined;
      const pageSize = Number(values.get(pagination.limit_param));
      if (Number.isFinite(pageSize) && count < pageSize) return undefined;
      return { kind: 'values', values: { [pagination.offset_param]: offset } };
    }
  }
}

/**
 * The request for a page at `position`, from the first page's request and values. A position
 * that does not fit the endpoint's pagination (another param, another kind) is an
 * invalid_input error; nothing is sent. A position handed back by a caller (`fromCaller`, an
 * MCP cursor) may only link to the first request's origin; one the API gave is sent only
 * within the connector's hosts and never to an internal address (follow.ts, checked by send()).
 */
export function requestAt(
  pagination: PaginationDefinition,
  request: PreparedRequest,
  values: ParamValues,
  position: PagePosition,
  build: BuildOptions,
  fromCaller = false,
): { request: PreparedRequest; values: ParamValues } {
  const refuse = (): ConnectrError =>
    new ConnectrError(
      'invalid_input',
      `that cursor is not a page of ${request.connector.name} ${request.endpoint.name}`,
      {
        hint: 'give the cursor exactly as the previous page answered it, with the same arguments',
      },
    );
  switch (position.kind) {
    case 'values': {
      const param =
        pagination.style === 'page_token'
          ? pagination.request_param
          : pagination.style === 'offset'
            ? pagination.offset_param
            : undefined;
      const entries = Object.entries(position.values);
      if (!param || entries.length !== 1 || entries[0]?.[0] !== param) throw refuse();
      const next = new Map(values);
      next.set(param, entries[0][1]);
      return { request: buildRequest(request.connector, request.endpoint, next, build), values: next };
    }
    case 'continue': {
      if (pagination.style !== 'cursor') throw refuse();
      const endpoint = findEndpoint(request.connector, pagination.continue_endpoint);
      if (!endpoint) throw refuse();
      const next = new Map<string, ParamValue>([[pagination.continue_param, position.cursor]]);
      return { request: buildRequest(request.connector, endpoint, next, build), values: next };
    }
    case 'link': {
      if (pagination.style !== 'next_link' && pagination.style !== 'link_header') throw refuse();
      let url: URL;
      try {
        url = new URL(position.url);
      } catch {
        throw refuse();
      }
      if (fromCaller && url.origin !== request.url.origin) throw refuse();
      return linkTo(request, values, url.toString());
    }
  }
}

function nextPage(
  pagination: PaginationDefinition,
  request: PreparedRequest,
  values: ParamValues,
  json: unknown,
  count: number,
  response: HttpResponse,
  build: BuildOptions,
): { request: PreparedRequest; values: ParamValues } | undefined {
  const position = nextPosition(pagination, request, values, json, count, response);
  return position && requestAt(pagination, request, values, position, build);
}

/** The next page at an absolute URL given by the API: same method and headers, no body. */
function linkTo(
  request: PreparedRequest,
  values: ParamValues,
  link: string,
): { request: PreparedRequest; values: ParamValues } {
  return {
    request: { ...request, url: new URL(link), body: { kind: 'none' }, followed: 'page link' },
    values,
  };
}

/** RFC 8288 Link header: `<url>; rel="next", <url>; rel="last"` -> { next: url, last: url }. */
export function parseLinkHeader(value: string): Map<string, string> {
  // A Map: rel names come from the server, and `__proto__` must stay a name like any other.
  const links = new Map<string, string>();
  for (const part of value.split(/,(?=\s*<)/)) {
    const match = /<([^>]*)>(.*)/.exec(part.trim());
    const rel = match ? /;\s*rel="?([^";]+)"?/i.exec(match[2] ?? '')?.[1] : undefined;
    if (match?.[1] && rel) for (const name of rel.split(/\s+/)) links.set(name, match[1]);
  }
  return links;
}
