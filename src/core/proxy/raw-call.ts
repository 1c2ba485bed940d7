import type { Connector, Endpoint, Host, Param } from '../connector/model.js';
import { effectiveHostUrl } from '../connector/model.js';
import { HTTP_METHODS } from '../connector/schema.js';
import type { PaginationDefinition } from '../connector/schema.js';
import { ConnectrError } from '../errors.js';
import type { Env } from '../paths.js';
import { prepareCall } from '../engine/invoke.js';
import type { PreparedCall } from '../engine/invoke.js';
import type { RawBody } from '../engine/params.js';
import { fitsTemplate } from '../engine/path-template.js';
import { checkProxyPath, chooseHost } from './rules.js';

/**
 * `connectr api <connector> <path>`: a request of the caller's own to any path on one of the
 * connector's declared hosts, signed in as its account, as `gh api` does for GitHub. The
 * credential goes only to those hosts: a full URL elsewhere is refused before anything is
 * read or sent, and the path is held to the daemon raw proxy's rules (rules.ts). The request
 * is built as a one-off endpoint so that it runs through the same engine as `connectr call`
 * (credentials, refresh, retries, redirects, pagination). Where the
 * path matches a declared endpoint (same method and path template), that endpoint's response
 * kind, idempotency and pagination style apply; elsewhere `--paginate` follows Link headers.
 */
export interface RawCallInput {
  readonly connector: Connector;
  /** -X; default GET, or POST when fields make a body. */
  readonly method?: string | undefined;
  /** A path below the host's base URL (`/users/me`, `users/me?x=1`) or a full URL on one of its hosts. */
  readonly target: string;
  /** --host: the host's key; default the host of a matching endpoint, else the first. */
  readonly host?: string | undefined;
  /** -f key=value (key[]=value adds to an array): the JSON body, or the query of a GET/HEAD or with --input. */
  readonly fields?: readonly string[] | undefined;
  /** --input: the body as given (a file or standard input). */
  readonly body?: RawBody | undefined;
  readonly headers?: readonly (readonly [string, string])[] | undefined;
  readonly secrets?: readonly string[] | undefined;
}

export interface RawCall {
  readonly call: PreparedCall;
  /** The declared endpoint the path matched, if any. */
  readonly matched: Endpoint | undefined;
}

type Method = (typeof HTTP_METHODS)[number];

/** The declared endpoint a raw call's method and path match, if any (nothing else is checked). */
export function matchedEndpoint(input: RawCallInput, env: Env): Endpoint | undefined {
  return resolve(input, env).matched;
}

function resolve(input: RawCallInput, env: Env) {
  const fields = parseFields(input.fields ?? []);
  const method = methodOf(input.method, fields.size > 0 && input.body === undefined);
  const located = locate(input.connector, input.target, input.host, env);
  const matched = matchEndpoint(input.connector, method, located.host, located.path);
  return { fields, method, located, matched };
}

export function prepareRawCall(input: RawCallInput, env: Env): RawCall {
  const { connector } = input;
  const { fields, method, located, matched } = resolve(input, env);
  const host = located.host ?? findHostOf(connector, matched) ?? chooseHost(connector, undefined);
  // The daemon raw proxy's path rules: no dot segment in any encoding, no backslash, no empty
  // segment, no control character, no fragment.
  checkProxyPath(located.path.slice(1), 'the path');

  // Every query key becomes a param of the one-off endpoint, so that pagination can set its
  // own (a page token, an offset) the way it does for declared endpoints.
  const query = new URLSearchParams(located.query);
  const fieldsInQuery = method === 'GET' || method === 'HEAD' || input.body !== undefined;
  if (fieldsInQuery)
    for (const [key, given] of fields)
      for (const value of Array.isArray(given) ? given : [given]) query.append(key, value);
  const { params, values } = queryParams(query, matched);

  let body: RawBody | undefined = input.body;
  if (!fieldsInQuery && fields.size > 0)
    body = { kind: 'text', text: JSON.stringify(Object.fromEntries(fields)) };

  const endpoint: Endpoint = {
    name: matched?.name ?? 'api',
    summary: `${method} ${located.path}`,
    method,
    host: host.key,
    // Braces are the template's placeholders: in a caller's path they are just characters.
    path: located.path.replace(/[{}]/g, (c) => encodeURIComponent(c)),
    params,
    ...(matched?.response ? { response: matched.response } : {}),
    ...(matched?.idempotent === undefined ? {} : { idempotent: matched.idempotent }),
    pagination: paginationOf(matched),
  };
  const call = prepareCall(
    {
      connector,
      endpoint,
      values,
      body,
      headers: input.headers,
      secrets: input.secrets,
      label: (param) => param.wireName,
    },
    env,
  );
  // The path was placed below the host's base URL; this is the check that it stayed there.
  if (call.request.url.origin !== new URL(effectiveHostUrl(host, env)).origin)
    throw new ConnectrError(
      'invalid_input',
      `the path ${JSON.stringify(input.target)} leaves ${connector.name}'s host`,
    );
  return { call, matched };
}

function methodOf(given: string | undefined, hasBody: boolean): Method {
  if (given === undefined) return hasBody ? 'POST' : 'GET';
  const upper = given.toUpperCase();
  const found = HTTP_METHODS.find((m) => m === upper);
  if (!found)
    throw new ConnectrError('usage', `-X ${given} is not a method connectr sends`, {
      hint: `use one of ${HTTP_METHODS.join(', ')}`,
    });
  return found;
}

