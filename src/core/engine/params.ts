import type { Endpoint, Param } from '../connector/model.js';
import { ConnectrError } from '../errors.js';

/**
 * Turns what a caller gave (strings from the command line, JSON values from the REST API) into
 * checked values for each declared param, before anything is sent: types, enums, ranges,
 * required params, aliases and defaults. Problems name the flag and what is expected.
 */

/** A body source for `raw` params: a file on disk, standard input, or literal text. */
export type RawBody =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'stdin' }
  | { readonly kind: 'text'; readonly text: string }
  /** Bytes already in memory: one chunk of an upload session. */
  | { readonly kind: 'bytes'; readonly data: Buffer };

export type ParamValue =
  | string
  | number
  | boolean
  | readonly (string | number | boolean)[]
  | readonly Record<string, unknown>[]
  | Record<string, unknown>
  | RawBody;

export type ParamValues = ReadonlyMap<string, ParamValue>;

export interface CallInput {
  /** Values by param key, as given: strings (CLI) or JSON values (API). */
  readonly values: Readonly<Record<string, unknown>>;
  /** Extra query parameters for anything the definition does not declare (`--param k=v`). */
  readonly extraQuery?: readonly (readonly [string, string])[];
  /**
   * How the caller's front-end names a param in messages: the CLI's flag (`--max-results`, the
   * default) or the REST API's field (`params.maxResults`).
   */
  readonly label?: ((param: Param) => string) | undefined;
  /** A whole body given by the caller (`--body` / `--data`), replacing body params. */
  readonly body?: RawBody;
}

/**
 * A value the endpoint refuses, with each param at fault by key and what is wrong with it, so a
 * front-end can point at its own field (the REST API's `body.params.<key>`).
 */
export class ParamError extends ConnectrError {
  constructor(
    code: 'usage' | 'invalid_input',
    message: string,
    readonly params: readonly { readonly key: string; readonly problem: string }[],
    hint?: string,
  ) {
    super(code, message, { hint });
  }
}

export function resolveValues(endpoint: Endpoint, input: CallInput): ParamValues {
  const label = input.label ?? ((p: Param) => `--${p.flag}`);
  const out = new Map<string, ParamValue>();
  const unknown = Object.keys(input.values).filter((k) => !endpoint.params.some((p) => p.key === k));
  if (unknown.length) {
    throw new ParamError(
      'usage',
      `${endpoint.name} has no parameter ${unknown.map((k) => `"${k}"`).join(', ')}`,
      unknown.map((key) => ({ key, problem: `${endpoint.name} has no parameter ${JSON.stringify(key)}` })),
      `its parameters: ${endpoint.params.map((p) => p.key).join(', ') || 'none'}`,
    );
  }
  const missing: Param[] = [];
  for (const param of endpoint.params) {
    const given = Object.hasOwn(input.values, param.key) ? input.values[param.key] : undefined;
    if (given === undefined || given === null) {
      if (param.default !== undefined) out.set(param.key, coerce(param, param.default, label(param)));
      // A whole body given by the caller stands in for the params that would have made it.
      else if (param.required && !(input.body && ['raw', 'body', 'form'].includes(param.in)))
        missing.push(param);
      continue;
    }
    out.set(param.key, coerceNamed(param, given, label(param)));
  }
  if (missing.length) {
    throw new ParamError(
      'usage',
      `missing required ${missing.length > 1 ? 'parameters' : 'parameter'} ${missing.map(label).join(', ')} for ${endpoint.name}`,
      missing.map((p) => ({ key: p.key, problem: 'is required' })),
      missing.map((p) => `${label(p)}: ${p.description ?? p.type}`).join('; '),
    );
  }
  return out;
}

/** coerce(), its refusal naming the param: the message is `<flag> <problem>`. */
function coerceNamed(param: Param, given: unknown, flag: string): ParamValue {
  try {
    return coerce(param, given, flag);
  } catch (error) {
    if (!(error instanceof ConnectrError) || error.code !== 'invalid_input') throw error;
    const problem = error.message.startsWith(`${flag} `)
      ? error.message.slice(flag.length + 1)
      : error.message;
    throw new ParamError('invalid_input', error.message, [{ key: param.key, problem }], error.hint);
  }
}

