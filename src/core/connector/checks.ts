import { closest } from '../suggest.js';
import { plainHttpProblem } from '../http/plain-http.js';
import { defaultFlag } from './model.js';
import { MAX_WAIT_LIMIT_MS, limitProblems, maxWaitOf } from '../limits/spec.js';
import { HEADER_NAME, RESERVED_NAMES } from './names.js';
import type { ConnectorDefinition, EndpointDefinition, ParamDefinition } from './schema.js';

/**
 * Rules that span fields and that a schema cannot express: references between parts of a
 * definition, and combinations that would make the engine send a wrong request. Each problem
 * carries the path of the offending node so the loader can point at its line and column.
 */

export interface CheckProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/**
 * Flags that `connectr call` defines itself; a param flag may not take one of these names.
 * Kept here because a definition is only valid if its flags can all be used.
 */
export const RESERVED_FLAGS: readonly string[] = [
  'account',
  'all',
  'body',
  'connectors-dir',
  'curl',
  'data',
  'dry-run',
  'force',
  'header',
  'help',
  'include',
  'jq',
  'json',
  'limit',
  'max-pages',
  'no-color',
  'output',
  'param',
  'raw',
  'retries',
  'timeout',
  'verbose',
  'version',
];

/**
 * A health check is called with no params at all (by a timer, or `accounts check`): its endpoint
 * must exist and take every required param from a default.
 */
function checkHealth(
  def: ConnectorDefinition,
  name: string,
  endpointNames: readonly string[],
  report: (path: readonly (string | number)[], message: string) => void,
): void {
  const endpoint = def.endpoints[name];
  if (!endpoint) {
    report(['health', 'endpoint'], unknownRef('endpoint', name, endpointNames));
    return;
  }
  const needed = Object.entries(endpoint.params)
    .filter(([, param]) => (param.required || param.in === 'path') && param.default === undefined)
    .map(([key]) => key);
  if (needed.length > 0) {
    report(
      ['health', 'endpoint'],
      `health endpoint ${name} needs ${needed.join(', ')}, which have no default: a health check sends no params; name an endpoint that needs none, or give ${needed.length === 1 ? 'it a default' : 'them defaults'}`,
    );
  }
}

const PLACEHOLDER = /\{([^{}]*)\}/g;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function checkConnector(def: ConnectorDefinition): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const report = (path: readonly (string | number)[], message: string): void => {
    problems.push({ path, message });
  };
  const hostKeys = Object.keys(def.hosts);
  const endpointNames = Object.keys(def.endpoints);

  checkAuth(def, report);

  if (def.identity && !def.endpoints[def.identity.endpoint]) {
    report(['identity', 'endpoint'], unknownRef('endpoint', def.identity.endpoint, endpointNames));
  }
  if (def.health) checkHealth(def, def.health.endpoint, endpointNames, report);
  if (def.webhooks && 'identity_key' in def.webhooks && def.webhooks.identity_key && !def.identity) {
    report(
      ['webhooks', 'identity_key'],
      "identity_key is read from the identity endpoint's answer: give identity too",
    );
  }
  if (def.errors?.expired_codes.length && !def.errors.code_paths.length) {
    report(['errors', 'expired_codes'], 'expired_codes are read at code_paths: give code_paths too');
  }

  if (def.rate_limits) checkRateLimits(def.rate_limits, endpointNames, report);
  if (def.rate_limit?.codes?.length && !def.errors?.code_paths.length) {
    report(['rate_limit', 'codes'], 'codes are read at errors.code_paths: give code_paths too');
  }

  for (const [name, ep] of Object.entries(def.endpoints)) {
    const at = ['endpoints', name];
    if (ep.host !== undefined && !def.hosts[ep.host]) {
      report([...at, 'host'], unknownRef('host', ep.host, hostKeys));
    }
    checkPathTemplate(ep, at, report);
    checkParams(ep, at, report);
    checkBody(ep, at, report);
    checkPagination(def, ep, at, report);
    checkUploadSession(def, ep, at, report);
  }
  return problems;
}