/** `-f key=value`, in order; `key[]=value` collects an array. Values stay strings. */
function parseFields(given: readonly string[]): Map<string, string | string[]> {
  const fields = new Map<string, string | string[]>();
  for (const text of given) {
    const eq = text.indexOf('=');
    if (eq <= 0)
      throw new ConnectrError('usage', `-f "${text}" is not key=value`, {
        hint: "e.g. -f title='Fix the build' (key[]=value adds to a list)",
      });
    const rawKey = text.slice(0, eq);
    const value = text.slice(eq + 1);
    if (rawKey.endsWith('[]')) {
      const key = rawKey.slice(0, -2);
      const previous = fields.get(key);
      fields.set(key, [
        ...(Array.isArray(previous) ? previous : previous === undefined ? [] : [previous]),
        value,
      ]);
    } else fields.set(rawKey, value);
  }
  return fields;
}

interface Located {
  /** The host the target named (a full URL), or the one --host chose. */
  readonly host: Host | undefined;
  /** The path below the host's base URL, starting with "/". */
  readonly path: string;
  readonly query: string;
}

function locate(connector: Connector, target: string, hostKey: string | undefined, env: Env): Located {
  const chosen =
    hostKey === undefined ? undefined : chooseHost(connector, hostKey, { field: '--host', code: 'usage' });
  if (target.trim() === '') throw new ConnectrError('usage', 'give the path to call, e.g. /users/me');
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new ConnectrError('usage', `${JSON.stringify(target)} is not a URL`);
    }
    const hosts = chosen ? [chosen] : connector.hosts;
    for (const host of hosts) {
      const base = new URL(effectiveHostUrl(host, env));
      const basePath = base.pathname.replace(/\/+$/, '');
      if (
        url.origin === base.origin &&
        (url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))
      )
        return { host, path: url.pathname.slice(basePath.length) || '/', query: url.search };
    }
    throw new ConnectrError(
      'invalid_input',
      `${url.origin}${url.pathname} is not on ${chosen ? `${connector.name}'s ${chosen.key} host` : `a host of ${connector.name}`}`,
      {
        hint: `connectr api sends the ${connector.name} credential only to its own hosts (${connector.hosts
          .map((h) => `${h.key}: ${effectiveHostUrl(h, env)}`)
          .join(', ')}); give a path below one of them`,
      },
    );
  }
  const question = target.indexOf('?');
  const path = question < 0 ? target : target.slice(0, question);
  const query = question < 0 ? '' : target.slice(question);
  if (path.startsWith('//'))
    throw new ConnectrError('usage', `the path ${JSON.stringify(target)} starts with //`, {
      hint: 'give a path below the host, e.g. /users/me, or a full URL on one of its hosts',
    });
  return { host: chosen, path: path.startsWith('/') ? path : `/${path}`, query };
}

function findHostOf(connector: Connector, endpoint: Endpoint | undefined): Host | undefined {
  return endpoint ? connector.hosts.find((h) => h.key === endpoint.host) : undefined;
}

/** The declared endpoint whose method and path template the path matches (on the host, if one was named). */
function matchEndpoint(
  connector: Connector,
  method: Method,
  host: Host | undefined,
  path: string,
): Endpoint | undefined {
  return connector.endpoints.find((endpoint) => {
    if (endpoint.method !== method || (host && endpoint.host !== host.key)) return false;
    return fitsTemplate(endpoint.path, path);
  });
}

/**
 * The query as params: named by the matched endpoint's key where it declares that wire name
 * (so its pagination finds them), else by the wire name itself; plus the params its
 * pagination sets that the caller did not give.
 */
function queryParams(
  query: URLSearchParams,
  matched: Endpoint | undefined,
): { params: Param[]; values: Record<string, unknown> } {
  const params: Param[] = [];
  const values: Record<string, unknown> = { __proto__: null };
  const declared = (wire: string): Param | undefined =>
    matched?.params.find((p) => p.in === 'query' && p.wireName === wire);
  for (const wire of new Set(query.keys())) {
    const key = declared(wire)?.key ?? wire;
    const all = query.getAll(wire);
    params.push(queryParam(key, wire, all.length > 1));
    values[key] = all.length > 1 ? all : all[0];
  }
  for (const key of paginationKeys(matched?.pagination)) {
    const param = matched?.params.find((p) => p.key === key);
    if (param && !params.some((p) => p.key === key)) params.push(queryParam(key, param.wireName, false));
  }
  return { params, values };
}

function queryParam(key: string, wire: string, many: boolean): Param {
  return {
    key,
    wireName: wire,
    flag: wire,
    in: 'query',
    type: many ? 'array' : 'string',
    ...(many ? { items: 'string' as const } : {}),
    required: false,
    secret: false,
  };
}

function paginationKeys(pagination: PaginationDefinition | undefined): string[] {
  if (pagination?.style === 'page_token') return [pagination.request_param];
  if (pagination?.style === 'offset') return [pagination.offset_param, pagination.limit_param];
  return [];
}

/** The matched endpoint's style; elsewhere Link headers, the one style a server names itself. */
function paginationOf(matched: Endpoint | undefined): PaginationDefinition {
  return matched?.pagination ?? { style: 'link_header', rel: 'next' };
}