function coerce(param: Param, given: unknown, flag: string): ParamValue {
  if (param.type === 'file') return rawBodyOf(given, flag);
  if (param.type === 'array' && param.items === 'object') {
    // From the command line: one JSON object per flag, or the whole list as one JSON array.
    const list = Array.isArray(given) ? (given as unknown[]) : [given];
    return list.flatMap((item) => {
      if (typeof item === 'string' && item.trimStart().startsWith('[')) {
        const parsed = jsonOf(item, flag, 'a JSON array of objects, e.g. \'[{"key": "value"}]\'');
        if (!Array.isArray(parsed)) throw invalid(flag, 'expects a JSON array of objects', item);
        return parsed.map((element: unknown) => objectOf(element, flag));
      }
      return [objectOf(item, flag)];
    });
  }
  if (param.type === 'array') {
    const list = Array.isArray(given) ? (given as unknown[]) : [given];
    return list.map((item) => scalar(param, param.items ?? 'string', item, flag));
  }
  if (param.type === 'object') return objectOf(given, flag);
  return scalar(param, param.type, given, flag);
}

function scalar(param: Param, type: string, given: unknown, flag: string): string | number | boolean {
  let value: string | number | boolean;
  const text = typeof given === 'string' ? given : undefined;
  const aliased =
    text !== undefined && param.aliases && Object.hasOwn(param.aliases, text)
      ? param.aliases[text]
      : undefined;
  if (aliased !== undefined) return aliased;
  switch (type) {
    case 'integer':
    case 'number': {
      const n =
        typeof given === 'number' ? given : text !== undefined && text.trim() !== '' ? Number(text) : NaN;
      if (!Number.isFinite(n) || (type === 'integer' && !Number.isInteger(n))) {
        throw invalid(flag, `expects ${type === 'integer' ? 'an integer' : 'a number'}`, given);
      }
      if (param.minimum !== undefined && n < param.minimum)
        throw invalid(flag, `must be at least ${param.minimum}`, given);
      if (param.maximum !== undefined && n > param.maximum)
        throw invalid(flag, `must be at most ${param.maximum}`, given);
      value = n;
      break;
    }
    case 'boolean': {
      if (typeof given === 'boolean') value = given;
      else if (text !== undefined && /^(true|yes|1)$/i.test(text)) value = true;
      else if (text !== undefined && /^(false|no|0)$/i.test(text)) value = false;
      else throw invalid(flag, 'expects true or false', given);
      break;
    }
    default:
      if (typeof given === 'string') value = given;
      else if (typeof given === 'number' || typeof given === 'boolean') value = String(given);
      else throw invalid(flag, 'expects text', given);
  }
  if (param.enum && !param.enum.includes(value)) {
    throw invalid(flag, `must be one of ${param.enum.map(String).join(', ')}`, given);
  }
  return value;
}

function objectOf(given: unknown, flag: string): Record<string, unknown> {
  const value =
    typeof given === 'string' ? jsonOf(given, flag, 'a JSON object, e.g. \'{"key": "value"}\'') : given;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid(flag, 'expects a JSON object', given);
  return value as Record<string, unknown>;
}

function jsonOf(text: string, flag: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid(flag, `expects ${what}`, text);
  }
}

/** `-` is standard input, `@file` or a plain path is a file (for `file` params). */
export function rawBodyOf(given: unknown, flag: string): RawBody {
  if (typeof given === 'object' && given !== null && 'kind' in given) return given as RawBody;
  if (typeof given !== 'string' || given === '')
    throw invalid(flag, 'expects a file path, or - for standard input', given);
  if (given === '-') return { kind: 'stdin' };
  return { kind: 'file', path: given.startsWith('@') ? given.slice(1) : given };
}

function invalid(flag: string, rule: string, given: unknown): ConnectrError {
  const shown = given === undefined ? 'nothing' : JSON.stringify(given);
  return new ConnectrError('invalid_input', `${flag} ${rule}; got ${shown}`);
}