type Report = (path: readonly (string | number)[], message: string) => void;

function checkRateLimits(
  declared: NonNullable<ConnectorDefinition['rate_limits']>,
  endpointNames: readonly string[],
  report: Report,
): void {
  const listed = Array.isArray(declared);
  const limits = listed ? declared : declared.limits;
  const at = listed ? ['rate_limits'] : ['rate_limits', 'limits'];
  for (const problem of limitProblems(limits, endpointNames))
    report([...at, ...problem.path], problem.message);
  if (!listed && declared.max_wait !== undefined && (maxWaitOf(declared.max_wait) ?? 0) > MAX_WAIT_LIMIT_MS) {
    report(
      ['rate_limits', 'max_wait'],
      `max_wait ${declared.max_wait} is longer than ${MAX_WAIT_LIMIT_MS / 1000}s: a caller would wait with no answer longer than a client or proxy keeps a request open`,
    );
  }
}

function checkAuth(def: ConnectorDefinition, report: Report): void {
  const auth = def.auth;
  // Credentials travel to the hosts and OAuth endpoints: never over plain http off this machine.
  if (auth.type !== 'none') {
    for (const [key, host] of Object.entries(def.hosts)) {
      const problem = plainHttpProblem(typeof host === 'string' ? host : host.url);
      if (problem) report(typeof host === 'string' ? ['hosts', key] : ['hosts', key, 'url'], problem);
    }
  }
  if (auth.type !== 'oauth2') return;
  for (const field of [
    'authorization_url',
    'token_url',
    'revocation_url',
    'device_authorization_url',
  ] as const) {
    const problem = auth[field] === undefined ? undefined : plainHttpProblem(auth[field]);
    if (problem) report(['auth', field], problem);
  }
  if (auth.grants.includes('authorization_code') && !auth.authorization_url) {
    report(['auth'], 'the authorization_code grant needs authorization_url');
  }
  if (auth.grants.includes('device_code') && !auth.device_authorization_url) {
    report(['auth'], 'the device_code grant needs device_authorization_url');
  }
  if (auth.grants.includes('client_credentials') && auth.client_secret === 'none') {
    report(['auth', 'client_secret'], 'the client_credentials grant needs a client secret');
  }
}

