import { requireEndpoint } from '../connector/model.js';
import type { Connector, Endpoint } from '../connector/model.js';
import type { RawBody } from '../engine/params.js';
import { ConnectrError, isConnectrError } from '../errors.js';
import type { ConnectrErrorOptions, ErrorCode } from '../errors.js';

/**
 * A program's input to a call turned into what the engine takes: the endpoint it names, and its
 * body given as a value, as bytes or as base64. Errors name the input at fault by the caller's
 * own name for it, so each front-end can point at its field (the REST API's `body.<input>`).
 */

/** A refused input, by the caller's name for it (`endpoint`, `body_base64`, `file`). */
export class CallInputError extends ConnectrError {
  constructor(
    code: ErrorCode,
    readonly input: string,
    message: string,
    options: ConnectrErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

/** The endpoint a caller names; else not_found with the nearest name and `where` (how to list them). */
export function endpointNamed(connector: Connector, name: string, where: string): Endpoint {
  try {
    return requireEndpoint(connector, name, where);
  } catch (error) {
    if (!isConnectrError(error)) throw error;
    throw new CallInputError(error.code, 'endpoint', error.message, { hint: error.hint });
  }
}

/** A whole body as a program gives it: a value, bytes, or base64 text (at most one of them). */
export interface BodyInput {
  /** A string is sent as it is, anything else as JSON. */
  readonly body?: unknown;
  readonly bytes?: Uint8Array | undefined;
  readonly base64?: unknown;
}

/** The caller's name of each kind of body, for messages. */
export type BodyNames = Readonly<Record<keyof BodyInput, string>>;

const BODY_NAMES: BodyNames = { body: 'body', bytes: 'bytes', base64: 'body_base64' };
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The request body a program gave, or undefined; two of them at once are refused. */
export function requestBody(given: BodyInput, names: Partial<BodyNames> = {}): RawBody | undefined {
  const named = { ...BODY_NAMES, ...names };
  const kinds = (['body', 'bytes', 'base64'] as const).filter((kind) => given[kind] !== undefined);
  const [first, second] = kinds;
  if (first !== undefined && second !== undefined)
    throw new CallInputError(
      'invalid_input',
      named[second],
      `give ${named[first]} or ${named[second]}, not both`,
    );
  if (given.base64 !== undefined) return { kind: 'bytes', data: base64Bytes(given.base64, named.base64) };
  if (given.bytes !== undefined) {
    // A JavaScript caller may pass anything: a string here would be sent as its UTF-16 code units.
    if (!(given.bytes instanceof Uint8Array))
      throw new CallInputError(
        'invalid_input',
        named.bytes,
        `${named.bytes} must be a Uint8Array (or a Buffer)`,
      );
    return {
      kind: 'bytes',
      data: Buffer.from(given.bytes.buffer, given.bytes.byteOffset, given.bytes.length),
    };
  }
  if (given.body === undefined) return undefined;
  return { kind: 'text', text: typeof given.body === 'string' ? given.body : JSON.stringify(given.body) };
}

/** Base64 text decoded; anything else (Buffer.from would skip what is not base64) refused. */
function base64Bytes(value: unknown, name: string): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value))
    throw new CallInputError('invalid_input', name, `${name} must be base64 text`);
  return Buffer.from(value, 'base64');
}
