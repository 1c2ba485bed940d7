import { findEndpoint } from '../../connector/model.js';
import type { Endpoint } from '../../connector/model.js';
import { ConnectrError } from '../../errors.js';
import type { ParamValue, ParamValues } from '../params.js';
import type { PreparedRequest } from '../request.js';
import { responseKind, upstreamError } from '../response.js';
import type { HttpResponse } from '../send.js';

/** What both upload-session protocols share: their endpoints, chunk bodies and JSON answers. */

export type UploadProgress = (sent: number, total: number | undefined) => void;

export function sessionEndpoint(req: PreparedRequest, name: string | undefined): Endpoint {
  const endpoint = name ? findEndpoint(req.connector, name) : undefined;
  if (!endpoint)
    throw new ConnectrError(
      'invalid_connector',
      `${req.connector.name}: upload session endpoint "${name ?? ''}" is missing`,
    );
  return endpoint;
}

/** Values for a session endpoint: the given ones plus the chunk as its raw body. */
export function withChunk(endpoint: Endpoint, given: Record<string, ParamValue>, chunk: Buffer): ParamValues {
  const values = new Map<string, ParamValue>(Object.entries(given));
  const raw = endpoint.params.find((p) => p.in === 'raw');
  if (raw) values.set(raw.key, { kind: 'bytes', data: chunk });
  return values;
}

export async function okJson(
  response: HttpResponse,
  req: PreparedRequest,
  what: string,
): Promise<Record<string, unknown>> {
  if (response.status >= 300) {
    const error = await upstreamError(req.connector, req.endpoint, response);
    throw new ConnectrError(error.code, `could not ${what}: ${error.message}`, { hint: error.hint });
  }
  if (
    responseKind(req.endpoint, response) !== 'json' &&
    !String(response.headers['content-type']).includes('json')
  ) {
    await response.body.dump();
    return {};
  }
  return JSON.parse(await response.body.text()) as Record<string, unknown>;
}