function checkPathTemplate(ep: EndpointDefinition, at: string[], report: Report): void {
  const opens = (ep.path.match(/\{/g) ?? []).length;
  const closes = (ep.path.match(/\}/g) ?? []).length;
  if (opens !== closes) {
    report([...at, 'path'], `unbalanced braces in path template "${ep.path}"`);
    return;
  }
  const placeholders = [...ep.path.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
  for (const key of placeholders) {
    const param = Object.hasOwn(ep.params, key) ? ep.params[key] : undefined;
    if (!param) {
      report(
        [...at, 'path'],
        `path placeholder {${key}} has no param; declare params.${key} with "in: path"`,
      );
    } else if (param.in !== 'path') {
      report([...at, 'params', key, 'in'], `{${key}} is in the path template, so "in" must be path`);
    }
  }
  for (const [key, param] of Object.entries(ep.params)) {
    if (param.in === 'path' && !placeholders.includes(key)) {
      report([...at, 'params', key], `path param "${key}" does not appear in path "${ep.path}"`);
    }
  }
}

function checkParams(ep: EndpointDefinition, at: string[], report: Report): void {
  const flags = new Map<string, string>();
  const wire = new Map<string, string>();
  for (const [key, p] of Object.entries(ep.params)) {
    const here = [...at, 'params', key];
    const flag = p.flag ?? defaultFlag(key);
    if (RESERVED_FLAGS.includes(flag)) {
      report(
        p.flag ? [...here, 'flag'] : here,
        `flag --${flag} is used by connectr itself; set "flag:" to another name (e.g. ${key}-value)`,
      );
    }
    const clash = flags.get(flag);
    if (clash) report(here, `flag --${flag} is also the flag of param "${clash}"; set "flag:"`);
    flags.set(flag, key);

    const wireKey = `${p.in}:${p.field === undefined ? (p.name ?? key) : JSON.stringify(p.field)}`;
    const wireClash = wire.get(wireKey);
    if (wireClash && p.in !== 'raw') {
      report(here, `param "${key}" is sent as the same ${p.in} field as param "${wireClash}"`);
    }
    wire.set(wireKey, key);
    checkParamTypes(p, here, report);
  }
}

function checkParamTypes(p: ParamDefinition, here: string[], report: Report): void {
  if (p.type === 'array' && !p.items) report(here, 'an array param needs "items" (its element type)');
  if (p.type !== 'array' && p.items) report([...here, 'items'], '"items" is only for type array');
  if (p.style && p.in !== 'path') report([...here, 'style'], '"style" is only for path params');
  if (p.field !== undefined && p.in !== 'body' && p.in !== 'json_header') {
    report([...here, 'field'], '"field" is only for body and json_header params');
  }
  if ((p.minimum !== undefined || p.maximum !== undefined) && p.type !== 'integer' && p.type !== 'number') {
    report(here, 'minimum/maximum are only for integer and number params');
  }
  if (p.type === 'file' && p.in !== 'raw') report([...here, 'type'], 'type file is only for "in: raw"');
  if (p.in === 'raw' && p.type !== 'file' && p.type !== 'string') {
    report([...here, 'type'], 'a raw body param is type file (a path or -) or string');
  }
  if (p.in === 'header' && p.name !== undefined && !HEADER_NAME.test(p.name)) {
    report([...here, 'name'], `"${p.name}" is not a valid header name`);
  }
  if (p.in === 'path' && (p.type === 'object' || p.type === 'array')) {
    report([...here, 'type'], 'a path param must be a string, integer, number or boolean');
  }
  if (p.enum) {
    p.enum.forEach((value, i) => {
      if (!fitsType(value, p.type === 'array' ? (p.items ?? 'string') : p.type)) {
        report([...here, 'enum', i], `enum value ${JSON.stringify(value)} is not of type ${p.type}`);
      }
    });
  }
  if (p.default !== undefined) {
    const values = p.type === 'array' && Array.isArray(p.default) ? p.default : [p.default];
    const type = p.type === 'array' ? (p.items ?? 'string') : p.type;
    for (const value of values) {
      if (!fitsType(value, type)) {
        report([...here, 'default'], `default ${JSON.stringify(value)} is not of type ${type}`);
      } else if (p.enum && !p.enum.includes(value as string | number | boolean)) {
        report([...here, 'default'], `default ${JSON.stringify(value)} is not one of the enum values`);
      }
    }
  }
}

/** Whether a value (a default, an enum member) is of a param type. */
export function fitsType(value: unknown, type: string): boolean {
  switch (type) {
    case 'string':
    case 'file':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    default:
      return false;
  }
}

function checkBody(ep: EndpointDefinition, at: string[], report: Report): void {
  const params = Object.entries(ep.params);
  const has = (where: ParamDefinition['in']): string[] =>
    params.filter(([, p]) => p.in === where).map(([k]) => k);
  const body = has('body');
  const form = has('form');
  const raw = has('raw');
  const jsonHeader = has('json_header');
  const bodyKinds = [body.length > 0, form.length > 0, raw.length > 0].filter(Boolean).length;
  if (bodyKinds > 1) {
    report([...at, 'params'], 'an endpoint sends one kind of body: body, form or raw params, not several');
  }
  if (raw.length > 1) report([...at, 'params', raw[1] ?? ''], 'only one raw body param is allowed');
  if ((body.length || form.length || raw.length) && !BODY_METHODS.has(ep.method)) {
    const names = [...body, ...form, ...raw].map((n) => `"${n}"`);
    report(
      [...at, 'method'],
      `${ep.method} requests carry no body, but ${names.length > 1 ? `params ${names.join(', ')} are` : `param ${names.join('')} is`} sent in the body; use "in: query" or another method`,
    );
  }
  if (jsonHeader.length && !ep.request?.json_header) {
    report(
      [...at, 'params', jsonHeader[0] ?? ''],
      'json_header params need request.json_header (the header that carries them, e.g. Dropbox-API-Arg)',
    );
  }
  const encoding = ep.request?.encoding;
  if (encoding) {
    const expected = body.length ? ['json'] : form.length ? ['form'] : raw.length ? ['binary', 'text'] : null;
    if (expected && !expected.includes(encoding)) {
      report(
        [...at, 'request', 'encoding'],
        `encoding ${encoding} does not fit the params; use ${expected.join(' or ')}`,
      );
    }
  }
}

function checkPagination(
  def: ConnectorDefinition,
  ep: EndpointDefinition,
  at: string[],
  report: Report,
): void {
  const pg = ep.pagination;
  if (!pg) return;
  const here = [...at, 'pagination'];
  const needParam = (key: string, field: string, on: EndpointDefinition = ep, onName = ''): void => {
    if (!Object.hasOwn(on.params, key)) {
      report(
        [...here, field],
        `${onName ? `endpoint "${onName}" has` : 'this endpoint has'} no param "${key}"`,
      );
    }
  };
  switch (pg.style) {
    case 'page_token':
      needParam(pg.request_param, 'request_param');
      break;
    case 'offset':
      needParam(pg.offset_param, 'offset_param');
      needParam(pg.limit_param, 'limit_param');
      break;
    case 'cursor': {
      const next = def.endpoints[pg.continue_endpoint];
      if (!next) {
        report(
          [...here, 'continue_endpoint'],
          unknownRef('endpoint', pg.continue_endpoint, Object.keys(def.endpoints)),
        );
      } else {
        needParam(pg.continue_param, 'continue_param', next, pg.continue_endpoint);
      }
      break;
    }
    case 'next_link':
    case 'link_header':
      break;
  }
}

function checkUploadSession(
  def: ConnectorDefinition,
  ep: EndpointDefinition,
  at: string[],
  report: Report,
): void {
  const us = ep.upload_session;
  if (!us) return;
  const here = [...at, 'upload_session'];
  for (const field of ['start', 'append', 'finish'] as const) {
    const name = us[field];
    if (name !== undefined && !def.endpoints[name]) {
      report([...here, field], unknownRef('endpoint', name, Object.keys(def.endpoints)));
    }
  }
  if (us.protocol === 'dropbox' && (!us.append || !us.finish)) {
    report(here, 'the dropbox upload protocol needs start, append and finish endpoints');
  }
  if (us.protocol === 'slack' && !us.finish) {
    report(here, 'the slack upload protocol needs start and finish endpoints');
  }
  if (us.chunk_multiple && us.chunk_size % us.chunk_multiple !== 0) {
    report([...here, 'chunk_size'], `chunk_size must be a multiple of ${us.chunk_multiple}`);
  }
  if (!Object.values(ep.params).some((p) => p.in === 'raw')) {
    report(here, 'an upload session needs a raw body param (the file)');
  }
}

function unknownRef(kind: string, name: string, known: readonly string[]): string {
  const suggestion = closest(name, known);
  return `unknown ${kind} "${name}"${suggestion ? `; did you mean "${suggestion}"?` : ''} (known: ${known.join(', ')})`;
}

/**
 * Keys named `__proto__`, `constructor` or `prototype` anywhere in a definition, as parsed from
 * YAML and before the schema sees it (the schema would silently drop a `__proto__` key). Each
 * problem's path ends with the key itself.
 */
export function reservedKeys(data: unknown, path: readonly (string | number)[] = []): CheckProblem[] {
  if (data === null || typeof data !== 'object') return [];
  if (Array.isArray(data)) return data.flatMap((item: unknown, i) => reservedKeys(item, [...path, i]));
  return Object.entries(data).flatMap(([key, value]: [string, unknown]) =>
    RESERVED_NAMES.includes(key)
      ? [
          {
            path: [...path, key],
            message: `"${key}" is reserved (it names a member of every JavaScript object); choose another name`,
          },
        ]
      : reservedKeys(value, [...path, key]),
  );
}
